"""Quality measures of synthetic data against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from core.errors import QualityError
from core.synth.quality import (
    REPORT_COLUMNS,
    distinct_n,
    exact_copy_rate,
    fidelity,
    frequencies,
    identical_session_share,
    js_divergence,
    ks_statistic,
    nearest_cosine_distance,
    nearest_jaccard_distance,
    quality_report,
    round_trip_rate,
    self_bleu,
    sentence_bleu,
    total_variation,
)


def test_js_of_disjoint_distributions_is_one_bit() -> None:
    assert js_divergence([1, 0], [0, 1]) == pytest.approx(1.0)
    assert js_divergence([2, 2], [1, 1]) == pytest.approx(0.0)


def test_js_by_hand() -> None:
    # p = (1/2, 1/2), q = (1, 0), m = (3/4, 1/4):
    # KL(p||m) = 1/2 log2(2/3) + 1/2 log2(2); KL(q||m) = log2(4/3).
    expected = 0.5 * (0.5 * math.log2(2 / 3) + 0.5) + 0.5 * math.log2(4 / 3)
    assert js_divergence([1, 1], [1, 0]) == pytest.approx(expected)


def test_total_variation_by_hand() -> None:
    assert total_variation([0.5, 0.5, 0], [0, 0.5, 0.5]) == pytest.approx(0.5)
    assert total_variation([1, 0], [0, 1]) == pytest.approx(1.0)


def test_distributions_need_matching_non_negative_weights() -> None:
    with pytest.raises(QualityError, match="same length"):
        js_divergence([1, 0], [1, 0, 0])
    with pytest.raises(QualityError, match="non-negative"):
        total_variation([-1, 2], [1, 1])


def test_ks_matches_scipy_and_a_hand_value() -> None:
    real = [1.0, 2.0, 3.0, 4.0]
    synthetic = [3.0, 4.0, 5.0, 6.0]
    # The empirical CDFs differ most at x = 2: 0.5 vs 0.
    assert ks_statistic(real, synthetic) == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50), rng.normal(0.5, size=40)
    assert ks_statistic(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic)


def test_frequencies_align_values() -> None:
    p, q, values = frequencies(["a", "a", "b"], ["b", "c"])
    assert values == ["a", "b", "c"]
    np.testing.assert_allclose(p, [2 / 3, 1 / 3, 0])
    np.testing.assert_allclose(q, [0, 0.5, 0.5])


def test_fidelity_rows() -> None:
    table = fidelity("session length", [1, 2], [1, 2], numeric=True)
    assert list(table.columns) == list(REPORT_COLUMNS)
    assert table["measure"].tolist() == [
        "session length: KS statistic",
        "session length: Jensen-Shannon (bits)",
        "session length: total variation",
    ]
    assert table["value"].tolist() == pytest.approx([0.0, 0.0, 0.0])
    assert len(fidelity("category", ["x"], ["y"], numeric=False)) == 2


def test_distinct_n_on_a_literal_list() -> None:
    texts = ["red shoes", "red shoes", "blue shoes"]
    # unigrams: red shoes red shoes blue shoes -> 3 distinct of 6
    assert distinct_n(texts, 1) == pytest.approx(3 / 6)
    # bigrams: (red shoes) x2, (blue shoes) -> 2 of 3
    assert distinct_n(texts, 2) == pytest.approx(2 / 3)
    assert distinct_n(["one"], 2) == 0.0


def test_bleu_of_a_copy_is_one_and_of_a_stranger_zero() -> None:
    sentence = ["the", "quick", "brown", "fox", "jumps"]
    assert sentence_bleu(sentence, [sentence]) == pytest.approx(1.0)
    assert sentence_bleu(["zebra"], [sentence]) == 0.0
    assert sentence_bleu([], [sentence]) == 0.0


def test_bleu_by_hand_with_smoothing_and_brevity() -> None:
    hypothesis = ["a", "b", "c"]
    reference = ["a", "b", "d", "e"]
    # p1 = 2/3; p2 = (1 + 1)/(2 + 1); p3 = (0 + 1)/(1 + 1); p4 = (0 + 1)/(0 + 1).
    # c = 3, r = 4 -> BP = exp(1 - 4/3).
    geometric = math.exp((math.log(2 / 3) + math.log(2 / 3) + math.log(1 / 2) + 0) / 4)
    assert sentence_bleu(hypothesis, [reference]) == pytest.approx(math.exp(1 - 4 / 3) * geometric)


def test_self_bleu_is_high_for_repeats_and_low_for_different_texts() -> None:
    assert self_bleu(["red running shoes"] * 3) == pytest.approx(1.0)
    assert self_bleu(["red shoes", "garden hose", "yoga mat"]) == 0.0
    assert math.isnan(self_bleu(["alone"]))


def test_exact_copy_rate_normalises_case_and_space() -> None:
    assert exact_copy_rate(["Red  Shoes", "blue hat"], ["red shoes"]) == pytest.approx(0.5)


def test_nearest_cosine_distance() -> None:
    real = np.array([[1.0, 0.0], [0.0, 1.0]])
    synthetic = np.array([[2.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(
        nearest_cosine_distance(synthetic, real), [0.0, 1 - 1 / math.sqrt(2)], atol=1e-6
    )


def test_nearest_jaccard_distance() -> None:
    real = [{"u1", "u2"}, {"u3"}]
    synthetic = [{"u1", "u2"}, {"u1", "u3"}, {"u9"}]
    # copy -> 0; {u1,u3} vs {u1,u2}: 1/3 and vs {u3}: 1/2 -> 1 - 1/2; stranger -> 1.
    np.testing.assert_allclose(nearest_jaccard_distance(synthetic, real), [0.0, 0.5, 1.0])


def test_identical_session_share() -> None:
    real = [["A", "B"], ["C"]]
    assert identical_session_share([["A", "B"], ["B", "A"]], real) == pytest.approx(0.5)


def test_round_trip_rate() -> None:
    assert round_trip_rate([1, 3, 11, np.nan, 0], k=10) == pytest.approx(2 / 5)
    with pytest.raises(QualityError, match="k must"):
        round_trip_rate([1], k=0)


def test_quality_report_assembles_the_measures_it_can() -> None:
    real = pd.DataFrame({"user_id": ["u1", "u2", "u1"], "item_id": ["A", "A", "B"]})
    synthetic = pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["T", "T"]})
    catalog = pd.DataFrame(
        {"item_id": ["A", "B", "T"], "category": ["Home > Pans", "Toys > Cars", "Home > Pots"]}
    )
    table = quality_report(
        real_interactions=real,
        synthetic_interactions=synthetic,
        catalog=catalog,
        real_sessions=[["A", "B"]],
        synthetic_sessions=[["A", "B"], ["T"]],
        real_texts=["red shoes"],
        synthetic_texts=["red shoes", "blue hat"],
        ranks=[1, 20],
        k=10,
    )
    assert list(table.columns) == list(REPORT_COLUMNS)
    values = table.set_index("measure")["value"]
    # Popularity counts: real (2, 1), synthetic (2): KS = 1/2.
    assert values["item popularity: KS statistic"] == pytest.approx(0.5)
    # Category mix: real Home 2/3, Toys 1/3; synthetic Home 1.
    assert values["category mix: total variation"] == pytest.approx(1 / 3)
    # T's audience {u1, u2} copies A's.
    assert values["item audiences: mean nearest Jaccard distance"] == pytest.approx(0.0)
    assert values["sessions identical to a real one"] == pytest.approx(0.5)
    assert values["exact copies of training texts"] == pytest.approx(0.5)
    assert values["distinct-1"] == pytest.approx(1.0)
    assert values["round trip within top 10"] == pytest.approx(0.5)
    assert quality_report().empty
