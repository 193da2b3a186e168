r"""Fusion rules: weighted sum, reciprocal rank fusion and CombMNZ, with per-signal contributions.

Every rule is a weighted sum of per-signal *terms* over a user's candidates, so the fused score
of an item splits exactly into one contribution per signal (what the explanation shows):

``weighted``
    :math:`f = \sum_s w_s x_s` with :math:`x_s` the normalised score of signal :math:`s`
    (:mod:`core.fusion.normalise`).
``rrf`` (reciprocal rank fusion, Cormack et al. 2009)
    :math:`f = \sum_s w_s / (k_{rrf} + r_s)` with :math:`r_s` the 1-based rank of the item
    among the user's candidates by signal :math:`s`'s raw score (tied items share the best
    rank of their group; normalisation does not apply). An item the signal could not score
    gets no contribution from it. :math:`k_{rrf} = 60` by default.
``combmnz`` (Fox and Shaw 1994)
    :math:`f = m \sum_s w_s x_s`, with :math:`m` the number of signals of positive weight that
    retrieved the item in their own top-N; signal :math:`s` contributes
    :math:`m w_s x_s`.

Weights are non-negative, one per signal (the same for every user) or one row per user (the
learned gate); only their ratios matter to the ranking. Lists are the ``k`` best candidates by
fused score, ties to the lower item index; padding never enters a list.

Missing scores
    A signal that cannot score a candidate (NaN in the candidates: a cold item for a
    collaborative model, a user without history for a model that ranks from it) neither
    zeroes nor promotes it: its term is left out and the weights are renormalised over the
    signals present, :math:`w'_s = w_s \, W / \sum_{s' \text{ present}} w_{s'}` with
    :math:`W = \sum_s w_s`. A candidate scored by every signal keeps its plain weighted sum;
    one that no signal of positive weight scores is never listed.

Cold candidates (segment-aware weights)
    Items without training interactions are scored only by content signals, so renormalised
    weights would rank them by content alone against the warm items' blend of every signal.
    Segment-aware fusion gives them a weight vector of their own, ``cold_weights``, applied
    *without* renormalisation: the share of ``cold_weights`` on signals that cannot score cold
    items is how far cold items are discounted against warm ones (all of it: never listed; none
    of it: ranked as renormalised content). The learned gate gives per-user cold weights the
    same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.checks import check_whole
from core.errors import FusionError
from core.fusion.candidates import CandidateSet
from core.fusion.normalise import normalise, tie_counts

METHODS = ("weighted", "rrf", "combmnz")
RRF_K = 60


@dataclass(frozen=True, eq=False)
class FusedRanking:
    """Top-``k`` lists of fused candidates with each signal's share of every fused score.

    Attributes
    ----------
    users : numpy.ndarray
        ``(n,)`` int64 user indices.
    items : numpy.ndarray
        ``(n, k)`` int64 item indices, best first, ``-1`` past the user's last candidate.
    scores : numpy.ndarray
        ``(n, k)`` float32 fused scores, ``-inf`` on padding.
    contributions : numpy.ndarray
        ``(s, n, k)`` float32: signal ``s``'s part of each fused score (the parts sum to the
        score); 0 on padding.
    signal_names : tuple of str
    """

    users: np.ndarray
    items: np.ndarray
    scores: np.ndarray
    contributions: np.ndarray
    signal_names: tuple[str, ...]


def check_method(method: str) -> str:
    if method not in METHODS:
        raise FusionError(f"unknown fusion method {method!r}; use one of {', '.join(METHODS)}")
    return method


def check_weights(weights: np.ndarray | list[float], n_signals: int, n_users: int) -> np.ndarray:
    """``weights`` as float32 of shape ``(s,)`` or ``(n, s)``, checked."""
    values = np.asarray(weights, dtype=np.float32)
    if values.shape not in ((n_signals,), (n_users, n_signals)):
        raise FusionError(
            f"weights must have shape ({n_signals},) or ({n_users}, {n_signals}), "
            f"not {values.shape}"
        )
    if not np.isfinite(values).all() or (values < 0).any():
        raise FusionError("weights must be finite and >= 0")
    if (values.sum(axis=-1) <= 0).any():
        raise FusionError("give at least one signal a positive weight")
    return values


def rrf_terms(scores: np.ndarray, rrf_k: float = RRF_K) -> np.ndarray:
    """``1 / (rrf_k + rank)`` per entry of ``scores`` (rank 1-based along the last axis).

    Tied entries share the best rank of their group; non-finite entries give 0.
    """
    if not np.isfinite(rrf_k) or rrf_k < 0:
        raise FusionError(f"rrf_k must be a finite number >= 0, not {rrf_k!r}")
    _, higher, _ = tie_counts(scores)
    terms = 1.0 / (rrf_k + 1.0 + higher)
    return np.where(np.isfinite(scores), terms, 0).astype(np.float32)


def signal_terms(
    candidates: CandidateSet,
    method: str = "weighted",
    normalisation: str = "minmax",
    rrf_k: float = RRF_K,
) -> np.ndarray:
    """``(s, n, c)`` float32 per-signal terms that ``method`` sums with the weights.

    Missing scores get the term 0 (their weight goes to the other signals, see
    :func:`candidate_multiplier`).
    """
    if check_method(method) == "rrf":
        terms = rrf_terms(candidates.scores, rrf_k)
    else:
        terms = normalise(candidates.scores, normalisation)
    return np.where(candidates.present, terms, 0).astype(np.float32)


def mnz_counts(retrieved: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``(n, c)`` number of positively weighted signals that retrieved each candidate."""
    return combine(retrieved.astype(np.float32), (weights > 0).astype(np.float32))


