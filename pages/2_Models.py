"""Models: train recommenders, compare them on validation, explore what they recommend."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import training
from core.models.registry import available_models
from core.workspace import Workspace
from ui import cache, state, widgets

st.set_page_config(
    page_title="Models · ShopSynth", page_icon=":material/model_training:", layout="wide"
)
state.init()

DEFAULT_MODEL = "als"
# Hyperparameters the page sets itself.
HIDDEN_PARAMS = {"cache_dir"}
LABELS = {
    "als": "ALS (implicit)",
    "bpr": "BPR (implicit)",
    "content_tfidf": "Content (TF-IDF)",
    "item_knn": "Item kNN",
    "popularity": "Popularity",
    "semantic_bert": "Semantic (BERT)",
}
NOTES = {
    "semantic_bert": "Encodes every product text with a BERT model: minutes on a CPU for a "
    "large catalogue the first time; unchanged texts are read from the embedding cache after.",
}

RANKED_COLUMNS = {
    "rank": st.column_config.NumberColumn("Rank", width="small"),
    "item_id": st.column_config.TextColumn("Item", width="small"),
    "title": "Title",
    "score": st.column_config.NumberColumn("Score", format="%.4f", width="small"),
}

RANKED_ORDER = ("rank", "score", "title", "item_id")


def _parse_text(text: str) -> Any:
    """A free-text hyperparameter: empty or "none" -> None, else int, float or text."""
    text = text.strip()
    if text == "" or text.lower() == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def param_input(model_name: str, name: str, default: Any, help_text: str | None) -> Any:
    key = f"{state.MODELS_PARAM_PREFIX}{model_name}__{name}"
    label = name.replace("_", " ").capitalize()
    if isinstance(default, bool):
        return st.checkbox(label, value=default, key=key, help=help_text)
    if isinstance(default, int):
        return int(st.number_input(label, value=default, step=1, key=key, help=help_text))
    if isinstance(default, float):
        step = 0.01 if 0 < abs(default) < 1 else 1.0
        return float(
            st.number_input(label, value=default, step=step, format="%g", key=key, help=help_text)
        )
    text = st.text_input(
        label,
        value="" if default is None else str(default),
        key=key,
        help=(help_text or "") + " Leave empty for the default (None).",
    )
    return _parse_text(text)


def train_section(ws: Workspace) -> None:
    models = available_models()
    names = list(models)
    model_name = st.selectbox(
        "Model",
        names,
        index=names.index(DEFAULT_MODEL) if DEFAULT_MODEL in names else 0,
        format_func=lambda name: LABELS.get(name, name),
        key=state.MODELS_CHOICE,
    )
    model_class = models[model_name]
    if model_name in NOTES:
        st.caption(NOTES[model_name])
    defaults = model_class().get_params()
    helps = widgets.parameter_help(model_class)
    with st.form(state.MODELS_TRAIN_FORM):
        st.markdown(f"##### {LABELS.get(model_name, model_name)} hyperparameters")
        shown = [name for name in defaults if name not in HIDDEN_PARAMS]
        columns = st.columns(3)
        params: dict[str, Any] = {}
        for position, name in enumerate(shown):
            with columns[position % 3]:
                params[name] = param_input(model_name, name, defaults[name], helps.get(name))
        st.caption(
            "Trained on the earliest 70% of the timed interactions, scored on the next 10% "
            "(validation); the last 20% are kept for testing."
        )
        submitted = st.form_submit_button(
            "Train", type="primary", icon=":material/play_arrow:", key=state.MODELS_TRAIN
        )
    if not submitted:
        return
    with widgets.show_errors():
        label = LABELS.get(model_name, model_name)
        with widgets.long_step(f"Training {label}…", "Trained") as progress:
            trained = training.train_model(
                ws, model_name, params, callback=progress.stage("Training")
            )
        metrics = trained.metrics
        state.flash(
            "success",
            f"Trained {label} in {metrics['fit_seconds']:.1f} s: "
            f"Recall@20 {_fmt(metrics[training.RECALL_KEY])}, "
            f"NDCG@10 {_fmt(metrics[training.NDCG_KEY])} on validation.",
        )
        st.rerun()


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.4f}"


def _run_label(models: pd.DataFrame) -> dict[str, str]:
    labels = {}
    for row in models.itertuples(index=False):
        created = pd.Timestamp(row.created_at)
        labels[row.run_id] = f"{row.name} · {created:%Y-%m-%d %H:%M:%S} · {row.run_id[-8:]}"
    return labels


def models_table(ws: Workspace, models: pd.DataFrame) -> None:
    shown = models[
        [
            "name",
            "model",
            training.RECALL_KEY,
            training.NDCG_KEY,
            "fit_seconds",
            "data_fingerprint",
            "created_at",
            "parameters",
        ]
    ].assign(model=models["model"].map(lambda name: LABELS.get(name, name)))
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={
            "name": "Name",
            "model": "Model",
            training.RECALL_KEY: st.column_config.NumberColumn(
                "Recall@20", format="%.4f", help="On the validation part"
            ),
            training.NDCG_KEY: st.column_config.NumberColumn(
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
    labels = _run_label(models)
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    run_id = left.selectbox(
        "Model to delete", list(labels), format_func=labels.get, key=state.MODELS_DELETE_RUN
    )
    if right.button("Delete", icon=":material/delete:", key=state.MODELS_DELETE) and run_id:
        with widgets.show_errors():
            training.delete_model(ws, run_id)
            state.flash("success", f"Deleted {labels[run_id]}.")
            st.rerun()


def explore_section(ws: Workspace, models: pd.DataFrame) -> None:
    labels = _run_label(models)
    run_id = st.selectbox(
        "Trained model", list(labels), format_func=labels.get, key=state.MODELS_EXPLORE_RUN
    )
    if run_id is None:
        return
    model, user_ids = cache.trained_model(ws, run_id)
    titles = cache.item_titles(ws)
    similar_tab, user_tab = st.tabs(["Similar items", "User explorer"])
    with similar_tab:
        item_ids = model.item_ids_

        def item_label(index: int) -> str:
            item = str(item_ids[index])
            title = titles.get(item, "")
            return f"{title} ({item})" if title else item

        item_idx = st.selectbox(
            "Product", range(len(item_ids)), format_func=item_label, key=state.MODELS_ITEM
        )
        if item_idx is not None:
            st.dataframe(
                training.similar_items(model, int(item_idx), titles, k=10),
                hide_index=True,
                width="stretch",
                column_config=RANKED_COLUMNS,
                column_order=RANKED_ORDER,
            )
    with user_tab:
        with_history = [
            int(user) for user in (model.train_.getnnz(axis=1) > 0).nonzero()[0].tolist()
        ]
        user_idx = st.selectbox(
            "User",
            with_history,
            format_func=lambda index: str(user_ids[index]),
            key=state.MODELS_USER,
        )
        if user_idx is None:
            st.info("No user has training interactions.", icon=":material/info:")
            return
        left, right = st.columns(2)
        left.markdown("##### History (training interactions)")
        left.dataframe(
            training.user_history(model, user_idx, titles),
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
            training.user_recommendations(model, user_idx, titles, k=10),
            hide_index=True,
            width="stretch",
            column_config=RANKED_COLUMNS,
            column_order=RANKED_ORDER,
        )


st.title("Models")
widgets.show_flash()
with widgets.show_errors():
    ws = state.workspace()
    widgets.sidebar_workspace(ws)
    status = cache.dataset_status(ws)
    widgets.dataset_line(status)
    if not status["cleaned"]:
        st.info(
            "Load and clean a dataset first: models train on the cleaned events (Data page).",
            icon=":material/info:",
        )
        st.page_link("pages/1_Data.py", label="Open the Data page", icon=":material/database:")
    else:
        st.subheader("Train a model", divider="gray")
        train_section(ws)
        st.subheader("Trained models", divider="gray")
        trained = cache.model_list(ws)
        if trained.empty:
            st.info("No trained model yet: pick one above and press Train.", icon=":material/info:")
        else:
            models_table(ws, trained)
            st.subheader("Explore", divider="gray")
            with widgets.show_errors():
                explore_section(ws, trained)
