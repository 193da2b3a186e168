"""Paired statistics for comparing recommender variants measured on the same users.

:func:`paired_bootstrap` resamples users once and applies the same resample to every variant, so
the difference between two variants keeps the user-to-user correlation (a paired comparison: a
user who is easy for one variant is usually easy for the others, and that variation cancels in the
difference). :func:`holm` adjusts a family of p-values for multiple comparisons.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from core.checks import random_generator
from core.errors import ComparisonError

# Columns of the table paired_bootstrap returns, one row per variant.
VARIANT = "variant"
MEAN = "mean"
CI_LOW = "ci_low"
CI_HIGH = "ci_high"
DIFF = "diff"
DIFF_CI_LOW = "diff_ci_low"
DIFF_CI_HIGH = "diff_ci_high"
LIFT = "lift"
P_VALUE = "p_value"
P_HOLM = "p_holm"
BOOTSTRAP_COLUMNS: tuple[str, ...] = (
    VARIANT, MEAN, CI_LOW, CI_HIGH, DIFF, DIFF_CI_LOW, DIFF_CI_HIGH, LIFT, P_VALUE, P_HOLM,
)  # fmt: skip

# Resample-by-user count entries held in memory at once (float64: 32 MB).
CHUNK_ENTRIES = 1 << 22


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm–Bonferroni step-down adjusted p-values.

    With the ``m`` finite p-values sorted ascending, ``p_(1) <= ... <= p_(m)``::

        adjusted_(i) = min(1, max_{j <= i} (m - j + 1) * p_(j))

    returned in the input order. The running maximum keeps the adjusted values in the same order as
    the raw ones. NaN entries pass through as NaN and do not count in ``m``.

    Parameters
    ----------
    pvalues : array-like of float, 1-D
        Raw p-values in ``[0, 1]`` (or NaN), one per hypothesis of the family.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``pvalues``.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1:
        raise ComparisonError(f"holm expects a 1-D array of p-values, got shape {p.shape}")
    finite = ~np.isnan(p)
    if np.any((p[finite] < 0) | (p[finite] > 1)):
        raise ComparisonError("p-values must lie in [0, 1] (or be NaN)")
    adjusted = np.full_like(p, np.nan)
    rows = np.flatnonzero(finite)
    order = rows[np.argsort(p[rows], kind="stable")]
    m = len(order)
    scaled = (m - np.arange(m)) * p[order]
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted


def _as_matrix(values: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per-user values of every variant as a users x variants float64 matrix, checked."""
    if not values:
        raise ComparisonError("no variants given; pass {variant name: per-user metric array}")
    columns = []
    for name, array in values.items():
        column = np.asarray(array, dtype=np.float64)
        if column.ndim != 1:
            raise ComparisonError(
                f"values of variant {name!r} must be a 1-D per-user array, got shape {column.shape}"
            )
        if column.size == 0:
            raise ComparisonError(f"variant {name!r} has no users; nothing to resample")
        if not np.all(np.isfinite(column)):
            raise ComparisonError(
                f"variant {name!r} has NaN or infinite values; score users without a "
                "recommendation as 0 instead of leaving them out"
            )
        columns.append(column)
    lengths = {name: len(c) for name, c in zip(values, columns, strict=True)}
    if len(set(lengths.values())) > 1:
        raise ComparisonError(
            f"variants have different numbers of users {lengths}; a paired comparison needs the "
            "same users in the same order for every variant"
        )
    return np.column_stack(columns)


