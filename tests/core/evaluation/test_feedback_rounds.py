"""Feedback rounds on the sample world's ground truth: reactions follow the choice model, logs
grow, and showing only popular products concentrates exposure."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.interactions import Interactions
from core.data.splits import Split
from core.errors import ComparisonError
from core.evaluation.feedback_rounds import ROUND_COLUMNS, feedback_rounds
from core.evaluation.online import POSITION_BIAS, choice_probabilities, load_ground_truth
from core.metrics import catalog_coverage
from core.models.registry import make_model

N_USERS, PER_USER, K = 300, 8, 10


def _interactions(users: np.ndarray, items: np.ndarray, pairs: set, day: int) -> Interactions:
    ordered = sorted(pairs)
    rows = np.array([u for u, _ in ordered])
    cols = np.array([i for _, i in ordered])
    stamps = np.full(rows.size, np.datetime64("2025-01-01") + np.timedelta64(day, "D"))
    return Interactions.from_arrays(users, items, rows, cols, np.ones(rows.size, np.float32),
                                    stamps.astype("datetime64[s]"))  # fmt: skip


@pytest.fixture(scope="module")
def world() -> tuple:
    """300 shoppers of the sample world over its whole catalogue; training draws favour the
    first 30 products (a head), and each shopper has two test products."""
    truth = load_ground_truth()
    rng = np.random.default_rng(0)
    humans = truth.users.loc[~truth.users["is_bot"], "user_id"].to_numpy()
    users = np.sort(rng.choice(humans, N_USERS, replace=False)).astype(object)
    items = truth.catalog["item_id"].to_numpy().astype(object)
    weights = np.r_[np.full(30, 40.0), np.ones(items.size - 30)]
    weights /= weights.sum()
    train, test = set(), set()
    for user in range(N_USERS):
        chosen = rng.choice(items.size, PER_USER + 2, replace=False, p=weights)
        train |= {(user, int(i)) for i in chosen[:PER_USER]}
        test |= {(user, int(i)) for i in chosen[PER_USER:]}
    split = Split.from_parts(
        _interactions(users, items, train, 1), _interactions(users, items, test, 40),
        None, "temporal", {"cutoff": "2025-02-01"},
    )  # fmt: skip
    return split, truth


def test_rounds_follow_the_choice_model_and_grow_the_logs(world: tuple) -> None:
    split, truth = world
    table = feedback_rounds(split, truth.users, truth.catalog, n_rounds=3, k=K, max_users=None)
    assert list(table.columns) == list(ROUND_COLUMNS)
    assert table[["round", "variant"]].values.tolist() == [
        [r, v] for r in range(3) for v in ("popularity", "als")
    ]
    first = table[table["round"] == 0]
    assert (first["n_interactions"] == split.train.nnz).all()
    for _, part in table.groupby("variant"):
        assert part["n_interactions"].is_monotonic_increasing
        assert part["n_interactions"].iloc[-1] > split.train.nnz
    # Round 0 of popularity, rebuilt independently: the same lists and the expected clicks.
    model = make_model("popularity").fit(split.train)
    scores = np.array(model.score(np.arange(N_USERS)), dtype=np.float64)
    seen = split.train.matrix.toarray() > 0
    scores[seen] = -np.inf
    lists = np.argsort(-scores, axis=1, kind="stable")[:, :K]
    p_click, _ = choice_probabilities(split.train.user_ids, split.train.item_ids, truth.users,
                                      truth.catalog)  # fmt: skip
    expected = (np.take_along_axis(p_click, lists, axis=1) * POSITION_BIAS ** np.arange(K)).sum(1)
    row = first[first["variant"] == "popularity"].iloc[0]
    standard_error = expected.std() / np.sqrt(N_USERS) + np.sqrt(expected.mean() / N_USERS)
    assert row["ctr"] == pytest.approx(expected.mean(), abs=4 * standard_error)
    assert row["coverage"] == pytest.approx(catalog_coverage(lists, split.train.n_items))


def test_popularity_concentrates_exposure(world: tuple) -> None:
    split, truth = world
    table = feedback_rounds(split, truth.users, truth.catalog, n_rounds=2, k=K, max_users=200)
    pop = table[table["variant"] == "popularity"].set_index("round")
    als = table[table["variant"] == "als"].set_index("round")
    assert (pop["exposure_gini"] > als["exposure_gini"]).all()
    assert (pop["coverage"] < als["coverage"]).all()
    assert (pop["long_tail_share"] <= als["long_tail_share"]).all()


def test_rounds_refuse_a_world_without_shoppers(world: tuple) -> None:
    split, truth = world
    strangers = truth.users.assign(user_id="nobody-" + truth.users["user_id"].astype(str))
    with pytest.raises(ComparisonError, match="sample world"):
        feedback_rounds(split, strangers, truth.catalog, n_rounds=1)
    with pytest.raises(ComparisonError, match="n_rounds"):
        feedback_rounds(split, truth.users, truth.catalog, n_rounds=0)
