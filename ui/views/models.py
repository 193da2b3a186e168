"""Views of trained models: the table of runs, the explorer of what a model recommends, the
fine-tuned text encoders; and the run pickers the Fusion and A/B Compare pages share."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st

from core.data.workspace import Workspace
from core.figures import charts
from core.models import explore, runs
from ui import cache, feedback, state
from ui.forms.models import finetune_form, model_label
from ui.text import plain

RANKED_COLUMNS = {
    "rank": st.column_config.NumberColumn("Rank", width="small"),
    "item_id": st.column_config.TextColumn("Item", width="small"),
    "title": "Title",
    "score": st.column_config.NumberColumn("Score", format="%.4f", width="small"),
}
RANKED_ORDER = ("rank", "score", "title", "item_id")
# A user's list also says its source: the model, or the cold-user fallback.
SERVED_COLUMNS = {**RANKED_COLUMNS, "source": st.column_config.TextColumn("Source")}
SERVED_ORDER = (*RANKED_ORDER, "source")


def run_labels(models: pd.DataFrame, when: str = "%m-%d %H:%M") -> dict[str, str]:
    """Run id -> "name · creation time (strftime ``when``) · end of the run id"."""
    return {
        row.run_id: f"{row.name} · {pd.Timestamp(row.created_at).strftime(when)} · "
        f"{row.run_id[-8:]}"
        for row in models.itertuples(index=False)
    }


def ask_for_models(message: str) -> None:
    """Say that trained models are needed first (``message``), with a link to the Models page."""
    st.info(message, icon=":material/info:")
    st.page_link(
        "pages/2_Models.py", label="Open the Models page", icon=":material/model_training:"
    )


def delete_control(
    label: str,
    labels: dict[str, str],
    *,
    select_key: str,
    button_key: str,
    delete: Callable[[str], str],
    widths: tuple[int, int] = (3, 1),
) -> str | None:
    """A select of ``labels``' keys beside a Delete button (column ``widths``); returns the
    selected key.

    The button calls ``delete(key)``, which deletes and returns the success message, and reruns
    the page; an error is shown instead.
    """
    left, right = st.columns(list(widths), vertical_alignment="bottom")
    chosen = left.selectbox(label, list(labels), format_func=labels.get, key=select_key)
    if right.button("Delete", icon=":material/delete:", key=button_key) and chosen:
        with feedback.show_errors():
            state.flash("success", delete(chosen))
            st.rerun()
    return chosen


def models_table(ws: Workspace, models: pd.DataFrame) -> None:
    """The trained models with their validation metrics, and deleting one."""
    shown = models[
        [
            "name",
            "model",
            runs.RECALL_KEY,
            runs.NDCG_KEY,
            "fit_seconds",
            "data_fingerprint",
            "created_at",
            "parameters",
        ]
    ].assign(model=models["model"].map(model_label))
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={
            "name": "Name",
            "model": "Model",
            runs.RECALL_KEY: st.column_config.NumberColumn(
                "Recall@20", format="%.4f", help="On the validation part"
            ),
            runs.NDCG_KEY: st.column_config.NumberColumn(
                "NDCG@10", format="%.4f", help="On the validation part"
            ),
            "fit_seconds": st.column_config.NumberColumn("Training time (s)", format="%.2f"),
            "data_fingerprint": st.column_config.TextColumn(
                "Data", help="Short fingerprint of the cleaned events the model was trained on"
            ),
            "created_at": st.column_config.DatetimeColumn("Trained at", format="YYYY-MM-DD HH:mm"),
            "parameters": st.column_config.TextColumn("Hyperparameters", width="large"),
        },
    )
    labels = run_labels(models, "%Y-%m-%d %H:%M:%S")

    def delete(run_id: str) -> str:
        runs.delete_model(ws, run_id)
        return f"Deleted {plain(labels[run_id])}."

    delete_control(
        "Model to delete",
        labels,
        select_key=state.MODELS_DELETE_RUN,
        button_key=state.MODELS_DELETE,
        delete=delete,
    )


def explore_section(ws: Workspace, models: pd.DataFrame) -> None:
    """A trained model's training curve, the neighbours of a product and a user's history
    beside the user's recommendations."""
    labels = run_labels(models, "%Y-%m-%d %H:%M:%S")
    run_id = st.selectbox(
        "Trained model",
        list(labels),
        format_func=labels.get,
        key=state.MODELS_EXPLORE_RUN,
        persist_state=state.KEEP,
    )
    if run_id is None:
        return
    model, user_ids = cache.trained_model(ws, run_id)
    titles = cache.item_titles(ws)
    curve = cache.run_curve(ws, run_id)
    names = ["Similar items", "User explorer"]
    tabs = st.tabs(["Training curve", *names] if not curve.empty else names)
    if not curve.empty:
        with tabs[0]:
            name = models.loc[models["run_id"] == run_id, "model"].iloc[0]
            st.plotly_chart(
                charts.training_curve(curve, f"{model_label(name)}: training curve"),
                width="stretch",
            )
    similar_tab, user_tab = tabs[-2:]
    with similar_tab:
        item_ids = model.item_ids_

        def item_label(index: int) -> str:
            item = str(item_ids[index])
            title = titles.get(item, "")
            return f"{title} ({item})" if title else item

        item_idx = st.selectbox(
            "Product",
            range(len(item_ids)),
            format_func=item_label,
            key=state.MODELS_ITEM,
            persist_state=state.KEEP,
        )
        if item_idx is not None:
            st.dataframe(
                explore.similar_items(model, int(item_idx), titles, k=10),
                hide_index=True,
                width="stretch",
                column_config=RANKED_COLUMNS,
                column_order=RANKED_ORDER,
            )
    with user_tab:
        has_history = model.train_.getnnz(axis=1) > 0
        # Users with history first; those without get the labelled cold-user fallback.
        with_history = [int(user) for user in np.argsort(~has_history, kind="stable").tolist()]
        user_idx = st.selectbox(
            "User",
            with_history,
            format_func=lambda index: (
                str(user_ids[index]) + ("" if has_history[index] else " (no history)")
            ),
            key=state.MODELS_USER,
            persist_state=state.KEEP,
        )
        if user_idx is None:
            st.info("No user has training interactions.", icon=":material/info:")
            return
        left, right = st.columns(2)
        left.markdown("##### History (training interactions)")
        left.dataframe(
            explore.user_history(model, user_idx, titles),
            hide_index=True,
            width="stretch",
            column_config={
                "item_id": st.column_config.TextColumn("Item", width="small"),
                "title": "Title",
                "weight": st.column_config.NumberColumn("Weight", format="%.2f", width="small"),
            },
            column_order=("weight", "title", "item_id"),
        )
        right.markdown("##### Top 10 recommendations")
        right.dataframe(
            explore.user_recommendations(model, user_idx, titles, k=10),
            hide_index=True,
            width="stretch",
            column_config=SERVED_COLUMNS,
            column_order=SERVED_ORDER,
        )


