"""Tests of the simulated online A/B test: a hand-made world and the committed sample world."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.errors import ComparisonError, ShopSynthError
from core.evaluation.online import (
    CONVERSION_RATE,
    CTR,
    ONLINE_COLUMNS,
    GroundTruth,
    OnlineABResult,
    agreement,
    choice_probabilities,
    is_sample_world,
    load_ground_truth,
    simulate_online_ab,
)
from core.evaluation.stats import holm


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _tiny_truth(n_clones: int = 1) -> pd.DataFrame:
    """``n_clones`` users with the same tastes (U1, U2, ...) and one bot (B1)."""
    humans = pd.DataFrame(
        {
            "user_id": [f"U{i + 1}" for i in range(n_clones)],
            "is_bot": False,
            "price_sensitivity": 0.5,
            "brand_loyalty": 0.4,
            "affinity_home": 0.75,
            "affinity_garden": 0.25,
            "favourite_brand_home": "Acme",
            "favourite_brand_garden": "Other",
        }
    )
    bot = pd.DataFrame(
        {
            "user_id": ["B1"],
            "is_bot": [True],
            "price_sensitivity": [np.nan],
            "brand_loyalty": [np.nan],
            "affinity_home": [np.nan],
            "affinity_garden": [np.nan],
            "favourite_brand_home": [None],
            "favourite_brand_garden": [None],
        }
    )
    return pd.concat([humans, bot], ignore_index=True)


TINY_CATALOG = pd.DataFrame(
    {
        "item_id": ["P1", "P2", "P3"],
        "category": ["Home > Kitchen > Pans", "Home > Kitchen > Pans", "Garden > Tools > Spades"],
        "brand": ["Acme", "Acme", "Zed"],
        "price": [10.0, 40.0, 25.0],
    }
)
ITEMS = TINY_CATALOG["item_id"].to_numpy()

# By hand for U1: two top categories, so a(home) = 0.9 * 0.75 + 0.1 / 2 = 0.725 and
# a(garden) = 0.9 * 0.25 + 0.05 = 0.275. P1 and P2 share a type: ln prices ln 10 and ln 40 have
# mean ln 20 and spread ln 2, so z = -1 and +1; P3 is alone in its type (z = 0).
V_P1 = math.log(2 * 0.725) + 1.5 * 0.5 * 1 + 3.0 * 0.4
V_P2 = math.log(2 * 0.725) - 1.5 * 0.5 * 1 + 3.0 * 0.4
V_P3 = math.log(2 * 0.275)
P_CLICK_P2 = _sigmoid(-3.0 + V_P2)
P_PURCHASE_P2 = _sigmoid(-4.0 + V_P2)


def test_choice_probabilities_of_one_user_and_one_product_by_hand():
    p_click, p_purchase = choice_probabilities(
        np.array(["U1"]), np.array(["P2"]), _tiny_truth(), TINY_CATALOG
    )
    assert p_click.shape == p_purchase.shape == (1, 1)
    assert p_click[0, 0] == pytest.approx(P_CLICK_P2, abs=1e-12)
    assert p_purchase[0, 0] == pytest.approx(P_PURCHASE_P2, abs=1e-12)


def test_choice_probabilities_follow_price_brand_and_category_and_bots_get_nan():
    p_click, _ = choice_probabilities(np.array(["U1", "B1"]), ITEMS, _tiny_truth(), TINY_CATALOG)
    expected = [_sigmoid(-3.0 + v) for v in (V_P1, V_P2, V_P3)]
    np.testing.assert_allclose(p_click[0], expected, atol=1e-12)
    assert np.isnan(p_click[1]).all()


def test_click_and_purchase_rates_match_the_model_on_many_identical_users():
    n = 4_000
    truth = _tiny_truth(n)
    users = truth["user_id"].to_numpy()  # the bot last
    p2 = 1
    lists = {
        "top": np.tile([p2, -1], (n + 1, 1)),
        "second": np.tile([-1, p2], (n + 1, 1)),
    }
    result = simulate_online_ab(
        lists, users, ITEMS, truth, TINY_CATALOG, position_bias=0.5, random_state=0
    )
    assert len(result.user_ids) == n
    assert "B1" not in result.user_ids
    rows = result.summary.set_index(["metric", "variant"])["mean"]
    sd = math.sqrt(0.25 / n)
    assert rows[(CTR, "top")] == pytest.approx(P_CLICK_P2, abs=4 * sd)
    assert rows[(CTR, "second")] == pytest.approx(0.5 * P_CLICK_P2, abs=4 * sd)
    assert rows[(CONVERSION_RATE, "top")] == pytest.approx(P_CLICK_P2 * P_PURCHASE_P2, abs=4 * sd)
    # The product's click draw is shared: a click at position 2 implies one at the top.
    assert np.all(result.per_user[CTR]["second"] <= result.per_user[CTR]["top"])


def test_rates_average_over_the_showings_of_each_list():
    lists = {"only": np.array([[1]])}
    result = simulate_online_ab(
        lists,
        np.array(["U1"]),
        ITEMS,
        _tiny_truth(),
        TINY_CATALOG,
        n_impressions_per_user=3_000,
        random_state=1,
    )
    (ctr,) = result.per_user[CTR]["only"]
    assert ctr == pytest.approx(P_CLICK_P2, abs=4 * math.sqrt(0.25 / 3_000))
    assert ctr * 3_000 == pytest.approx(round(ctr * 3_000))


# ---------------------------------------------------------------------------------------------
# The sample world
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world() -> dict:
    """Ground truth of the sample world, 300 random humans plus all bots, and their lists."""
    truth = load_ground_truth()
    rng = np.random.default_rng(0)
    humans = truth.users.loc[~truth.users["is_bot"], "user_id"].to_numpy()
    bots = truth.users.loc[truth.users["is_bot"], "user_id"].to_numpy()
    users = np.concatenate([rng.choice(humans, 300, replace=False), bots])
    items = truth.catalog["item_id"].to_numpy()
    p_click, _ = choice_probabilities(users, items, truth.users, truth.catalog)
    best = np.argsort(-np.nan_to_num(p_click, nan=0.0), axis=1, kind="stable")[:, :10]
    random = rng.integers(0, len(items), size=(len(users), 10))
    return {"truth": truth, "users": users, "bots": bots, "items": items, "best": best,
            "random": random}  # fmt: skip


def _run(world: dict, lists: dict, **kwargs) -> OnlineABResult:
    truth = world["truth"]
    return simulate_online_ab(
        lists, world["users"], world["items"], truth.users, truth.catalog, **kwargs
    )


def test_ground_truth_best_lists_beat_random_lists_and_bots_are_left_out(world):
    result = _run(
        world, {"random": world["random"], "best": world["best"]}, control="random", random_state=0
    )
    assert list(result.summary.columns) == list(ONLINE_COLUMNS)
    assert len(result.user_ids) == 300
    assert not set(result.user_ids) & set(world["bots"])
    assert all(len(v) == 300 for metric in result.per_user.values() for v in metric.values())
    best = result.summary.set_index(["metric", "variant"]).loc[(CTR, "best")]
    random = result.summary.set_index(["metric", "variant"]).loc[(CTR, "random")]
    assert best["mean"] > 2 * random["mean"]
    assert best["diff_ci_low"] > 0
    conversion = result.summary.set_index(["metric", "variant"]).loc[(CONVERSION_RATE, "best")]
    assert conversion["diff_ci_low"] > 0


def test_holm_adjusts_across_metrics_and_treatments(world):
    lists = {"random": world["random"], "best": world["best"], "same": world["random"].copy()}
    result = _run(world, lists, control="random", n_resamples=200, random_state=0)
    p_values = result.summary["p_value"].to_numpy()
    assert np.isfinite(p_values).sum() == 4
    np.testing.assert_allclose(result.summary["p_holm"], holm(p_values))


def test_identical_lists_give_identical_per_user_results(world):
    lists = {"a": world["random"], "b": world["random"].copy()}
    result = _run(world, lists, control="a", n_impressions_per_user=2, random_state=3)
    for metric in (CTR, CONVERSION_RATE):
        np.testing.assert_array_equal(result.per_user[metric]["a"], result.per_user[metric]["b"])
    row = result.summary.set_index(["metric", "variant"]).loc[(CTR, "b")]
    assert (row["diff"], row["p_value"]) == (0.0, 1.0)


def test_users_react_to_a_product_the_same_way_wherever_it_is_listed(world):
    # With every position examined, reordering a list changes nothing.
    lists = {"best": world["best"], "reversed": world["best"][:, ::-1]}
    result = _run(world, lists, position_bias=1.0, random_state=4)
    np.testing.assert_array_equal(result.per_user[CTR]["best"], result.per_user[CTR]["reversed"])


def test_position_bias_favours_the_better_order(world):
    lists = {"best": world["best"], "reversed": world["best"][:, ::-1]}
    result = _run(world, lists, control="reversed", n_impressions_per_user=5, random_state=5)
    assert result.summary.set_index(["metric", "variant"]).loc[(CTR, "best"), "diff"] > 0


def test_same_seed_same_result_and_another_seed_differs(world):
    lists = {"random": world["random"], "best": world["best"]}
    first = _run(world, lists, control="random", n_resamples=100, random_state=6)
    again = _run(world, lists, control="random", n_resamples=100, random_state=6)
    other = _run(world, lists, control="random", n_resamples=100, random_state=7)
    pd.testing.assert_frame_equal(first.summary, again.summary)
    assert not np.array_equal(first.per_user[CTR]["random"], other.per_user[CTR]["random"])


def test_is_sample_world_checks_users_and_products(world):
    truth = world["truth"]
    catalog = truth.catalog
    assert is_sample_world(world["users"], catalog, truth)
    assert not is_sample_world([*world["users"], "U999999"], catalog, truth)
    assert not is_sample_world([], catalog, truth)
    repriced = catalog.assign(price=catalog["price"] + 1.0)
    assert not is_sample_world(world["users"], repriced, truth)
    assert not is_sample_world(world["users"], catalog.drop(columns="brand"), truth)
    renamed = catalog.assign(item_id=catalog["item_id"].str.replace("P", "Q"))
    assert not is_sample_world(world["users"], renamed, truth)
    # A subset of the products (as after cleaning) is still the sample world.
    assert is_sample_world(world["users"][:10], catalog.iloc[::2], truth)


def test_load_ground_truth_of_a_folder_without_it_says_how_to_make_it(tmp_path):
    with pytest.raises(ComparisonError, match="python -m core simulate"):
        load_ground_truth(tmp_path)


# ---------------------------------------------------------------------------------------------
# agreement
# ---------------------------------------------------------------------------------------------


def test_agreement_of_rankings_by_hand():
    offline = pd.Series({"a": 0.1, "b": 0.2, "c": 0.3})
    online = pd.Series({"c": 2.0, "b": 3.0, "a": 1.0, "d": 9.0})
    # Ranks a, b, c: offline 1, 2, 3; online 1, 3, 2 -> rho = 1 - 6 * (0 + 1 + 1) / (3 * 8) = 0.5.
    report = agreement(offline, online)
    assert report["spearman"] == pytest.approx(0.5)
    assert report["n_variants"] == 3
    assert (report["offline_winner"], report["online_winner"]) == ("c", "b")
    assert report["winner_agrees"] is False
    same = agreement(offline, offline * 10)
    assert same["spearman"] == pytest.approx(1.0)
    assert same["winner_agrees"] is True


def test_agreement_with_a_constant_side_has_no_correlation():
    report = agreement(pd.Series({"a": 1.0, "b": 1.0}), pd.Series({"a": 0.1, "b": 0.2}))
    assert np.isnan(report["spearman"])
    assert report["offline_winner"] == "a"


@pytest.mark.parametrize(
    ("offline", "online"),
    [
        (pd.Series({"a": 1.0}), pd.Series({"a": 2.0})),
        (pd.Series({"a": 1.0, "b": 2.0}), pd.Series({"c": 1.0, "d": 2.0})),
        (pd.Series({"a": 1.0, "b": np.nan}), pd.Series({"a": 1.0, "b": 2.0})),
    ],
)
def test_agreement_needs_two_shared_variants_with_values(offline, online):
    with pytest.raises(ComparisonError):
        agreement(offline, online)


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------

USERS = np.array(["U1", "B1"])


@pytest.mark.parametrize(
    ("lists", "user_ids", "item_ids", "kwargs", "message"),
    [
        ({}, USERS, ITEMS, {}, "no variants"),
        ({"a": np.zeros((3, 2), dtype=int)}, USERS, ITEMS, {}, r"expected \(2, k\)"),
        ({"a": np.zeros(2, dtype=int)}, USERS, ITEMS, {}, r"expected \(2, k\)"),
        ({"a": np.zeros((2, 2))}, USERS, ITEMS, {}, "integer item indices"),
        ({"a": np.full((2, 2), 3)}, USERS, ITEMS, {}, r"outside \[-1, 2\]"),
        ({"a": np.full((2, 2), -2)}, USERS, ITEMS, {}, r"outside \[-1, 2\]"),
        ({"a": np.zeros((2, 2), dtype=int)}, USERS, ITEMS, {"control": "b"}, "control 'b'"),
        (
            {"a": np.zeros((2, 2), dtype=int)},
            USERS,
            ITEMS,
            {"n_impressions_per_user": 0},
            "positive integer",
        ),
        ({"a": np.zeros((2, 2), dtype=int)}, USERS, ITEMS, {"position_bias": 0.0}, r"\(0, 1\]"),
        ({"a": np.zeros((2, 2), dtype=int)}, USERS, ITEMS, {"position_bias": 1.5}, r"\(0, 1\]"),
        (
            {"a": np.zeros((2, 2), dtype=int)},
            np.array(["U1", "X9"]),
            ITEMS,
            {},
            "1 of 2 users are not in the ground truth",
        ),
        (
            {"a": np.zeros((2, 2), dtype=int)},
            USERS,
            np.array(["P1", "P9", "P3"]),
            {},
            "1 of 3 products are not in the catalogue",
        ),
        ({"a": np.zeros((1, 2), dtype=int)}, np.array(["B1"]), ITEMS, {}, "every user is a bot"),
        ({"a": np.zeros((1, 2), dtype=int)}, np.array([["U1"]]), ITEMS, {}, "1-D"),
    ],
)
def test_bad_input_raises_a_typed_error(lists, user_ids, item_ids, kwargs, message):
    with pytest.raises(ComparisonError, match=message) as caught:
        simulate_online_ab(lists, user_ids, item_ids, _tiny_truth(), TINY_CATALOG, **kwargs)
    assert isinstance(caught.value, ShopSynthError)
    assert isinstance(caught.value, ValueError)


def test_a_catalogue_outside_the_ground_truth_categories_is_refused():
    catalog = TINY_CATALOG.assign(category=["Toys > Cars > Trucks", *TINY_CATALOG["category"][1:]])
    with pytest.raises(ComparisonError, match="no affinity_<top> column"):
        choice_probabilities(np.array(["U1"]), ITEMS, _tiny_truth(), catalog)


def test_users_truth_without_the_taste_columns_is_refused():
    with pytest.raises(ComparisonError, match="ground_truth_users"):
        choice_probabilities(
            np.array(["U1"]), ITEMS, _tiny_truth().drop(columns="brand_loyalty"), TINY_CATALOG
        )


def test_is_sample_world_on_a_hand_made_truth():
    truth = GroundTruth(users=_tiny_truth(), catalog=TINY_CATALOG)
    assert is_sample_world(["U1", "B1"], TINY_CATALOG.iloc[[2]], truth)
    assert not is_sample_world(["U1"], TINY_CATALOG.assign(brand="Acme"), truth)
