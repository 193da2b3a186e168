"""The buy-again model by hand, and a split keeping repeats followed by training and comparison."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from core.data.interactions import Interactions
from core.data.workspace import Workspace
from core.errors import ModelError
from core.evaluation.compare import model_variants
from core.models.buy_again import BuyAgain
from core.models.training import train_model
from tests.core.test_interactions import write_events

T0 = datetime(2024, 5, 1)
DAY = timedelta(days=1)


def _train() -> Interactions:
    """u0 bought i0 (weight 8) on day 10, the latest event, and i1 (weight 24) on day 0;
    u1 viewed i2 (weight 1) on day 5; u2 has nothing."""
    start = np.datetime64("2024-01-01T00:00:00", "s")
    return Interactions.from_arrays(
        ["u0", "u1", "u2"],
        ["i0", "i1", "i2", "i3"],
        np.array([0, 0, 1]),
        np.array([0, 1, 2]),
        np.array([8.0, 24.0, 1.0], dtype=np.float32),
        start + np.array([10, 0, 5]).astype("timedelta64[D]"),
    )


def test_frequency_times_recency_by_hand() -> None:
    model = BuyAgain(half_life_days=10).fit(_train())
    # u0: i0 8 * 0.5**0 = 8, i1 24 * 0.5**(10/10) = 12; u1: i2 1 * 0.5**(5/10).
    expected = [[8, 12, 0, 0], [0, 0, 0.5**0.5, 0], [0, 0, 0, 0]]
    np.testing.assert_allclose(model.score(np.arange(3)), expected, rtol=1e-6)
    idx, scores = model.recommend(np.arange(3), 2, exclude_seen=False)
    np.testing.assert_array_equal(idx, [[1, 0], [2, 0], [-1, -1]])
    np.testing.assert_allclose(scores[0], [12, 8])
    # Excluding the seen items leaves only zeros, in item order.
    np.testing.assert_array_equal(model.recommend(0, 2)[0], [[2, 3]])
    frequency = BuyAgain(half_life_days=None).fit(_train())
    np.testing.assert_allclose(frequency.score(0), [[8, 24, 0, 0]])
    # A history without times is ranked by its weights.
    history = frequency.train_[[1]]
    np.testing.assert_allclose(frequency.score_history(history, np.array([2, 0])), [[1, 0]])


def test_bad_half_life() -> None:
    with pytest.raises(ModelError, match="half_life_days"):
        BuyAgain(half_life_days=0).fit(_train())


REPEATS = [
    ("u1", "i1", "purchase", T0),
    ("u1", "i2", "view", T0 + DAY),
    ("u1", "i1", "purchase", T0 + 5 * DAY),  # validation repeat
    ("u1", "i1", "purchase", T0 + 8 * DAY),  # test repeat
    ("u2", "i2", "purchase", T0 + 2 * DAY),
    ("u2", "i3", "purchase", T0 + 3 * DAY),
    ("u2", "i3", "purchase", T0 + 6 * DAY),  # validation repeat
    ("u2", "i2", "purchase", T0 + 9 * DAY),  # test repeat
]
CUTS = {"cutoff": T0 + 7 * DAY, "valid_cutoff": T0 + 4 * DAY}


def test_training_and_comparison_rank_seen_items_when_repeats_are_kept(
    workspace: Workspace,
) -> None:
    write_events(workspace, REPEATS, catalog=["i1", "i2", "i3"])
    params = {"half_life_days": None}
    kept = train_model(workspace, "buy_again", params, split_params={**CUTS, "keep_repeats": True})
    assert kept.split.exclude_seen is False
    assert kept.params["split"]["keep_repeats"] is True
    # Validation: u1 wants i1, ranked first (8 against i2's 1); u2 wants i3, which ties with
    # i2 at 8 and comes second: NDCG@10 1 / log2(3).
    assert kept.metrics["recall@20"] == pytest.approx(1.0)
    assert kept.metrics["ndcg@10"] == pytest.approx((1 + 1 / np.log2(3)) / 2)
    split, (variant,) = model_variants(workspace, [kept.run_id])
    assert split.exclude_seen is False
    np.testing.assert_array_equal(variant.recommend(np.array([0, 1]), 2), [[0, 1], [1, 2]])
    # The default split drops the repeats: nothing is left to validate on, and the lists
    # hold only items the users have not seen.
    dropped = train_model(workspace, "buy_again", params, split_params=CUTS)
    assert dropped.metrics["recall@20"] is None
    _, (variant,) = model_variants(workspace, [dropped.run_id])
    np.testing.assert_array_equal(variant.recommend(np.array([0, 1]), 2), [[2, -1], [0, -1]])
