"""The quality tab of the Synthetic Data page: every figure per generator and review status
(rejected samples left out unless chosen), attribute consistency with the disagreeing samples,
popularity of new products like with like, memorisation, and the utility of accepted data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core.data.workspace import Workspace
from core.figures import charts
from core.schema import DESCRIPTION
from core.synth import store
from core.synth.catalog_fields import catalog_column
from core.synth.quality_groups import (
    CONTRADICTS,
    DEFAULT_STATUSES,
    attribute_consistency,
    attribute_summary,
    new_item_popularity,
    real_item_events,
    text_quality_by_group,
)
from ui import cache, state, tables
from ui.feedback import long_step, show_errors
from ui.text import plural

KIND_LABELS = {store.QUERY_KIND: "Queries", store.DESCRIPTION_KIND: "Descriptions"}


def _group_label(generator: str, status: str) -> str:
    return f"{generator} · {status}"


def _choices(ws: Workspace) -> tuple[str, list[str], list[str] | None]:
    """Kind, statuses and generators chosen (None: every generator)."""
    left, middle, right = st.columns([1, 2, 3])
    kind = left.selectbox(
        "Texts", list(KIND_LABELS), format_func=KIND_LABELS.get, key=state.SYNTH_Q_KIND
    )
    statuses = middle.multiselect(
        "Statuses", list(store.STATUSES), default=list(DEFAULT_STATUSES),
        key=state.SYNTH_Q_STATUSES,
        help="Rejected samples are left out unless chosen: a figure never mixes what a "
        "reviewer threw away with what is kept.",
    )  # fmt: skip
    summary = store.sample_summary(ws)
    known = summary.loc[summary["kind"] == kind, "generator"].drop_duplicates().tolist()
    chosen = right.multiselect(
        "Generators", known, default=known, key=f"{state.SYNTH_Q_GENERATORS}{kind}"
    )
    return kind, statuses, chosen


def _text_figures(ws: Workspace, kind: str, samples: pd.DataFrame, statuses: list[str]) -> None:
    """Measures per generator and status, and the query charts per group."""
    catalog = cache.catalog_frame(ws)
    real = (
        cache.real_queries(ws)
        if kind == store.QUERY_KIND
        else [text for text in catalog_column(catalog, DESCRIPTION) if text]
    )
    table = text_quality_by_group(samples, real or None, statuses=statuses, k=10)
    wide = table.assign(group=[_group_label(g, s) for g, s in zip(table["generator"],
                                                                     table["status"],
                                                                     strict=True)])  # fmt: skip
    counts = wide.drop_duplicates("group").set_index("group")["n"].astype(float).rename("samples")
    pivot = wide.pivot_table(index="measure", columns="group", values="value", sort=False)
    pivot = pd.concat([counts.to_frame().T, pivot])[list(counts.index)]
    st.markdown("##### Measures per generator and status")
    st.caption(
        "One column per generator and status; copies count the real "
        + ("queries of the log." if kind == store.QUERY_KIND else "catalogue descriptions.")
    )
    tables.table(pivot.reset_index(names="measure"), hide_index=True)
    if kind == store.QUERY_KIND:
        groups = samples.groupby(["generator", "status"], sort=True)
        lengths = {"real queries": [len(q.split()) for q in real]}
        scores: dict[str, list[float]] = {}
        for (generator, status), group in groups:
            label = _group_label(generator, status)
            lengths[label] = [len(text.split()) for text in group["text"]]
            scores[label] = group["score"].dropna().tolist()
        left, right = st.columns(2)
        left.plotly_chart(
            charts.overlaid_histogram(lengths, "Query length", "words"), width="stretch"
        )
        right.plotly_chart(
            charts.overlaid_histogram(
                scores, "Round-trip score (cosine of query and product)", "score"
            ),
            width="stretch",
        )


def _attribute_figures(ws: Workspace, samples: pd.DataFrame) -> None:
    """Colour, material, brand and size stated in the texts against the catalogue, per
    generator, with the disagreeing samples listed."""
    catalog = cache.catalog_frame(ws)
    checks = attribute_consistency(
        samples["text"].tolist(), samples["item_id"].astype(str).tolist(), catalog
    )
    st.markdown("##### Attributes stated in the texts against the catalogue")
    if checks.empty:
        st.caption("No sample's product has a colour, material, brand or size to check.")
        return
    checks = checks.assign(
        generator=samples["generator"].to_numpy()[checks["row"]],
        status=samples["status"].to_numpy()[checks["row"]],
    )
    parts = [
        attribute_summary(group).assign(generator=generator)
        for generator, group in checks.groupby("generator")
    ]
    summary = pd.concat(parts, ignore_index=True)
    tables.table(
        summary[["generator", "attribute", "n", "agrees", "contradicts", "not named", "agreement"]],
        column_config={
            "agreement": st.column_config.NumberColumn("Agreement", format="%.3f"),
            "n": "Texts with a catalogue value",
        },
    )
    wrong = checks[checks["verdict"] == CONTRADICTS]
    titles = cache.item_titles(ws)
    with st.expander(
        f"Disagreeing samples ({plural(len(wrong), 'attribute')})", icon=":material/rule:"
    ):
        if wrong.empty:
            st.caption("No text names another value than its product's.")
            return
        rows = samples.iloc[wrong["row"].to_numpy()]
        tables.table(
            pd.DataFrame(
                {
                    "generator": wrong["generator"].to_numpy(),
                    "status": wrong["status"].to_numpy(),
                    "product": [titles.get(str(item), str(item)) for item in wrong["item_id"]],
                    "attribute": wrong["attribute"].to_numpy(),
                    "catalogue_value": wrong["catalogue_value"].to_numpy(),
                    "named_values": wrong["named_values"].to_numpy(),
                    "text": rows["text"].to_numpy(),
                }
            )
        )


def _interaction_figures(ws: Workspace, statuses: list[str]) -> pd.DataFrame:
    """Fidelity and memorisation of synthetic interactions per generator; the rows shown."""
    from core.synth.interactions.store import list_interactions
    from core.synth.quality import nearest_jaccard_distance, quality_report

    rows = list_interactions(ws)
    rows = rows[rows["status"].isin(statuses)]
    if rows.empty:
        return rows
    st.markdown("##### Interactions per generator")
    split = cache.default_split(ws)
    real_rows = cache.real_pairs(ws)
    catalog = cache.catalog_frame(ws)
    parts, counts, distances = [], {}, {}
    cutoff = split.params.get("cutoff")
    events = real_item_events(ws) if cutoff else None
    for generator, group in rows.groupby("generator"):
        report = quality_report(
            real_interactions=real_rows, synthetic_interactions=group, catalog=catalog
        )
        # Interactions per product against every real product says more about the "per
        # product" setting than the generator: new products are the fair comparison.
        report = report[~report["measure"].str.startswith("item popularity")]
        if events is not None:
            with show_errors():
                popularity, sizes = new_item_popularity(events, group, pd.Timestamp(cutoff))
                report = pd.concat([popularity, report], ignore_index=True)
                counts.setdefault("real new products", sizes["real new products"])
                counts[f"{generator} (synthetic)"] = sizes["synthetic products"]
        parts.append(report.assign(generator=generator))
        real_sets = real_rows.groupby("item_id")["user_id"].agg(set)
        synthetic_sets = group.groupby("item_id")["user_id"].agg(set)
        distances[generator] = nearest_jaccard_distance(
            list(synthetic_sets), list(real_sets)
        ).tolist()
    tables.table(pd.concat(parts, ignore_index=True)[["generator", "measure", "value", "detail"]])
    if counts:
        st.plotly_chart(
            charts.overlaid_histogram(
                {name: np.log10(values).tolist() for name, values in counts.items()},
                f"Rows per product: synthetic against real products new since {cutoff[:10]} "
                "(log10)",
                "log10 rows",
            ),
            width="stretch",
        )
    st.plotly_chart(
        charts.overlaid_histogram(
            distances,
            "Memorisation: each synthetic product's audience against the nearest real "
            "product's (Jaccard distance; 0 = a copied audience)",
            "nearest Jaccard distance",
        ),
        width="stretch",
    )
    return rows


def _utility(ws: Workspace, rows: pd.DataFrame) -> None:
    st.markdown("##### Utility: does training with the accepted interactions help?")
    if rows.empty or not (rows["status"] == store.ACCEPTED).any():
        st.caption("Accept synthetic interactions to measure their utility.")
        return
    if st.button("Measure utility", icon=":material/science:", key=state.SYNTH_UTILITY):
        from core.evaluation.synthetic_utility import synthetic_utility

        with show_errors():
            with long_step("Training with and without…", "Measured") as progress:
                table = synthetic_utility(
                    cache.default_split(ws), ws, catalog=cache.catalog_frame(ws),
                    n_resamples=500, callback=progress.stage("Utility"),
                )  # fmt: skip
            st.session_state[state.SYNTH_UTILITY_TABLE] = table
    utility: Any = st.session_state.get(state.SYNTH_UTILITY_TABLE)
    if utility is not None:
        st.plotly_chart(charts.utility_bars(utility), width="stretch")
        tables.table(utility)


def quality_tab(ws: Workspace) -> None:
    """Real vs synthetic, per generator and status: texts, attributes, interactions, utility."""
    kind, statuses, generators = _choices(ws)
    if not statuses:
        st.info("Choose at least one status.")
        return
    samples = store.list_samples(ws, kind=kind)
    samples = samples[samples["status"].isin(statuses) & samples["generator"].isin(generators)]
    samples = samples.reset_index(drop=True)
    if samples.empty:
        st.info(f"No {KIND_LABELS[kind].lower()} with these statuses and generators.")
    else:
        _text_figures(ws, kind, samples, statuses)
        _attribute_figures(ws, samples)
    rows = _interaction_figures(ws, statuses)
    _utility(ws, rows)
