"""Candidate sets: the union of each signal's top-N per user, scored by every signal.

Every source model (a *signal*) ranks its own top ``depth`` items per user, items seen in
training left out. A signal that scores items from their content
(:attr:`Recommender.scores_cold_items` True) also ranks its own top ``cold_depth`` among the
*cold* items (items no model saw in training), so new products reach the candidates even when
warm items fill every top ``depth``. The candidates of a user are the union of those lists,
and every signal is then asked, through :meth:`Recommender.score`, for its score of every
candidate, including the ones it did not retrieve itself: a candidate never gets a made-up 0
from a signal that could score it.

A signal *cannot score* (NaN, and it retrieves nothing there):

- a user outside its user index (a model trained on fewer users);
- a user without training history, when the model ranks from the history
  (:attr:`Recommender.ranks_without_history` False: its scores are all equal there);
- a cold item, when the model learns items from interactions only
  (:attr:`Recommender.scores_cold_items` False: its score there is a 0 or a random factor).

Non-finite scores a model returns are stored as NaN too. Fusion leaves a missing score out and
shares its weight among the signals that scored the candidate (:mod:`core.fusion.methods`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from core.checks import check_whole
from core.errors import FusionError
from core.metrics.ranking import top_k
from core.models.base import Recommender
from core.progress import ProgressCallback

DEFAULT_DEPTH = 200
# Cold items each content signal adds per user: a list's worth of new products for k = 10..50.
DEFAULT_COLD_DEPTH = 50


@dataclass(frozen=True, eq=False)
class CandidateSet:
    """Candidates per user and every signal's score for each of them.

    Attributes
    ----------
    users : numpy.ndarray
        ``(n,)`` int64 user indices (rows of the models' training matrix).
    items : numpy.ndarray
        ``(n, c)`` int64 candidate item indices, ascending within a row, ``-1`` padding at
        the end of rows with fewer than ``c`` candidates.
    scores : numpy.ndarray
        ``(s, n, c)`` float32 score of each signal for each candidate; NaN on padding and
        where the signal cannot score.
    retrieved : numpy.ndarray
        ``(s, n, c)`` bool: the candidate is in the signal's own top ``depth`` for the user.
    signal_names : tuple of str
        Names of the ``s`` signals, in the order of the first axis of ``scores``.
    n_items : int
        Size of the item index (for catalogue coverage).
    depth : int
        Items each signal retrieved per user.
    cold : numpy.ndarray, optional
        ``(n, c)`` bool: the candidate is a cold item (no training interaction); all False
        when not given.
    """

    users: np.ndarray
    items: np.ndarray
    scores: np.ndarray
    retrieved: np.ndarray
    signal_names: tuple[str, ...]
    n_items: int
    depth: int
    cold: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.users)
        if self.items.ndim != 2 or self.items.shape[0] != n:
            raise FusionError(f"items must have shape ({n}, c), not {self.items.shape}")
        if self.cold is None:
            object.__setattr__(self, "cold", np.zeros(self.items.shape, dtype=bool))
        elif self.cold.shape != self.items.shape:
            raise FusionError(f"cold must have shape {self.items.shape}, not {self.cold.shape}")
        shape = (len(self.signal_names), *self.items.shape)
        for name in ("scores", "retrieved"):
            if getattr(self, name).shape != shape:
                raise FusionError(
                    f"{name} must have shape {shape}, not {getattr(self, name).shape}"
                )

    @property
    def n_users(self) -> int:
        return int(self.items.shape[0])

    @property
    def n_candidates(self) -> int:
        """Width ``c`` of the candidate matrix (the most candidates any user has)."""
        return int(self.items.shape[1])

    @property
    def n_signals(self) -> int:
        return len(self.signal_names)

    @property
    def valid(self) -> np.ndarray:
        """``(n, c)`` bool: the position holds a candidate (not padding)."""
        return self.items >= 0

    @property
    def present(self) -> np.ndarray:
        """``(s, n, c)`` bool: the signal scored the candidate (finite score)."""
        return np.isfinite(self.scores)

    def select(self, rows: np.ndarray) -> CandidateSet:
        """The candidates of the users at positions ``rows`` (an index or a bool mask)."""
        rows = np.asarray(rows)
        return CandidateSet(
            users=self.users[rows],
            items=self.items[rows],
            scores=self.scores[:, rows],
            retrieved=self.retrieved[:, rows],
            signal_names=self.signal_names,
            n_items=self.n_items,
            depth=self.depth,
            cold=self.cold[rows],
        )

    def relevance(self, relevant: sp.csr_matrix) -> np.ndarray:
        """``(n, c)`` bool: the candidate is relevant to its user.

        Parameters
        ----------
        relevant : scipy.sparse.csr_matrix
            ``(n_all_users, n_items)`` over the models' user index (e.g. the validation part
            of a split); a stored non-zero marks a relevant item. Rows are picked by
            :attr:`users`.
        """
        rows = relevant_rows(relevant, self.users, self.n_items)
        width = np.int64(self.n_items + 1)
        row_of_entry = np.repeat(np.arange(len(self.users), dtype=np.int64), np.diff(rows.indptr))
        relevant_keys = row_of_entry * width + rows.indices
        keys = np.arange(len(self.users), dtype=np.int64)[:, None] * width + self.items
        return np.isin(keys, relevant_keys) & self.valid


def relevant_rows(relevant: sp.csr_matrix, users: np.ndarray, n_items: int) -> sp.csr_matrix:
    """Rows ``users`` of ``relevant`` with explicit zeros dropped; checks the item axis."""
    relevant = sp.csr_matrix(relevant)
    if relevant.shape[1] != n_items:
        raise FusionError(
            f"the relevant matrix has {relevant.shape[1]} items, the candidates {n_items}: "
            "use a part of the split the models were trained on"
        )
    if len(users) and users.max() >= relevant.shape[0]:
        raise FusionError(f"user {users.max()} is outside the relevant matrix")
    rows = relevant[users]
    rows.eliminate_zeros()
    rows.sort_indices()
    return rows


def trained_items(models: Mapping[str, Recommender], n_items: int) -> np.ndarray:
    """``(n_items,)`` bool: some model has a training interaction with the item."""
    trained = np.zeros(n_items, dtype=bool)
    for model in models.values():
        trained[np.unique(model.train_.indices)] = True
    return trained


def _check_models(models: Mapping[str, Recommender]) -> tuple[list[str], int]:
    if not models:
        raise FusionError("give at least one model to build candidates from")
    names = [str(name) for name in models]
    for name, model in models.items():
        if not hasattr(model, "train_"):
            raise FusionError(f"model {name!r} is not fitted; train it first")
    reference = np.asarray(next(iter(models.values())).item_ids_)
    for name, model in models.items():
        if not np.array_equal(np.asarray(model.item_ids_), reference):
            raise FusionError(
                f"model {name!r} has another item index than {names[0]!r}: fuse models "
                "trained on the same split"
            )
    return names, len(reference)


def _union(lists: np.ndarray, n_items: int) -> np.ndarray:
    """Per row, the distinct non-negative items of ``lists`` ascending, ``-1`` padded."""
    ordered = np.sort(np.where(lists >= 0, lists, n_items), axis=1)
    repeat = np.zeros(ordered.shape, dtype=bool)
    repeat[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    ordered = np.sort(np.where(repeat, n_items, ordered), axis=1)
    width = int((ordered < n_items).sum(axis=1).max(initial=0))
    union = ordered[:, :width]
    return np.where(union < n_items, union, -1)


def _row_membership(items: np.ndarray, lists: np.ndarray, n_items: int) -> np.ndarray:
    """``(n, c)`` bool: ``items[u, j]`` is among the non-negative entries of ``lists[u]``."""
    width = np.int64(n_items + 1)
    rows = np.arange(len(items), dtype=np.int64)[:, None]
    listed = (rows * width + lists)[lists >= 0]
    return np.isin(rows * width + items, listed) & (items >= 0)


def _retrieve(
    model: Recommender, users: np.ndarray, depth: int, exclude_seen: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """The model's top ``depth`` per user (``-1`` where it cannot rank the user).

    A model ranked by the dense path of :meth:`Recommender.recommend` scores every item for
    the users anyway: those scores come back too (rows of the known users), so the candidates
    are not scored a second time. Models with their own ranking (e.g. implicit's top-k for
    ALS) return None there.
    """
    top = np.full((len(users), depth), -1, dtype=np.int64)
    known = users < model.n_users
    if not known.any():
        return top, None
    if type(model).recommend is not Recommender.recommend:
        top[known], _ = model.recommend(users[known], depth, exclude_seen=exclude_seen)
        return top, None
    scores = np.asarray(model.score(users[known]), dtype=np.float32)
    top[known], _ = model.rank_scores(scores, model.train_[users[known]], depth, exclude_seen)
    return top, scores


def _retrieve_cold(
    model: Recommender, users: np.ndarray, cold_items: np.ndarray, cold_depth: int
) -> np.ndarray:
    """The model's top ``cold_depth`` among ``cold_items`` per user (``-1`` padded).

    Only models that score cold items from their content retrieve here; a user without
    history gets nothing from a model that ranks from the history.
    """
    top = np.full((len(users), cold_depth), -1, dtype=np.int64)
    known = users < model.n_users
    if not model.scores_cold_items or cold_depth == 0 or cold_items.size == 0 or not known.any():
        return top
    scores = np.array(model.score(users[known], cold_items), dtype=np.float32)
    scores[~np.isfinite(scores)] = -np.inf
    if not model.ranks_without_history:
        scores[np.diff(model.train_[users[known]].indptr) == 0] = -np.inf
    columns, _ = top_k(scores, cold_depth)
    top[known] = np.where(columns >= 0, cold_items[np.maximum(columns, 0)], -1)
    return top


def _unscorable(
    model: Recommender, users: np.ndarray, items: np.ndarray, trained: np.ndarray
) -> np.ndarray:
    """``(n, c)`` bool: entries ``model`` cannot score (see the module notes)."""
    known = users < model.n_users
    missing = np.broadcast_to(~known[:, None], items.shape).copy()
    if not model.ranks_without_history:
        history = np.zeros(len(users), dtype=bool)
        history[known] = np.diff(model.train_[users[known]].indptr) > 0
        missing |= ~history[:, None]
    if model.scores_cold_items is False:
        missing |= (items >= 0) & ~trained[np.maximum(items, 0)]
    return missing


def _gather_scores(
    model: Recommender,
    users: np.ndarray,
    items: np.ndarray,
    trained: np.ndarray,
    dense: np.ndarray | None = None,
) -> np.ndarray:
    """``(n, c)`` float32 scores of ``model`` for the candidate matrix ``items``.

    NaN where the model cannot score (see the module notes); ``trained`` marks the items with
    training interactions. ``dense`` holds the model's scores of every item for the known
    users, when :func:`_retrieve` kept them.
    """
    out = _raw_scores(model, users, items, dense)
    out[_unscorable(model, users, items, trained)] = np.nan
    return out


def _raw_scores(
    model: Recommender, users: np.ndarray, items: np.ndarray, dense: np.ndarray | None
) -> np.ndarray:
    """``(n, c)`` float32 scores of ``model`` for ``items`` (NaN on padding, unknown users)."""
    out = np.full(items.shape, np.nan, dtype=np.float32)
    known = users < model.n_users
    valid = items >= 0
    columns = np.unique(items[valid])
    if not known.any() or columns.size == 0:
        return out
    if dense is not None:
        gathered = np.take_along_axis(dense, np.where(valid[known], items[known], 0), axis=1)
        gathered[~valid[known] | ~np.isfinite(gathered)] = np.nan
        out[known] = gathered
        return out
    scores = np.asarray(model.score(users[known], columns), dtype=np.float32)
    position = np.searchsorted(columns, np.where(valid[known], items[known], columns[0]))
    gathered = np.take_along_axis(scores, position, axis=1)
    gathered[~valid[known] | ~np.isfinite(gathered)] = np.nan
    out[known] = gathered
    return out


def build_candidates(
    models: Mapping[str, Recommender],
    user_idx: np.ndarray,
    depth: int = DEFAULT_DEPTH,
    *,
    cold_depth: int = DEFAULT_COLD_DEPTH,
    batch_size: int = 1024,
    callback: ProgressCallback | None = None,
    exclude_seen: bool = True,
) -> CandidateSet:
    """The union of every model's top ``depth`` per user, scored by every model.

    Parameters
    ----------
    models : mapping of str to Recommender
        Signal name -> fitted model; every model must share one item index (models trained
        on one split).
    user_idx : array-like of int
        Users (training indices) to build candidates for.
    depth : int
        Items each model retrieves per user (seen items excluded).
    cold_depth : int
        Cold items (no training interaction) each content model
        (:attr:`Recommender.scores_cold_items` True) adds per user; 0 adds none.
    batch_size : int
        Users handled at once; memory grows with ``batch_size x n_items`` per model that
        ranks by dense scores (their scores are kept until the candidates are scored).
    callback : callable, optional
        ``callback(step, total, info)`` after each batch.
    exclude_seen : bool
        Leave the users' training items out of every signal's retrieval; False when the
        models' split kept repeats (:attr:`core.data.splits.Split.exclude_seen`), so that a
        buy-again signal can retrieve the items a user may reorder.

    Returns
    -------
    CandidateSet
    """
    names, n_items = _check_models(models)
    check_whole("depth", depth, 1, FusionError)
    check_whole("cold_depth", cold_depth, 0, FusionError)
    if batch_size < 1:
        raise FusionError(f"batch_size must be at least 1, not {batch_size}")
    users = np.atleast_1d(np.asarray(user_idx, dtype=np.int64))
    if users.ndim != 1 or (users.size and users.min() < 0):
        raise FusionError("user_idx must be a one-dimensional array of indices >= 0")
    trained = trained_items(models, n_items)
    cold_items = np.flatnonzero(~trained).astype(np.int64)
    n_batches = max(1, -(-len(users) // batch_size))
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for batch in range(n_batches):
        chunk = users[batch * batch_size : (batch + 1) * batch_size]
        retrieved_lists = [
            _retrieve(model, chunk, depth, exclude_seen) for model in models.values()
        ]
        lists = [
            np.concatenate([top, _retrieve_cold(model, chunk, cold_items, cold_depth)], axis=1)
            for model, (top, _) in zip(models.values(), retrieved_lists, strict=True)
        ]
        items = _union(np.concatenate(lists, axis=1), n_items)
        scores = np.stack(
            [
                _gather_scores(model, chunk, items, trained, dense)
                for model, (_, dense) in zip(models.values(), retrieved_lists, strict=True)
            ]
        )
        del retrieved_lists
        retrieved = np.stack([_row_membership(items, top, n_items) for top in lists])
        # A signal retrieves only what it can score.
        retrieved &= np.isfinite(scores)
        parts.append((items, scores, retrieved))
        if callback is not None:
            done = min((batch + 1) * batch_size, len(users))
            callback(batch + 1, n_batches, f"candidates for {done} of {len(users)} users")
    width = max((part[0].shape[1] for part in parts), default=0)
    items = np.full((len(users), width), -1, dtype=np.int64)
    scores = np.full((len(names), len(users), width), np.nan, dtype=np.float32)
    retrieved = np.zeros((len(names), len(users), width), dtype=bool)
    start = 0
    for part_items, part_scores, part_retrieved in parts:
        stop = start + len(part_items)
        columns = part_items.shape[1]
        items[start:stop, :columns] = part_items
        scores[:, start:stop, :columns] = part_scores
        retrieved[:, start:stop, :columns] = part_retrieved
        start = stop
    cold = (items >= 0) & ~trained[np.maximum(items, 0)]
    return CandidateSet(
        users, items, scores, retrieved, tuple(names), n_items, int(depth), cold=cold
    )
