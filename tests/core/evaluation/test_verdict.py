"""Reading an experiment: metrics not available, reachable levels, zero scores and the verdict."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.splits import Split
from core.evaluation.experiment import SEGMENTS, run_experiment, unavailable_metrics
from core.evaluation.verdict import significance_levels, significance_mark, verdict, zero_scores
from core.metrics import MetricContext
from core.metrics.registry import higher_is_better
from tests.core.evaluation.test_experiment import EMPTY, HALF, ORACLE, _interactions, fixed

METRICS = ["recall@2", "coverage@2", "category_diversity@2"]


@pytest.fixture
def split() -> Split:
    """The split of ``test_experiment``: users a, b, c trained, d cold; i4 and i5 cold items."""
    train = _interactions([(0, 0), (0, 1), (1, 0), (1, 2), (1, 3), (2, 0)])
    test = _interactions([(0, 2), (1, 4), (2, 5), (3, 0), (3, 5)])
    return Split.from_parts(train, test, None, "temporal", {})


def _run(split: Split, control: str, categories: np.ndarray | None) -> object:
    context = MetricContext(
        item_popularity=np.array([3, 1, 1, 1, 0, 0]), n_users=4, item_categories=categories
    )
    return run_experiment(
        split,
        [fixed(ORACLE, "oracle"), fixed(HALF, "half"), fixed(EMPTY, "empty")],
        metrics=METRICS,
        control=control,
        context=context,
        n_resamples=100,
        random_state=0,
    )


def test_category_diversity_without_categories_is_not_reported(split: Split) -> None:
    # Each item in a category of its own: a full list of 2 always scores 1, whatever it holds.
    result = _run(split, "empty", np.arange(6))
    rows = result.table[result.table["metric"] == "category_diversity@2"]
    assert len(rows) == 3 * len(SEGMENTS)
    assert rows["mean"].isna().all() and rows["p_value"].isna().all()
    assert not rows["significant"].any()
    assert rows["not_available"].str.contains("no two items share a category").all()
    # The other metrics are reported as usual, in every segment that has users (this fixture
    # has no repeat purchase, so the "repeat" segment is empty and has no mean).
    recall = result.table[result.table["metric"] == "recall@2"]
    assert (recall["not_available"] == "").all()
    assert recall.loc[recall["n_users"] > 0, "mean"].notna().all()
    assert recall.loc[recall["segment"] == "repeat", "n_users"].eq(0).all()


def test_unavailable_metrics_reasons() -> None:
    popularity = np.array([1, 2, 3])
    assert unavailable_metrics(["category_diversity@5"], MetricContext(popularity)) == {
        "category_diversity@5": "needs item_categories, which this data does not have"
    }
    one = MetricContext(popularity, item_categories=np.array(["a", "a", "a"]))
    assert (
        "same category"
        in unavailable_metrics(["category_diversity@5"], one)["category_diversity@5"]
    )
    informative = MetricContext(popularity, item_categories=np.array(["a", "a", "b"]))
    assert unavailable_metrics(["category_diversity@5", "ndcg@5"], informative) == {}


def test_category_diversity_with_shared_categories_is_reported(split: Split) -> None:
    result = _run(split, "empty", np.array([0, 0, 1, 1, 2, 2]))
    rows = result.table.set_index(["segment", "metric", "variant"])
    # Oracle lists (2, 3), (4, 5), (5, 1), (0, 5): categories 1-1, 2-2, 2-0, 0-2 differ in 2 of 4.
    assert rows.loc[("all", "category_diversity@2", "oracle"), "mean"] == pytest.approx(0.5)


def test_verdict_names_the_winner_with_interval_and_costs(split: Split) -> None:
    result = _run(split, "empty", np.array([0, 0, 1, 1, 2, 2]))
    sentences = verdict(result)
    # Oracle gains exactly 1 recall for every user (p = 0); half gains 1, 0, 0, 0.5.
    assert sentences[0].startswith("oracle wins on recall@2: 1.0000 against 0.0000")
    assert "[+1.0000, +1.0000]" in sentences[0]
    assert "catalogue coverage 1.0000 against 0.0000" in sentences[1]
    assert "category_diversity@2 0.5000" in sentences[1]
    # Cold-start users: only d (0 training interactions); oracle finds both of d's items.
    assert "recall@2 on cold-start users (1 users) 1.0000 against 0.0000" in sentences[1]


def test_verdict_keeps_the_control_without_a_significant_gain(split: Split) -> None:
    # Against half, oracle's differences are 0, 1, 1, 0.5: mean 0.625, sd 0.4787, t = 2.611 with
    # 3 degrees of freedom, p = 0.080 (two-sided): not significant at 0.05.
    result = _run(split, "half", None)
    oracle = result.table.set_index(["segment", "metric", "variant"]).loc[
        ("all", "recall@2", "oracle")
    ]
    assert oracle["p_value"] == pytest.approx(0.0796, abs=5e-4)
    sentences = verdict(result)
    assert sentences == [sentences[0]]
    assert sentences[0].startswith("No variant beats the control half significantly on recall@2")
    assert sentences[0].endswith("keep half.")


def test_zero_scores_list_the_variant_and_segment(split: Split) -> None:
    result = _run(split, "half", None)
    zeros = zero_scores(result)
    # "empty" scores 0 everywhere; half finds nothing for the cold-item users b, c, d.
    with_users = set(result.table.loc[result.table["n_users"] > 0, "segment"])
    assert set(zeros[zeros["variant"] == "empty"]["segment"]) == with_users
    assert ("cold_items", "half") in set(zip(zeros["segment"], zeros["variant"], strict=True))
    assert "oracle" not in set(zeros["variant"])


def test_significance_levels_offer_only_reachable_thresholds(split: Split) -> None:
    result = _run(split, "empty", None)
    assert significance_levels(result) == (0.05, 0.01)
    # A comparison saved with bootstrap p-values: the floor 2 / (B + 1) times the family, then
    # every tested (treatment, metric) pair of the segment: recall@2 for oracle and half (2).
    del result.config["p_test"]
    result.config["n_resamples"] = 1000  # 2 * 2 / 1001 = 0.004: both levels reachable
    assert significance_levels(result) == (0.05, 0.01)
    result.config["n_resamples"] = 200  # 2 * 2 / 201 = 0.0199: only 0.05
    assert significance_levels(result) == (0.05,)
    result.config["n_resamples"] = 50  # 2 * 2 / 51 = 0.078: none
    assert significance_levels(result) == ()
    assert significance_mark(0.004, (0.05, 0.01)) == "**"
    assert significance_mark(0.03, (0.05, 0.01)) == "*"
    assert significance_mark(0.004, (0.05,)) == "*"
    assert significance_mark(float("nan"), (0.05, 0.01)) == ""


COLD = {0: [4, 5], 1: [4, 5], 2: [4, 5], 3: [4, 5]}


def _popularity_run(split: Split, control: str) -> object:
    """``half`` against ``cold`` (only never-trained items) on mean popularity, lower better."""
    return run_experiment(
        split,
        [fixed(HALF, "half"), fixed(COLD, "cold")],
        metrics=["avg_popularity@2"],
        control=control,
        context=MetricContext(item_popularity=np.array([3, 1, 1, 1, 0, 0]), n_users=4),
        n_resamples=100,
        random_state=0,
    )


def test_metric_direction_of_the_registry() -> None:
    assert higher_is_better("ndcg@10") and higher_is_better("coverage@5")
    for name in ("exposure_gap_brand@10", "ee_disparity@10", "gini@10", "avg_popularity@10"):
        assert not higher_is_better(name), name
    assert higher_is_better("ee_relevance@10")


def test_verdict_reads_a_smaller_value_as_the_gain_where_lower_is_better(split: Split) -> None:
    # Mean popularity of half's lists: (1+1)/2, (0+1)/2, (1+1)/2, (3+1)/2 = 1, 0.5, 1, 2 (mean
    # 1.125); cold's are all 0. Differences cold - half: -1, -0.5, -1, -2: mean -1.125, sd 0.6292,
    # t = -3.576 with 3 degrees of freedom, p = 0.0374 (two-sided): significant at 0.05.
    sentences = verdict(_popularity_run(split, "half"))
    assert sentences[0].startswith("cold wins on avg_popularity@2: 0.0000 against 1.1250")
    # The other way round, half's larger popularity is no win over cold.
    sentences = verdict(_popularity_run(split, "cold"))
    assert sentences == [sentences[0]]
    assert sentences[0].startswith(
        "No variant beats the control cold significantly on avg_popularity@2"
    )
