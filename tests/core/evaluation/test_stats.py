"""Tests of the paired bootstrap and the Holm adjustment, with hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import ComparisonError, ShopSynthError
from core.evaluation import stats
from core.evaluation.stats import BOOTSTRAP_COLUMNS, holm, paired_bootstrap

COMPARISON_COLUMNS = ["diff", "diff_ci_low", "diff_ci_high", "lift", "p_value", "p_holm"]


# ---------------------------------------------------------------------------------------------
# holm
# ---------------------------------------------------------------------------------------------


def test_holm_hand_computed_example():
    # Sorted 0.01, 0.03, 0.04 -> 3 * 0.01, 2 * 0.03, 1 * 0.04 = 0.03, 0.06, 0.04;
    # the running maximum lifts the last to 0.06.
    np.testing.assert_allclose(holm(np.array([0.01, 0.04, 0.03])), [0.03, 0.06, 0.06])


def test_holm_caps_at_one_and_keeps_ties_equal():
    np.testing.assert_allclose(holm(np.array([0.6, 0.9])), [1.0, 1.0])
    np.testing.assert_allclose(holm(np.array([0.02, 0.02])), [0.04, 0.04])


def test_holm_passes_nan_through_and_leaves_it_out_of_the_count():
    # Two finite p-values: 2 * 0.3 = 0.6, then max(0.6, 1 * 0.5) = 0.6.
    adjusted = holm(np.array([0.5, np.nan, 0.3]))
    np.testing.assert_allclose(adjusted, [0.6, np.nan, 0.6])


def test_holm_of_one_or_no_p_value():
    np.testing.assert_allclose(holm(np.array([0.2])), [0.2])
    assert holm(np.array([])).shape == (0,)


def test_holm_is_monotone_in_the_raw_p_values():
    raw = np.random.default_rng(0).random(20)
    adjusted = holm(raw)
    order = np.argsort(raw)
    assert np.all(np.diff(adjusted[order]) >= 0)
    assert np.all(adjusted >= raw)


@pytest.mark.parametrize("bad", [np.array([[0.1, 0.2]]), np.array([0.1, 1.2]), np.array([-0.1])])
def test_holm_rejects_bad_input(bad):
    with pytest.raises(ComparisonError):
        holm(bad)


# ---------------------------------------------------------------------------------------------
# paired_bootstrap
# ---------------------------------------------------------------------------------------------


def test_table_has_one_row_per_variant_in_order_with_the_documented_columns():
    values = {"b": np.ones(5), "a": np.zeros(5), "c": np.arange(5.0)}
    table = paired_bootstrap(values, control="a", n_resamples=50, random_state=0)
    assert list(table.columns) == list(BOOTSTRAP_COLUMNS)
    assert table["variant"].tolist() == ["b", "a", "c"]
    assert table["mean"].tolist() == [1.0, 0.0, 2.0]
    assert table.loc[1, COMPARISON_COLUMNS].isna().all()
    assert table.loc[[0, 2], ["diff", "p_value", "p_holm"]].notna().all().all()


def test_without_control_only_means_and_intervals_are_filled():
    values = {"a": np.arange(4.0), "b": np.ones(4)}
    table = paired_bootstrap(values, control=None, n_resamples=20, random_state=0)
    assert table[COMPARISON_COLUMNS].isna().all().all()
    assert table[["mean", "ci_low", "ci_high"]].notna().all().all()


def test_constant_difference_gives_a_zero_width_interval_and_p_value_zero():
    base = np.random.default_rng(1).normal(size=200)
    values = {"control": base, "treatment": base + 0.25}
    table = paired_bootstrap(values, control="control", n_resamples=99, random_state=3)
    row = table.iloc[1]
    assert row["diff"] == pytest.approx(0.25, abs=1e-12)
    assert row["diff_ci_low"] == pytest.approx(0.25, abs=1e-12)
    assert row["diff_ci_high"] == pytest.approx(0.25, abs=1e-12)
    # A constant non-zero difference: the t statistic is infinite, p = 0 (the bootstrap's
    # p-value could not go below 2 / (99 + 1) = 0.02).
    assert row["p_value"] == 0.0
    assert row["p_holm"] == 0.0


def test_identical_variants_differ_by_exactly_zero_with_p_value_one():
    base = np.random.default_rng(2).exponential(size=50)
    table = paired_bootstrap(
        {"a": base, "b": base.copy()}, control="a", n_resamples=200, random_state=0
    )
    row = table.iloc[1]
    assert (row["diff"], row["diff_ci_low"], row["diff_ci_high"]) == (0.0, 0.0, 0.0)
    assert row["lift"] == 0.0
    assert row["p_value"] == 1.0


def test_lift_is_relative_to_the_control_mean_and_nan_when_that_is_zero():
    values = {"control": np.array([1.0, 3.0]), "treatment": np.array([2.0, 4.0])}
    table = paired_bootstrap(values, control="control", n_resamples=10, random_state=0)
    assert table.loc[1, "diff"] == 1.0
    assert table.loc[1, "lift"] == 0.5  # 1 / mean(1, 3)
    zero = {"control": np.zeros(3), "treatment": np.ones(3)}
    table = paired_bootstrap(zero, control="control", n_resamples=10, random_state=0)
    assert np.isnan(table.loc[1, "lift"])


def test_interval_covers_the_true_mean_with_the_normal_theory_width():
    rng = np.random.default_rng(7)
    values = {"a": rng.normal(3.0, 1.0, 2_000)}
    row = paired_bootstrap(values, control=None, n_resamples=2_000, random_state=11).iloc[0]
    assert row["ci_low"] < 3.0 < row["ci_high"]
    # 95% normal interval of a mean of 2,000 unit-variance draws: 2 * 1.96 / sqrt(2000) = 0.0877.
    assert row["ci_high"] - row["ci_low"] == pytest.approx(0.0877, rel=0.15)


def test_confidence_widens_the_interval():
    values = {"a": np.random.default_rng(4).normal(size=300)}
    narrow = paired_bootstrap(values, control=None, confidence=0.5, random_state=0).iloc[0]
    wide = paired_bootstrap(values, control=None, confidence=0.99, random_state=0).iloc[0]
    assert wide["ci_low"] < narrow["ci_low"] < narrow["ci_high"] < wide["ci_high"]


def test_same_seed_or_generator_state_gives_the_same_table():
    rng = np.random.default_rng(5)
    values = {"a": rng.normal(size=100), "b": rng.normal(size=100)}
    first = paired_bootstrap(values, control="a", n_resamples=100, random_state=9)
    again = paired_bootstrap(values, control="a", n_resamples=100, random_state=9)
    from_generator = paired_bootstrap(
        values, control="a", n_resamples=100, random_state=np.random.default_rng(9)
    )
    other = paired_bootstrap(values, control="a", n_resamples=100, random_state=10)
    pd.testing.assert_frame_equal(first, again)
    pd.testing.assert_frame_equal(first, from_generator)
    assert first.loc[1, "diff_ci_low"] != other.loc[1, "diff_ci_low"]


def test_pairing_cancels_the_user_to_user_variation():
    # Users differ a lot (sd 1); the treatment adds 0.05 plus a little noise of its own (sd 0.01).
    rng = np.random.default_rng(6)
    users = rng.normal(0.0, 1.0, 1_000)
    values = {"a": users, "b": users + 0.05 + rng.normal(0.0, 0.01, 1_000)}
    table = paired_bootstrap(values, control="a", n_resamples=1_000, random_state=0)
    variant_width = table.loc[0, "ci_high"] - table.loc[0, "ci_low"]
    diff_width = table.loc[1, "diff_ci_high"] - table.loc[1, "diff_ci_low"]
    # The variants' own intervals overlap, yet the paired difference is sharply away from 0.
    assert table.loc[1, "ci_low"] < table.loc[0, "ci_high"]
    assert table.loc[1, "diff_ci_low"] > 0.04
    assert diff_width < variant_width / 50
    # t = 0.05 / (0.01 / sqrt(1000)) is about 158: far below the bootstrap's floor of 2 / 1001.
    assert table.loc[1, "p_value"] < 1e-12


def test_holm_column_adjusts_across_the_treatments_of_the_call():
    rng = np.random.default_rng(8)
    control = rng.normal(size=80)
    values = {
        "control": control,
        "small": control + rng.normal(0.05, 1.0, 80),
        "none": control + rng.normal(0.0, 1.0, 80),
    }
    table = paired_bootstrap(values, control="control", n_resamples=500, random_state=1)
    treated = table.iloc[1:]
    np.testing.assert_allclose(treated["p_holm"], holm(treated["p_value"].to_numpy()))


def test_resampling_in_chunks_draws_whole_resamples_shared_by_all_columns(monkeypatch):
    # Four users and room for two resamples per chunk: three chunks, the last one partial.
    monkeypatch.setattr(stats, "CHUNK_ENTRIES", 8)
    matrix = np.column_stack([np.ones(4), [0.0, 0.0, 0.0, 1.0], [2.0, 2.0, 2.0, 3.0]])
    means = stats._resampled_means(matrix, 5, np.random.default_rng(0))
    assert means.shape == (5, 3)
    # Every resample holds four users (the mean of ones is 1), so a mean of 0/1 values is a
    # multiple of 1/4; the third column is the second plus 2 under the same resample.
    np.testing.assert_allclose(means[:, 0], 1.0)
    np.testing.assert_allclose(means[:, 1] * 4, np.round(means[:, 1] * 4))
    np.testing.assert_allclose(means[:, 2], means[:, 1] + 2.0)
    assert len(set(means[:, 1])) > 1


@pytest.mark.parametrize(
    ("values", "kwargs", "message"),
    [
        ({"a": np.ones(3), "b": np.ones(4)}, {"control": "a"}, "different numbers of users"),
        ({"a": np.ones(3)}, {"control": "b"}, "control 'b' is not one of"),
        ({"a": np.array([])}, {"control": None}, "has no users"),
        ({}, {"control": None}, "no variants"),
        ({"a": np.ones((2, 2))}, {"control": None}, "1-D"),
        ({"a": np.array([1.0, np.nan])}, {"control": None}, "NaN"),
        ({"a": np.ones(3)}, {"control": None, "n_resamples": 0}, "positive integer"),
        ({"a": np.ones(3)}, {"control": None, "n_resamples": 2.5}, "positive integer"),
        ({"a": np.ones(3)}, {"control": None, "confidence": 1.0}, "confidence"),
    ],
)
def test_bad_input_raises_a_typed_error(values, kwargs, message):
    with pytest.raises(ComparisonError, match=message) as caught:
        paired_bootstrap(values, **kwargs)
    assert isinstance(caught.value, ShopSynthError)
    assert isinstance(caught.value, ValueError)


# ---------------------------------------------------------------------------------------------
# paired t-test p-values and the significance floor
# ---------------------------------------------------------------------------------------------


def test_paired_t_pvalue_by_hand_with_two_degrees_of_freedom():
    # Differences 1, 2, 6: mean 3, squared deviations 4 + 1 + 9 = 14, variance 7, se sqrt(7/3),
    # t = 3 / sqrt(7/3). Student's t with 2 degrees of freedom has the closed form
    # P(|T| > t) = 1 - t / sqrt(t^2 + 2).
    t = 3 / np.sqrt(7 / 3)
    expected = 1 - t / np.sqrt(t * t + 2)
    p = stats.paired_t_pvalues(np.array([[1.0], [2.0], [6.0]]))
    assert p[0] == pytest.approx(expected, rel=1e-12)
    # With one degree of freedom (Cauchy): differences 1, 3 -> mean 2, sd sqrt(2), se 1, t 2,
    # P(|T| > 2) = 1 - 2 / pi * arctan(2).
    p = stats.paired_t_pvalues(np.array([[1.0, -1.0], [3.0, -3.0]]))
    np.testing.assert_allclose(p, 1 - 2 / np.pi * np.arctan(2.0), rtol=1e-12)


def test_paired_t_pvalue_of_degenerate_columns():
    d = np.array([[0.0, 0.5, 1.0], [0.0, 0.5, 2.0]])
    # All zero: no evidence (1); all 0.5: certain (0); two users -> defined.
    p = stats.paired_t_pvalues(d)
    assert p[0] == 1.0 and p[1] == 0.0 and 0 < p[2] < 1
    assert np.isnan(stats.paired_t_pvalues(np.array([[1.0]]))[0])


def test_a_strong_effect_stays_significant_after_holm_over_nine_treatments():
    # The case: 10 variants; one treatment lifts the metric by 76% with an interval
    # well away from 0. A bootstrap p-value with 1,000 resamples is at least 2 / 1001 = 0.002;
    # Holm over 9 treatments x 13 metrics multiplied it to at least 0.23. The t-test p-value
    # has no floor, so the Holm-adjusted value is far below 0.01.
    rng = np.random.default_rng(12)
    control = rng.binomial(1, 0.04, 5_000).astype(float)
    values = {"control": control}
    for j in range(8):
        values[f"same {j}"] = rng.binomial(1, 0.04, 5_000).astype(float)
    values["better"] = np.maximum(control, rng.binomial(1, 0.031, 5_000))
    table = paired_bootstrap(values, control="control", n_resamples=1_000, random_state=0)
    better = table.set_index("variant").loc["better"]
    assert better["lift"] > 0.5
    assert better["diff_ci_low"] > 0
    assert better["p_holm"] < 0.01
    assert 2 / 1_001 * 9 * 13 > 0.05  # what the bootstrap's floor allowed at best


def test_paired_comparisons_share_the_resamples_across_metrics():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=40), rng.normal(size=40)
    values = {"m1": {"a": a, "b": b}, "m2": {"a": a + 1.0, "b": b + 1.0}}
    table = stats.paired_comparisons(values, control="a", n_resamples=200, random_state=4)
    assert table["metric"].tolist() == ["m1", "m1", "m2", "m2"]
    m1, m2 = table.iloc[:2].reset_index(drop=True), table.iloc[2:].reset_index(drop=True)
    # The same users are drawn for both metrics: intervals shift by exactly the added 1.
    np.testing.assert_allclose(m2["ci_low"], m1["ci_low"] + 1.0)
    np.testing.assert_allclose(m2["diff_ci_low"], m1["diff_ci_low"], atol=1e-12)
    # One metric alone with the same seed gives the same table as its slice.
    alone = paired_bootstrap(values["m1"], control="a", n_resamples=200, random_state=4)
    assert alone["p_value"].iloc[1] == pytest.approx(m1["p_value"].iloc[1])
    with pytest.raises(ComparisonError, match="same variants"):
        stats.paired_comparisons(
            {"m1": {"a": a, "b": b}, "m2": {"b": b, "a": a}}, control="a", n_resamples=10
        )
