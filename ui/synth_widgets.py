"""Streamlit pieces of the Synthetic Data page: LM training, generation, review, quality."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core.data.workspace import Workspace
from core.figures import charts
from core.synth import store
from ui import cache, state, widgets

REVIEW_LIMIT = 500
LM_COLUMNS = ["name", "created_at", "n_train", "n_parameters", "epochs", "train_loss", "valid_loss"]
FLAG_FILTERS = {None: "all", "any": "flagged", "none": "unflagged"}


@contextmanager
def generation(label: str) -> Iterator[tuple[Callable, None]]:
    """Progress bar and Stop button around a generation; yields (callback, should_stop).

    Stop reruns the page, which interrupts the generation at its next progress report;
    generation stores nothing until it finishes.
    """
    with widgets.long_step(label, "Generated") as progress:
        st.button("Stop", key=state.SYNTH_STOP, icon=":material/stop_circle:")
        yield progress.stage(""), None


def flash_run(run: store.SynthesisRun) -> None:
    metrics = run.metrics
    keep = metrics.get("keep_rate")
    parts = [f"{metrics.get('n_samples', len(run.samples)):,} {run.kind} samples stored as pending"]
    if keep is not None:
        parts.append(f"{keep:.0%} retrieve their product in the top {metrics.get('k')}")
    if metrics.get("copy_rate") is not None:
        parts.append(f"{metrics['copy_rate']:.1%} copy a real text")
    state.flash("success", "; ".join(parts) + ". Review them on the Review tab.")


def lm_training_form(ws: Workspace, task: str, train: Callable[..., Any]) -> None:
    """Name, epochs and size of a small GPT-2 model, and a Train button with live curves."""
    from core.synth.lm_store import list_lms

    lms = list_lms(ws, task=task)
    if not lms.empty:
        st.dataframe(
            lms[
                [
                    "name",
                    "created_at",
                    "n_train",
                    "n_parameters",
                    "epochs",
                    "train_loss",
                    "valid_loss",
                ]
            ],
            hide_index=True,
            width="stretch",
        )
    from core.synth.descriptions import DESCRIPTION_LM_CONFIG
    from core.synth.queries import QUERY_LM_CONFIG, QUERY_LM_TASK

    base = QUERY_LM_CONFIG if task == QUERY_LM_TASK else DESCRIPTION_LM_CONFIG
    with st.form(f"synth_lm_form_{task}"):
        left, middle, right = st.columns(3)
        name = left.text_input("Model name", value=f"{task}-lm", key=f"{state.SYNTH_LM_NAME}{task}")
        epochs = int(
            middle.number_input("Epochs", 1, 100, base.epochs, key=f"{state.SYNTH_LM_EPOCHS}{task}")
        )
        layers = int(
            right.number_input("Layers", 1, 12, base.n_layer, key=f"{state.SYNTH_LM_LAYERS}{task}")
        )
        submitted = st.form_submit_button("Train", icon=":material/play_arrow:")
    if not submitted:
        return
    config = dataclasses.replace(base, epochs=epochs, n_layer=layers)
    with widgets.show_errors():
        with widgets.training_run(
            "Training the language model…",
            "Language model trained",
            stop_key=f"{state.SYNTH_LM_STOP}{task}",
            curve_key=f"{state.SYNTH_LM_CURVE}{task}",
            curve_title="Language model",
            held_out="held-out pairs",
        ) as callback:
            train(ws, name.strip(), config, callback=callback)
        state.flash("success", f"Trained the language model '{name.strip()}'.")
        st.rerun()


def _flags_text(flags: list[str], labels: dict[str, str]) -> str:
    return ", ".join(labels.get(flag, flag) for flag in flags)


def review_table(ws: Workspace, flag_labels: dict[str, str]) -> None:
    """Filters, an editable table of samples (status and edited text) and bulk decisions."""
    left, middle, right, last = st.columns(4)
    kind = left.selectbox("Kind", [None, *store.KINDS], format_func=lambda v: v or "all",
                          key=state.SYNTH_REVIEW_KIND)  # fmt: skip
    status = middle.selectbox("Status", [None, *store.STATUSES], format_func=lambda v: v or "all",
                              key=state.SYNTH_REVIEW_STATUS)  # fmt: skip
    flag = right.selectbox(
        "Flag",
        [None, "any", "none", *store.FLAGS],
        format_func=lambda v: FLAG_FILTERS.get(v) or flag_labels.get(v, v),
        key=state.SYNTH_REVIEW_FLAG,
    )
    min_score = last.number_input("Score at least", -1.0, 1.0, -1.0, 0.05,
                                  key=state.SYNTH_REVIEW_SCORE)  # fmt: skip
    generators = store.sample_summary(ws)["generator"].drop_duplicates().tolist()
    generator = st.selectbox(
        "Generator",
        [None, *generators],
        format_func=lambda v: v or "all",
        key=state.SYNTH_REVIEW_GENERATOR,
    )
    filters: dict[str, Any] = {"kind": kind, "status": status, "generator": generator}
    if flag == "any":
        filters["flagged"] = True
    elif flag == "none":
        filters["flagged"] = False
    elif flag is not None:
        filters["flag"] = flag
    if min_score > -1.0:
        filters["min_score"] = float(min_score)
    samples = store.list_samples(ws, limit=REVIEW_LIMIT, **filters)
    if samples.empty:
        st.info("No sample matches these filters.")
        return
    titles = cache.item_titles(ws)
    shown = pd.DataFrame(
        {
            "sample_id": samples["sample_id"],
            "product": [titles.get(str(item), str(item)) for item in samples["item_id"]],
            "generator": samples["generator"],
            "text": samples["text"],
            "edited_text": samples["edited_text"],
            "score": samples["score"],
            "rank": samples["rank"],
            "flags": [_flags_text(flags, flag_labels) for flags in samples["flags"]],
            "status": samples["status"],
        }
    )
    st.caption(f"{len(shown):,} samples shown (at most {REVIEW_LIMIT}); edit status or text.")
    edited = st.data_editor(
        shown,
        hide_index=True,
        width="stretch",
        disabled=["sample_id", "product", "generator", "text", "score", "rank", "flags"],
        column_config={
            "sample_id": None,
            "product": st.column_config.TextColumn("Source product", width="medium"),
            "text": st.column_config.TextColumn("Synthetic text", width="large"),
            "edited_text": st.column_config.TextColumn("Edited text", width="medium"),
            "score": st.column_config.NumberColumn("Round-trip score", format="%.3f"),
            "rank": st.column_config.NumberColumn("Product rank"),
            "status": st.column_config.SelectboxColumn("Status", options=list(store.STATUSES)),
        },
        key=state.SYNTH_REVIEW_EDITOR,
    )
    left, middle, right = st.columns(3)
    if left.button("Save decisions", type="primary", icon=":material/save:", key=state.SYNTH_SAVE):
        with widgets.show_errors():
            changed = _save_decisions(ws, shown, edited)
            state.flash("success", f"Saved {changed} decisions.")
            st.rerun()
    if middle.button("Accept every unflagged sample shown", key=state.SYNTH_ACCEPT_CLEAN):
        ids = shown.loc[shown["flags"] == "", "sample_id"].tolist()
        if ids:
            store.set_status(ws, store.ACCEPTED, ids)
        state.flash("success", f"Accepted {len(ids)} unflagged samples.")
        st.rerun()
    if right.button("Reject every flagged sample shown", key=state.SYNTH_REJECT_FLAGGED):
        ids = shown.loc[shown["flags"] != "", "sample_id"].tolist()
        if ids:
            store.set_status(ws, store.REJECTED, ids)
        state.flash("success", f"Rejected {len(ids)} flagged samples.")
        st.rerun()


def _save_decisions(ws: Workspace, before: pd.DataFrame, after: pd.DataFrame) -> int:
    changed = 0
    for status in store.STATUSES:
        ids = after.loc[(after["status"] == status) & (before["status"] != status), "sample_id"]
        if len(ids):
            changed += store.set_status(ws, status, ids.tolist())
    old = before["edited_text"].fillna("")
    new = after["edited_text"].fillna("")
    for sample_id, text in zip(after.loc[old != new, "sample_id"], new[old != new], strict=True):
        store.edit_text(ws, sample_id, text.strip() or None)
        changed += 1
    return changed


def interactions_tab(ws: Workspace) -> None:
    """Generate synthetic interactions for cold-start products, accept or reject them by run."""
    from core.synth.interactions.gru import GRU
    from core.synth.interactions.inputs import product_vectors
    from core.synth.interactions.neighbours import NEIGHBOURS
    from core.synth.interactions.runs import saved_generators, synthesize_interactions
    from core.synth.interactions.store import interaction_summary, set_interaction_status

    st.markdown(
        "Interactions for products without training interactions (the cold-start products "
        "of the default split). **Content neighbours** draws users from the products most "
        "similar in text; the **session model** (a GRU over item sequences whose item "
        "vectors come from product text) continues real users' sequences into the new "
        "products. Rows are stored apart from the real log, marked with their generator and "
        "run, and used for training only once accepted."
    )
    labels = {NEIGHBOURS: "Content neighbours (baseline)", GRU: "Session model (GRU)"}
    saved = saved_generators(ws)
    trained = {
        run.run_id: f"Trained in run {run.run_id} (loss {run.train_loss:.3f})"
        for run in saved.itertuples(index=False)
    }
    with st.form(state.SYNTH_I_FORM):
        left, middle, right, last = st.columns(4)
        generator = left.selectbox(
            "Generator", list(labels), format_func=labels.get, key=state.SYNTH_I_GENERATOR
        )
        n_per_item = int(middle.number_input("Per product", 1, 500, 20, key=state.SYNTH_I_N))
        temperature = right.slider("Temperature", 0.1, 3.0, 1.0, 0.1, key=state.SYNTH_I_TEMP)
        neighbours = int(
            last.number_input("Neighbours", 1, 200, 10, key=state.SYNTH_I_K,
                              help="Content neighbours only: similar products to draw from.")
        )  # fmt: skip
        reuse = left.selectbox(
            "Session model",
            [None, *trained],
            format_func=lambda run_id: "Train a new one" if run_id is None else trained[run_id],
            key=state.SYNTH_I_REUSE,
            help="Session model only: every GRU run keeps its trained model; generate again "
            "with one instead of training (it must come from the current split).",
        )
        submitted = st.form_submit_button(
            "Generate interactions", type="primary", icon=":material/play_arrow:"
        )
    if submitted:
        with widgets.show_errors():
            with generation("Generating interactions…") as (callback, _):
                split = cache.default_split(ws)
                vectors = product_vectors(
                    cache.catalog_frame(ws), split.train.item_ids,
                    cache_dir=ws.artifacts_dir / "embeddings", callback=callback,
                )  # fmt: skip
                run = synthesize_interactions(
                    ws, split, vectors, generator=generator, n_per_item=n_per_item,
                    temperature=temperature, k=neighbours, callback=callback,
                    reuse_run=reuse if generator == GRU else None,
                )  # fmt: skip
            state.flash(
                "success",
                f"{len(run.rows):,} synthetic interactions for {run.metrics['n_items']:,} "
                "products stored as pending: accept them below.",
            )
            st.rerun()
    summary = interaction_summary(ws)
    if summary.empty:
        return
    st.dataframe(summary, hide_index=True, width="stretch")
    runs = summary["run_id"].tolist()
    left, middle, right = st.columns([3, 1, 1], vertical_alignment="bottom")
    run_id = left.selectbox("Run", runs, key=state.SYNTH_I_RUN)
    if middle.button("Accept run", icon=":material/check:", key=state.SYNTH_I_ACCEPT):
        count = set_interaction_status(ws, store.ACCEPTED, run_id=run_id)
        state.flash("success", f"Accepted {count:,} synthetic interactions.")
        st.rerun()
    if right.button("Reject run", icon=":material/close:", key=state.SYNTH_I_REJECT):
        count = set_interaction_status(ws, store.REJECTED, run_id=run_id)
        state.flash("success", f"Rejected {count:,} synthetic interactions.")
        st.rerun()


def quality_tab(ws: Workspace) -> None:
    """Real vs synthetic: fidelity, diversity, memorisation, consistency, and utility."""
    from core.synth.interactions.store import list_interactions
    from core.synth.quality import quality_report

    samples = store.list_samples(ws, kind=store.QUERY_KIND)
    synthetic_rows = list_interactions(ws)
    if samples.empty and synthetic_rows.empty:
        st.info("Generate synthetic queries or interactions first.")
        return
    real_queries = cache.real_queries(ws)
    catalog = cache.catalog_frame(ws)
    real_rows = cache.real_pairs(ws) if not synthetic_rows.empty else None
    report = quality_report(
        real_interactions=real_rows,
        synthetic_interactions=synthetic_rows if not synthetic_rows.empty else None,
        catalog=catalog,
        real_texts=real_queries if not samples.empty else None,
        synthetic_texts=samples["text"].tolist() if not samples.empty else None,
        ranks=samples["rank"].dropna().tolist() if not samples.empty else None,
        k=10,
    )
    st.markdown("##### Measures")
    st.dataframe(report, hide_index=True, width="stretch")
    if not samples.empty:
        left, right = st.columns(2)
        left.plotly_chart(
            charts.overlaid_histogram(
                {"real queries": [len(q.split()) for q in real_queries],
                 "synthetic queries": [len(t.split()) for t in samples["text"]]},
                "Query length", "words",
            ),
            width="stretch",
        )  # fmt: skip
        right.plotly_chart(
            charts.overlaid_histogram(
                {"synthetic queries": samples["score"].dropna().tolist()},
                "Round-trip score (cosine of query and product)", "score",
            ),
            width="stretch",
        )  # fmt: skip
    if not synthetic_rows.empty:
        real_popularity = real_rows.groupby("item_id").size()
        synthetic_popularity = synthetic_rows.groupby("item_id").size()
        st.plotly_chart(
            charts.overlaid_histogram(
                {"real products": np.log10(real_popularity.to_numpy()),
                 "synthetic products": np.log10(synthetic_popularity.to_numpy())},
                "Interactions per product (log10)", "log10 interactions",
            ),
            width="stretch",
        )  # fmt: skip
    if not synthetic_rows.empty:
        from core.synth.quality import nearest_jaccard_distance

        real_sets = real_rows.groupby("item_id")["user_id"].agg(set)
        synthetic_sets = synthetic_rows.groupby("item_id")["user_id"].agg(set)
        distances = nearest_jaccard_distance(list(synthetic_sets), list(real_sets))
        st.plotly_chart(
            charts.overlaid_histogram(
                {"synthetic products": distances.tolist()},
                "Memorisation: each synthetic product's audience against the nearest real "
                "product's (Jaccard distance; 0 = a copied audience)",
                "nearest Jaccard distance",
            ),
            width="stretch",
        )
    st.markdown("##### Utility: does training with the accepted interactions help?")
    if synthetic_rows.empty or not (synthetic_rows["status"] == store.ACCEPTED).any():
        st.caption("Accept synthetic interactions to measure their utility.")
        return
    if st.button("Measure utility", icon=":material/science:", key=state.SYNTH_UTILITY):
        from core.evaluation.synthetic_utility import synthetic_utility

        with widgets.show_errors():
            with widgets.long_step("Training with and without…", "Measured") as progress:
                table = synthetic_utility(
                    cache.default_split(ws), ws, catalog=catalog, n_resamples=500,
                    callback=progress.stage("Utility"),
                )  # fmt: skip
            st.session_state[state.SYNTH_UTILITY_TABLE] = table
    table = st.session_state.get(state.SYNTH_UTILITY_TABLE)
    if table is not None:
        st.plotly_chart(charts.utility_bars(table), width="stretch")
        st.dataframe(table, hide_index=True, width="stretch")
