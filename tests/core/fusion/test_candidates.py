"""Candidate union, scores gathered from every model, NaN for users a model does not know."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from core.errors import FusionError
from core.fusion import build_candidates
from tests.core.fusion.conftest import FixedScores, fixed_model, interactions, relevance_matrix

SEEN = [[0], [3]]
# Model A ranks items by descending index for user 0, ascending for user 1; B the reverse.
TABLE_A = [[5, 4, 3, 2, 1, 0], [1, 2, 3, 4, 5, 6]]
TABLE_B = [[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 6, 5]]


def test_union_of_top_lists_scored_by_every_model() -> None:
    models = {"A": fixed_model(TABLE_A, SEEN), "B": fixed_model(TABLE_B, SEEN)}
    candidates = build_candidates(models, np.array([0, 1]), depth=2)
    # User 0: A's top 2 without the seen item 0 is {1, 2}, B's is {5, 4}.
    # User 1: A's top 2 is {5, 4}, B's is {4, 5}: two candidates, then padding.
    np.testing.assert_array_equal(candidates.items, [[1, 2, 4, 5], [4, 5, -1, -1]])
    nan = np.nan
    # A is asked for its scores of B's items 4 and 5 (1 and 0), not given 0.
    np.testing.assert_array_equal(candidates.scores[0], [[4, 3, 1, 0], [5, 6, nan, nan]])
    np.testing.assert_array_equal(candidates.scores[1], [[1, 2, 4, 5], [6, 5, nan, nan]])
    np.testing.assert_array_equal(
        candidates.retrieved,
        [
            [[True, True, False, False], [True, True, False, False]],
            [[False, False, True, True], [True, True, False, False]],
        ],
    )
    assert candidates.signal_names == ("A", "B")
    assert (candidates.n_items, candidates.depth, candidates.n_candidates) == (6, 2, 4)
    # A model ranked from dense scores is scored once: its candidates' scores are read from
    # the scores it ranked by.
    assert [call is None for call in models["A"].score_calls_] == [True]


class OwnRanking(FixedScores):
    """Ranks through its own recommend(), as models with a dedicated top-k do."""

    def recommend(self, *args: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
        return super().recommend(*args, **kwargs)


def test_a_model_with_its_own_ranking_is_asked_for_the_other_candidates() -> None:
    own = OwnRanking(TABLE_A).fit(interactions(SEEN, 6))
    models = {"A": own, "B": fixed_model(TABLE_B, SEEN)}
    candidates = build_candidates(models, np.array([0, 1]), depth=2)
    np.testing.assert_array_equal(candidates.scores[0], [[4, 3, 1, 0], [5, 6, np.nan, np.nan]])
    # Scores of B's candidates 4 and 5 came from a score(user, items) call.
    calls = [call for call in own.score_calls_ if call is not None]
    assert any({4, 5} <= set(call.tolist()) for call in calls)


def test_a_model_without_the_user_gives_nan_and_no_candidates() -> None:
    models = {"A": fixed_model(TABLE_A, SEEN), "short": fixed_model(TABLE_B[:1], SEEN)}
    candidates = build_candidates(models, np.array([0, 1]), depth=2)
    np.testing.assert_array_equal(candidates.items[1], [4, 5, -1, -1])
    assert np.isnan(candidates.scores[1, 1]).all()
    assert not candidates.retrieved[1, 1].any()
    np.testing.assert_array_equal(candidates.scores[1, 0], [1, 2, 4, 5])


def test_batches_and_progress() -> None:
    models = {"A": fixed_model(TABLE_A, SEEN), "B": fixed_model(TABLE_B, SEEN)}
    whole = build_candidates(models, np.array([0, 1]), depth=2)
    steps: list[tuple[int, int]] = []
    batched = build_candidates(
        models,
        np.array([0, 1]),
        depth=2,
        batch_size=1,
        callback=lambda s, t, i: steps.append((s, t)),
    )
    assert steps == [(1, 2), (2, 2)]
    np.testing.assert_array_equal(batched.items, whole.items)
    np.testing.assert_array_equal(batched.scores, whole.scores)
    np.testing.assert_array_equal(batched.retrieved, whole.retrieved)


def test_relevance_and_select() -> None:
    models = {"A": fixed_model(TABLE_A, SEEN), "B": fixed_model(TABLE_B, SEEN)}
    candidates = build_candidates(models, np.array([1, 0]), depth=2)
    relevant = relevance_matrix([[1, 3], [5, 0]], 6)
    # Rows follow candidates.users = [1, 0].
    np.testing.assert_array_equal(
        candidates.relevance(relevant), [[False, True, False, False], [True, False, False, False]]
    )
    second = candidates.select(np.array([1]))
    np.testing.assert_array_equal(second.users, [0])
    np.testing.assert_array_equal(second.items, candidates.items[1:])


def test_bad_input() -> None:
    model = fixed_model(TABLE_A, SEEN)
    with pytest.raises(FusionError, match="at least one model"):
        build_candidates({}, np.array([0]))
    with pytest.raises(FusionError, match="depth"):
        build_candidates({"A": model}, np.array([0]), depth=0)
    other = fixed_model([[1, 2, 3]], SEEN)
    with pytest.raises(FusionError, match="same split"):
        build_candidates({"A": model, "B": other}, np.array([0]))


def test_seen_items_are_retrieved_when_the_split_kept_repeats() -> None:
    """With exclude_seen=False (a split keeping repeats) a signal retrieves the items its
    users already have: user 0's seen item 0 and user 1's seen item 3."""
    seen_first = [[5, 0, 0, 0, 0, 0], [0, 0, 0, 6, 0, 0]]
    own = OwnRanking(seen_first).fit(interactions(SEEN, 6))
    models = {"again": fixed_model(seen_first, SEEN), "own": own}
    kept = build_candidates(models, np.array([0, 1]), depth=1, exclude_seen=False)
    np.testing.assert_array_equal(kept.items, [[0], [3]])
    np.testing.assert_array_equal(kept.scores, [[[5], [6]], [[5], [6]]])
    assert kept.retrieved.all()
    dropped = build_candidates(models, np.array([0, 1]), depth=1)
    # Without repeats the seen items are left out: the best unseen items tie at 0 and the
    # lower index comes first.
    np.testing.assert_array_equal(dropped.items, [[1], [0]])
