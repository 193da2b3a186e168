"""Experiments: served lists, per-segment metrics, paired comparison, saving and reopening."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.interactions import Interactions
from core.data.splits import Split
from core.data.workspace import Workspace
from core.errors import ComparisonError
from core.evaluation.compare import compare_models, metric_context, model_variants
from core.evaluation.experiment import (
    SEGMENTS,
    Variant,
    coverage_curve,
    delete_experiment,
    export_csv,
    list_experiments,
    load_experiment,
    metric_table,
    popularity_profile,
    run_experiment,
    save_experiment,
    segment_masks,
)
from core.evaluation.stats import holm
from core.figures.report import experiment_report_html
from core.metrics import MetricContext, long_tail_items
from core.models.training import train_model
from tests.core.test_training import write_log

USERS = ["a", "b", "c", "d"]
ITEMS = ["i0", "i1", "i2", "i3", "i4", "i5"]
TS = np.datetime64("2024-01-01T00:00:00")


def _interactions(pairs: list[tuple[int, int]]) -> Interactions:
    pairs = sorted(pairs)
    users = np.array([u for u, _ in pairs], dtype=np.int64)
    items = np.array([i for _, i in pairs], dtype=np.int64)
    return Interactions.from_arrays(
        USERS, ITEMS, users, items, np.ones(len(pairs), np.float32), np.full(len(pairs), TS)
    )


@pytest.fixture
def split() -> Split:
    """Users a, b, c trained; d is cold. i4 and i5 are cold items (test only)."""
    train = _interactions([(0, 0), (0, 1), (1, 0), (1, 2), (1, 3), (2, 0)])
    test = _interactions([(0, 2), (1, 4), (2, 5), (3, 0), (3, 5)])
    return Split.from_parts(train, test, None, "temporal", {})


def fixed(lists: dict[int, list[int]], name: str) -> Variant:
    """A variant serving the literal ``lists`` (user index -> items), padded with -1."""

    def recommend(user_idx: np.ndarray, k: int) -> np.ndarray:
        out = np.full((len(user_idx), k), -1, dtype=np.int64)
        for row, user in enumerate(user_idx):
            items = lists.get(int(user), [])[:k]
            out[row, : len(items)] = items
        return out

    return Variant(name, recommend, {"kind": "literal"})


ORACLE = {0: [2, 3], 1: [4, 5], 2: [5, 1], 3: [0, 5]}
HALF = {0: [3, 2], 1: [5, 1], 2: [1, 2], 3: [0, 1]}
EMPTY: dict[int, list[int]] = {}


def test_segments_of_the_split(split: Split) -> None:
    users = split.test_users
    relevant = split.test.matrix.tocsr()[users]
    masks = segment_masks(split, users, relevant, np.array([0, 0, 0, 0, 1, 1], dtype=bool))
    assert list(masks) == list(SEGMENTS)
    assert masks["all"][0].tolist() == [True] * 4
    assert masks["cold_users"][0].tolist() == [False, False, False, True]
    # Cold items i4 (user b) and i5 (users c, d).
    assert masks["cold_items"][0].tolist() == [False, True, True, True]
    assert masks["cold_items"][1].toarray()[3].tolist() == [0, 0, 0, 0, 0, 1]
    # Long tail i4, i5: users b, c, d.
    assert masks["long_tail"][0].tolist() == [False, True, True, True]
    # Training counts a=2, b=3, c=1, d=0: ranks d, c | a | b over 4 users -> 0, 0, 1, 2.
    assert masks["activity_low"][0].tolist() == [False, False, True, True]
    assert masks["activity_mid"][0].tolist() == [True, False, False, False]
    assert masks["activity_high"][0].tolist() == [False, True, False, False]


def test_hand_computed_comparison(split: Split) -> None:
    result = run_experiment(
        split,
        [fixed(ORACLE, "oracle"), fixed(HALF, "half"), fixed(EMPTY, "empty")],
        metrics=["recall@2", "hit_rate@2", "coverage@2"],
        control="empty",
        n_resamples=200,
        random_state=1,
    )
    means = metric_table(result)
    # Oracle: a 1/1, b 1/1, c 1/1, d 2/2.
    assert means.loc["oracle", "recall@2"] == pytest.approx(1.0)
    # Half: a finds i2 (1/1), b finds nothing (0/1), c nothing (0/1), d finds i0 (1/2).
    assert means.loc["half", "recall@2"] == pytest.approx((1 + 0 + 0 + 0.5) / 4)
    assert means.loc["empty", "recall@2"] == 0.0
    # Coverage: oracle lists items {0, 1, 2, 3, 4, 5} = 6 of 6; half {0, 1, 2, 3, 5} = 5 of 6.
    assert means.loc["oracle", "coverage@2"] == pytest.approx(1.0)
    assert means.loc["half", "coverage@2"] == pytest.approx(5 / 6)
    rows = result.table.set_index(["segment", "metric", "variant"])
    oracle = rows.loc[("all", "recall@2", "oracle")]
    assert oracle["diff"] == pytest.approx(1.0)
    # Every user gains exactly 1: the interval of the difference has no width.
    assert oracle["diff_ci_low"] == pytest.approx(1.0)
    assert oracle["diff_ci_high"] == pytest.approx(1.0)
    # The control's mean is 0: no relative lift.
    assert np.isnan(oracle["lift"])
    # Catalogue-level metrics carry a difference but no interval.
    coverage = rows.loc[("all", "coverage@2", "half")]
    assert coverage["diff"] == pytest.approx(5 / 6)
    assert np.isnan(coverage["ci_low"]) and np.isnan(coverage["p_value"])
    # Cold items segment: b (i4), c (i5), d (i5 only; its i0 is warm and does not count):
    # oracle finds all three, half none (b's list holds i5, not i4; c's and d's no i5).
    assert rows.loc[("cold_items", "recall@2", "oracle"), "mean"] == pytest.approx(1.0)
    assert rows.loc[("cold_items", "recall@2", "half"), "mean"] == 0.0
    assert rows.loc[("cold_items", "recall@2", "half"), "n_users"] == 3
    # Holm within each metric of a segment, across its two treatments (oracle and half).
    tested = result.table[(result.table["segment"] == "all") & result.table["p_value"].notna()]
    assert len(tested) == 4
    for _, family in tested.groupby("metric"):
        assert len(family) == 2
        np.testing.assert_allclose(family["p_holm"], holm(family["p_value"].to_numpy()))
    # Oracle's recall gain is exactly 1 for every user: a certain difference, p = 0.
    assert oracle["p_value"] == 0.0
    assert result.config["primary_metric"] == "recall@2"


def test_lift_and_significance(split: Split) -> None:
    result = run_experiment(
        split,
        [fixed(HALF, "half"), fixed(ORACLE, "oracle")],
        metrics=["recall@2"],
        control="half",
        n_resamples=500,
        random_state=0,
    )
    row = result.table.set_index(["segment", "variant"]).loc[("all", "oracle")]
    assert row["lift"] == pytest.approx((1.0 - 0.375) / 0.375)
    assert bool(row["significant"]) == (row["p_holm"] < 0.05)


def test_errors(split: Split) -> None:
    with pytest.raises(ComparisonError, match="repeated"):
        run_experiment(split, [fixed(HALF, "x"), fixed(ORACLE, "x")], metrics=["recall@2"])
    with pytest.raises(ComparisonError, match="control"):
        run_experiment(split, [fixed(HALF, "x")], metrics=["recall@2"], control="y")
    with pytest.raises(ComparisonError, match="segment"):
        run_experiment(split, [fixed(HALF, "x")], metrics=["recall@2"], segments=["nope"])

    def short(user_idx: np.ndarray, k: int) -> np.ndarray:
        return np.zeros((1, k), dtype=np.int64)

    with pytest.raises(ComparisonError, match="returned 1 lists"):
        run_experiment(split, [Variant("bad", short)], metrics=["recall@2"])


def test_curves(split: Split) -> None:
    result = run_experiment(split, [fixed(ORACLE, "oracle")], metrics=["recall@2"], n_resamples=10)
    curve = coverage_curve(result, ks=[1, 2])
    # Top-1: items {2, 4, 5, 0} = 4 of 6; top-2 adds 3 and 1: 6 of 6.
    assert curve["coverage"].tolist() == pytest.approx([4 / 6, 1.0])
    profile = popularity_profile(result, k=2, n_bins=3)
    # Training popularity: i0 3, i1 1, i2 1, i3 1, i4 0, i5 0 -> bins (stable by -pop):
    # {i0, i1} bin 1, {i2, i3} bin 2, {i4, i5} bin 3. The 8 listed items are
    # 2, 3 | 4, 5 | 5, 1 | 0, 5: bin 1 holds 1, 0; bin 2 holds 2, 3; bin 3 holds 4, 5, 5, 5.
    oracle = profile[profile["variant"] == "oracle"]["share"].tolist()
    assert oracle == pytest.approx([2 / 8, 2 / 8, 4 / 8])
    catalogue = profile[profile["variant"] == "catalogue"]["share"].tolist()
    assert catalogue == pytest.approx([1 / 3, 1 / 3, 1 / 3])


def test_save_reopen_delete(workspace: Workspace, split: Split) -> None:
    result = run_experiment(
        split,
        [fixed(HALF, "half"), fixed(ORACLE, "oracle")],
        metrics=["recall@2", "ndcg@2"],
        control="half",
        n_resamples=50,
    )
    run_id = save_experiment(workspace, result, "first")
    assert list_experiments(workspace)["run_id"].tolist() == [run_id]
    again = load_experiment(workspace, run_id)
    pd.testing.assert_frame_equal(again.table, result.table)
    assert again.variants == ["half", "oracle"]
    assert again.control == "half"
    np.testing.assert_array_equal(again.lists["oracle"], result.lists["oracle"])
    assert export_csv(again).decode().startswith("segment,metric,n_users,variant,mean")
    html = experiment_report_html(again, "report")
    assert html.startswith("<!DOCTYPE html>") and "Lift over half" in html
    delete_experiment(workspace, run_id)
    assert list_experiments(workspace).empty
    with pytest.raises(ComparisonError):
        load_experiment(workspace, run_id)


def test_compare_trained_models(workspace: Workspace) -> None:
    # A short log, so that the last 20% of the time holds pairs not seen in training.
    write_log(workspace, n_events=150)
    popularity = train_model(workspace, "popularity")
    als = train_model(workspace, "als", {"factors": 8, "iterations": 5, "random_state": 0})
    result = compare_models(
        workspace,
        [popularity.run_id, als.run_id],
        name="pop vs als",
        control=popularity.run_id,
        metrics=["ndcg@5", "recall@5", "novelty@5", "coverage@5"],
        n_resamples=100,
    )
    assert result.control == "popularity"
    assert result.online is None  # not the sample world
    assert list_experiments(workspace)["name"].tolist() == ["pop vs als"]
    # The lists are the models' own top-k for the test users.
    split, _ = model_variants(workspace, [als.run_id])
    expected = als.model.recommend(split.test_users, 5, exclude_seen=True)[0]
    np.testing.assert_array_equal(result.lists["als"], expected)
    # Novelty from the split's training popularity (distinct users per item), by hand.
    train = split.train.matrix.tocsr()
    users_per_item = np.bincount(train.indices, minlength=train.shape[1])
    per_user = [
        np.mean(-np.log2(np.maximum(users_per_item[row[row >= 0]], 1) / train.shape[0]))
        if (row >= 0).any()
        else 0.0
        for row in expected
    ]
    rows = result.table.set_index(["segment", "metric", "variant"])
    assert rows.loc[("all", "novelty@5", "als"), "mean"] == pytest.approx(np.mean(per_user))


def test_models_on_different_splits_are_refused(workspace: Workspace) -> None:
    write_log(workspace)
    first = train_model(workspace, "popularity")
    second = train_model(
        workspace, "popularity", split_params={"test_fraction": 0.3, "valid_fraction": 0.1}
    )
    with pytest.raises(ComparisonError, match="different data or splits"):
        model_variants(workspace, [first.run_id, second.run_id])


def test_metric_context_categories(split: Split) -> None:
    catalog = pd.DataFrame(
        {
            "item_id": ITEMS,
            "category": ["A > x > p", "A > x > q", "A > y", "B", None, "B > z"],
        }
    )
    context = metric_context(split, catalog)
    codes = context.item_categories
    # Second level: "A > x" twice, then "A > y", "B", none (own code), "B > z".
    assert codes[0] == codes[1]
    assert len(set(codes.tolist())) == 5
    assert isinstance(context, MetricContext)
    assert context.item_popularity.tolist() == [3, 1, 1, 1, 0, 0]
    assert long_tail_items(context.item_popularity).dtype == bool


def test_repeat_and_new_segments_by_hand() -> None:
    """a re-buys i0 and finds new i2; b re-buys i0 and i2; c only finds new i1; d is cold."""
    train = _interactions([(0, 0), (0, 1), (1, 0), (1, 2), (2, 0)])
    test = _interactions([(0, 0), (0, 2), (1, 0), (1, 2), (2, 1), (3, 3)])
    split = Split.from_parts(train, test, None, "temporal", {"keep_repeats": True})
    users = split.test_users
    masks = segment_masks(split, users, split.test.matrix[users], np.zeros(6, dtype=bool))
    assert masks["repeat"][0].tolist() == [True, True, False, False]
    assert masks["repeat"][1].toarray()[:2].tolist() == [[1, 0, 0, 0, 0, 0], [1, 0, 1, 0, 0, 0]]
    assert masks["new"][0].tolist() == [True, False, True, True]
    assert masks["new"][1].toarray()[0].tolist() == [0, 0, 1, 0, 0, 0]
    # A list of the user's own items against one of new items only.
    again = fixed({0: [0, 1], 1: [2, 1], 2: [0]}, "again")
    other = fixed({0: [2, 4], 1: [4, 5], 2: [1, 3], 3: [3, 0]}, "other")
    result = run_experiment(
        split,
        [again, other],
        metrics=["recall@2"],
        segments=["all", "repeat", "new"],
        n_resamples=50,
    )
    rows = result.table.set_index(["segment", "variant"])
    # Repeat: again a 1/1, b 1/2; other a 0/1, b 0/2.
    assert rows.loc[("repeat", "again"), "mean"] == pytest.approx(0.75)
    assert rows.loc[("repeat", "other"), "mean"] == pytest.approx(0.0)
    assert rows.loc[("repeat", "again"), "n_users"] == 2
    # New: again a 0/1, c 0/1, d 0/1; other a 1/1, c 1/1, d 1/1.
    assert rows.loc[("new", "again"), "mean"] == pytest.approx(0.0)
    assert rows.loc[("new", "other"), "mean"] == pytest.approx(1.0)
    # All: again a 1/2, b 1/2, c 0/1, d 0/1; other a 1/2, b 0/2, c 1/1, d 1/1.
    assert rows.loc[("all", "again"), "mean"] == pytest.approx(0.25)
    assert rows.loc[("all", "other"), "mean"] == pytest.approx(0.625)