def encoders_section(ws: Workspace) -> None:
    """The workspace's fine-tuned encoders, the curve of one, and deleting it."""
    listed = cache.encoders(ws)
    if listed.empty:
        st.info("No fine-tuned encoder yet.", icon=":material/info:")
        return
    metrics = [column for column in listed.columns if "@" in column]
    st.dataframe(
        listed[["name", "base_encoder", "created_at", "epochs", *metrics]],
        hide_index=True,
        width="stretch",
        column_config={
            "name": "Name",
            "base_encoder": "Started from",
            "created_at": st.column_config.DatetimeColumn(
                "Trained at (UTC)", format="YYYY-MM-DD HH:mm"
            ),
            "epochs": st.column_config.NumberColumn("Epochs", width="small"),
            **{
                column: st.column_config.NumberColumn(
                    charts.metric_label(column), format="%.4f", help="On the held-out queries"
                )
                for column in metrics
            },
        },
    )

    def delete(name: str) -> str:
        from core.text.finetune import delete_encoder

        delete_encoder(ws, name)
        return f"Deleted the encoder “{name}” (semantic models trained with it keep working)."

    names = listed["name"].tolist()
    name = delete_control(
        "Encoder",
        dict(zip(names, names, strict=True)),
        select_key=state.FINETUNE_ENCODER,
        button_key=state.FINETUNE_DELETE,
        delete=delete,
    )
    if name:
        st.plotly_chart(
            charts.training_curve(
                cache.encoder_curve(ws, name),
                f"“{name}”: training curve",
                held_out="the held-out queries",
            ),
            width="stretch",
        )


def finetune_section(ws: Workspace) -> None:
    """Fine-tuning in an expander whose content runs only when it is open."""
    panel = st.expander(
        "Fine-tune the text encoder on search → click pairs",
        icon=":material/tune:",
        key=state.FINETUNE_OPEN,
        on_change="rerun",
    )
    if not panel.open:
        return
    with panel, feedback.show_errors():
        finetune_form(ws)
        st.markdown("##### Fine-tuned encoders")
        encoders_section(ws)
