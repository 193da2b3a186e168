"""Fusion figures: the sweep's frontier with the current weights, each signal's contributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.figures.fusion import contribution_chart, frontier_chart, sweep_metrics
from core.metrics import MetricContext


def test_frontier_chart_draws_the_sweep_its_frontier_and_the_current_weights() -> None:
    sweep = pd.DataFrame(
        {
            "weight_als": [1.0, 0.5, 0.0],
            "weight_popularity": [0.0, 0.5, 1.0],
            "ndcg@10": [0.30, 0.20, 0.10],
            "coverage@10": [0.10, 0.05, 0.40],
        }
    )
    figure = frontier_chart(sweep, "coverage@10", {"ndcg@10": 0.25, "coverage@10": 0.2})
    tried, front, current = figure.data
    assert tried.name == "weights tried"
    assert list(tried.text) == ["als 1.0, popularity 0.0", "als 0.5, popularity 0.5",
                                "als 0.0, popularity 1.0"]  # fmt: skip
    # (0.05, 0.20) is beaten on both by (0.10, 0.30): the frontier keeps the other two, by x.
    assert list(front.x) == pytest.approx([0.10, 0.40])
    assert list(front.y) == pytest.approx([0.30, 0.10])
    assert (list(current.x), list(current.y)) == ([0.2], [0.25])
    assert figure.layout.title.text == "NDCG@10 against Coverage@10"


def test_contribution_chart_has_one_bar_trace_per_signal_in_rank_order() -> None:
    contributions = np.array([[0.5, 0.25], [0.125, 0.5]])
    figure = contribution_chart(["Shoe", "✓ Hat"], contributions, ["als", "popularity"])
    assert [trace.name for trace in figure.data] == ["als", "popularity"]
    assert list(figure.data[0].y) == ["1. Shoe", "2. ✓ Hat"]
    assert list(figure.data[1].x) == [0.125, 0.5]
    assert figure.layout.height == 60 + 32 * 2


def test_every_page_reports_the_same_default_recall() -> None:
    from core.evaluation.experiment import DEFAULT_METRICS
    from core.figures.fusion import HEADLINE, HEADLINE_LABELS
    from core.metrics.registry import DEFAULT_RECALL, DEFAULT_RECALL_K, parse_metric
    from core.models.runs import RECALL_KEY

    assert parse_metric(DEFAULT_RECALL) == ("recall", DEFAULT_RECALL_K)
    assert RECALL_KEY == DEFAULT_RECALL  # the Models page
    assert [m for m in HEADLINE if m.startswith("recall@")] == [DEFAULT_RECALL]  # Fusion
    assert HEADLINE_LABELS[DEFAULT_RECALL] == f"Recall@{DEFAULT_RECALL_K}"
    assert [m for m in DEFAULT_METRICS if m.startswith("recall@")] == [DEFAULT_RECALL]


def test_frontier_chart_minimises_an_exposure_gap_axis() -> None:
    sweep = pd.DataFrame(
        {
            "weight_als": [1.0, 0.5, 0.0, 0.2],
            "weight_popularity": [0.0, 0.5, 1.0, 0.8],
            "ndcg@10": [0.30, 0.20, 0.10, 0.05],
            "exposure_gap_brand@10": [0.40, 0.10, 0.30, 0.05],
        }
    )
    x = "exposure_gap_brand@10"
    figure = frontier_chart(sweep, x, {"ndcg@10": 0.25, x: 0.2})
    _, front, _ = figure.data
    # A smaller gap is better: (0.30, 0.10) beats (0.10, 0.30) on both; (0.40, 0.30),
    # (0.10, 0.20) and (0.05, 0.05) each have the best NDCG@10 among gaps as small or smaller.
    assert list(front.x) == pytest.approx([0.05, 0.10, 0.40])
    assert list(front.y) == pytest.approx([0.05, 0.20, 0.30])
    assert figure.layout.title.text == "NDCG@10 against Exposure gap by brand@10 (lower is fairer)"


def test_sweep_records_the_exposure_gap_of_each_grouping_the_data_gives() -> None:
    context = MetricContext(
        item_groups={
            "brand": np.array(["a", "b", "a"], dtype=object),
            "newness": np.array(["new", "new", "new"], dtype=object),
        }
    )
    assert sweep_metrics(context)[-1:] == ("exposure_gap_brand@10",)
    assert not any(m.startswith("exposure_gap_") for m in sweep_metrics(MetricContext()))
