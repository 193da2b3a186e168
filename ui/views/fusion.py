"""The Fusion page's view: signals and weights, headline metrics against the best single signal,
the weight sweep's trade-offs, why a user gets each product, the learned gate and saved variants."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import streamlit as st

from core.data.workspace import Workspace
from core.figures.fusion import (
    HEADLINE,
    HEADLINE_LABELS,
    contribution_chart,
)
from core.fusion import NORMALISATIONS, PreparedFusion
from core.fusion.methods import rank_candidates
from core.fusion.runs import (
    FUSION_METHODS,
    GATE,
    FusionConfig,
    FusionSignals,
    delete_fusion,
    gate_features,
    save_fusion,
)
from core.models.base import SOURCE_POPULARITY_FALLBACK
from core.progress import ProgressCallback
from ui import cache, feedback, state
from ui.forms.models import train_then_rerun
from ui.fusion_cache import FusionKey, fusion_key, single_signals
from ui.text import code, plain
from ui.views.fusion_tradeoffs import tradeoffs_section, with_gaps
from ui.views.models import delete_control, run_labels

if TYPE_CHECKING:
    from core.fusion.gate import SoftmaxGate

METHOD_LABELS = {
    "weighted": "Weighted sum",
    "rrf": "Reciprocal rank fusion",
    "combmnz": "CombMNZ",
    GATE: "Learned gate",
}


def default_models(models: pd.DataFrame) -> list[str]:
    """The newest run of each model type, up to four."""
    newest = models.drop_duplicates("model")
    return newest["run_id"].tolist()[:4]


def _weights(names: tuple[str, ...]) -> np.ndarray:
    """The sliders' weights, normalised to sum to 1 (equal weights when every slider is 0)."""
    raw = np.array(
        [st.session_state.get(f"{state.FUSION_WEIGHT_PREFIX}{name}", 1.0) for name in names],
        dtype=np.float32,
    )
    return raw / raw.sum() if raw.sum() > 0 else np.full(len(names), 1 / len(names), np.float32)


def _weight_list(names: tuple[str, ...], weights: np.ndarray) -> str:
    return ", ".join(f"{plain(n)} {w:.2f}" for n, w in zip(names, weights, strict=True))


def headline(
    prepared: PreparedFusion,
    weights: np.ndarray,
    method: str,
    best_single: dict[str, Any],
    cold_weights: np.ndarray | None = None,
) -> dict[str, float]:
    """The headline metrics of the fused ranking, each against the best single signal."""
    values = prepared.evaluate(weights, method, HEADLINE, cold_weights)
    columns = st.columns(len(HEADLINE))
    for column, metric in zip(columns, HEADLINE, strict=True):
        reference = best_single[metric]
        column.metric(
            HEADLINE_LABELS[metric],
            f"{values[metric]:.4f}",
            delta=f"{values[metric] - reference:+.4f}",
            help=f"On the validation users; the change is against the best single signal "
            f"by NDCG@10 ({plain(best_single['name'])}: {reference:.4f}).",
        )
    return values


def user_view(
    ws: Workspace,
    signals: FusionSignals,
    prepared: PreparedFusion,
    weights: np.ndarray,
    method: str,
    cold_weights: np.ndarray | None = None,
) -> None:
    """A validation user's fused top 10, each item's score split by signal."""
    candidates = prepared.candidates
    user_ids = signals.split.train.user_ids
    rows = np.arange(candidates.n_users)
    row = st.selectbox(
        "User (validation users)",
        rows,
        format_func=lambda r: str(user_ids[candidates.users[r]]),
        key=state.FUSION_USER,
    )
    if row is None:
        return
    one = candidates.select(np.array([row]))
    terms = prepared.terms(method)[:, [row]]
    user_weights = weights[[row]] if weights.ndim == 2 else weights
    cold = None if cold_weights is None else cold_weights[[row]]
    ranking = rank_candidates(one, terms, user_weights, method, 10, cold)
    listed = ranking.items[0] >= 0
    items = ranking.items[0][listed]
    titles_of = cache.item_titles(ws)
    item_ids = signals.split.train.item_ids
    relevant = set(signals.split.valid.matrix.tocsr()[candidates.users[row]].indices.tolist())
    titles = [
        ("✓ " if item in relevant else "") + (titles_of.get(str(item_ids[item])) or item_ids[item])
        for item in items
    ]
    st.plotly_chart(
        contribution_chart(titles, ranking.contributions[:, 0, listed], ranking.signal_names),
        width="stretch",
    )
    st.caption("✓ marks an item the user interacted with in the validation period.")
    if signals.split.train.matrix.tocsr()[candidates.users[row]].nnz == 0:
        st.warning(
            "This user has no training history: a saved fused variant serves them the "
            f"{SOURCE_POPULARITY_FALLBACK}, not a fused list.",
            icon=":material/info:",
        )


