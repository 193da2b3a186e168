"""Paired statistics for comparing recommender variants measured on the same users.

:func:`paired_comparisons` resamples users once and applies the same resample to every variant
and metric, so the difference between two variants keeps the user-to-user correlation (a paired
comparison: a user who is easy for one variant is usually easy for the others, and that variation
cancels in the difference). The bootstrap gives the intervals; the p-values come from a paired
t-test (:func:`paired_t_pvalues`), whose resolution does not depend on the number of resamples:
a bootstrap p-value cannot go below ``2 / (B + 1)``, so after Holm over ``m`` comparisons nothing
could be significant once ``m`` reaches about ``alpha * (B + 1) / 2``. :func:`holm` adjusts a
family of p-values for multiple comparisons.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from core.checks import random_generator
from core.errors import ComparisonError

# Columns of the table paired_bootstrap returns, one row per variant.
METRIC = "metric"
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


def paired_t_pvalues(differences: np.ndarray) -> np.ndarray:
    """Two-sided paired t-test p-values of "mean difference 0", one per column.

    For the ``n`` per-user differences ``d`` of a column, ``t = mean(d) / (sd(d) / sqrt(n))``
    with the sample standard deviation (``n - 1`` in the denominator) and
    ``p = 2 * P(T > |t|)`` for Student's ``T`` with ``n - 1`` degrees of freedom. A column whose
    differences are all equal has ``p = 1`` when they are 0 and ``p = 0`` when they are not (a
    constant non-zero difference is certain). NaN with fewer than two users.

    Parameters
    ----------
    differences : numpy.ndarray
        ``(n_users, n_columns)`` paired differences, treatment minus control.

    Returns
    -------
    numpy.ndarray of float64, ``(n_columns,)``.
    """
    d = np.asarray(differences, dtype=np.float64)
    if d.ndim != 2:
        raise ComparisonError(f"differences must be users x columns, got shape {d.shape}")
    n = d.shape[0]
    if n < 2:
        return np.full(d.shape[1], np.nan)
    mean = d.mean(axis=0)
    spread = d - mean
    sd = np.sqrt(np.einsum("ij,ij->j", spread, spread) / (n - 1))
    constant = (sd == 0) | (sd <= 1e-12 * np.abs(mean))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(mean) / (sd / np.sqrt(n))
    p = 2 * scipy_stats.t.sf(np.where(constant, 0.0, t), n - 1)
    return np.where(constant, np.where(mean == 0, 1.0, 0.0), np.minimum(p, 1.0))


def _check_settings(n_resamples: object, confidence: float) -> None:
    if not isinstance(n_resamples, int | np.integer) or n_resamples < 1:
        raise ComparisonError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0 < confidence < 1:
        raise ComparisonError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")


def paired_comparisons(
    values: Mapping[str, Mapping[str, np.ndarray]],
    *,
    control: str | None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """:func:`paired_bootstrap` of several metrics of the same users, with one set of resamples.

    ``values`` maps a metric name to ``{variant: per-user array}``; every metric has the same
    variants and users. The users are drawn once per resample for all metrics (the costly part
    is the draws, not the means), so comparing many metrics costs little more than one. Holm
    adjusts within each metric, across its treatments.

    Returns
    -------
    pandas.DataFrame
        :data:`METRIC` then :data:`BOOTSTRAP_COLUMNS`: one row per metric and variant, metrics in
        the order of ``values``, variants in the order of each mapping.
    """
    if not values:
        raise ComparisonError("no metrics given; pass {metric: {variant: per-user array}}")
    _check_settings(n_resamples, confidence)
    matrices = {metric: _as_matrix(per_variant) for metric, per_variant in values.items()}
    names = [list(per_variant) for per_variant in values.values()]
    if any(other != names[0] for other in names):
        raise ComparisonError("every metric must have the same variants in the same order")
    names = names[0]
    if len({m.shape[0] for m in matrices.values()}) > 1:
        raise ComparisonError("every metric must be measured on the same users")
    if control is not None and control not in names:
        raise ComparisonError(f"control {control!r} is not one of the variants {names}")

    has_treatments = control is not None and len(names) > 1
    c = names.index(control) if has_treatments else 0
    treated = np.array([j for j in range(len(names)) if has_treatments and j != c], dtype=int)
    # Differences are resampled as columns of their own: the same counts, and no cancellation
    # error (identical variants give differences of exactly 0).
    blocks = []
    for matrix in matrices.values():
        blocks += [matrix, matrix[:, treated] - matrix[:, [c]]]
    boot = _resampled_means(
        np.column_stack(blocks), int(n_resamples), random_generator(random_state)
    )
    tails = [(1 - confidence) / 2, (1 + confidence) / 2]
    frames = []
    start = 0
    for metric, matrix in matrices.items():
        width = len(names) + len(treated)
        boot_mean = boot[:, start : start + len(names)]
        boot_diff = boot[:, start + len(names) : start + width]
        start += width
        mean = matrix.mean(axis=0)
        ci = np.quantile(boot_mean, tails, axis=0)
        table = pd.DataFrame(
            {METRIC: metric, VARIANT: names, MEAN: mean, CI_LOW: ci[0], CI_HIGH: ci[1]}
        )
        for column in (DIFF, DIFF_CI_LOW, DIFF_CI_HIGH, LIFT, P_VALUE, P_HOLM):
            table[column] = np.nan
        if has_treatments:
            paired = matrix[:, treated] - matrix[:, [c]]
            diff = paired.mean(axis=0)
            diff_ci = np.quantile(boot_diff, tails, axis=0)
            p_value = paired_t_pvalues(paired)
            table.loc[treated, DIFF] = diff
            table.loc[treated, DIFF_CI_LOW] = diff_ci[0]
            table.loc[treated, DIFF_CI_HIGH] = diff_ci[1]
            table.loc[treated, LIFT] = diff / mean[c] if mean[c] != 0 else np.nan
            table.loc[treated, P_VALUE] = p_value
            table.loc[treated, P_HOLM] = holm(p_value)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


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
        Two-sided paired t-test p-value of "no difference" (:func:`paired_t_pvalues`). It does
        not depend on the resamples, so it has no floor: Holm over many comparisons can still
        reach any level.
    ``p_holm``
        ``p_value`` Holm-adjusted across the treatments of this call (the family "this metric,
        every treatment against the control").

    The control's row, and every row when ``control`` is None, has NaN in the comparison columns.

    Parameters
    ----------
    values : mapping of variant name to 1-D array
        Per-user metric values; the same users in the same order for every variant.
    control : str or None
        Name of the variant the others are compared with; None for means and intervals only.
    n_resamples : int
        Bootstrap resamples (intervals only).
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
    table = paired_comparisons(
        {"": values},
        control=control,
        n_resamples=n_resamples,
        confidence=confidence,
        random_state=random_state,
    )
    return table[list(BOOTSTRAP_COLUMNS)]
