"""Building blocks of the fusion tests: candidate sets written out by hand, a fixed-score model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.interactions import Interactions
from core.fusion import CandidateSet
from core.models.base import Recommender
from core.progress import ProgressCallback


def candidate_set(
    scores: list | np.ndarray,
    *,
    items: list | np.ndarray | None = None,
    retrieved: list | np.ndarray | None = None,
    names: tuple[str, ...] | None = None,
    n_items: int | None = None,
) -> CandidateSet:
    """A CandidateSet from ``(s, n, c)`` scores; items default to ``0..c-1`` for every user."""
    scores = np.asarray(scores, dtype=np.float32)
    n_signals, n_users, width = scores.shape
    if items is None:
        items = np.tile(np.arange(width), (n_users, 1))
    items = np.asarray(items, dtype=np.int64)
    if retrieved is None:
        retrieved = np.broadcast_to(items >= 0, scores.shape)
    return CandidateSet(
        users=np.arange(n_users, dtype=np.int64),
        items=items,
        scores=scores,
        retrieved=np.asarray(retrieved, dtype=bool),
        signal_names=names or tuple("ABCDEFGH"[:n_signals]),
        n_items=n_items if n_items is not None else int(items.max()) + 1,
        depth=width,
    )


def relevance_matrix(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    """CSR with a 1 at every (user, item) of ``rows`` (one list of items per user)."""
    users = [user for user, items in enumerate(rows) for _ in items]
    items = [item for row in rows for item in row]
    return sp.csr_matrix(
        (np.ones(len(items), dtype=np.float32), (users, items)), shape=(len(rows), n_items)
    )


def interactions(seen: list[list[int]], n_items: int) -> Interactions:
    """Training interactions: user ``u`` saw the items ``seen[u]`` (weight 1)."""
    users = np.array([user for user, items in enumerate(seen) for _ in items], dtype=np.int64)
    items = np.array([item for row in seen for item in sorted(row)], dtype=np.int64)
    return Interactions.from_arrays(
        [f"u{user}" for user in range(len(seen))],
        [f"i{item}" for item in range(n_items)],
        users,
        items,
        np.ones(len(items), dtype=np.float32),
        np.full(len(items), np.datetime64("2024-01-01T00:00:00", "s")),
    )


class FixedScores(Recommender):
    """A model whose score of user ``u`` for item ``i`` is ``table[u, i]``."""

    def __init__(self, table: Any = None) -> None:
        self.table = table

    def _fit(
        self, train: Interactions, catalog: pd.DataFrame | None, callback: ProgressCallback | None
    ) -> None:
        self.table_ = np.asarray(self.table, dtype=np.float32)
        # The items of each score() call; None where every item was scored.
        self.score_calls_: list[np.ndarray | None] = []

    def score(self, user_idx: np.ndarray | int, item_idx: np.ndarray | None = None) -> np.ndarray:
        users = self._user_array(user_idx)
        self.score_calls_.append(None if item_idx is None else np.asarray(item_idx))
        rows = self.table_[users]
        return rows if item_idx is None else rows[:, item_idx]

    def score_history(
        self, history: sp.csr_matrix, item_idx: np.ndarray | None = None
    ) -> np.ndarray:
        raise NotImplementedError("fixed scores belong to training users only")

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {"table": self.table_}, {}

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.table_ = arrays["table"]


def fixed_model(table: list | np.ndarray, seen: list[list[int]]) -> FixedScores:
    """A fitted FixedScores over the users of ``seen`` (``table`` may have fewer rows)."""
    table = np.asarray(table, dtype=np.float32)
    train = interactions(seen[: table.shape[0]], table.shape[1])
    return FixedScores(table).fit(train)