def combine(terms: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``(n, c)`` weighted sum over signals of ``terms`` ``(s, n, c)``."""
    if weights.ndim == 1:
        return np.einsum("s,snc->nc", weights, terms).astype(np.float32, copy=False)
    return np.einsum("ns,snc->nc", weights, terms).astype(np.float32, copy=False)


def top_columns(fused: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns and values of the ``k`` largest entries per row, best first.

    ``fused`` (C-contiguous) is overwritten. Ties go to the lower column; ``-inf`` entries
    are never returned (column ``-1``, value ``-inf``). ``k`` passes of ``argmax``: for the
    short lists of a dashboard this beats ``argpartition`` on many short rows.
    """
    n_rows, n_cols = fused.shape
    take = min(k, n_cols)
    columns = np.full((n_rows, k), -1, dtype=np.int64)
    values = np.full((n_rows, k), -np.inf, dtype=np.float32)
    flat = fused.reshape(-1)
    offsets = np.arange(n_rows, dtype=np.int64) * n_cols
    for position in range(take):
        best = fused.argmax(axis=1)
        where = offsets + best
        columns[:, position] = best
        values[:, position] = flat[where]
        flat[where] = -np.inf
    columns[values == -np.inf] = -1
    return columns, values


def check_k(k: int) -> int:
    """``k`` as an int if it is a whole number >= 1, else :class:`FusionError`."""
    return check_whole("k", k, 1, FusionError)


def candidate_multiplier(
    candidates: CandidateSet, weights: np.ndarray, method: str, *, renormalise: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """``(n, c)`` factor of each candidate's weighted sum of terms, and ``(n, c)`` which are listed.

    The factor is CombMNZ's count (1 for the other rules) times, when ``renormalise``,
    ``W / (sum of the weights of the signals present)``; 0 where the candidate is not listed
    (padding, or no signal of positive weight scored it).
    """
    present = candidates.present | ~candidates.valid[None]
    present_weight = combine(present.astype(np.float32), weights)
    keep = candidates.valid & (present_weight > 0)
    multiplier = np.ones(keep.shape, dtype=np.float32)
    if check_method(method) == "combmnz":
        multiplier = mnz_counts(candidates.retrieved, weights)
    if renormalise and not present.all():
        total = weights.sum(axis=-1)
        total = total if weights.ndim == 1 else total[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            multiplier = multiplier * np.where(keep, total / present_weight, 0)
    return np.where(keep, multiplier, 0).astype(np.float32), keep


def rank_candidates(
    candidates: CandidateSet,
    terms: np.ndarray,
    weights: np.ndarray,
    method: str,
    k: int,
    cold_weights: np.ndarray | None = None,
) -> FusedRanking:
    """Fuse precomputed ``terms`` (see :func:`signal_terms`) with ``weights``; top ``k``.

    With ``cold_weights`` the cold candidates (:attr:`CandidateSet.cold`) are fused with those
    weights instead, without renormalisation (see the module notes).
    """
    k = check_k(k)
    n, s = candidates.n_users, candidates.n_signals
    weights = check_weights(weights, s, n)
    multiplier, keep = candidate_multiplier(candidates, weights, method)
    fused = combine(terms, weights) * multiplier
    per_signal = np.broadcast_to(
        (weights if weights.ndim == 2 else weights[None]).T[:, :, None], (s, n, 1)
    )
    if cold_weights is not None:
        cold_weights = check_weights(cold_weights, s, n)
        cold_multiplier, cold_keep = candidate_multiplier(
            candidates, cold_weights, method, renormalise=False
        )
        cold = candidates.cold
        fused = np.where(cold, combine(terms, cold_weights) * cold_multiplier, fused)
        multiplier = np.where(cold, cold_multiplier, multiplier)
        keep = np.where(cold, cold_keep, keep)
        cold_per_signal = (cold_weights if cold_weights.ndim == 2 else cold_weights[None]).T
        per_signal = np.where(cold[None], cold_per_signal[:, :, None], per_signal)
    fused = np.where(keep, fused, -np.inf).astype(np.float32)
    columns, scores = top_columns(fused, k)
    listed = columns >= 0
    safe = np.where(listed, columns, 0)
    items = np.where(listed, np.take_along_axis(candidates.items, safe, axis=1), -1)
    picked = np.take_along_axis(terms, safe[None], axis=2)
    signal_weight = np.take_along_axis(np.broadcast_to(per_signal, terms.shape), safe[None], axis=2)
    contributions = picked * signal_weight * np.take_along_axis(multiplier, safe, axis=1)[None]
    contributions = np.where(listed[None], contributions, 0).astype(np.float32)
    return FusedRanking(candidates.users, items, scores, contributions, candidates.signal_names)


def fuse(
    candidates: CandidateSet,
    weights: np.ndarray | list[float],
    *,
    method: str = "weighted",
    normalisation: str = "minmax",
    k: int = 10,
    rrf_k: float = RRF_K,
    cold_weights: np.ndarray | list[float] | None = None,
) -> FusedRanking:
    """Fuse the signals of ``candidates`` with ``weights`` and return each user's top ``k``.

    Parameters
    ----------
    candidates : CandidateSet
    weights : array-like
        ``(s,)`` one weight per signal, or ``(n, s)`` one row per user; non-negative.
    method : str
        ``"weighted"``, ``"rrf"`` or ``"combmnz"`` (see the module notes).
    normalisation : str
        ``"minmax"``, ``"zscore"`` or ``"rank"``; ignored by ``"rrf"``.
    k : int
        List length.
    rrf_k : float
        The constant of reciprocal rank fusion.
    cold_weights : array-like, optional
        Weights of the cold candidates (items without training interactions), shaped like
        ``weights``; None fuses them with ``weights`` like every other candidate.

    Returns
    -------
    FusedRanking
    """
    terms = signal_terms(candidates, method, normalisation, rrf_k)
    cold = None if cold_weights is None else np.asarray(cold_weights)
    return rank_candidates(candidates, terms, np.asarray(weights), method, k, cold)
