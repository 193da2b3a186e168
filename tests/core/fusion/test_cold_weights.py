"""Segment-aware fusion: cold candidates fused with weights of their own, chosen on validation."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from core.data.splits import Split
from core.errors import FusionError
from core.fusion import PreparedFusion, build_candidates, fuse, search_cold_weights
from core.fusion.gate import SoftmaxGate
from core.fusion.runs import FusionConfig, gate_features, serve_fused
from core.fusion.search import cold_weight_grid
from tests.core.fusion.conftest import FixedScores, candidate_set, interactions, relevance_matrix

# One user, four candidates 0..3. C (collaborative) cannot score item 3, which is cold;
# T (content) scores all four. Min-max: C -> [1, 0.5, 0, missing], T -> [0, 0.5, 1, 0.75].
MISSING = [[[4.0, 2.0, 0.0, np.nan]], [[0.2, 0.6, 1.0, 0.8]]]
COLD = np.array([[False, False, False, True]])
COLD_ITEMS = np.array([False, False, False, True])


def cold_candidates():
    return dataclasses.replace(candidate_set(MISSING), cold=COLD)


def test_cold_weights_are_not_renormalised() -> None:
    candidates = cold_candidates()
    # Warm items 0..2: 0.75 C + 0.25 T = 0.75, 0.5, 0.25. Cold item 3 with cold weights
    # (0.5, 0.5): 0.5 x 0.75 = 0.375 (C's half is the discount, not renormalised away).
    ranking = fuse(candidates, [0.75, 0.25], k=4, cold_weights=[0.5, 0.5])
    assert ranking.items.tolist() == [[0, 1, 3, 2]]
    np.testing.assert_allclose(ranking.scores[0], [0.75, 0.5, 0.375, 0.25], rtol=1e-6)
    np.testing.assert_allclose(
        ranking.contributions[:, 0], [[0.75, 0.375, 0, 0], [0, 0.125, 0.375, 0.25]], rtol=1e-6
    )
    # All cold weight on T: 0.75, tying item 0 (lower item first).
    promoted = fuse(candidates, [0.75, 0.25], k=4, cold_weights=[0, 1])
    assert promoted.items.tolist() == [[0, 3, 1, 2]]
    # All cold weight on C, which cannot score it: the cold item is never listed.
    dropped = fuse(candidates, [0.75, 0.25], k=4, cold_weights=[1, 0])
    assert dropped.items.tolist() == [[0, 1, 2, -1]]
    # Without cold weights item 3 is renormalised (T alone, 0.75), as before.
    assert fuse(candidates, [0.75, 0.25], k=4).items.tolist() == [[0, 3, 1, 2]]


def test_the_slider_path_fuses_cold_candidates_as_fuse_does() -> None:
    rng = np.random.default_rng(3)
    scores = rng.random((3, 30, 12)).astype(np.float32)
    cold = rng.random((30, 12)) < 0.3
    scores[0][cold] = np.nan  # a collaborative signal
    scores[2][cold & (rng.random((30, 12)) < 0.5)] = np.nan
    candidates = dataclasses.replace(candidate_set(scores, n_items=12), cold=cold)
    prepared = PreparedFusion(candidates, relevance_matrix([[1, 5]] * 30, 12))
    per_user = rng.random((30, 3))
    for method in ("weighted", "rrf", "combmnz"):
        for weights, cold_weights in (([0.5, 0.3, 0.2], [0.6, 0.4, 0]), (per_user, per_user[::-1])):
            expected = fuse(candidates, weights, method=method, k=6, cold_weights=cold_weights)
            items, _ = prepared.top_items(weights, method, 6, cold_weights)
            np.testing.assert_array_equal(items, expected.items)
            ranked = prepared.rank(weights, method, 6, cold_weights)
            np.testing.assert_allclose(ranked.contributions, expected.contributions, rtol=1e-5)


def test_cold_item_values_by_hand() -> None:
    prepared = PreparedFusion(cold_candidates(), relevance_matrix([[0, 3]], 4))
    # List 0, 1, 3, 2: the cold item 3 (the only cold relevant one) at rank 3: 1 / log2(4).
    values = prepared.cold_item_values([0.75, 0.25], "weighted", "ndcg@10", COLD_ITEMS, [0.5, 0.5])
    np.testing.assert_allclose(values, [0.5])
    # A user without cold relevant items is left out.
    none = PreparedFusion(cold_candidates(), relevance_matrix([[0]], 4))
    assert none.cold_item_values([1, 1], "weighted", "ndcg@10", COLD_ITEMS).size == 0
    with pytest.raises(FusionError, match="accuracy metric"):
        prepared.cold_item_values([1, 1], "weighted", "coverage@10", COLD_ITEMS)


def test_cold_weight_grid_spreads_the_discount_over_the_signals_that_cannot_score() -> None:
    grid = cold_weight_grid(np.array([False, True, False]), step=0.5)
    np.testing.assert_allclose(grid, [[0, 1, 0], [0.25, 0.5, 0.25], [0.5, 0, 0.5]])
    np.testing.assert_allclose(
        cold_weight_grid(np.array([True, True]), 0.5), [[1, 0], [0.5, 0.5], [0, 1]]
    )
    with pytest.raises(FusionError, match="no signal scores cold items"):
        cold_weight_grid(np.array([False, False]))


def test_search_cold_weights_by_hand() -> None:
    prepared = PreparedFusion(cold_candidates(), relevance_matrix([[0, 3]], 4))
    search = search_cold_weights(
        prepared, {"A": 0.75, "B": 0.25}, COLD_ITEMS, step=0.5, cold_floor=0.55
    )
    # Cold weights (C, T): (0, 1) lists 0, 3, 1, 2; (0.5, 0.5) lists 0, 1, 3, 2; (1, 0) lists
    # 0, 1, 2. Relevant 0 and 3, ideal DCG 1 + 1/log2(3).
    ideal = 1 + 1 / math.log2(3)
    np.testing.assert_allclose(search.sweep["ndcg@10"], [1, 1.5 / ideal, 1 / ideal], rtol=1e-6)
    np.testing.assert_allclose(search.sweep["cold:ndcg@10"], [1 / math.log2(3), 0.5, 0], rtol=1e-6)
    assert search.sweep["feasible"].tolist() == [True, False, False]
    assert search.best_cold_weights == {"A": 0.0, "B": 1.0}
    assert search.weights == {"A": 0.75, "B": 0.25}
    too_high = search_cold_weights(prepared, [0.75, 0.25], COLD_ITEMS, step=0.5, cold_floor=0.9)
    assert too_high.best_cold_weights is None


class Collaborative(FixedScores):
    scores_cold_items = False


class Content(FixedScores):
    scores_cold_items = True


def test_a_saved_variant_serves_its_cold_weights() -> None:
    # Users 0 and 1 trained on items 0..2; items 3 and 4 are cold.
    seen = [[0], [1, 2]]
    train = interactions(seen, 5)
    models = {
        "C": Collaborative([[0, 9, 8, 7, 6], [5, 0, 0, 3, 2]]).fit(train),
        "T": Content([[0, 0.1, 0.2, 0.9, 0.3], [0.4, 0, 0, 0.8, 0.5]]).fit(train),
    }
    split = Split.from_parts(train, interactions([[3], [3]], 5), None, "temporal", {})
    users = np.array([0, 1])
    plain = FusionConfig(("r1", "r2"), ("C", "T"), "weighted", "minmax", (0.9, 0.1), depth=5)
    segment = dataclasses.replace(plain, cold_weights=(0.5, 0.5))
    assert segment.describe() == "weighted (minmax): C 0.90, T 0.10; cold items: C 0.50, T 0.50"
    candidates = build_candidates(models, users, 5)
    np.testing.assert_array_equal(candidates.cold, candidates.items >= 3)
    served = serve_fused(models, segment, None, split, users, 4)
    expected = fuse(candidates, [0.9, 0.1], k=4, cold_weights=[0.5, 0.5])
    np.testing.assert_array_equal(served.items, expected.items)
    # User 0: warm 1 (C 1, T 0: 0.9) and 2 (C 0, T 0.125: 0.0125); cold 3 (T 1: 0.5) and 4
    # (T 0.25: 0.125). Without cold weights the cold items take T's renormalised score.
    assert served.items[0].tolist() == [1, 3, 4, 2]
    assert serve_fused(models, plain, None, split, users, 4).items[0].tolist() == [3, 1, 4, 2]


def test_a_saved_gate_serves_its_cold_weights(tmp_path) -> None:
    seen = [[0], [1, 2]]
    train = interactions(seen, 5)
    models = {
        "C": Collaborative([[0, 9, 8, 7, 6], [5, 0, 0, 3, 2]]).fit(train),
        "T": Content([[0, 0.1, 0.2, 0.9, 0.3], [0.4, 0, 0, 0.8, 0.5]]).fit(train),
    }
    split = Split.from_parts(train, interactions([[3], [3]], 5), None, "temporal", {})
    users = np.array([0, 1])
    candidates = build_candidates(models, users, 5)
    prepared = PreparedFusion(candidates, split.test.matrix)
    features = gate_features(split, users)
    SoftmaxGate(epochs=3).fit(prepared, features).save(tmp_path / "gate")
    gate = SoftmaxGate.load(tmp_path / "gate")
    config = FusionConfig(("r1", "r2"), ("C", "T"), "gate", "minmax", (0.5, 0.5), depth=5)
    served = serve_fused(models, config, gate, split, users, 4)
    warm, cold = gate.weights(features), gate.cold_weights(features)
    assert not np.allclose(warm, cold)
    expected = fuse(candidates, warm, k=4, cold_weights=cold)
    np.testing.assert_array_equal(served.items, expected.items)
    np.testing.assert_allclose(served.scores, expected.scores, rtol=1e-6)
