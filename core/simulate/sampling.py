"""Vectorised sampling inside groups, shared by the catalogue, session and event stages.

Rows of one group lie next to each other (products sorted by type, events by session), so one
numpy call samples or ranks every group at once instead of a Python loop per group.
"""

from __future__ import annotations

import numpy as np


def group_ranks(counts: np.ndarray) -> np.ndarray:
    """Position of each row inside its group, for groups laid out one after another."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)


def grouped_cumulative(group: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Cumulative weights for sampling inside groups of a group-sorted array.

    Inside group ``g`` the values run from ``g`` (exclusive) to ``g + 1`` (inclusive), so
    ``searchsorted(cw, g + u, "right")`` with ``u`` uniform in [0, 1) draws a row of group ``g``
    with probability proportional to its weight.
    """
    cumulative = np.cumsum(weight)
    totals = np.bincount(group, weights=weight)
    ends = np.cumsum(np.bincount(group)) - 1
    before = np.concatenate([[0.0], cumulative[ends][:-1]])
    inside = (cumulative - before[group]) / totals[group]
    inside[ends] = 1.0
    return group + inside


def sample_rows(cumulative: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise categorical draws: column index for each row of a row-cumulative matrix."""
    picked = (cumulative < u[:, None]).sum(axis=1)
    return np.minimum(picked, cumulative.shape[1] - 1)