def gate_section(signals: FusionSignals, prepared: PreparedFusion, key: FusionKey) -> None:
    """The learned gate trained on ``prepared``, if any, and training one."""
    store = cache.gate_store()
    gate = store.get(key)
    if gate is not None:
        st.caption(
            f"Trained gate: loss {gate.initial_loss_:.4f} → {gate.final_loss_:.4f} over "
            f"{len(gate.loss_history_)} epochs. Choose 'Learned gate' above to use it."
        )
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    epochs = int(left.number_input("Epochs", 5, 1000, 100, step=5, key=state.FUSION_GATE_EPOCHS))
    if not right.button(
        "Train the gate", icon=":material/play_arrow:", key=state.FUSION_GATE_TRAIN
    ):
        return
    from core.fusion.gate import SoftmaxGate

    def done(trained: SoftmaxGate) -> str:
        store[key] = trained
        return "Trained the learned gate; choose 'Learned gate' to use it."

    def train(callback: ProgressCallback) -> SoftmaxGate:
        # The features take a while on many users: the bar says so before the first epoch.
        callback(0, epochs, "computing the users' activity, recency and taste features")
        features = gate_features(signals.split, prepared.candidates.users)
        return SoftmaxGate(epochs=epochs).fit(prepared, features, callback=callback)

    with feedback.show_errors():
        run = feedback.training_run(
            "Training the gate…",
            "Gate trained",
            stop_key=state.FUSION_GATE_STOP,
            curve_key=state.FUSION_GATE_CURVE,
            curve_title="Learned gate",
        )
        train_then_rerun(run, train, done)


def save_section(
    ws: Workspace,
    config_parts: dict[str, Any],
    gate: SoftmaxGate | None,
    values: dict[str, float],
) -> None:
    """Saving the current fusion as a variant for A/B Compare; the saved ones, and deleting one."""
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    name = left.text_input(
        "Variant name",
        value=f"Fusion {datetime.now():%Y-%m-%d %H:%M}",
        key=state.FUSION_SAVE_NAME,
    )
    if right.button("Save as variant", icon=":material/save:", key=state.FUSION_SAVE):
        with feedback.show_errors():
            config = FusionConfig(**config_parts)
            metrics = {f"valid_{metric}": float(value) for metric, value in values.items()}
            save_fusion(ws, name, config, gate=gate, metrics=metrics)
            state.flash("success", f"Saved {code(name)}: choose it on the A/B Compare page.")
            st.rerun()
    saved = cache.fusion_list(ws)
    if saved.empty:
        return
    st.dataframe(
        saved[["name", "description", "created_at"]],
        hide_index=True,
        width="stretch",
        column_config={
            "name": "Saved variant",
            "description": "Configuration",
            "created_at": st.column_config.DatetimeColumn("Saved at", format="YYYY-MM-DD HH:mm"),
        },
    )
    labels = dict(zip(saved["run_id"], saved["name"], strict=True))

    def delete(run_id: str) -> str:
        delete_fusion(ws, run_id)
        return f"Deleted {labels[run_id]}."

    delete_control(
        "Saved variant to delete",
        labels,
        select_key=state.FUSION_DELETE_RUN,
        button_key=state.FUSION_DELETE,
        delete=delete,
    )


