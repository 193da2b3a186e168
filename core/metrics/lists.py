"""Input checks and list helpers shared by the metric modules.

Recommendation lists are one array ``recommended`` of shape ``(n_users, k)``: item indices,
best first, ``-1`` where a list has no more items. Relevance is a ``scipy.sparse.csr_matrix``
of shape ``(n_users, n_items)``; a stored non-zero marks a relevant item and its value is the
graded gain. Row ``u`` of both goes with the same user.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from core.errors import MetricError


def as_lists(recommended: np.ndarray, n_items: int | None = None) -> np.ndarray:
    """``recommended`` as a 2-D int64 array of indices in ``[-1, n_items)``."""
    lists = np.asarray(recommended)
    if lists.ndim != 2:
        raise MetricError(
            f"recommended must be a 2-D array (n_users, k) of item indices, got shape "
            f"{lists.shape}; stack the lists and pad short ones with -1"
        )
    if lists.size and not np.issubdtype(lists.dtype, np.integer):
        raise MetricError(
            f"recommended must hold integer item indices, got dtype {lists.dtype}; map item ids "
            "to indices first"
        )
    lists = lists.astype(np.int64, copy=False)
    if lists.size:
        low, high = int(lists.min()), int(lists.max())
        if low < -1 or (n_items is not None and high >= n_items):
            catalog = f"0..{n_items - 1}" if n_items is not None else "an item index"
            raise MetricError(
                f"recommended holds indices from {low} to {high}; expected -1 (padding) or "
                f"{catalog}, one per catalogue item"
            )
    return lists


def as_relevant(relevant: sp.spmatrix | sp.sparray) -> sp.csr_matrix:
    """``relevant`` as a canonical CSR matrix without explicit zeros (a copy when needed)."""
    if not sp.issparse(relevant):
        raise MetricError(
            f"relevant must be a scipy.sparse matrix (n_users, n_items), got "
            f"{type(relevant).__name__}; build one with scipy.sparse.csr_matrix"
        )
    matrix = sp.csr_matrix(relevant)
    if not matrix.has_canonical_format or (matrix.nnz and not np.all(matrix.data)):
        matrix = matrix.copy()
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
    if matrix.nnz and matrix.data.min() < 0:
        raise MetricError(
            "relevant holds negative values; relevance gains must be non-negative (drop or clip "
            "negative feedback before evaluating)"
        )
    return matrix


def as_inputs(
    recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Checked lists and relevance of the same users."""
    matrix = as_relevant(relevant)
    lists = as_lists(recommended, matrix.shape[1])
    if lists.shape[0] != matrix.shape[0]:
        raise MetricError(
            f"relevant has {matrix.shape[0]} rows but recommended has {lists.shape[0]}; row u "
            "of both must be the same user"
        )
    return lists, matrix


def item_vector(values: np.ndarray, name: str, n_items: int | None = None) -> np.ndarray:
    """``values`` as a 1-D array with one entry per catalogue item (``n_items`` if given)."""
    vector = np.asarray(values)
    if vector.ndim != 1 or (n_items is not None and len(vector) != n_items):
        expected = f"({n_items},)" if n_items is not None else "(n_items,)"
        raise MetricError(
            f"{name} must have one entry per catalogue item, shape {expected}, got shape "
            f"{vector.shape}"
        )
    return vector


def check_k(k: int) -> None:
    """Raise :class:`MetricError` unless the cut-off ``k`` is a positive integer."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise MetricError(f"k must be a positive integer, got {k!r}")


def check_n_items(n_items: int) -> None:
    """Raise :class:`MetricError` unless ``n_items`` is a positive catalogue size."""
    if isinstance(n_items, bool) or not isinstance(n_items, int | np.integer) or n_items < 1:
        raise MetricError(f"n_items must be a positive catalogue size, got {n_items!r}")


class Listed(NamedTuple):
    """The listed (non-padding) entries of a recommendation array, row-major."""

    rows: np.ndarray
    items: np.ndarray
    lengths: np.ndarray


def listed_entries(lists: np.ndarray) -> Listed:
    """Row, item and per-row count of the non-padding entries of ``lists``."""
    valid = lists >= 0
    lengths = valid.sum(axis=1)
    if lengths.sum() == lists.size:  # no padding: skip the masked copies
        rows = np.repeat(np.arange(lists.shape[0]), lists.shape[1])
        return Listed(rows, lists.ravel(), lengths)
    rows = np.broadcast_to(np.arange(lists.shape[0])[:, None], lists.shape)[valid]
    return Listed(rows, lists[valid], lengths)


def per_user_mean(totals: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``totals / lengths`` as float64, 0 where a list is empty."""
    return np.divide(
        totals, lengths, out=np.zeros(len(lengths), dtype=np.float64), where=lengths > 0
    )


def list_mean(listed: Listed, item_values: np.ndarray) -> np.ndarray:
    """Per-user mean of ``item_values`` over the listed items; 0 for an empty list."""
    totals = np.bincount(
        listed.rows, weights=item_values[listed.items], minlength=len(listed.lengths)
    )
    return per_user_mean(totals, listed.lengths)
