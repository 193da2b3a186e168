"""Item-based nearest neighbours through implicit's cosine, BM25 and TF-IDF item similarities.

implicit weights the items x users matrix (cosine: L2-normalised item rows; TF-IDF: square
root of the weight times the inverse user frequency, then L2-normalised; BM25: Okapi BM25 with
``k1`` and ``b``), keeps the ``k_neighbours`` most similar items of each item (the item itself
included) and stores them as a sparse matrix ``S``. A user with interaction row ``h`` scores
``h @ S``: the sum over their items of those items' similarity to each candidate, weighted by
the interaction weight. The same formula scores users unseen in training from any history.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import implicit.utils
import numpy as np
import scipy.sparse as sp
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender, TFIDFRecommender

from core.checks import Choice, Constraint, Positive, Whole
from core.data.interactions import Interactions
from core.models.base import (
    Catalog,
    ProgressCallback,
    Recommender,
    sparse_arrays,
    sparse_from_arrays,
)

SIMILARITIES: tuple[str, ...] = ("cosine", "bm25", "tfidf")


class ItemKNN(Recommender):
    """Item-item nearest-neighbour recommender.

    Parameters
    ----------
    similarity : {"cosine", "bm25", "tfidf"}
        Weighting of the item vectors before their dot products.
    k_neighbours : int
        Neighbours kept per item.
    bm25_k1, bm25_b : float
        BM25 term-frequency saturation and length normalisation (``similarity="bm25"``).
    num_threads : int
        Threads computing the similarities; 0 uses every core.

    Attributes
    ----------
    similarity_ : scipy.sparse.csr_matrix
        ``(n_items, n_items)``: row ``i`` holds the neighbours of item ``i``.
    """

    name = "item_knn"
    scores_cold_items = False
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "similarity": Choice(SIMILARITIES),
        "k_neighbours": Whole(1),
        "bm25_k1": Positive(allow_zero=True),
        "bm25_b": Positive(allow_zero=True),
        "num_threads": Whole(0),
    }

    def __init__(
        self,
        similarity: str = "cosine",
        k_neighbours: int = 50,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
        num_threads: int = 0,
    ) -> None:
        self.similarity = similarity
        self.k_neighbours = k_neighbours
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.num_threads = num_threads

    def _fit(
        self, train: Interactions, catalog: Catalog, callback: ProgressCallback | None
    ) -> None:
        k, threads = int(self.k_neighbours), int(self.num_threads)
        if self.similarity == "bm25":
            model = BM25Recommender(
                K=k, K1=float(self.bm25_k1), B=float(self.bm25_b), num_threads=threads
            )
        elif self.similarity == "tfidf":
            model = TFIDFRecommender(K=k, num_threads=threads)
        else:
            model = CosineRecommender(K=k, num_threads=threads)
        if callback is not None:
            callback(0, 1, f"computing {self.similarity} item similarities")
        with warnings.catch_warnings():
            # implicit hands its weighted matrix on as COO and warns about converting it.
            warnings.simplefilter("ignore", implicit.utils.ParameterWarning)
            model.fit(self.train_, show_progress=False)
        similarity = sp.csr_matrix(model.similarity, dtype=np.float32)
        similarity.sort_indices()
        self.similarity_ = similarity
        if callback is not None:
            callback(1, 1, f"kept {similarity.nnz} item neighbours")

    def score_history(
        self, history: sp.csr_matrix, item_idx: np.ndarray | None = None
    ) -> np.ndarray:
        self._check_fitted()
        rows = sp.csr_matrix(history, dtype=np.float32)
        # History rows times the similarity touches only the rows of the items in the histories;
        # slicing the similarity's columns first would scan every stored neighbour.
        scores = rows @ self.similarity_
        if item_idx is not None:
            scores = scores[:, np.asarray(item_idx, dtype=np.int64)]
        return np.asarray(scores.toarray(), dtype=np.float32)

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return sparse_arrays("similarity_", self.similarity_), {}

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.similarity_ = sparse_from_arrays("similarity_", arrays)
