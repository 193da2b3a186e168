"""A/A and planted-effect simulation of the A/B significance test on the sample world."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from core.data.clean import clean_dataset
from core.data.ingest.load import load_sample_world
from core.data.workspace import Workspace
from core.evaluation.calibration import (
    calibration_trials,
    expected_power,
    plant_hits,
    subsample_lists,
)
from core.evaluation.compare import model_variants
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
