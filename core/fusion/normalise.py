"""Per-user normalisation of candidate scores, so signals on different scales can be added.

Each function works along the last axis (one user's candidates) of an array of any shape.
Non-finite entries (NaN: padding, or a signal that could not score the user or item) are
*missing*: statistics use the other entries only, and a missing entry gets the row's worst
value, so a signal never promotes an item it could not score.

``minmax``
    ``(x - min) / (max - min)`` in [0, 1]. A row whose entries are all equal (or with at most
    one entry) is all 0: a signal that cannot tell the candidates apart adds nothing to them.
    Missing entries are 0.
``zscore``
    ``(x - mean) / std`` (population standard deviation). A row with ``std == 0`` is all 0.
    Missing entries get the row's smallest z-score (0 when the row has no entry at all).
``rank``
    The share of the row's other entries scoring strictly lower:
    ``#{lower} / (n_valid - 1)``, so the best candidate is 1, the worst 0 and the steps are
    even; tied entries share a value, a row of ties is all 0 (as with ``minmax``), and a row
    with at most one entry is 0. Missing entries are 0.
"""

from __future__ import annotations

import numpy as np

from core.errors import FusionError

NORMALISATIONS = ("minmax", "zscore", "rank")


def tie_counts(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each entry, how many entries of its row score strictly lower and strictly higher.

    Non-finite entries are left out of every count (their own counts are 0).

    Returns
    -------
    lower, higher : numpy.ndarray
        int64, the shape of ``scores``.
    n_valid : numpy.ndarray
        int64 finite entries per row, the shape of ``scores`` without its last axis.
    """
    scores = np.asarray(scores)
    valid = np.isfinite(scores)
    n_valid = valid.sum(axis=-1)
    width = scores.shape[-1]
    lower = np.zeros(scores.shape, dtype=np.int64)
    higher = np.zeros(scores.shape, dtype=np.int64)
    if width == 0:
        return lower, higher, n_valid
    # Missing entries sort after every finite one and are masked out below.
    key = np.where(valid, scores, np.inf)
    order = np.argsort(key, axis=-1, kind="stable")
    ordered = np.take_along_axis(key, order, axis=-1)
    position = np.broadcast_to(np.arange(width), scores.shape)
    starts = np.ones(scores.shape, dtype=bool)
    starts[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    ends = np.ones(scores.shape, dtype=bool)
    ends[..., :-1] = starts[..., 1:]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=-1)
    last = np.flip(
        np.minimum.accumulate(np.flip(np.where(ends, position, width), axis=-1), axis=-1),
        axis=-1,
    )
    np.put_along_axis(lower, order, first, axis=-1)
    np.put_along_axis(higher, order, n_valid[..., None] - 1 - last, axis=-1)
    lower[~valid] = 0
    higher[~valid] = 0
    return lower, higher, n_valid


def minmax(scores: np.ndarray) -> np.ndarray:
    """Min-max scaling per row; see the module notes."""
    scores = np.asarray(scores, dtype=np.float32)
    valid = np.isfinite(scores)
    low = np.where(valid, scores, np.inf).min(axis=-1, keepdims=True)
    high = np.where(valid, scores, -np.inf).max(axis=-1, keepdims=True)
    spread = high - low
    spread_ok = np.isfinite(spread) & (spread > 0)
    with np.errstate(invalid="ignore"):
        scaled = (scores - low) / np.where(spread_ok, spread, 1)
    return np.where(valid & spread_ok, scaled, 0).astype(np.float32)


def zscore(scores: np.ndarray) -> np.ndarray:
    """Standard scores per row; see the module notes."""
    scores = np.asarray(scores, dtype=np.float32)
    valid = np.isfinite(scores)
    count = valid.sum(axis=-1, keepdims=True)
    values = np.where(valid, scores, 0).astype(np.float64)
    mean = values.sum(axis=-1, keepdims=True) / np.maximum(count, 1)
    deviation = np.where(valid, values - mean, 0)
    std = np.sqrt((deviation**2).sum(axis=-1, keepdims=True) / np.maximum(count, 1))
    z = np.where(std > 0, deviation / np.where(std > 0, std, 1), 0)
    worst = np.where(valid, z, np.inf).min(axis=-1, keepdims=True)
    worst = np.where(np.isfinite(worst), worst, 0)
    return np.where(valid, z, worst).astype(np.float32)


def rank(scores: np.ndarray) -> np.ndarray:
    """Share of the row's other entries scoring strictly lower; see the module notes."""
    lower, _, n_valid = tie_counts(scores)
    others = (n_valid - 1)[..., None]
    return np.where(others > 0, lower / np.maximum(others, 1), 0).astype(np.float32)


_FUNCTIONS = {"minmax": minmax, "zscore": zscore, "rank": rank}


def normalise(scores: np.ndarray, method: str = "minmax") -> np.ndarray:
    """Normalise ``scores`` per row (last axis) with ``method``, one of :data:`NORMALISATIONS`.

    Returns a float32 array of the same shape without NaN.
    """
    function = _FUNCTIONS.get(method)
    if function is None:
        raise FusionError(
            f"unknown normalisation {method!r}; use one of {', '.join(NORMALISATIONS)}"
        )
    return function(scores)