def _resampled_means(matrix: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Column means of ``n_resamples`` bootstrap resamples of the rows: n_resamples x columns.

    Each resample is a vector of counts (how often each user was drawn), shared by all columns;
    the means are then one matrix product per chunk of resamples.
    """
    n_users = matrix.shape[0]
    chunk = max(1, CHUNK_ENTRIES // n_users)
    means = np.empty((n_resamples, matrix.shape[1]))
    counts = np.empty((min(chunk, n_resamples), n_users))
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        # 32-bit draws and one bincount per resample: a third faster than 64-bit draws
        # counted all at once, with the same stream of indices.
        dtype = np.uint32 if n_users <= np.iinfo(np.uint32).max else np.int64
        draws = rng.integers(0, n_users, size=(size, n_users), dtype=dtype)
        for row in range(size):
            counts[row] = np.bincount(draws[row], minlength=n_users)
        means[start : start + size] = counts[:size] @ matrix / n_users
    return means


def paired_bootstrap(
    values: Mapping[str, np.ndarray],
    *,
    control: str | None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Means with percentile bootstrap intervals and, against a control, paired differences.

    Users are resampled with replacement ``n_resamples`` times; every variant is averaged over the
    same resample, so differences are paired. For each variant the table gives its mean and the
    percentile interval ``[q(a/2), q(1 - a/2)]`` of the resampled means, with ``a = 1 -
    confidence``. For each treatment (a variant other than ``control``):

    ``diff``
        ``mean(treatment) - mean(control)``, with the percentile interval of the resampled
        differences in ``diff_ci_low`` / ``diff_ci_high``.
    ``lift``
        ``diff / mean(control)``; NaN when the control's mean is 0.
    ``p_value``
        Two-sided bootstrap p-value of "no difference", the smallest ``a`` at which the
        percentile interval of the difference excludes 0::

            p = min(1, 2 * min(1 + #{d* <= 0}, 1 + #{d* >= 0}) / (n_resamples + 1))

        over the resampled differences ``d*``. The +1 counts the observed sample as one of the
        resamples, so ``p`` is never 0 (at least ``2 / (n_resamples + 1)``).
    ``p_holm``
        ``p_value`` Holm-adjusted across the treatments of this call. To adjust across a larger
        family (several metrics), pass all their ``p_value`` to :func:`holm`.

    The control's row, and every row when ``control`` is None, has NaN in the comparison columns.

    Parameters
    ----------
    values : mapping of variant name to 1-D array
        Per-user metric values; the same users in the same order for every variant.
    control : str or None
        Name of the variant the others are compared with; None for means and intervals only.
    n_resamples : int
        Bootstrap resamples.
    confidence : float
        Coverage of the intervals, in (0, 1).
    random_state : int, numpy.random.Generator or None
        Seed or generator of the resampling.

    Returns
    -------
    pandas.DataFrame
        One row per variant, in the order of ``values``, with the columns
        :data:`BOOTSTRAP_COLUMNS`.
    """
    matrix = _as_matrix(values)
    names = list(values)
    if control is not None and control not in values:
        raise ComparisonError(f"control {control!r} is not one of the variants {names}")
    if not isinstance(n_resamples, int | np.integer) or n_resamples < 1:
        raise ComparisonError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0 < confidence < 1:
        raise ComparisonError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")

    has_treatments = control is not None and len(names) > 1
    c = names.index(control) if has_treatments else 0
    treated = np.array([j for j in range(len(names)) if has_treatments and j != c], dtype=int)
    # Differences are resampled as columns of their own: the same counts, and no cancellation
    # error (identical variants give differences of exactly 0).
    paired = matrix[:, treated] - matrix[:, [c]]
    boot = _resampled_means(
        np.column_stack([matrix, paired]), int(n_resamples), random_generator(random_state)
    )
    boot_mean, boot_diff = boot[:, : len(names)], boot[:, len(names) :]

    tails = [(1 - confidence) / 2, (1 + confidence) / 2]
    mean = matrix.mean(axis=0)
    ci = np.quantile(boot_mean, tails, axis=0)
    table = pd.DataFrame({VARIANT: names, MEAN: mean, CI_LOW: ci[0], CI_HIGH: ci[1]})
    for column in (DIFF, DIFF_CI_LOW, DIFF_CI_HIGH, LIFT, P_VALUE, P_HOLM):
        table[column] = np.nan
    if not has_treatments:
        return table

    diff = paired.mean(axis=0)
    diff_ci = np.quantile(boot_diff, tails, axis=0)
    below = 1 + np.sum(boot_diff <= 0, axis=0)
    above = 1 + np.sum(boot_diff >= 0, axis=0)
    p_value = np.minimum(1.0, 2 * np.minimum(below, above) / (n_resamples + 1))
    table.loc[treated, DIFF] = diff
    table.loc[treated, DIFF_CI_LOW] = diff_ci[0]
    table.loc[treated, DIFF_CI_HIGH] = diff_ci[1]
    table.loc[treated, LIFT] = diff / mean[c] if mean[c] != 0 else np.nan
    table.loc[treated, P_VALUE] = p_value
    table.loc[treated, P_HOLM] = holm(p_value)
    return table
