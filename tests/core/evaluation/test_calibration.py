"""A/A and planted-effect simulation of the A/B significance test on the sample world."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from core.data.clean import clean_dataset
from core.data.ingest.load import load_sample_world
from core.data.workspace import Workspace
from core.errors import ComparisonError
from core.evaluation.calibration import (
    aa_ndcg_pvalues,
    aa_size_check,
    calibration_trials,
    expected_power,
    plant_hits,
    subsample_lists,
)
from core.evaluation.compare import model_variants
from core.metrics import evaluate_lists
from core.models.training import train_model

N_TRIALS = 200
# A level-0.05 test marks Binomial(200, 0.05) of 200 A/A trials: 10 on average, sd 3.1. More
# than 0.05 + 2.58 sd (0.090) happens by chance once in 200 runs of this test.
AA_BOUND = 0.05 + 2.58 * np.sqrt(0.05 * 0.95 / N_TRIALS)


def test_subsample_keeps_rank_order_and_draws_padding_last():
    pool = np.array([[5, 6, 7, 8, -1, -1]])
    drawn = subsample_lists(pool, 3, np.random.default_rng(0))
    assert drawn.shape == (1, 3)
    assert set(drawn[0]) <= {5, 6, 7, 8}
    assert list(drawn[0]) == sorted(drawn[0])  # pool order kept (the pool is ascending here)
    full = subsample_lists(pool, 4, np.random.default_rng(1))
    assert full.tolist() == [[5, 6, 7, 8]]


def test_plant_hits_puts_the_first_relevant_item_first():
    lists = np.array([[1, 2, 3], [4, 5, 6]])
    relevant = sp.csr_matrix(
        np.array([[0, 0, 0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]])
    )
    planted = plant_hits(lists, relevant, 1.0, np.random.default_rng(0))
    # User 0 gets item 9 first; user 1 already lists item 4 and is left alone.
    assert planted.tolist() == [[9, 1, 2], [4, 5, 6]]
    assert plant_hits(lists, relevant, 0.0, np.random.default_rng(0)).tolist() == lists.tolist()


def _reference_pvalues(pool, relevant, n_trials, seed, n_zero_users=0):
    """Each trial drawn with subsample_lists, scored by evaluate_lists, tested by scipy."""
    rng = np.random.default_rng(seed)
    pvalues = []
    for _ in range(n_trials):
        control = evaluate_lists(subsample_lists(pool, 2, rng), relevant, ["ndcg@2"])["ndcg@2"]
        treated = evaluate_lists(subsample_lists(pool, 2, rng), relevant, ["ndcg@2"])["ndcg@2"]
        zeros = np.zeros(n_zero_users)
        result = stats.ttest_rel(np.r_[treated, zeros], np.r_[control, zeros])
        # All differences 0: scipy gives NaN, paired_t_pvalues documents p = 1.
        pvalues.append(1.0 if np.array_equal(treated, control) else result.pvalue)
    return np.array(pvalues)


def test_fast_aa_pvalues_match_subsampled_lists_scored_and_tested_independently():
    # Every user has a relevant item in the pool, so the fast path draws the same stream as
    # subsample_lists with one trial per batch.
    pool = np.array([[0, 1, 2, 3], [4, 5, 6, -1], [1, 3, 5, 7], [2, 0, 6, 4], [7, 6, 5, 4]])
    rows = [0, 0, 1, 2, 2, 3, 4]
    cols = [1, 3, 6, 7, 1, 2, 7]
    relevant = sp.csr_matrix((np.ones(7), (rows, cols)), shape=(5, 8))
    fast = aa_ndcg_pvalues(pool, relevant, k=2, n_trials=30, batch_size=1, random_state=3)
    expected = _reference_pvalues(pool, relevant, 30, 3)
    np.testing.assert_allclose(fast, expected, rtol=1e-9)


def test_fast_aa_pvalues_count_users_without_pool_hits_as_zero_differences():
    pool = np.array([[0, 1, 2], [3, 1, 2], [4, 5, 6], [5, 6, 4]])
    relevant = sp.csr_matrix((np.ones(3), ([0, 1, 1], [2, 3, 1])), shape=(4, 8))
    fast = aa_ndcg_pvalues(pool, relevant, k=2, n_trials=20, batch_size=1, random_state=0)
    # Users 2 and 3 hold no relevant item: the draws skip them and they differ by 0.
    expected = _reference_pvalues(pool[:2], relevant[:2], 20, 0, n_zero_users=2)
    np.testing.assert_allclose(fast, expected, rtol=1e-9)
    with pytest.raises(ComparisonError):
        aa_ndcg_pvalues(pool, relevant, k=3, n_trials=5)


def test_size_check_on_hand_made_pvalues():
    # Block 1: 20 of 200 below 0.05; block 2: none; 400 trials in all.
    pvalues = np.r_[np.full(20, 0.01), np.full(180, 0.5), np.full(200, 0.9)]
    check = aa_size_check(pvalues)
    assert check["size"] == 20 / 400
    assert check["blocks"] == 2
    assert check["block_rate_sd"] == pytest.approx(np.std([0.1, 0.0], ddof=1))
    assert check["blocks_above_alpha"] == 0.5
    assert check["binomial_sd"] == pytest.approx(math.sqrt(0.05 * 0.95 / 200))
    expected_above = sum(math.comb(200, x) * 0.05**x * 0.95 ** (200 - x) for x in range(11, 201))
    assert check["expected_blocks_above_alpha"] == pytest.approx(expected_above, rel=1e-9)
    assert check["size_ci95"][0] < 0.05 < check["size_ci95"][1]
    assert check["uniform_ks_pvalue"] < 1e-6
    evenly = (np.arange(1000) + 0.5) / 1000
    assert aa_size_check(evenly)["uniform_ks_pvalue"] > 0.99
    with pytest.raises(ComparisonError):
        aa_size_check(np.full(399, 0.5))


@pytest.fixture(scope="module")
def sample_lists(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, sp.csr_matrix]:
    """The popularity model's top-20 lists of the sample world's test users, and their items."""
    ws = Workspace.open(home=tmp_path_factory.mktemp("calibration"))
    load_sample_world(ws)
    clean_dataset(ws)
    run = train_model(ws, "popularity")
    split, variants = model_variants(ws, [run.run_id])
    users = split.test_users
    return variants[0].recommend(users, 20), split.test.matrix.tocsr()[users]


@pytest.mark.slow
def test_aa_comparisons_are_rarely_significant(sample_lists):
    pool, relevant = sample_lists
    for n_treatments in (1, 3):
        trials = calibration_trials(
            pool, relevant, k=10, metric="ndcg@10", n_trials=N_TRIALS,
            n_treatments=n_treatments, random_state=0,
        )  # fmt: skip
        assert trials["significant"].mean() <= AA_BOUND
        # Under the null the raw p-values are uniform: about half fall below 0.5.
        assert 0.4 < (trials["p_value"] < 0.5).mean() < 0.6


@pytest.mark.slow
def test_a_planted_effect_is_found_at_the_expected_power(sample_lists):
    pool, relevant = sample_lists
    trials = calibration_trials(
        pool, relevant, k=10, metric="ndcg@10", n_trials=N_TRIALS, planted_share=0.01,
        random_state=1,
    )  # fmt: skip
    assert trials["diff"].mean() > 0
    expected = expected_power(trials, pool.shape[0])
    assert 0.2 < expected < 0.95  # neither trivial nor hopeless
    tolerance = 3 * np.sqrt(expected * (1 - expected) / N_TRIALS)
    assert abs(trials["significant"].mean() - expected) <= tolerance
