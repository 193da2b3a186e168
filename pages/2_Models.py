"""Models: train recommenders with live curves, compare them on validation, explore what they
recommend, and fine-tune the text encoder of the semantic model."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import pipeline
from core.data.workspace import Workspace
from core.figures import charts
from core.models import explore, runs
from core.models.registry import available_models
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
    "large catalogue the first time; unchanged texts are read from the embedding cache after. "
    "Fine-tune the encoder on your search logs below to choose it here.",
}
ENCODER_HELP = (
    "Text encoder of the product embeddings: the pretrained model, or one fine-tuned on this "
    "workspace's searches (section Text encoder, at the bottom of the page)."
)
EVAL_EVERY_HELP = (
    "Score Recall@20 and NDCG@10 on the validation users every this many epochs while the "
    "model trains, for the validation curve (each scoring takes about as long as scoring the "
    "final model). 0: only at the end."
)
# Fine-tuning settings shown in the form; the others keep FinetuneConfig's defaults.
FINETUNE_FIELDS = (
    "epochs",
    "batch_size",
    "learning_rate",
    "max_pairs",
    "window_minutes",
    "valid_fraction",
)
# Page defaults that differ from FinetuneConfig's: a first run that ends in minutes on a CPU.
FINETUNE_DEFAULTS = {"max_pairs": 2000}

RANKED_COLUMNS = {
    "rank": st.column_config.NumberColumn("Rank", width="small"),
    "item_id": st.column_config.TextColumn("Item", width="small"),
    "title": "Title",
    "score": st.column_config.NumberColumn("Score", format="%.4f", width="small"),
}

RANKED_ORDER = ("rank", "score", "title", "item_id")
PAIR_SOURCES = {
    "real": "Real search → click pairs",
    "both": "Real + accepted synthetic queries",
    "synthetic": "Accepted synthetic queries only",
}


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


def _eval_every_default(defaults: dict[str, Any]) -> int:
    """About five validation points over the default number of epochs."""
    return max(1, int(defaults.get("iterations", 5)) // 5)


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
                if model_name == "semantic_bert" and name == "encoder":
                    key = f"{state.MODELS_PARAM_PREFIX}{model_name}__{name}"
                    params[name] = widgets.encoder_choice(ws, "Encoder", key, ENCODER_HELP)
                else:
                    params[name] = param_input(model_name, name, defaults[name], helps.get(name))
        eval_every = 0
        if model_class.scores_during_fit:
            with columns[len(shown) % 3]:
                eval_every = int(
                    st.number_input(
                        "Validate every N epochs",
                        min_value=0,
                        value=_eval_every_default(defaults),
                        step=1,
                        key=f"{state.MODELS_EVAL_EVERY}{model_name}",
                        help=EVAL_EVERY_HELP,
                    )
                )
        synthetic = st.checkbox(
            "Add the accepted synthetic interactions to the training data",
            key=state.MODELS_SYNTHETIC,
            help="Interactions generated and accepted on the Synthetic Data page (e.g. for "
            "cold-start products). Validation and test stay real.",
        )
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
        with widgets.training_run(
            f"Training {label}…",
            "Trained",
            stop_key=state.MODELS_STOP,
            curve_key=state.MODELS_CURVE,
            curve_title=f"{label}: training curve",
        ) as callback:
            trained = pipeline.train(
                ws,
                model_name,
                params,
                name=f"{model_name}+synthetic" if synthetic else None,
                eval_every=eval_every,
                synthetic=synthetic,
                callback=callback,
            )
        st.session_state[state.MODELS_EXPLORE_RUN] = trained.run_id
        metrics = trained.metrics
        state.flash(
            "success",
            f"Trained {label} in {metrics['fit_seconds']:.1f} s: "
            f"Recall@20 {_fmt(metrics[runs.RECALL_KEY])}, "
            f"NDCG@10 {_fmt(metrics[runs.NDCG_KEY])} on validation.",
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
            runs.RECALL_KEY,
            runs.NDCG_KEY,
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
    labels = _run_label(models)
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    run_id = left.selectbox(
        "Model to delete", list(labels), format_func=labels.get, key=state.MODELS_DELETE_RUN
    )
    if right.button("Delete", icon=":material/delete:", key=state.MODELS_DELETE) and run_id:
        with widgets.show_errors():
            runs.delete_model(ws, run_id)
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
    curve = cache.run_curve(ws, run_id)
    names = ["Similar items", "User explorer"]
    tabs = st.tabs(["Training curve", *names] if not curve.empty else names)
    if not curve.empty:
        with tabs[0]:
            name = models.loc[models["run_id"] == run_id, "model"].iloc[0]
            st.plotly_chart(
                charts.training_curve(curve, f"{LABELS.get(name, name)}: training curve"),
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
            "Product", range(len(item_ids)), format_func=item_label, key=state.MODELS_ITEM
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
            column_config=RANKED_COLUMNS,
            column_order=RANKED_ORDER,
        )


def finetune_form(ws: Workspace) -> None:
    """Settings of a fine-tuning run; runs it, with its live curve, when submitted."""
    # Imported here: fine-tuning loads torch and transformers (seconds), so only once the
    # section is opened.
    from core.errors import FinetuneError
    from core.text.finetune import FinetuneConfig, finetune_encoder

    counts = cache.search_click_counts(ws)
    if counts["n_queries"] < 2:
        st.info(
            "Fine-tuning learns from searches followed by a click, add-to-cart or purchase in "
            f"the same session, and the cleaned events hold {counts['n_pairs']:,} such "
            "(query, product) pairs: load events with search queries to fine-tune.",
            icon=":material/info:",
        )
        return
    st.caption(
        f"Trains the encoder to place each search query next to the products clicked, put "
        f"in the cart or bought after it in the same session: {counts['n_pairs']:,} "
        f"(query, product) pairs over {counts['n_queries']:,} distinct queries in the cleaned "
        "events. A share of the queries is held out: retrieval on them is measured before "
        "training and after each epoch."
    )
    defaults = FinetuneConfig()
    helps = widgets.parameter_help(FinetuneConfig, "Attributes")
    with st.form(state.FINETUNE_FORM):
        left, right = st.columns(2)
        name = left.text_input(
            "Name",
            value="search-clicks",
            key=state.FINETUNE_NAME,
            help="Letters, digits, - and _. An encoder of the same name is replaced once the "
            "new one is trained.",
        )
        with right:
            base = widgets.encoder_choice(
                ws,
                "Start from",
                state.FINETUNE_BASE,
                "The pretrained encoder, or a fine-tuned one to train further.",
            )
        columns = st.columns(3)
        values: dict[str, Any] = {}
        for position, field in enumerate(FINETUNE_FIELDS):
            default = FINETUNE_DEFAULTS.get(field, getattr(defaults, field))
            with columns[position % 3]:
                values[field] = _finetune_input(field, default, helps.get(field))
        source = st.radio(
            "Training pairs",
            list(PAIR_SOURCES),
            format_func=PAIR_SOURCES.get,
            horizontal=True,
            key=state.FINETUNE_PAIRS,
            help="Held-out queries are always real searches, so the figures compare alike.",
        )
        submitted = st.form_submit_button(
            "Fine-tune", type="primary", icon=":material/play_arrow:", key=state.FINETUNE_RUN
        )
    if not submitted:
        return
    with widgets.show_errors():
        config = FinetuneConfig(base_encoder=base, **values)
        with widgets.training_run(
            f"Fine-tuning “{name}”…",
            "Fine-tuned",
            stop_key=state.FINETUNE_STOP,
            curve_key=state.FINETUNE_CURVE,
            curve_title=f"“{name}”: training curve",
            held_out="the held-out queries",
        ) as callback:
            extra = None
            if source != "real":
                from core.synth.store import accepted_query_pairs

                extra = accepted_query_pairs(ws)
                if extra.empty:
                    raise FinetuneError(
                        "no accepted synthetic query yet: generate and accept some on the "
                        "Synthetic Data page, or train on real pairs"
                    )
            result = finetune_encoder(
                ws,
                name,
                config,
                extra_pairs=extra,
                train_on_pairs=source != "synthetic",
                callback=callback,
            )
        history = result.history
        ndcg = f"ndcg@{config.k}"
        st.session_state[state.FINETUNE_ENCODER] = result.name
        state.flash(
            "success",
            f"Fine-tuned “{result.name}” on {result.n_train_pairs:,} pairs in "
            f"{history['seconds'].iloc[-1]:.0f} s: held-out NDCG@{config.k} "
            f"{history[ndcg].iloc[0]:.4f} before, {history[ndcg].iloc[-1]:.4f} after. "
            "Choose it as the encoder of the Semantic (BERT) model.",
        )
        st.rerun()


def _finetune_input(field: str, default: Any, help_text: str | None) -> Any:
    key = f"{state.FINETUNE_PARAM_PREFIX}{field}"
    label = field.replace("_", " ").capitalize()
    if field == "max_pairs":
        number = st.number_input(
            "Max pairs (0 = all)",
            min_value=0,
            value=int(default or 0),
            step=500,
            key=key,
            help=help_text,
        )
        return int(number) or None
    if isinstance(default, int):
        return int(
            st.number_input(label, min_value=1, value=default, step=1, key=key, help=help_text)
        )
    return float(
        st.number_input(
            label, value=float(default), format="%g", step=None, key=key, help=help_text
        )
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
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    name = left.selectbox("Encoder", listed["name"].tolist(), key=state.FINETUNE_ENCODER)
    if right.button("Delete", icon=":material/delete:", key=state.FINETUNE_DELETE) and name:
        with widgets.show_errors():
            from core.text.saved_encoders import delete_encoder

            delete_encoder(ws, name)
            state.flash(
                "success",
                f"Deleted the encoder “{name}” (semantic models trained with it keep working).",
            )
            st.rerun()
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
    with panel, widgets.show_errors():
        finetune_form(ws)
        st.markdown("##### Fine-tuned encoders")
        encoders_section(ws)


st.title("Models")
widgets.show_flash()
widgets.show_interrupted()
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
        st.subheader("Text encoder", divider="gray")
        finetune_section(ws)
