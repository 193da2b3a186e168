"""Fusion: weigh the signals of trained models live, learn a gate, save fused variants."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.data.workspace import Workspace
from core.fusion import NORMALISATIONS, pareto_front
from core.fusion.methods import rank_candidates
from core.fusion.runs import (
    FUSION_METHODS,
    GATE,
    FusionConfig,
    delete_fusion,
    gate_features,
    save_fusion,
)
from core.fusion.search import WEIGHT_PREFIX
from ui import cache, shell, state
from ui.feedback import show_errors, training_run

HEADLINE = ("ndcg@10", "recall@20", "coverage@10", "category_diversity@10", "novelty@10")
HEADLINE_LABELS = {
    "ndcg@10": "NDCG@10",
    "recall@20": "Recall@20",
    "coverage@10": "Coverage@10",
    "category_diversity@10": "Diversity@10",
    "novelty@10": "Novelty@10 (bits)",
}
METHOD_LABELS = {
    "weighted": "Weighted sum",
    "rrf": "Reciprocal rank fusion",
    "combmnz": "CombMNZ",
    GATE: "Learned gate",
}
SWEEP_STEP = 0.1


def _model_labels(models: pd.DataFrame) -> dict[str, str]:
    return {
        row.run_id: f"{row.name} · {pd.Timestamp(row.created_at):%m-%d %H:%M} · {row.run_id[-8:]}"
        for row in models.itertuples(index=False)
    }


def _default_models(models: pd.DataFrame) -> list[str]:
    """The newest run of each model type, up to four."""
    newest = models.drop_duplicates("model")
    return newest["run_id"].tolist()[:4]


def _weights(names: tuple[str, ...]) -> np.ndarray:
    raw = np.array(
        [st.session_state.get(f"{state.FUSION_WEIGHT_PREFIX}{name}", 1.0) for name in names],
        dtype=np.float32,
    )
    return raw / raw.sum() if raw.sum() > 0 else np.full(len(names), 1 / len(names), np.float32)


def _gate_key(ws: Workspace, run_ids: tuple[str, ...], depth: int, normalisation: str) -> tuple:
    return (str(ws.path), run_ids, depth, normalisation)


def headline(prepared, weights: np.ndarray, method: str, best_single: dict) -> dict[str, float]:
    values = prepared.evaluate(weights, method, HEADLINE)
    columns = st.columns(len(HEADLINE))
    for column, metric in zip(columns, HEADLINE, strict=True):
        reference = best_single[metric]
        column.metric(
            HEADLINE_LABELS[metric],
            f"{values[metric]:.4f}",
            delta=f"{values[metric] - reference:+.4f}",
            help=f"On the validation users; the change is against the best single signal "
            f"by NDCG@10 ({best_single['name']}: {reference:.4f}).",
        )
    return values


@st.cache_data(show_spinner=False, max_entries=8)
def _single_signals(_prepared, key: tuple) -> pd.DataFrame:
    names = _prepared.candidates.signal_names
    rows = []
    for position, name in enumerate(names):
        one_hot = np.zeros(len(names), dtype=np.float32)
        one_hot[position] = 1.0
        rows.append({"name": name, **_prepared.evaluate(one_hot, "weighted", HEADLINE)})
    return pd.DataFrame(rows)


def frontier_chart(sweep: pd.DataFrame, x: str, current: dict[str, float]) -> go.Figure:
    front = pareto_front(sweep, x, "ndcg@10")
    figure = go.Figure()
    weight_columns = [c for c in sweep.columns if c.startswith(WEIGHT_PREFIX)]
    text = sweep[weight_columns].apply(
        lambda row: ", ".join(f"{c[len(WEIGHT_PREFIX) :]} {v:.1f}" for c, v in row.items()), axis=1
    )
    figure.add_scatter(
        x=sweep[x], y=sweep["ndcg@10"], mode="markers", name="weights tried",
        marker={"color": "#bbbbbb", "size": 6}, text=text,
        hovertemplate="%{text}<br>" + x + " %{x:.4f}<br>NDCG@10 %{y:.4f}<extra></extra>",
    )  # fmt: skip
    figure.add_scatter(
        x=front[x], y=front["ndcg@10"], mode="lines+markers", name="Pareto frontier",
        line={"color": "#1f77b4"},
    )  # fmt: skip
    figure.add_scatter(
        x=[current[x]], y=[current["ndcg@10"]], mode="markers", name="current weights",
        marker={"color": "#d62728", "size": 16, "symbol": "star"},
    )  # fmt: skip
    figure.update_layout(
        title=f"NDCG@10 against {HEADLINE_LABELS.get(x, x)}",
        xaxis_title=HEADLINE_LABELS.get(x, x),
        yaxis_title="NDCG@10",
        template="plotly_white",
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        height=380,
    )
    return figure


def contribution_chart(titles: list[str], contributions: np.ndarray, names) -> go.Figure:
    figure = go.Figure()
    labels = [f"{rank}. {title}" for rank, title in enumerate(titles, start=1)]
    for position, name in enumerate(names):
        figure.add_bar(y=labels, x=contributions[position], name=name, orientation="h")
    figure.update_layout(
        barmode="relative",
        title="Each signal's share of the fused score",
        xaxis_title="contribution to the fused score",
        yaxis={"autorange": "reversed"},
        template="plotly_white",
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        height=60 + 32 * len(labels),
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0.5},
    )
    return figure


def user_view(ws: Workspace, signals, prepared, weights: np.ndarray, method: str) -> None:
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
    ranking = rank_candidates(one, terms, user_weights, method, 10)
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


def gate_section(ws, signals, prepared, key: tuple) -> None:
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

    with show_errors():
        features = gate_features(signals.split, prepared.candidates.users)
        with training_run(
            "Training the gate…",
            "Gate trained",
            stop_key=state.FUSION_GATE_STOP,
            curve_key=state.FUSION_GATE_CURVE,
            curve_title="Learned gate",
        ) as callback:
            trained = SoftmaxGate(epochs=epochs).fit(prepared, features, callback=callback)
        store[key] = trained
        state.flash("success", "Trained the learned gate; choose 'Learned gate' to use it.")
        st.rerun()


def save_section(ws: Workspace, signals, config_parts: dict, gate, values: dict) -> None:
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    name = left.text_input(
        "Variant name",
        value=f"Fusion {datetime.now():%Y-%m-%d %H:%M}",
        key=state.FUSION_SAVE_NAME,
    )
    if right.button("Save as variant", icon=":material/save:", key=state.FUSION_SAVE):
        with show_errors():
            config = FusionConfig(**config_parts)
            metrics = {f"valid_{metric}": float(value) for metric, value in values.items()}
            save_fusion(ws, name, config, gate=gate, metrics=metrics)
            state.flash("success", f"Saved '{name}': choose it on the A/B Compare page.")
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
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    run_id = left.selectbox(
        "Saved variant to delete", list(labels), format_func=labels.get, key=state.FUSION_DELETE_RUN
    )
    if right.button("Delete", icon=":material/delete:", key=state.FUSION_DELETE) and run_id:
        with show_errors():
            delete_fusion(ws, run_id)
            state.flash("success", f"Deleted {labels[run_id]}.")
            st.rerun()


def fusion_section(ws: Workspace, models: pd.DataFrame) -> None:
    labels = _model_labels(models)
    left, right = st.columns([4, 1])
    chosen = left.multiselect(
        "Signals (trained models)",
        list(labels),
        default=_default_models(models),
        format_func=labels.get,
        key=state.FUSION_MODELS,
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
    )
    normalisation = right.radio(
        "Score normalisation (per user)",
        NORMALISATIONS,
        horizontal=True,
        key=state.FUSION_NORMALISATION,
        help="Weighted sum and CombMNZ add normalised scores; RRF uses ranks only.",
    )
    prepared = cache.prepared_fusion(ws, run_ids, depth, normalisation)
    key = _gate_key(ws, run_ids, depth, normalisation)
    gate = cache.gate_store().get(key)

    st.markdown("##### Signal weights")
    columns = st.columns(len(names))
    for column, name in zip(columns, names, strict=True):
        column.slider(
            name,
            0.0,
            1.0,
            1.0,
            step=0.05,
            key=f"{state.FUSION_WEIGHT_PREFIX}{name}",
            disabled=method == GATE,
        )
    fixed = _weights(names)
    if method == GATE:
        if gate is None:
            st.warning(
                "Train the learned gate first (below); the figures use the sliders until then.",
                icon=":material/warning:",
            )
            weights, rule = fixed, "weighted"
        else:
            weights = gate.weights(gate_features(signals.split, prepared.candidates.users))
            rule = "weighted"
            mean = weights.mean(axis=0)
            st.caption(
                "Mean gate weights: "
                + ", ".join(f"{n} {w:.2f}" for n, w in zip(names, mean, strict=True))
            )
    else:
        weights, rule = fixed, method
        st.caption(
            "Normalised weights: "
            + ", ".join(f"{n} {w:.2f}" for n, w in zip(names, fixed, strict=True))
        )

    singles = _single_signals(prepared, key)
    best = singles.sort_values("ndcg@10", ascending=False).iloc[0].to_dict()
    values = headline(prepared, weights, rule, best)

    st.markdown("##### Trade-offs")
    if not st.session_state[state.FUSION_FRONTIER]:
        if st.button(
            "Sweep the weights",
            icon=":material/scatter_plot:",
            key=state.FUSION_SWEEP,
            help=f"Every weight vector on a grid of step {SWEEP_STEP} over the simplex.",
        ):
            st.session_state[state.FUSION_FRONTIER] = True
            st.rerun()
    else:
        sweep_method = method if method != GATE else "weighted"
        sweep = cache.fusion_sweep(ws, run_ids, depth, normalisation, sweep_method, SWEEP_STEP)
        left, right = st.columns(2)
        left.plotly_chart(frontier_chart(sweep, "category_diversity@10", values), width="stretch")
        right.plotly_chart(frontier_chart(sweep, "coverage@10", values), width="stretch")
        top = sweep.loc[sweep["ndcg@10"].idxmax()]
        best_weights = {
            c[len(WEIGHT_PREFIX) :]: float(top[c]) for c in sweep if c.startswith(WEIGHT_PREFIX)
        }
        st.caption(
            f"Best of {len(sweep)} weight vectors: NDCG@10 {top['ndcg@10']:.4f} with "
            + ", ".join(f"{n} {w:.1f}" for n, w in best_weights.items())
        )
        if st.button("Use the best weights", key=state.FUSION_APPLY_BEST) and method != GATE:
            for name, weight in best_weights.items():
                st.session_state[f"{state.FUSION_WEIGHT_PREFIX}{name}"] = weight
            st.rerun()

    st.markdown("##### Why these products")
    user_view(ws, signals, prepared, weights, rule)

    with st.expander("Learned gate: weights that depend on the user"):
        st.markdown(
            "A small network maps each user's activity, recency and taste for new items to "
            "softmax weights over the signals, trained on the validation users."
        )
        gate_section(ws, signals, prepared, key)

    st.markdown("##### Save as a variant")
    config_parts = {
        "run_ids": tuple(signals.run_ids[name] for name in names),
        "signal_names": names,
        "method": method,
        "normalisation": normalisation,
        "weights": tuple(float(w) for w in fixed),
        "depth": depth,
    }
    save_section(ws, signals, config_parts, gate if method == GATE else None, values)


ws, status = shell.page(
    "Fusion",
    needs=shell.MODELS,
    n_models=2,
    message="Train at least two models first: each trained model is one signal to fuse.",
)
with show_errors():
    models = cache.model_list(ws)
    st.caption(
        "Weights are tuned on the validation users (the period between training and test); "
        "compare saved variants on the test users on the A/B Compare page."
    )
    fusion_section(ws, models)
