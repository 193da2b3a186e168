"""Fusion rules with exact arithmetic on three candidates, contributions, top-k ties."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import FusionError
from core.fusion import fuse
from core.fusion.methods import top_columns
from tests.core.fusion.conftest import candidate_set

# One user, three candidates (items 10, 11, 12). A ranks them 1, 3, 2; B ranks them 3, 1, 2.
SCORES = [[[3.0, 1.0, 2.0]], [[1.0, 3.0, 2.0]]]
ITEMS = [[10, 11, 12]]
# A retrieved items 10 and 12 in its own top-N, B items 11 and 12.
RETRIEVED = [[[True, False, True]], [[False, True, True]]]


def candidates():
    return candidate_set(SCORES, items=ITEMS, retrieved=RETRIEVED, n_items=13)


def test_reciprocal_rank_fusion() -> None:
    ranking = fuse(candidates(), [1, 1], method="rrf", k=3)
    # Items 10 and 11 tie at 1/61 + 1/63 (the lower item first), item 12 has 2/62.
    assert ranking.items.tolist() == [[10, 11, 12]]
    expected = [1 / (60 + 1) + 1 / (60 + 3), 1 / (60 + 3) + 1 / (60 + 1), 2 / (60 + 2)]
    np.testing.assert_allclose(ranking.scores[0], expected, rtol=1e-6)
    np.testing.assert_allclose(
        ranking.contributions[:, 0],
        [[1 / 61, 1 / 63, 1 / 62], [1 / 63, 1 / 61, 1 / 62]],
        rtol=1e-6,
    )
    weighted = fuse(candidates(), [2, 1], method="rrf", rrf_k=0, k=3)
    # rrf_k = 0: A contributes 2/rank, B 1/rank: 2 + 1/3, 2/3 + 1, 2/2 + 1/2.
    np.testing.assert_allclose(weighted.scores[0], [2 + 1 / 3, 2 / 3 + 1, 1.5], rtol=1e-6)


def test_weighted_sum() -> None:
    ranking = fuse(candidates(), [0.75, 0.25], method="weighted", normalisation="minmax", k=3)
    # min-max: A -> [1, 0, 0.5], B -> [0, 1, 0.5].
    assert ranking.items.tolist() == [[10, 12, 11]]
    np.testing.assert_allclose(ranking.scores[0], [0.75, 0.5, 0.25])
    np.testing.assert_allclose(ranking.contributions[:, 0], [[0.75, 0.375, 0], [0, 0.125, 0.25]])
    np.testing.assert_allclose(ranking.contributions.sum(axis=0), ranking.scores)


def test_combmnz() -> None:
    ranking = fuse(candidates(), [1, 1], method="combmnz", k=3)
    # Item 12 was retrieved by both: (0.5 + 0.5) * 2 = 2; items 10, 11: (1 + 0) * 1 = 1.
    assert ranking.items.tolist() == [[12, 10, 11]]
    np.testing.assert_allclose(ranking.scores[0], [2, 1, 1])
    np.testing.assert_allclose(ranking.contributions[:, 0], [[1, 1, 0], [1, 0, 1]])
    # A signal of weight 0 does not count towards the number of retrievers.
    alone = fuse(candidates(), [1, 0], method="combmnz", k=3)
    assert alone.items.tolist() == [[10, 12, 11]]
    np.testing.assert_allclose(alone.scores[0], [1, 0.5, 0])


def test_rank_normalisation_and_per_user_weights() -> None:
    two_users = candidate_set(
        [[[3, 1, 2], [3, 1, 2]], [[1, 3, 2], [1, 3, 2]]], retrieved=None, n_items=3
    )
    ranking = fuse(two_users, [[1, 0], [0, 1]], normalisation="rank", k=2)
    # User 0 takes A alone, user 1 B alone.
    assert ranking.items.tolist() == [[0, 2], [1, 2]]
    np.testing.assert_allclose(ranking.scores, [[1, 0.5], [1, 0.5]])


def test_padding_and_nan_never_win() -> None:
    nan = np.nan
    padded = candidate_set([[[1, nan, nan]], [[nan, 2, nan]]], items=[[4, 7, -1]], n_items=8)
    ranking = fuse(padded, [1, 1], k=3)
    # Each signal scores one item: min-max of a single value is 0, so both items tie at 0;
    # the padding position is never listed.
    assert ranking.items.tolist() == [[4, 7, -1]]
    assert ranking.scores[0, 2] == -np.inf
    assert (ranking.contributions[:, 0, 2] == 0).all()
    rrf = fuse(padded, [1, 1], method="rrf", k=3)
    # Each item is scored by one signal, which takes the whole weight 2: 2 / 61.
    np.testing.assert_allclose(rrf.scores[0, :2], [2 / 61, 2 / 61], rtol=1e-6)


# One user, four candidates 0..3. C (a collaborative signal) cannot score item 3 (cold);
# T (a content signal) scores all four.
MISSING = [[[4.0, 2.0, 0.0, np.nan]], [[0.2, 0.6, 1.0, 0.8]]]


def test_a_missing_signal_does_not_zero_the_candidate() -> None:
    ranking = fuse(candidate_set(MISSING), [0.75, 0.25], k=4)
    # min-max: C -> [1, 0.5, 0, missing], T -> [0, 0.5, 1, 0.75].
    # Items 0..2: 0.75 C + 0.25 T = 0.75, 0.5, 0.25. Item 3: T alone carries the whole weight
    # (0.25 renormalised to 1): 0.75, tying item 0 (the lower item first).
    assert ranking.items.tolist() == [[0, 3, 1, 2]]
    np.testing.assert_allclose(ranking.scores[0], [0.75, 0.75, 0.5, 0.25], rtol=1e-6)
    np.testing.assert_allclose(
        ranking.contributions[:, 0], [[0.75, 0, 0.375, 0], [0, 0.75, 0.125, 0.25]], rtol=1e-6
    )
    np.testing.assert_allclose(ranking.contributions.sum(axis=0), ranking.scores, rtol=1e-6)


def test_missing_signal_in_rrf_combmnz_and_per_user_weights() -> None:
    rrf = fuse(candidate_set(MISSING), [1, 1], method="rrf", rrf_k=0, k=4)
    # Ranks C: 1, 2, 3, -; T: 4, 3, 1, 2. Item 3: T alone, weight 2: 2 / 2 = 1.
    # Item 0: 1 + 1/4, item 1: 1/2 + 1/3, item 2: 1/3 + 1.
    assert rrf.items.tolist() == [[2, 0, 3, 1]]
    np.testing.assert_allclose(rrf.scores[0], [4 / 3, 1.25, 1, 5 / 6], rtol=1e-6)
    retrieved = [[[True, True, False, False]], [[False, False, True, True]]]
    mnz = fuse(candidate_set(MISSING, retrieved=retrieved), [0.5, 0.5], method="combmnz", k=4)
    # One retriever each: 0.5 C + 0.5 T = 0.5, 0.5, 0.5 and item 3: T alone, 0.75.
    assert mnz.items.tolist() == [[3, 0, 1, 2]]
    np.testing.assert_allclose(mnz.scores[0], [0.75, 0.5, 0.5, 0.5], rtol=1e-6)
    gate_like = fuse(candidate_set(MISSING), [[0.9, 0.1]], k=4)
    # 0.9 C + 0.1 T = 0.9, 0.5, 0.1; item 3: 0.75 (T renormalised to the whole weight 1).
    np.testing.assert_allclose(gate_like.scores[0], [0.9, 0.75, 0.5, 0.1], rtol=1e-6)


def test_a_candidate_no_weighted_signal_scores_is_not_listed() -> None:
    ranking = fuse(candidate_set(MISSING), [1, 0], k=4)
    # T has weight 0, so item 3 has no present signal of positive weight.
    assert ranking.items.tolist() == [[0, 1, 2, -1]]
    np.testing.assert_allclose(ranking.scores[0, :3], [1, 0.5, 0])


def test_top_columns_ties_to_the_lower_column() -> None:
    fused = np.array([[1, 3, 3, -np.inf], [-np.inf, -np.inf, 0, 0]], dtype=np.float32)
    columns, values = top_columns(fused.copy(), 3)
    assert columns.tolist() == [[1, 2, 0], [2, 3, -1]]
    np.testing.assert_array_equal(values, [[3, 3, 1], [0, 0, -np.inf]])


@pytest.mark.parametrize(
    ("weights", "method", "message"),
    [
        ([1], "weighted", "shape"),
        ([-1, 2], "weighted", ">= 0"),
        ([0, 0], "weighted", "positive weight"),
        ([1, 1], "borda", "unknown fusion method"),
    ],
)
def test_bad_weights_and_methods(weights, method, message) -> None:
    with pytest.raises(FusionError, match=message):
        fuse(candidates(), weights, method=method)
