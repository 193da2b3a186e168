"""Fairness of exposure against a worked example computed by hand.

Two users, lists of three, four items in two groups (A: items 0 and 1, B: items 2 and 3),
attention w_j = 1 / log2(1 + j): w1 = 1, w2 = 1 / log2(3), w3 = 1 / 2.

user 0: list [0, 2, 1], relevant {0, 3}
user 1: list [1, 0, 3], relevant {2}
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from core.errors import MetricError
from core.metrics import (
    MetricContext,
    evaluate_lists,
    expected_exposure,
    exposure_gap,
    group_exposure,
    item_exposure,
    position_weights,
)

W1, W2, W3 = 1.0, 1.0 / math.log2(3), 0.5
LISTS = np.array([[0, 2, 1], [1, 0, 3]])
RELEVANT = sp.csr_matrix(np.array([[1, 0, 0, 1], [0, 0, 1, 0]], dtype=np.float32))
GROUPS = np.array(["A", "A", "B", "B"])


def test_position_weights_are_the_log_discount():
    assert position_weights(3) == pytest.approx([W1, W2, W3])


def test_item_exposure_sums_attention_over_users():
    expected = [W1 + W2, W3 + W1, W2, W3]
    assert item_exposure(LISTS, RELEVANT) == pytest.approx(expected)


def test_group_exposure_against_relevance_share():
    total = 2 * (W1 + W2 + W3)
    exposure_a = (W1 + W2 + W3 + W1) / total
    result = group_exposure(LISTS, RELEVANT, GROUPS)
    assert list(result.labels) == ["A", "B"]
    assert result.exposure_share == pytest.approx([exposure_a, 1 - exposure_a])
    # Relevant: item 0 (A) for user 0, items 3 (B) and 2 (B): one of three is A.
    assert result.relevance_share == pytest.approx([1 / 3, 2 / 3])
    assert result.ratio == pytest.approx([exposure_a * 3, (1 - exposure_a) * 1.5])
    assert result.difference == pytest.approx([exposure_a - 1 / 3, 1 / 3 - exposure_a])
    assert exposure_gap(LISTS, RELEVANT, GROUPS) == pytest.approx(exposure_a - 1 / 3)


def test_exposure_gap_is_zero_when_exposure_follows_relevance():
    # Each user sees one item at position 1; relevance is one A item and one B item.
    lists = np.array([[0, -1], [2, -1]])
    relevant = sp.csr_matrix(np.array([[0, 1, 0, 0], [0, 0, 0, 1]], dtype=np.float32))
    assert exposure_gap(lists, relevant, GROUPS) == pytest.approx(0.0)
    assert np.isnan(exposure_gap(np.full((2, 2), -1), relevant, GROUPS))


def test_expected_exposure_disparity_and_relevance():
    # User 0: m = 2 relevant of n = 4; target S1 / m = (w1 + w2) / 2 on items 0 and 3,
    # S2 / (n - m) = w3 / 2 on items 1 and 2.
    rel0, oth0 = (W1 + W2) / 2, W3 / 2
    norm0 = 2 * rel0**2 + 2 * oth0**2
    # User 1: m = 1; target w1 on item 2, (w2 + w3) / 3 on the three others.
    rel1, oth1 = W1, (W2 + W3) / 3
    norm1 = rel1**2 + 3 * oth1**2
    disparity, relevance = expected_exposure(LISTS, RELEVANT)
    square = W1**2 + W2**2 + W3**2
    assert disparity == pytest.approx([square / norm0, square / norm1])
    # User 0 lists item 0 (relevant) at 1, items 2 and 1 (not) at 2 and 3; user 1 lists only
    # non-relevant items.
    agreement0 = rel0 * W1 + oth0 * (W2 + W3)
    agreement1 = oth1 * (W1 + W2 + W3)
    assert relevance == pytest.approx([agreement0 / norm0, agreement1 / norm1])


def test_relevant_items_first_reach_the_ideal_relevance():
    lists = np.array([[0, 3, 1], [2, 0, 1]])
    _, relevance = expected_exposure(lists, RELEVANT)
    assert relevance == pytest.approx([1.0, 1.0])


def test_expected_exposure_rejects_repeated_items():
    with pytest.raises(MetricError, match="same item twice"):
        expected_exposure(np.array([[0, 0, 1], [1, 2, 3]]), RELEVANT)


def test_registry_metrics_match_the_functions():
    context = MetricContext(item_groups={"brand": GROUPS})
    values = evaluate_lists(
        LISTS,
        RELEVANT,
        ["exposure_gap_brand@3", "ee_disparity@3", "ee_relevance@3", "exposure_gap_brand@1"],
        context,
    )
    disparity, relevance = expected_exposure(LISTS, RELEVANT)
    assert values["exposure_gap_brand@3"] == pytest.approx(exposure_gap(LISTS, RELEVANT, GROUPS))
    assert values["exposure_gap_brand@1"] == pytest.approx(
        exposure_gap(LISTS[:, :1], RELEVANT, GROUPS)
    )
    assert values["ee_disparity@3"] == pytest.approx(disparity)
    assert values["ee_relevance@3"] == pytest.approx(relevance)


def test_registry_exposure_gap_needs_its_grouping():
    with pytest.raises(MetricError, match="item_groups"):
        evaluate_lists(LISTS, RELEVANT, ["exposure_gap_brand@3"])
    context = MetricContext(item_groups={"category": GROUPS})
    with pytest.raises(MetricError, match="no brand"):
        evaluate_lists(LISTS, RELEVANT, ["exposure_gap_brand@3"], context)
