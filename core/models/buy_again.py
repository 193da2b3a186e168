"""Buy again: each user's own items, ranked by how often and how recently they were bought.

The score of user ``u`` for an item ``i`` in their training history is

    ``w_ui * 0.5 ** (age_ui / half_life_days)``

where ``w_ui`` is the interaction weight (events of the pair weighted by type: with the
default weights a purchase counts 8, a view 1; with purchase-only weights it is the purchase
count) and ``age_ui`` the days between the pair's latest event and the latest event of the
training data. Without ``half_life_days`` (or without timestamps) only the frequency counts.
Items outside the history score 0, so they follow the history items in item-index order: the
model has nothing to say about them, and it is meant for splits that keep repeats
(``temporal_split(keep_repeats=True)``) or as a fusion signal next to models of new items.

A history given to :meth:`BuyAgain.score_history` (a user unseen in training) has weights but
no times: it is ranked by frequency alone.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from core.checks import Constraint, Positive
from core.data.interactions import Interactions
from core.models.base import (
    Catalog,
    ProgressCallback,
    Recommender,
    sparse_arrays,
    sparse_from_arrays,
)

_SECONDS_PER_DAY = 86_400


class BuyAgain(Recommender):
    """The user's own items by purchase frequency and recency.

    Parameters
    ----------
    half_life_days : float, optional
        Days after which an item's frequency counts half, measured from the pair's latest
        event to the latest training event; ``None`` ranks by frequency alone.
    """

    name = "buy_again"
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "half_life_days": Positive(optional=True)
    }

    def __init__(self, half_life_days: float | None = 30.0) -> None:
        self.half_life_days = half_life_days

    def _fit(
        self, train: Interactions, catalog: Catalog, callback: ProgressCallback | None
    ) -> None:
        matrix = train.matrix.tocsr()
        decay = np.ones(matrix.nnz, dtype=np.float64)
        stamps = np.asarray(train.last_ts, dtype="datetime64[s]")
        dated = ~np.isnat(stamps)
        if self.half_life_days is not None and dated.any():
            seconds = stamps.astype(np.int64)
            age_days = (seconds[dated].max() - seconds[dated]) / _SECONDS_PER_DAY
            # Entries without a timestamp have no age and keep their whole weight.
            decay[dated] = 0.5 ** (age_days / float(self.half_life_days))
        self.affinity_ = sp.csr_matrix(
            ((matrix.data * decay).astype(np.float32), matrix.indices, matrix.indptr),
            shape=matrix.shape,
        )
        if callback is not None:
            callback(1, 1, "weighted each user's items by frequency and recency")

    def score(self, user_idx: np.ndarray | int, item_idx: np.ndarray | None = None) -> np.ndarray:
        self._check_fitted()
        rows = self.affinity_[self._user_array(user_idx)]
        if item_idx is not None:
            rows = rows[:, np.asarray(item_idx, dtype=np.int64)]
        return rows.toarray().astype(np.float32, copy=False)

    def score_history(
        self, history: sp.csr_matrix, item_idx: np.ndarray | None = None
    ) -> np.ndarray:
        self._check_fitted()
        rows = sp.csr_matrix(history, dtype=np.float32)
        if item_idx is not None:
            rows = rows[:, np.asarray(item_idx, dtype=np.int64)]
        return rows.toarray()

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return sparse_arrays("affinity_", self.affinity_), {}

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.affinity_ = sparse_from_arrays("affinity_", arrays)
