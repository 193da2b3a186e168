"""Forms of the Models page: a model's hyperparameters and its training, the settings of a
text-encoder fine-tuning and its run, each with a live training curve."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from core import pipeline
from core.data.workspace import Workspace
from core.engines.settings import read_engine, start_spark
from core.models import runs, training
from core.models.registry import available_models
from core.progress import ProgressCallback
from ui import cache, feedback, state
from ui.forms.params import encoder_choice, parameter_help
from ui.forms.tuning import tune_expander
from ui.text import plain

Result = TypeVar("Result")

DEFAULT_MODEL = "als"
# Hyperparameters the page sets itself.
HIDDEN_PARAMS = {"cache_dir"}
MODEL_LABELS = {
    "als": "ALS (implicit)",
    "als_spark": "ALS (Spark MLlib)",
    "bpr": "BPR (implicit)",
    "content_tfidf": "Content (TF-IDF)",
    "item_knn": "Item kNN",
    "popularity": "Popularity",
    "semantic_bert": "Semantic (BERT)",
}
# Models that fit on Spark: the workspace's master (Data page, Clean tab), local[*] otherwise.
SPARK_MODELS = {"als_spark"}
NOTES = {
    "als_spark": "Fits on Apache Spark: the master of the workspace's engine setting (Data "
    "page, Clean tab), or local[*]. Needs requirements-spark.txt and Java 17.",
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
PAIR_SOURCES = {
    "real": "Real search → click pairs",
    "both": "Real + accepted synthetic queries",
    "synthetic": "Accepted synthetic queries only",
}


def model_label(model_name: str) -> str:
    """Display name of a registered model, e.g. ``als`` -> "ALS (implicit)"."""
    return MODEL_LABELS.get(model_name, model_name)


def train_then_rerun(
    run: AbstractContextManager[ProgressCallback],
    train: Callable[[ProgressCallback], Result],
    done: Callable[[Result], str],
) -> None:
    """Run ``train(callback)`` in ``run`` (a :func:`ui.feedback.training_run`), then rerun the
    page with the success message ``done(result)``, which also keeps in the session what the
    next run shows."""
    with run as callback:
        result = train(callback)
    state.flash("success", done(result))
    st.rerun()


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
    """The input of one hyperparameter, by the type of its default."""
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


def _format_metric(value: float | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.4f}"


def train_form(ws: Workspace) -> None:
    """Choice of a model and its hyperparameters; trains it, with its live curve, when
    submitted, and opens it in the explorer."""
    models = available_models()
    names = list(models)
    model_name = st.selectbox(
        "Model",
        names,
        index=names.index(DEFAULT_MODEL) if DEFAULT_MODEL in names else 0,
        format_func=model_label,
        key=state.MODELS_CHOICE,
        persist_state=state.KEEP,
    )
    model_class = models[model_name]
    if model_name in NOTES:
        st.caption(NOTES[model_name])
    defaults = model_class().get_params()
    helps = parameter_help(model_class)
    # Enter in a field does not submit: only the button starts a training.
    with st.form(state.MODELS_TRAIN_FORM, enter_to_submit=False):
        st.markdown(f"##### {model_label(model_name)} hyperparameters")
        shown = [name for name in defaults if name not in HIDDEN_PARAMS]
        columns = st.columns(3)
        params: dict[str, Any] = {}
        for position, name in enumerate(shown):
            with columns[position % 3]:
                if model_name == "semantic_bert" and name == "encoder":
                    key = f"{state.MODELS_PARAM_PREFIX}{model_name}__{name}"
                    params[name] = encoder_choice(ws, "Encoder", key, ENCODER_HELP)
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
    tune_expander(ws, model_name, model_label(model_name))
    if not submitted:
        return
    label = model_label(model_name)

    def train(callback: ProgressCallback) -> training.TrainedModel:
        if model_name in SPARK_MODELS:
            callback(0, 1, f"starting Spark ({read_engine(ws).label})")
            start_spark(ws)
        return pipeline.train(
            ws,
            model_name,
            params,
            name=f"{model_name}+synthetic" if synthetic else None,
            eval_every=eval_every,
            synthetic=synthetic,
            callback=callback,
        )

    def done(trained: training.TrainedModel) -> str:
        st.session_state[state.MODELS_EXPLORE_RUN] = trained.run_id
        metrics = trained.metrics
        return (
            f"Trained {label} in {metrics['fit_seconds']:.1f} s: "
            f"Recall@20 {_format_metric(metrics[runs.RECALL_KEY])}, "
            f"NDCG@10 {_format_metric(metrics[runs.NDCG_KEY])} on validation."
        )

    with feedback.show_errors():
        run = feedback.training_run(
            f"Training {label}…",
            "Trained",
            stop_key=state.MODELS_STOP,
            curve_key=state.MODELS_CURVE,
            curve_title=f"{label}: training curve",
        )
        train_then_rerun(run, train, done)


def finetune_form(ws: Workspace) -> None:
    """Settings of a fine-tuning run; runs it, with its live curve, when submitted."""
    # Imported here: fine-tuning loads torch and transformers (seconds), so only once the
    # section is opened.
    from core.errors import FinetuneError
    from core.text.finetune import FinetuneConfig, FinetuneResult, finetune_encoder

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
    helps = parameter_help(FinetuneConfig, "Attributes")
    with st.form(state.FINETUNE_FORM, enter_to_submit=False):
        left, right = st.columns(2)
        name = left.text_input(
            "Name",
            value="search-clicks",
            key=state.FINETUNE_NAME,
            help="Letters, digits, - and _. An encoder of the same name is replaced once the "
            "new one is trained.",
        )
        with right:
            base = encoder_choice(
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

    def train(callback: ProgressCallback) -> FinetuneResult:
        extra = None
        if source != "real":
            from core.synth.store import accepted_query_pairs

            extra = accepted_query_pairs(ws)
            if extra.empty:
                raise FinetuneError(
                    "no accepted synthetic query yet: generate and accept some on the "
                    "Synthetic Data page, or train on real pairs"
                )
        return finetune_encoder(
            ws,
            name,
            config,
            extra_pairs=extra,
            train_on_pairs=source != "synthetic",
            callback=callback,
        )

    def done(result: FinetuneResult) -> str:
        history = result.history
        ndcg = f"ndcg@{config.k}"
        st.session_state[state.FINETUNE_ENCODER] = result.name
        return (
            f"Fine-tuned “{plain(result.name)}” on {result.n_train_pairs:,} pairs in "
            f"{history['seconds'].iloc[-1]:.0f} s: held-out NDCG@{config.k} "
            f"{history[ndcg].iloc[0]:.4f} before, {history[ndcg].iloc[-1]:.4f} after. "
            "Choose it as the encoder of the Semantic (BERT) model."
        )

    with feedback.show_errors():
        config = FinetuneConfig(base_encoder=base, **values)
        run = feedback.training_run(
            f"Fine-tuning “{plain(name)}”…",
            "Fine-tuned",
            stop_key=state.FINETUNE_STOP,
            curve_key=state.FINETUNE_CURVE,
            curve_title=f"“{name}”: training curve",
            held_out="the held-out queries",
        )
        train_then_rerun(run, train, done)


def _finetune_input(field: str, default: Any, help_text: str | None) -> Any:
    """The input of one fine-tuning setting; ``max_pairs`` 0 means all pairs (None)."""
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
