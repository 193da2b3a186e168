"""Every model on the A/B page serves cold users the labelled fallback, content models included."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.data.interactions import Interactions
from core.data.splits import Split
from core.data.workspace import Workspace
from core.evaluation.compare import model_variant
from core.evaluation.experiment import (
    MEAN,
    METRIC,
    SEGMENT,
    load_experiment,
    run_experiment,
    save_experiment,
)
from core.evaluation.stats import VARIANT
from core.evaluation.verdict import fallback_table, verdict
from core.models.base import SOURCE_POPULARITY_FALLBACK
from core.models.registry import make_model

USERS = ["a", "b", "c", "d"]
ITEMS = ["i0", "i1", "i2", "i3", "i4", "i5"]
TS = np.datetime64("2024-01-01T00:00:00")
CATALOG = pd.DataFrame(
    {
        "item_id": ITEMS,
        "title": ["steel pan", "steel pot", "oak table", "oak chair", "steel lid", "oak shelf"],
    }
)


def _interactions(pairs: list[tuple[int, int]]) -> Interactions:
    pairs = sorted(pairs)
    return Interactions.from_arrays(
        USERS,
        ITEMS,
        np.array([u for u, _ in pairs], dtype=np.int64),
        np.array([i for _, i in pairs], dtype=np.int64),
        np.ones(len(pairs), np.float32),
        np.full(len(pairs), TS),
    )


@pytest.fixture
def split() -> Split:
    """Users a, b, c trained; d has no history. Training users per item: i0 3, i1..i3 1."""
    train = _interactions([(0, 0), (0, 1), (1, 0), (1, 2), (1, 3), (2, 0)])
    test = _interactions([(0, 2), (1, 4), (2, 5), (3, 0), (3, 5)])
    return Split.from_parts(train, test, None, "temporal", {})


def test_a_content_model_serves_cold_users_the_labelled_fallback(
    split: Split, workspace: Workspace
) -> None:
    content = make_model("content_tfidf").fit(split.train, catalog=CATALOG)
    # The content model alone ranks nothing for d, who has no history to match texts with.
    assert (content.recommend(np.array([3]), 6)[0] == -1).all()
    variant = model_variant(content, "tfidf")
    result = run_experiment(split, [variant], metrics=["ndcg@10"], segments=["cold_users"])
    np.testing.assert_array_equal(result.fallback["tfidf"], [False, False, False, True])
    # d gets popularity: i0 (3 users), then i1, i2, i3 (1 user each), i4, i5 (none), ties to
    # the lower index. d's test items i0 and i5 sit at ranks 1 and 6:
    # NDCG@10 = (1 + 1 / log2 7) / (1 + 1 / log2 3).
    np.testing.assert_array_equal(result.lists["tfidf"][3, :6], [0, 1, 2, 3, 4, 5])
    row = result.table[
        (result.table[SEGMENT] == "cold_users") & (result.table[METRIC] == "ndcg@10")
    ]
    expected = (1 + 1 / math.log2(7)) / (1 + 1 / math.log2(3))
    assert row[MEAN].iloc[0] == pytest.approx(expected)
    # Trained users keep the model's own lists.
    own = content.recommend(np.array([0, 1, 2]), 10)[0]
    np.testing.assert_array_equal(result.lists["tfidf"][:3], own)
    table = fallback_table(result)
    assert table.to_dict("records") == [
        {VARIANT: "tfidf", "source": SOURCE_POPULARITY_FALLBACK, "n_users": 1, "share": 0.25}
    ]
    save_experiment(workspace, result, "cold users")
    reopened = load_experiment(workspace, result.run_id)
    np.testing.assert_array_equal(reopened.fallback["tfidf"], result.fallback["tfidf"])


def test_the_fallback_is_labelled_in_the_verdict_and_absent_where_not_served(
    split: Split,
) -> None:
    content = make_model("content_tfidf").fit(split.train, catalog=CATALOG)
    popularity = make_model("popularity").fit(split.train)
    result = run_experiment(
        split,
        [model_variant(popularity, "popular"), model_variant(content, "tfidf")],
        metrics=["ndcg@10"],
        control="popular",
        n_resamples=50,
    )
    # Popularity ranks users without history itself: no fallback, no row.
    assert not result.fallback["popular"].any()
    assert fallback_table(result)[VARIANT].tolist() == ["tfidf"]
    sentences = verdict(result)
    assert any(SOURCE_POPULARITY_FALLBACK in s and "tfidf (1 users)" in s for s in sentences)
