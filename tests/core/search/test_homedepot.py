"""Home Depot harness: graded NDCG@10 in both modes on a hand-made pool, and the real loader."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from core.data.datasets import HomeDepotSearch, homedepot_ndcg, load_homedepot
from core.errors import SearchEvaluationError

# q0 judges p0 exact (3) and p1 irrelevant (1); q1 judges p2 at 2.
DATA = HomeDepotSearch(
    queries=["q0", "q1"],
    product_ids=["10", "11", "12"],
    titles=["a", "b", "c"],
    judgements=sp.csr_matrix(np.array([[3.0, 1.0, 0.0], [0.0, 0.0, 2.0]])),
)
SCORES = {"q0": [0.0, 1.0, 5.0], "q1": [1.0, 0.0, 0.0]}


def score(queries: list[str]) -> np.ndarray:
    return np.array([SCORES[query] for query in queries])


def test_both_modes_by_hand() -> None:
    # Gains are relevance - 1. Re-rank q0: p1 (0), p0 (2): 2/log2(3) over the ideal 2.
    # q1 has one judged product, first: 1.
    rerank = homedepot_ndcg(score, DATA, mode="rerank", batch_size=1)
    assert rerank.tolist() == pytest.approx([1 / math.log2(3), 1.0])
    # Retrieve q0: p2, p1, p0 -> p0 at rank 3. q1: p0, then the tie p1, p2 -> p2 at rank 3.
    retrieve = homedepot_ndcg(score, DATA, mode="retrieve")
    assert retrieve.tolist() == pytest.approx([0.5, 0.5])
    with pytest.raises(SearchEvaluationError, match="mode"):
        homedepot_ndcg(score, DATA, mode="all")
    with pytest.raises(SearchEvaluationError, match="shape"):
        homedepot_ndcg(lambda queries: np.zeros((len(queries), 2)), DATA, mode="rerank")


def test_loader_reads_the_real_subset(shared_datasets: Path) -> None:
    data = load_homedepot(shared_datasets)
    assert len(data.queries) == 7907
    assert data.judgements.shape == (7907, len(data.product_ids)) == (7907, 39456)
    assert data.judgements.data.min() >= 1.0 and data.judgements.data.max() <= 3.0
    with pytest.raises(SearchEvaluationError, match="not found"):
        load_homedepot(shared_datasets / "missing")
