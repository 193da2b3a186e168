"""Candidates from real recommenders: gathered scores are the models' own, and one signal
alone gives back the model's own top-k."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.interactions import Interactions
from core.fusion import build_candidates, fuse
from core.models.registry import make_model

N_USERS, N_ITEMS = 30, 40


@pytest.fixture(scope="module")
def train() -> Interactions:
    rng = np.random.default_rng(4)
    keys = np.unique(
        rng.integers(0, N_USERS, 400) * N_ITEMS
        + (rng.integers(0, N_USERS, 400) + rng.integers(0, 8, 400)) % N_ITEMS
    )
    return Interactions.from_arrays(
        [f"u{user}" for user in range(N_USERS)],
        [f"i{item}" for item in range(N_ITEMS)],
        keys // N_ITEMS,
        keys % N_ITEMS,
        rng.integers(1, 4, len(keys)).astype(np.float32),
        np.full(len(keys), np.datetime64("2024-01-01T00:00:00", "s")),
    )


@pytest.fixture(scope="module")
def models(train):
    return {
        "popularity": make_model("popularity").fit(train),
        "item_knn": make_model("item_knn", k_neighbours=10).fit(train),
        "als": make_model("als", factors=8, iterations=5, random_state=0).fit(train),
    }


def test_candidate_scores_are_the_models_scores(models) -> None:
    users = np.arange(N_USERS)
    candidates = build_candidates(models, users, depth=5, batch_size=7)
    for s, model in enumerate(models.values()):
        full = model.score(users)
        valid = candidates.valid
        expected = np.take_along_axis(full, np.where(valid, candidates.items, 0), axis=1)
        np.testing.assert_allclose(
            candidates.scores[s][valid], expected[valid], rtol=1e-5, atol=1e-6
        )
        own, _ = model.recommend(users, 5)
        for row in range(N_USERS):
            retrieved = set(candidates.items[row][candidates.retrieved[s, row]].tolist())
            assert retrieved == set(own[row][own[row] >= 0].tolist())


@pytest.mark.parametrize("normalisation", ["minmax", "zscore", "rank"])
def test_one_signal_alone_reproduces_the_model(models, normalisation) -> None:
    users = np.arange(N_USERS)
    candidates = build_candidates(models, users, depth=10)
    for s, model in enumerate(models.values()):
        weights = np.eye(len(models))[s]
        ranking = fuse(candidates, weights, normalisation=normalisation, k=5)
        own, _ = model.recommend(users, 5)
        np.testing.assert_array_equal(ranking.items, own)
