"""Users without training history get the popularity fallback, marked, from models and fusion."""

from __future__ import annotations

import numpy as np

from core.data.splits import Split
from core.fusion.runs import FusionConfig, serve_fused
from core.models.base import SOURCE_MODEL, SOURCE_POPULARITY_FALLBACK
from core.models.explore import user_recommendations
from core.models.registry import make_model
from tests.core.fusion.conftest import FixedScores, interactions

# User 2 has no training history. Training users per item: 1, 2, 1, 0, so the popularity
# order is item 1, then 0 and 2 (a tie, the lower index first), then 3.
SEEN = [[0, 1], [1, 2], []]
TABLE = [[0, 0, 1, 2], [5, 0, 0, 3], [9, 8, 7, 6]]


def _model() -> FixedScores:
    return FixedScores(TABLE).fit(interactions(SEEN, 4))


def test_a_model_serves_the_labelled_fallback_to_users_without_history() -> None:
    model = _model()
    served = model.serve(np.array([0, 1, 2]), 3)
    # User 0: items 3, 2 (unseen, by score). User 1: items 0, 3. User 2: popularity 1, 0, 2
    # with their training user counts as scores; the model's own list for user 2 is empty.
    np.testing.assert_array_equal(served.items, [[3, 2, -1], [0, 3, -1], [1, 0, 2]])
    np.testing.assert_array_equal(served.scores[2], [2, 1, 1])
    np.testing.assert_array_equal(served.fallback, [False, False, True])
    assert (model.recommend(np.array([2]), 3)[0] == -1).all()
    assert served.sources.tolist() == [SOURCE_MODEL, SOURCE_MODEL, SOURCE_POPULARITY_FALLBACK]
    frame = user_recommendations(model, 2, {"i1": "Kettle"}, k=2)
    assert frame["item_id"].tolist() == ["i1", "i0"]
    assert frame["title"].tolist() == ["Kettle", ""]
    assert frame["source"].tolist() == [SOURCE_POPULARITY_FALLBACK] * 2
    assert user_recommendations(model, 0, {}, k=2)["source"].tolist() == [SOURCE_MODEL] * 2


def test_a_model_that_ranks_without_history_is_no_fallback() -> None:
    popularity = make_model("popularity").fit(interactions(SEEN, 4))
    served = popularity.serve(np.array([2]), 3)
    np.testing.assert_array_equal(served.items, [[1, 0, 2]])
    assert not served.fallback.any()


def test_a_fused_variant_serves_the_labelled_fallback() -> None:
    train = interactions(SEEN, 4)
    split = Split.from_parts(train, interactions([[3], [3], [0]], 4), None, "random", {})
    config = FusionConfig(("r1",), ("A",), "weighted", "minmax", (1.0,), depth=4)
    served = serve_fused({"A": _model()}, config, None, split, np.array([2, 0]), 3)
    # User 0: min-max of A over the candidates 2, 3 -> 0, 1: item 3 then 2.
    np.testing.assert_array_equal(served.items, [[1, 0, 2], [3, 2, -1]])
    np.testing.assert_array_equal(served.fallback, [True, False])
