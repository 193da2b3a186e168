"""The Fusion page's trade-offs: the weight sweep's frontiers (accuracy against diversity,
coverage and the exposure gap of an item grouping) with the current weights on them, and
applying the best weights found."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.figures.fusion import frontier_chart, gap_metrics, metric_label
from core.fusion import PreparedFusion
from core.fusion.runs import GATE
from core.fusion.search import WEIGHT_PREFIX
from ui import state
from ui.fusion_cache import FusionKey, weight_sweep

SWEEP_STEP = 0.1


def tradeoffs_section(
    prepared: PreparedFusion, key: FusionKey, method: str, values: dict[str, float]
) -> None:
    """Once asked for, the weight sweep's frontiers with the current weights on them, and
    applying the best weights found."""
    if not st.session_state[state.FUSION_FRONTIER]:
        if st.button(
            "Sweep the weights",
            icon=":material/scatter_plot:",
            key=state.FUSION_SWEEP,
            help=f"Every weight vector on a grid of step {SWEEP_STEP} over the simplex.",
        ):
            st.session_state[state.FUSION_FRONTIER] = True
            st.rerun()
        return
    sweep_method = method if method != GATE else "weighted"
    # A bar fills while a sweep runs; a cached sweep draws nothing.
    bar = st.empty()

    def callback(step: int, total: int, info: str) -> None:
        bar.progress(step / total, text=f"Sweeping the weights: {info}")

    sweep = weight_sweep(prepared, key, sweep_method, SWEEP_STEP, callback)
    bar.empty()
    left, right = st.columns(2)
    left.plotly_chart(frontier_chart(sweep, "category_diversity@10", values), width="stretch")
    right.plotly_chart(frontier_chart(sweep, "coverage@10", values), width="stretch")
    exposure_frontier(sweep, values)
    top = sweep.loc[sweep["ndcg@10"].idxmax()]
    best_weights = {
        c[len(WEIGHT_PREFIX) :]: float(top[c]) for c in sweep if c.startswith(WEIGHT_PREFIX)
    }
    st.caption(
        f"Best of {len(sweep)} weight vectors: NDCG@10 {top['ndcg@10']:.4f} with "
        + ", ".join(f"{n} {w:.1f}" for n, w in best_weights.items())
    )
    # The sliders are drawn above: their state can only be set in a callback, which runs
    # before the next run draws them.
    st.button(
        "Use the best weights",
        key=state.FUSION_APPLY_BEST,
        on_click=_use_weights,
        args=(best_weights,),
        disabled=method == GATE,
        help="The learned gate sets its own weights." if method == GATE else None,
    )


def _use_weights(weights: dict[str, float]) -> None:
    for name, weight in weights.items():
        st.session_state[f"{state.FUSION_WEIGHT_PREFIX}{name}"] = weight


def with_gaps(
    prepared: PreparedFusion,
    weights: np.ndarray,
    rule: str,
    values: dict[str, float],
    cold_weights: np.ndarray | None = None,
) -> dict[str, float]:
    """``values`` and the current weighting's exposure gap of each grouping the data gives
    (``cold_weights``: the learned gate's weights of cold candidates)."""
    gaps = gap_metrics(prepared.context)
    if not gaps:
        return values
    return {**values, **prepared.evaluate(weights, rule, gaps, cold_weights)}


def exposure_frontier(sweep: pd.DataFrame, values: dict[str, float]) -> None:
    """NDCG@10 against the exposure gap of a chosen item grouping, the frontier minimising the
    gap, with the current weights on it."""
    gaps = [metric for metric in sweep.columns if metric.startswith("exposure_gap_")]
    gaps = [metric for metric in gaps if metric in values]
    if not gaps:
        st.caption(
            "No exposure-gap axis: the catalogue gives no brand, category, price or first-seen "
            "date with two or more groups."
        )
        return
    gap = st.selectbox(
        "Exposure gap by", gaps, format_func=metric_label, key=state.FUSION_GAP_GROUPING
    )
    st.plotly_chart(frontier_chart(sweep, gap, values), width="stretch")
