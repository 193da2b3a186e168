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


class Collaborative(FixedScores):
    """Learns items from interactions only: its scores of cold items mean nothing."""

    scores_cold_items = False


class Content(FixedScores):
    """Scores items from their content, cold ones included."""

    scores_cold_items = True


# Three users, seven items; user 2 has no training history. Items 5 and 6 have no training
# interaction (cold).
SEEN_WARM = [[0], [3], []]
TABLE_CF = [[9, 8, 7, 6, 5, 4, 3], [1, 2, 3, 4, 5, 6, 7], [7, 6, 5, 4, 3, 2, 1]]
TABLE_TEXT = [[0, 1, 2, 3, 4, 6, 5], [6, 5, 4, 3, 2, 1, 0], [1, 1, 1, 1, 1, 1, 1]]


def _trained(cls: type, table: list, seen: list[list[int]]) -> FixedScores:
    # Items 0..4 get a training user each: a dummy user 3 saw items 1, 2 and 4.
    return cls([*table, [0] * 7]).fit(interactions([*seen, [1, 2, 4]], 7))


def test_cold_items_and_users_are_missing_for_the_signals_that_cannot_score_them() -> None:
    models = {
        "cf": _trained(Collaborative, TABLE_CF, SEEN_WARM),
        "text": _trained(Content, TABLE_TEXT, SEEN_WARM),
    }
    candidates = build_candidates(models, np.array([0, 1, 2]), depth=2, cold_depth=1)
    nan = np.nan
    # User 0: cf's top 2 unseen {1, 2}; text's {6, 5} (cold items, both in its own top 2)
    # and its best cold item 5. User 1: cf's {6, 5}, text's {0, 1}, cold best 5.
    # User 2 has no history: both signals rank from it, so nobody retrieves anything.
    np.testing.assert_array_equal(candidates.items, [[1, 2, 5, 6], [0, 1, 5, 6], [-1] * 4])
    np.testing.assert_array_equal(
        candidates.cold,
        [[False, False, True, True], [False, False, True, True], [False] * 4],
    )
    # cf cannot score the cold items 5 and 6: NaN, not its 4 and 3 (nor 6 and 7).
    np.testing.assert_array_equal(
        candidates.scores[0], [[8, 7, nan, nan], [1, 2, nan, nan], [nan] * 4]
    )
    np.testing.assert_array_equal(candidates.scores[1], [[1, 2, 6, 5], [6, 5, 1, 0], [nan] * 4])
    # cf does not count as retrieving the cold items it listed for user 1.
    np.testing.assert_array_equal(
        candidates.retrieved[0],
        [[True, True, False, False], [False, False, False, False], [False] * 4],
    )
    np.testing.assert_array_equal(
        candidates.retrieved[1],
        [[False, False, True, True], [True, True, True, False], [False] * 4],
    )


def test_content_signals_add_their_best_cold_items() -> None:
    models = {
        "cf": _trained(Collaborative, TABLE_CF, SEEN_WARM),
        "text": _trained(Content, TABLE_TEXT, SEEN_WARM),
    }
    # depth 1: cf brings item 1 (user 0) and 6 (user 1); text brings 5 (user 0) and 0 (user 1).
    # cold_depth 2 adds text's two cold items, 5 and 6, to both users.
    without = build_candidates(models, np.array([0, 1]), depth=1, cold_depth=0)
    np.testing.assert_array_equal(without.items, [[1, 5], [0, 6]])
    with_cold = build_candidates(models, np.array([0, 1]), depth=1, cold_depth=2)
    np.testing.assert_array_equal(with_cold.items, [[1, 5, 6], [0, 5, 6]])
    np.testing.assert_array_equal(with_cold.retrieved[1], [[False, True, True], [True, True, True]])
    with pytest.raises(FusionError, match="cold_depth"):
        build_candidates(models, np.array([0]), cold_depth=-1)
