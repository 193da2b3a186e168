"""The slider path: metrics from hit matrices by hand, and the same lists as :func:`fuse`."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from core.errors import FusionError
from core.fusion import PreparedFusion, fuse, list_metrics
from core.fusion import prepared as prepared_module
from core.metrics import MetricContext, hit_matrix, ndcg_at_k, recall_at_k, relevant_counts
from tests.core.fusion.conftest import candidate_set, relevance_matrix


def test_list_metrics_by_hand() -> None:
    items = np.array([[3, 1, 2], [0, 4, -1]])
    hits = np.array([[False, True, True], [False, False, False]])
    n_relevant = np.array([4, 0])
    categories = np.array([0, 0, 1, 1, 2, 3, 3, 3, 3, 3])
    values = list_metrics(
        items,
        hits,
        n_relevant,
        [
            "ndcg@3",
            "recall@2",
            "precision@2",
            "hit_rate@1",
            "mrr@3",
            "coverage@3",
            "category_diversity@3",
        ],
        n_items=10,
        context=MetricContext(item_categories=categories),
    )
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)  # min(4, 3) relevant items
    np.testing.assert_allclose(values["ndcg@3"], [(1 / math.log2(3) + 1 / math.log2(4)) / ideal, 0])
    np.testing.assert_allclose(values["recall@2"], [1 / 4, 0])
    np.testing.assert_allclose(values["precision@2"], [1 / 2, 0])
    np.testing.assert_allclose(values["hit_rate@1"], [0, 0])
    np.testing.assert_allclose(values["mrr@3"], [1 / 2, 0])
    assert values["coverage@3"] == pytest.approx(5 / 10)  # items 0..4
    # User 0: categories 1, 0, 1 -> 2 of 3 pairs differ; user 1: 0, 2 -> 1 of 1.
    np.testing.assert_allclose(values["category_diversity@3"], [2 / 3, 1])


def test_list_metrics_match_the_training_metrics() -> None:
    rng = np.random.default_rng(0)
    n_users, n_items, k = 50, 40, 10
    relevant = sp.random(n_users, n_items, density=0.1, random_state=1, format="csr")
    recommended = np.array([rng.permutation(n_items)[:k] for _ in range(n_users)])
    recommended[::7, -3:] = -1
    dense = relevant.toarray() > 0
    listed = recommended >= 0
    hits = np.where(listed, dense[np.arange(n_users)[:, None], recommended], False)
    n_relevant = np.diff(relevant.indptr)
    values = list_metrics(recommended, hits, n_relevant, ["ndcg@10", "recall@5"], n_items=n_items)
    sparse_hits, counts = hit_matrix(recommended, relevant), relevant_counts(relevant)
    np.testing.assert_allclose(values["ndcg@10"], ndcg_at_k(sparse_hits, counts, 10))
    np.testing.assert_allclose(values["recall@5"], recall_at_k(sparse_hits, counts, 5))


@pytest.fixture
def random_candidates():
    rng = np.random.default_rng(3)
    n_signals, n_users, width, n_items = 3, 40, 12, 30
    items = np.sort(
        np.array([rng.choice(n_items, width, replace=False) for _ in range(n_users)]), axis=1
    )
    items[::5, -4:] = -1
    scores = rng.normal(size=(n_signals, n_users, width)).astype(np.float32)
    scores[:, items < 0] = np.nan
    scores[1, ::3, 2] = np.nan
    scores[2, 0] = 1.0  # a constant row
    retrieved = (rng.random(scores.shape) < 0.5) & (items >= 0)
    return candidate_set(scores, items=items, retrieved=retrieved, n_items=n_items)


@pytest.mark.parametrize("method", ["weighted", "rrf", "combmnz"])
@pytest.mark.parametrize("normalisation", ["minmax", "zscore", "rank"])
def test_slider_path_lists_equal_fuse(
    random_candidates, method, normalisation, monkeypatch
) -> None:
    # Blocks of 7 users: the last block is short.
    monkeypatch.setattr(prepared_module, "ROW_BLOCK", 7)
    relevant = sp.random(40, 30, density=0.2, random_state=2, format="csr")
    prepared = PreparedFusion(random_candidates, relevant, normalisation=normalisation)
    for weights in ([0.2, 0.5, 0.3], [1.0, 0.0, 0.0], np.random.default_rng(1).random((40, 3))):
        expected = fuse(random_candidates, weights, method=method, normalisation=normalisation, k=5)
        items, hits = prepared.top_items(weights, method, 5)
        np.testing.assert_array_equal(items, expected.items)
        dense = relevant.toarray() > 0
        truth = np.where(items >= 0, dense[np.arange(40)[:, None], np.maximum(items, 0)], False)
        np.testing.assert_array_equal(hits, truth)
        ranked = prepared.rank(weights, method, 5)
        np.testing.assert_array_equal(ranked.items, expected.items)
        np.testing.assert_allclose(ranked.contributions, expected.contributions, rtol=1e-6)


def test_evaluate_by_hand() -> None:
    # Two users over items 0..3; A prefers 0 then 1, B prefers 3 then 2.
    candidates = candidate_set(
        [[[4, 3, 2, 1], [4, 3, 2, 1]], [[1, 2, 3, 4], [1, 2, 3, 4]]], n_items=5
    )
    relevant = relevance_matrix([[0], [3, 2]], 5)
    context = MetricContext(item_categories=np.array([0, 0, 1, 1, 1]))
    prepared = PreparedFusion(candidates, relevant, context=context)
    metrics = ["ndcg@2", "recall@2", "coverage@2", "category_diversity@2"]
    only_a = prepared.evaluate([1, 0], metrics=metrics)
    # Both get [0, 1]: user 0 hits at rank 1 (NDCG 1), user 1 misses (0).
    assert only_a == pytest.approx(
        {"ndcg@2": 0.5, "recall@2": 0.5, "coverage@2": 2 / 5, "category_diversity@2": 0.0}
    )
    only_b = prepared.user_values([0, 1], metrics=["ndcg@2"])
    np.testing.assert_allclose(only_b["ndcg@2"], [0, 1])
    with pytest.raises(FusionError, match="item_categories"):
        PreparedFusion(candidates, relevant).evaluate([1, 1], metrics=["category_diversity@2"])
    with pytest.raises(FusionError, match="unknown metric"):
        prepared.evaluate([1, 1], metrics=["serendipity@2"])


def test_exposure_metrics_read_the_relevance_on_the_slider_path() -> None:
    # Both users get [0, 1] with signal A; relevant: item 0 (group A) for user 0, items 3 and 2
    # (group B) for user 1. Exposure is all on group A, a third of the relevance is: gap 2/3.
    candidates = candidate_set(
        [[[4, 3, 2, 1], [4, 3, 2, 1]], [[1, 2, 3, 4], [1, 2, 3, 4]]], n_items=5
    )
    relevant = relevance_matrix([[0], [3, 2]], 5)
    groups = np.array(["A", "A", "B", "B", "B"])
    prepared = PreparedFusion(
        candidates, relevant, context=MetricContext(item_groups={"brand": groups})
    )
    values = prepared.evaluate([1, 0], metrics=["exposure_gap_brand@2", "ee_relevance@2"])
    assert values["exposure_gap_brand@2"] == pytest.approx(2 / 3)
    # EE-R of user 0 (m = 1 of n = 5): target 1 on item 0, w2 / 4 on the others; the list puts
    # item 0 at 1 and item 1 at 2. User 1 (m = 2 = k) has all its target exposure on items 2
    # and 3, neither listed: EE-R 0.
    w2 = 1 / math.log2(3)
    user0 = (1 + (w2 / 4) * w2) / (1 + 4 * (w2 / 4) ** 2)
    assert values["ee_relevance@2"] == pytest.approx(user0 / 2)


def test_the_slider_path_renormalises_missing_signals_as_fuse_does() -> None:
    nan = np.nan
    scores = [[[4, 2, 0, nan], [nan, 1, 3, 2]], [[0.2, 0.6, 1, 0.8], [0.5, nan, 0.1, 0.3]]]
    candidates = candidate_set(scores)
    prepared = PreparedFusion(candidates, relevance_matrix([[3], [0]], 4))
    for method in ("weighted", "rrf", "combmnz"):
        for weights in ([0.75, 0.25], [[0.9, 0.1], [0.2, 0.8]], [1, 0]):
            items, _ = prepared.top_items(weights, method, k=4)
            expected = fuse(candidates, weights, method=method, k=4).items
            np.testing.assert_array_equal(items, expected, err_msg=f"{method} {weights}")
    # User 0 (see test_methods): the cold item 3 is second; it is relevant, so NDCG@10 is
    # 1 / log2(3). User 1, min-max C -> [-, 0, 1, 0.5], T -> [1, -, 0, 0.5]: item 0 (T alone,
    # 1) and item 2 (0.75) lead; item 0 is relevant: NDCG 1.
    values = prepared.user_values([0.75, 0.25], "weighted", ("ndcg@10",))["ndcg@10"]
    np.testing.assert_allclose(values, [1 / np.log2(3), 1.0], rtol=1e-6)
