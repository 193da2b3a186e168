"""Popularity baseline: every user gets the items most users interacted with.

All-time popularity counts the users who interacted with each item; a recent window counts
only the (user, item) pairs whose latest event falls within ``window_days`` of the latest event
in the training data. The history of a user is ignored, so users unseen in training get the
same list as everyone else. Ties rank the lower item index first (see :func:`top_k`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from core.checks import Constraint, Positive
from core.data.interactions import Interactions
from core.errors import ModelError
from core.models.base import Catalog, ProgressCallback, Recommender, empty_lists

_SECONDS_PER_DAY = 86_400


class Popularity(Recommender):
    """Most popular items, all-time or over a recent window.

    Parameters
    ----------
    window_days : float, optional
        Count only pairs whose latest event is at most this many days before the latest event
        in the training data; ``None`` counts all of them. Pairs without a timestamp are left
        out of a windowed count.
    use_weights : bool
        Sum the interaction weights instead of counting users.
    """

    name = "popularity"
    ranks_without_history = True
    scores_cold_items = False
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "window_days": Positive(optional=True)
    }

    def __init__(self, window_days: float | None = None, use_weights: bool = False) -> None:
        self.window_days = window_days
        self.use_weights = use_weights

    def _fit(
        self, train: Interactions, catalog: Catalog, callback: ProgressCallback | None
    ) -> None:
        matrix = train.matrix
        keep = np.ones(matrix.nnz, dtype=bool)
        if self.window_days is not None:
            stamps = np.asarray(train.last_ts, dtype="datetime64[s]")
            dated = ~np.isnat(stamps)
            if not dated.any():
                raise ModelError(
                    "the training interactions have no timestamps: a recent window needs "
                    "them; use window_days=None"
                )
            seconds = stamps.astype(np.int64)
            latest = seconds[dated].max()
            keep = dated & (seconds >= latest - self.window_days * _SECONDS_PER_DAY)
        weights = matrix.data if self.use_weights else np.ones(matrix.nnz, dtype=np.float64)
        popularity = np.bincount(
            matrix.indices[keep], weights=weights[keep], minlength=matrix.shape[1]
        )
        self.popularity_ = popularity.astype(np.float32)
        if callback is not None:
            callback(1, 1, "counted item popularity")

    def _rank_training_users(
        self, users: np.ndarray, k: int, exclude_seen: bool, batch_size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every user ranks the items in one global order, so a list is the first ``k`` items
        of that order the user has not seen: only the first ``k + (most items seen by a user
        in the batch)`` items of the order are checked, and no users x items score matrix is
        built.
        """
        rows = self.train_[users]
        order = np.lexsort((np.arange(self.n_items), -self.popularity_))
        out_idx, out_scores = empty_lists(len(users), k)
        if not exclude_seen:
            take = min(k, self.n_items)
            out_idx[:, :take] = order[:take]
            out_scores[:, :take] = self.popularity_[order[:take]]
            return out_idx, out_scores
        # Stored entries count as seen whatever their value, as in the base class.
        seen_rows = sp.csr_matrix(
            (np.ones(rows.nnz, dtype=np.int8), rows.indices, rows.indptr), shape=rows.shape
        )
        counts = np.diff(seen_rows.indptr)
        for start in range(0, len(users), batch_size):
            stop = min(start + batch_size, len(users))
            width = min(self.n_items, k + int(counts[start:stop].max(initial=0)))
            candidates = order[:width]
            seen = seen_rows[start:stop][:, candidates].toarray() > 0
            take = min(k, width)
            # Unseen candidates first, each group keeping the global order.
            rank = np.argsort(seen, axis=1, kind="stable")[:, :take]
            valid = ~np.take_along_axis(seen, rank, axis=1)
            chosen = candidates[rank]
            out_idx[start:stop, :take] = np.where(valid, chosen, -1)
            out_scores[start:stop, :take] = np.where(valid, self.popularity_[chosen], -np.inf)
        return out_idx, out_scores

    def score_history(
        self, history: sp.csr_matrix, item_idx: np.ndarray | None = None
    ) -> np.ndarray:
        self._check_fitted()
        values = self.popularity_ if item_idx is None else self.popularity_[item_idx]
        return np.tile(values, (history.shape[0], 1))

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {"popularity": self.popularity_}, {}

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.popularity_ = arrays["popularity"]
