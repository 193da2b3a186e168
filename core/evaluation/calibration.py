"""A/A and planted-effect checks of the A/B significance test, on real lists.

An A/A comparison sets variants against each other that differ only by chance: each is every
user's top-``k`` drawn at random (in rank order) from the same model's longer list, with its own
seed. No variant is better in expectation, so a calibrated test marks at most ``alpha`` of such
comparisons significant. A planted effect puts a relevant test item first in the lists of a
random share of one treatment's users; the share of trials that find it is the test's power,
which should match the power the normal approximation predicts from the effect's size.

A 200-trial A/A rate is a Binomial(200, size) count: for a test of exact size 0.05 it exceeds
0.05 in about 4 runs out of 10 (sd 1.5 points). :func:`aa_ndcg_pvalues` draws the same
comparisons for NDCG@k fast enough for tens of thousands of trials, which pins the size down,
and :func:`aa_size_check` tells a miscalibrated test (p-values far from uniform, trials
correlated, blocks of trials spread wider than the binomial) from an unlucky block.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import binom, binomtest, kstest, norm

from core.checks import random_generator
from core.errors import ComparisonError
from core.evaluation.stats import holm, paired_t_pvalues
from core.metrics import MetricContext, evaluate_lists, hit_matrix, ndcg_at_k, relevant_counts


def subsample_lists(pool: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Each row's ``k`` entries drawn at random without replacement from ``pool``'s row, kept in
    the pool's order; padding (``-1``) is drawn last."""
    keys = rng.random(pool.shape) + (pool < 0)
    chosen = np.sort(np.argsort(keys, axis=1)[:, :k], axis=1)
    return np.take_along_axis(pool, chosen, axis=1)


def plant_hits(
    lists: np.ndarray, relevant: sp.csr_matrix, share: float, rng: np.random.Generator
) -> np.ndarray:
    """``lists`` with the first relevant item of a random ``share`` of the users put first
    (shifting the list down) when the list does not hold it already."""
    planted = lists.copy()
    lucky = np.flatnonzero((rng.random(lists.shape[0]) < share) & (np.diff(relevant.indptr) > 0))
    for user in lucky:
        item = relevant.indices[relevant.indptr[user]]
        if item not in planted[user]:
            planted[user] = np.concatenate([[item], planted[user, :-1]])
    return planted