def fusion_section(ws: Workspace, models: pd.DataFrame) -> None:
    """The whole Fusion view over the trained ``models`` (at least two)."""
    labels = run_labels(models)
    left, right = st.columns([4, 1])
    chosen = left.multiselect(
        "Signals (trained models)",
        list(labels),
        default=default_models(models),
        format_func=labels.get,
        key=state.FUSION_MODELS,
        persist_state=state.KEEP,
        help="Each model is one signal. They must be trained on the same data and split.",
    )
    depth = int(
        right.number_input(
            "Candidates per signal",
            10,
            1000,
            200,
            step=10,
            key=state.FUSION_DEPTH,
            persist_state=state.KEEP,
            help="Each signal's top-N per user; their union is re-ranked.",
        )
    )
    if len(chosen) < 2:
        st.info("Choose at least two signals to fuse.", icon=":material/info:")
        return
    run_ids = tuple(chosen)
    signals, _, _ = cache.fusion_candidates(ws, run_ids, depth)
    names = tuple(signals.models)

    left, right = st.columns(2)
    method = left.radio(
        "Fusion rule",
        FUSION_METHODS,
        format_func=METHOD_LABELS.get,
        horizontal=True,
        key=state.FUSION_METHOD,
        persist_state=state.KEEP,
    )
    normalisation = right.radio(
        "Score normalisation (per user)",
        NORMALISATIONS,
        horizontal=True,
        key=state.FUSION_NORMALISATION,
        persist_state=state.KEEP,
        help="Weighted sum and CombMNZ add normalised scores; RRF uses ranks only.",
    )
    prepared = cache.prepared_fusion(ws, run_ids, depth, normalisation)
    key = fusion_key(ws, run_ids, depth, normalisation)
    gate = cache.gate_store().get(key)

    st.markdown("##### Signal weights")
    columns = st.columns(len(names))
    for column, name in zip(columns, names, strict=True):
        column.slider(
            plain(name),
            0.0,
            1.0,
            1.0,
            step=0.05,
            key=f"{state.FUSION_WEIGHT_PREFIX}{name}",
            persist_state=state.KEEP,
            disabled=method == GATE,
        )
    fixed = _weights(names)
    if method == GATE:
        if gate is None:
            st.warning(
                "Train the learned gate first (below); the figures use the sliders until then.",
                icon=":material/warning:",
            )
            weights, cold_weights, rule = fixed, None, "weighted"
        else:
            users = prepared.candidates.users
            features = gate_features(signals.split, users, gate.feature_names_)
            weights, cold_weights = gate.weights(features), gate.cold_weights(features)
            rule = "weighted"
            st.caption("Mean gate weights: " + _weight_list(names, weights.mean(axis=0)))
            if cold_weights is not None:
                mean_cold = cold_weights.mean(axis=0)
                st.caption("Mean gate weights of cold items: " + _weight_list(names, mean_cold))
    else:
        weights, cold_weights, rule = fixed, None, method
        st.caption("Normalised weights: " + _weight_list(names, fixed))

    singles = single_signals(prepared, key, HEADLINE)
    best = singles.sort_values("ndcg@10", ascending=False).iloc[0].to_dict()
    values = headline(prepared, weights, rule, best, cold_weights)

    st.markdown("##### Trade-offs")
    tradeoffs_section(
        prepared, key, method, with_gaps(prepared, weights, rule, values, cold_weights)
    )

    st.markdown("##### Why these products")
    user_view(ws, signals, prepared, weights, rule, cold_weights)

    with st.expander("Learned gate: weights that depend on the user"):
        st.markdown(
            "A small network maps each user's activity, recency and taste for new items to "
            "softmax weights over the signals, trained on the validation users."
        )
        gate_section(signals, prepared, key)

    st.markdown("##### Save as a variant")
    config_parts = {
        "run_ids": tuple(signals.run_ids[name] for name in names),
        "signal_names": names,
        "method": method,
        "normalisation": normalisation,
        "weights": tuple(float(w) for w in fixed),
        "depth": depth,
    }
    save_section(ws, config_parts, gate if method == GATE else None, values)
