"""Plotly figures of the Fusion page: the weight sweep's trade-off frontier and each signal's
share of a user's fused scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.figures.theme import style, variant_colours
from core.fusion import pareto_front
from core.fusion.search import WEIGHT_PREFIX
from core.metrics import GROUPINGS, MetricContext
from core.metrics.registry import (
    DEFAULT_RECALL,
    DEFAULT_RECALL_K,
    grouping_problem,
    higher_is_better,
)

# The metrics the Fusion page shows for a weighting, with their display names.
HEADLINE = ("ndcg@10", DEFAULT_RECALL, "coverage@10", "category_diversity@10", "novelty@10")
HEADLINE_LABELS = {
    "ndcg@10": "NDCG@10",
    DEFAULT_RECALL: f"Recall@{DEFAULT_RECALL_K}",
    "coverage@10": "Coverage@10",
    "category_diversity@10": "Diversity@10",
    "novelty@10": "Novelty@10 (bits)",
}
GAP_K = 10


def gap_metric(grouping: str) -> str:
    """The exposure gap by ``grouping`` at the Fusion page's cut-off: ``exposure_gap_brand@10``."""
    return f"exposure_gap_{grouping}@{GAP_K}"


def gap_metrics(context: MetricContext | None) -> tuple[str, ...]:
    """The exposure gaps of the groupings ``context`` can report (two or more groups)."""
    if context is None:
        return ()
    return tuple(gap_metric(g) for g in GROUPINGS if not grouping_problem(context, g))


def sweep_metrics(context: MetricContext | None) -> tuple[str, ...]:
    """What the weight sweep records besides NDCG@10: recall, the beyond-accuracy axes and the
    exposure gap of each grouping the data gives."""
    return (DEFAULT_RECALL, "coverage@10", "category_diversity@10", "novelty@10",
            *gap_metrics(context))  # fmt: skip


def metric_label(metric: str) -> str:
    """Display name of a Fusion page metric (``Exposure gap by brand@10``)."""
    if metric in HEADLINE_LABELS:
        return HEADLINE_LABELS[metric]
    if metric.startswith("exposure_gap_"):
        grouping, k = metric.removeprefix("exposure_gap_").split("@")
        return f"Exposure gap by {grouping}@{k} (lower is fairer)"
    return metric


def frontier_chart(sweep: pd.DataFrame, x: str, current: dict[str, float]) -> go.Figure:
    """NDCG@10 against metric ``x`` for every weight vector of ``sweep``, its Pareto frontier,
    and the ``current`` weighting's values as a star.

    The frontier minimises ``x`` where a smaller value is the better one (an exposure gap).

    ``sweep`` is :func:`core.fusion.search_weights`' ``sweep``: one row per weight vector, its
    weights in ``weight_<signal>`` columns and a column per metric.
    """
    front = pareto_front(sweep, x, "ndcg@10", maximise=(higher_is_better(x), True))
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
    figure.update_layout(xaxis_title=metric_label(x), yaxis_title="NDCG@10")
    return style(figure, f"NDCG@10 against {metric_label(x)}", height=380)


def contribution_chart(
    titles: Sequence[str], contributions: np.ndarray, names: Sequence[str]
) -> go.Figure:
    """Stacked horizontal bars: each signal's contribution to the fused score of each listed item.

    ``contributions`` has one row per signal of ``names`` and one column per item of ``titles``,
    in rank order (the first is drawn on top).
    """
    figure = go.Figure()
    labels = [f"{rank}. {title}" for rank, title in enumerate(titles, start=1)]
    colours = variant_colours(names)
    for position, name in enumerate(names):
        figure.add_bar(
            y=labels,
            x=contributions[position],
            name=name,
            orientation="h",
            marker_color=colours[str(name)],
        )
    figure.update_layout(
        barmode="relative",
        xaxis_title="contribution to the fused score",
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0.5},
    )
    return style(figure, "Each signal's share of the fused score", height=60 + 32 * len(labels))