def calibration_trials(
    pool: np.ndarray,
    relevant: sp.csr_matrix,
    *,
    k: int,
    metric: str,
    n_trials: int,
    n_treatments: int = 1,
    planted_share: float = 0.0,
    alpha: float = 0.05,
    context: MetricContext | None = None,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """``n_trials`` seeded comparisons of a control and ``n_treatments`` random-subsample variants.

    ``pool`` is a model's ``(n_users, width)`` lists (``width > k``) and ``relevant`` the users'
    test items. With ``planted_share > 0`` the first treatment gets planted hits
    (:func:`plant_hits`). p-values are those of the A/B page (paired t-test, Holm across the
    treatments).

    Returns
    -------
    pandas.DataFrame
        One row per trial: ``diff`` and ``sd_diff`` (mean and standard deviation of the first
        treatment's per-user differences), ``p_value`` (its raw p-value), ``p_holm_min`` and
        ``significant`` (any Holm-adjusted p-value below ``alpha``).
    """
    if pool.shape[1] <= k:
        raise ComparisonError(f"the pool lists must be longer than k = {k} to draw from them")
    if n_treatments < 1 or n_trials < 1:
        raise ComparisonError("n_trials and n_treatments must be at least 1")
    rng = random_generator(random_state)
    rows = []
    for trial in range(n_trials):
        variants = [subsample_lists(pool, k, rng) for _ in range(n_treatments + 1)]
        if planted_share > 0:
            variants[1] = plant_hits(variants[1], relevant, planted_share, rng)
        scores = [evaluate_lists(v, relevant, [metric], context)[metric] for v in variants]
        differences = np.column_stack([score - scores[0] for score in scores[1:]])
        p_value = paired_t_pvalues(differences)
        p_holm = holm(p_value)
        rows.append(
            {
                "trial": trial,
                "diff": float(differences[:, 0].mean()),
                "sd_diff": float(differences[:, 0].std(ddof=1)),
                "p_value": float(p_value[0]),
                "p_holm_min": float(np.nanmin(p_holm)),
                "significant": bool(np.nanmin(p_holm) < alpha),
            }
        )
    return pd.DataFrame(rows)


def expected_power(trials: pd.DataFrame, n_users: int, alpha: float = 0.05) -> float:
    """Power of a two-sided level-``alpha`` test of one treatment, by the normal approximation::

        power = Phi(delta * sqrt(n) / sigma - z) + Phi(-delta * sqrt(n) / sigma - z)

    with ``z`` the ``1 - alpha / 2`` normal quantile, ``delta`` the mean difference over all
    trials and ``sigma`` the root mean square of the trials' standard deviations.
    """
    delta = float(trials["diff"].mean())
    sigma = float(np.sqrt(np.mean(trials["sd_diff"] ** 2)))
    if sigma == 0:
        return 1.0 if delta != 0 else alpha
    shift = delta * np.sqrt(n_users) / sigma
    z = norm.ppf(1 - alpha / 2)
    return float(norm.cdf(shift - z) + norm.cdf(-shift - z))


def aa_ndcg_pvalues(
    pool: np.ndarray,
    relevant: sp.csr_matrix,
    *,
    k: int,
    n_trials: int,
    batch_size: int = 250,
    random_state: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """Paired t-test p-values of ``n_trials`` A/A comparisons of NDCG@``k``, one per trial.

    The comparisons of :func:`calibration_trials` with one treatment (two independent
    :func:`subsample_lists` draws per trial), computed only for the users with a relevant
    item in their pool: every other user scores 0 in both lists, so differs by exactly 0 and
    enters the test as such. The random stream differs from :func:`calibration_trials`'s, so
    the trials are not the same ones.
    """
    if pool.shape[1] <= k:
        raise ComparisonError(f"the pool lists must be longer than k = {k} to draw from them")
    if n_trials < 1 or batch_size < 1:
        raise ComparisonError("n_trials and batch_size must be at least 1")
    rng = random_generator(random_state)
    hits = hit_matrix(pool, relevant)
    rows = np.flatnonzero(hits.any(axis=1))
    hits, padding = hits[rows], pool[rows] < 0
    counts = relevant_counts(relevant)[rows]
    differences = np.zeros((pool.shape[0], min(batch_size, n_trials)))
    pvalues = np.empty(n_trials)
    for start in range(0, n_trials, batch_size):
        size = min(batch_size, n_trials - start)
        ndcg = []
        for _ in range(2):
            keys = rng.random((size, *hits.shape)) + padding
            chosen = np.sort(np.argsort(keys, axis=2)[:, :, :k], axis=2)
            drawn = np.take_along_axis(np.broadcast_to(hits, keys.shape), chosen, axis=2)
            values = ndcg_at_k(drawn.reshape(-1, k), np.tile(counts, size), k)
            ndcg.append(values.reshape(size, len(rows)).T)
        differences[:, :size] = 0.0
        differences[rows, :size] = ndcg[1] - ndcg[0]
        pvalues[start : start + size] = paired_t_pvalues(differences[:, :size])
    return pvalues


def aa_size_check(pvalues: np.ndarray, *, alpha: float = 0.05, block: int = 200) -> dict:
    """Is a test calibrated, judged from the p-values of many independent A/A trials?

    Returns the size (share of p-values below ``alpha``) with its exact binomial 95% interval,
    the Kolmogorov-Smirnov p-value of "the p-values are uniform", the correlation of
    consecutive trials' p-values, and the spread of the rate over consecutive blocks of
    ``block`` trials beside the binomial spread ``sqrt(alpha (1 - alpha) / block)`` of a test
    of exact size ``alpha``, with the share of blocks above ``alpha`` (observed, and expected
    of such a test).
    """
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1 or p.size < 2 * block:
        raise ComparisonError(f"need at least {2 * block} p-values (two blocks of {block})")
    significant = p < alpha
    interval = binomtest(int(significant.sum()), p.size).proportion_ci(0.95)
    blocks = significant[: p.size // block * block].reshape(-1, block).mean(axis=1)
    return {
        "trials": int(p.size),
        "size": float(significant.mean()),
        "size_ci95": [float(interval.low), float(interval.high)],
        "uniform_ks_pvalue": float(kstest(p, "uniform").pvalue),
        "lag1_correlation": float(np.corrcoef(p[:-1], p[1:])[0, 1]),
        "block_trials": block,
        "blocks": int(blocks.size),
        "block_rate_sd": float(blocks.std(ddof=1)),
        "binomial_sd": float(np.sqrt(alpha * (1 - alpha) / block)),
        "blocks_above_alpha": float((blocks > alpha).mean()),
        "expected_blocks_above_alpha": float(binom.sf(np.floor(alpha * block), block, alpha)),
    }
