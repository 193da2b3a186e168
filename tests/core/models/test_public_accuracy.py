"""Accuracy of the collaborative-filtering models on public data.

The datasets, their split protocols, the tuned hyperparameters and the scoring (HR@10 and
NDCG@10 over the full catalogue) are in :mod:`core.data.datasets`.

MovieLens 100K: ALS and BPR must reach NDCG@10 0.38 (Microsoft Recommenders' benchmark: BPR
0.442, SAR 0.382).

Amazon Beauty 5-core, leave-last-out: the personalised models must beat popularity. The figures
for every CF model are written by ``benchmarks/bench_models.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from core.data.datasets import (
    BEAUTY_PARAMS,
    MOVIELENS_PARAMS,
    evaluate,
    load_beauty,
    load_movielens,
)
from core.metrics import ndcg_at_k
from core.models.registry import make_model

pytestmark = pytest.mark.slow

MOVIELENS_NDCG_MIN = 0.38


def test_ndcg_by_hand() -> None:
    hits = np.array([[True, False, True], [False, False, False], [False, True, False]])
    expected = [
        (1 + 1 / 2) / (1 + 1 / np.log2(3)),  # 2 relevant: hits at ranks 1 and 3
        0.0,
        (1 / np.log2(3)) / 1.0,  # 1 relevant, hit at rank 2
    ]
    np.testing.assert_allclose(ndcg_at_k(hits, np.array([2, 4, 1]), 3), expected)


def test_split_protocols(shared_datasets: Path) -> None:
    movielens = load_movielens(shared_datasets)
    assert movielens.train.nnz + movielens.test.nnz == 100_000
    per_user = np.diff(movielens.test.matrix.indptr) + np.diff(movielens.train.matrix.indptr)
    np.testing.assert_array_equal(
        np.diff(movielens.test.matrix.indptr), np.floor(0.25 * per_user + 0.5)
    )
    beauty = load_beauty(shared_datasets)
    assert beauty.train.matrix.shape == (22_363, 12_101)
    assert beauty.test.nnz == 22_363 and beauty.train.nnz == 198_502 - 22_363
    assert sp.csr_matrix.multiply(beauty.train.matrix, beauty.test.matrix).nnz == 0


@pytest.mark.parametrize("name", ["als", "bpr"])
def test_movielens_ndcg_at_10(shared_datasets: Path, name: str) -> None:
    split = load_movielens(shared_datasets)
    model = make_model(name, **MOVIELENS_PARAMS[name]).fit(split.train)
    scores = evaluate(model, split)
    print(f"MovieLens 100K {name}: {scores}")
    assert scores["ndcg@10"] >= MOVIELENS_NDCG_MIN


def test_beauty_personalised_models_beat_popularity(shared_datasets: Path) -> None:
    split = load_beauty(shared_datasets)
    scores = {
        name: evaluate(make_model(name, **params).fit(split.train), split)
        for name, params in BEAUTY_PARAMS.items()
    }
    print(f"Amazon Beauty leave-last-out: {scores}")
    for name, result in scores.items():
        assert 0 < result["ndcg@10"] <= result["hr@10"] <= 1, name
        if name != "popularity":
            assert result["hr@10"] > scores["popularity"]["hr@10"], name
            assert result["ndcg@10"] > scores["popularity"]["ndcg@10"], name
