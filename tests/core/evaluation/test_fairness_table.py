"""The A/B page's fairness table and figure: exposure share against relevance share per group."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from core.evaluation.fairness import exposure_gaps, exposure_table
from core.figures.fairness import exposure_bars
from core.metrics import MetricContext, evaluate_lists

W2 = 1 / np.log2(3)  # attention of position 2
# Users 0 and 1; user 0 finds items 0 and 2 relevant, user 1 item 2.
RELEVANT = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 1, 0]], dtype=np.float32))
LISTS = {
    "x": np.array([[0, 1], [3, -1]]),
    "y": np.array([[2, 0], [2, 3]]),
}
GROUPS = {
    "brand": np.array(["A", "A", "B", "C"], dtype=object),
    "newness": np.array(["new", "new", "new", "new"], dtype=object),
}


def test_exposure_table_by_hand() -> None:
    table = exposure_table(LISTS, RELEVANT, GROUPS)
    # One grouping: every item is new, so newness has no disparity to show and is left out.
    assert set(table["grouping"]) == {"brand"}
    rows = table.set_index(["variant", "group"])
    # Relevance: item 0 for one user, item 2 for two: A 1/3, B 2/3, C 0, for every variant.
    for variant in ("x", "y"):
        assert rows.loc[variant, "relevance_share"].tolist() == pytest.approx([1 / 3, 2 / 3, 0])
    # x: item 0 at 1 and item 1 at 2 (A: 1 + W2), item 3 at 1 (C: 1).
    total = 2 + W2
    assert rows.loc["x", "exposure_share"].tolist() == pytest.approx(
        [(1 + W2) / total, 0, 1 / total]
    )
    assert rows.loc[("x", "A"), "ratio"] == pytest.approx((1 + W2) / total * 3)
    assert rows.loc[("x", "B"), "ratio"] == 0
    assert np.isnan(rows.loc[("x", "C"), "ratio"])
    # y: item 2 at 1 twice (B: 2), item 0 at 2 (A: W2), item 3 at 2 (C: W2).
    total = 2 + 2 * W2
    assert rows.loc["y", "exposure_share"].tolist() == pytest.approx(
        [W2 / total, 2 / total, W2 / total]
    )
    gaps = exposure_gaps(table, "brand")
    # x: (|A - 1/3| + 2/3 + C) / 2 with A + C = 1: (2/3 + 2/3) / 2.
    assert gaps["x"] == pytest.approx(2 / 3)
    expected_y = 0.5 * (abs(W2 / total - 1 / 3) + abs(2 / total - 2 / 3) + W2 / total)
    assert gaps["y"] == pytest.approx(expected_y)
    # The registered metric, computed its own way, agrees.
    context = MetricContext(item_groups=GROUPS)
    for variant, served in LISTS.items():
        metric = evaluate_lists(served, RELEVANT, ["exposure_gap_brand@2"], context)
        assert metric["exposure_gap_brand@2"] == pytest.approx(gaps[variant])


def test_exposure_table_without_a_usable_grouping_is_empty_with_its_columns() -> None:
    table = exposure_table(LISTS, RELEVANT, {"newness": GROUPS["newness"]})
    assert table.empty
    assert list(table.columns) == [
        "grouping", "group", "variant", "exposure_share", "relevance_share", "ratio"
    ]  # fmt: skip


def test_exposure_bars_one_relevance_trace_then_one_per_variant() -> None:
    figure = exposure_bars(exposure_table(LISTS, RELEVANT, GROUPS), "brand")
    assert [trace.name for trace in figure.data] == [
        "relevance share", "x: exposure share", "y: exposure share"
    ]  # fmt: skip
    # Most relevant group first: B (2/3), A (1/3), then C (0 relevance).
    assert list(figure.data[0].x) == ["B", "A", "C"]
    assert list(figure.data[0].y) == pytest.approx([2 / 3, 1 / 3, 0])
    assert list(figure.data[1].y) == pytest.approx([0, (1 + W2) / (2 + W2), 1 / (2 + W2)])
    assert figure.data[1].marker.color != figure.data[2].marker.color
    assert figure.layout.barmode == "group"
