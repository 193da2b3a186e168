"""Candidates prepared once for fast re-weighting: the path behind the fusion sliders.

:class:`PreparedFusion` keeps what does not depend on the weights: each method's per-signal
terms (normalised scores, reciprocal ranks) as one contiguous float32 matrix, the relevance of
every candidate and each user's number of relevant items. Re-weighting is then one matrix-vector
product over the candidates, ``k`` passes of ``argmax`` for the lists, and gathers for the
metrics (no set lookups).

Metrics are those of :mod:`core.metrics`, by name (``ndcg@10``, ``recall@20``,
``coverage@10``, ``category_diversity@10``, ...). Accuracy metrics run on the hit matrix
gathered from the candidates' relevance; the others (coverage, diversity, novelty, ...) on the
lists, with the catalogue data of a :class:`~core.metrics.MetricContext`. Relevant
items outside the candidates still count in each user's number of relevant items (the ideal
DCG, the recall denominator), so the candidates' recall limits the scores. Per-user metrics are
averaged over every user of the candidates; a user without relevant items scores 0 in the
accuracy metrics (build candidates for the users to evaluate).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from core.errors import FusionError, MetricError
from core.fusion.candidates import CandidateSet, relevant_rows
from core.fusion.methods import (
    RRF_K,
    FusedRanking,
    check_k,
    check_method,
    check_weights,
    rank_candidates,
    signal_terms,
    top_columns,
)
from core.fusion.normalise import NORMALISATIONS
from core.metrics import HIT_METRICS, MetricContext, evaluate_lists, parse_metric
from core.metrics.registry import READS_RELEVANCE

DEFAULT_METRICS = ("ndcg@10", "recall@10", "coverage@10")
# Users fused and ranked at once on the slider path: 512 x 300 float32 scores (600 kB) stay in
# the CPU cache for the k passes of the top-k (a third faster than one pass over all users).
ROW_BLOCK = 512


@cache
def _blas_controller() -> ThreadpoolController:
    """The BLAS libraries of the process (found once: the lookup takes milliseconds)."""
    return ThreadpoolController()


def parse_fusion_metric(metric: str) -> tuple[str, int]:
    """``("ndcg", 10)`` for ``"ndcg@10"``; :class:`FusionError` for a name fusion cannot use."""
    try:
        name, k = parse_metric(metric)
    except MetricError as error:
        raise FusionError(str(error)) from error
    if name == "graded_ndcg":
        raise FusionError("graded_ndcg needs relevance values; fusion uses binary relevance")
    return name, k


def list_metrics(
    items: np.ndarray,
    hits: np.ndarray,
    n_relevant: np.ndarray,
    metrics: Sequence[str],
    *,
    n_items: int,
    context: MetricContext | None = None,
    relevant: sp.csr_matrix | None = None,
) -> dict[str, np.ndarray | float]:
    """Metrics of top-k lists, from their hit matrix where a metric only needs hits.

    The one place fusion computes metrics: accuracy through the hit-matrix kernels of
    :mod:`core.metrics`, everything else through its
    :func:`~core.metrics.evaluate_lists`.

    Parameters
    ----------
    items : numpy.ndarray
        ``(n, k)`` listed item indices, ``-1`` for no item.
    hits : numpy.ndarray
        ``(n, k)`` bool: the listed item is relevant.
    n_relevant : numpy.ndarray
        ``(n,)`` relevant items per user.
    metrics : sequence of str
        Names like ``ndcg@10``.
    n_items : int
        Catalogue size.
    context : MetricContext, optional
        Catalogue data of the beyond-accuracy metrics that need it.
    relevant : scipy.sparse.csr_matrix, optional
        ``(n, n_items)`` all relevant items of the same users, for the metrics that read
        relevance beyond the hits (exposure gap, expected exposure).

    Returns
    -------
    dict
        Metric name -> per-user ``(n,)`` float64 array, or a float for catalogue metrics.
    """
    out: dict[str, np.ndarray | float] = {}
    others = []
    reads_relevance = False
    for metric in metrics:
        name, k = parse_fusion_metric(metric)
        if name in HIT_METRICS:
            out[metric] = HIT_METRICS[name](hits, n_relevant, k)
        else:
            others.append(metric)
            reads_relevance |= name in READS_RELEVANCE
    if reads_relevance and relevant is None:
        raise FusionError(f"{', '.join(others)} need the users' relevant items; pass relevant")
    if others:
        # Most beyond-accuracy metrics read only the lists: relevance is then an empty matrix.
        if not reads_relevance:
            relevant = sp.csr_matrix((len(items), n_items), dtype=np.float32)
        try:
            out.update(evaluate_lists(items, relevant, others, context))
        except MetricError as error:
            raise FusionError(str(error)) from error
    return {metric: out[metric] for metric in metrics}


class PreparedFusion:
    """Candidates with their relevance and per-signal terms computed once.

    Parameters
    ----------
    candidates : CandidateSet
    relevant : scipy.sparse.csr_matrix
        ``(n_all_users, n_items)`` relevant items over the models' user index (e.g.
        ``split.valid.matrix``); rows are picked by ``candidates.users``.
    normalisation : str
        Normalisation of the ``weighted`` and ``combmnz`` terms.
    rrf_k : float
        Constant of reciprocal rank fusion.
    context : MetricContext, optional
        Catalogue data of the beyond-accuracy metrics (e.g. ``item_categories`` for
        ``category_diversity@k``).
    """

    def __init__(
        self,
        candidates: CandidateSet,
        relevant: sp.csr_matrix,
        *,
        normalisation: str = "minmax",
        rrf_k: float = RRF_K,
        context: MetricContext | None = None,
    ) -> None:
        if normalisation not in NORMALISATIONS:
            raise FusionError(
                f"unknown normalisation {normalisation!r}; use one of {', '.join(NORMALISATIONS)}"
            )
        self.candidates = candidates
        self.normalisation = normalisation
        self.rrf_k = rrf_k
        self.context = context
        self.is_relevant = candidates.relevance(relevant)
        rows = relevant_rows(relevant, candidates.users, candidates.n_items)
        self.relevant_rows = rows
        self.n_relevant = np.diff(rows.indptr).astype(np.int64)
        self._penalty = np.where(candidates.valid, 0, -np.inf).astype(np.float32)
        present = candidates.present | ~candidates.valid[None]
        # Signals present per candidate, for the renormalised weights (see core.fusion.methods);
        # None when every signal scores every candidate.
        self._present = None if present.all() else np.ascontiguousarray(present, np.float32)
        self._terms: dict[str, np.ndarray] = {}
        self._retrieved_flags: np.ndarray | None = None

    @property
    def n_users(self) -> int:
        return self.candidates.n_users

    def terms(self, method: str) -> np.ndarray:
        """``(s, n, c)`` float32 per-signal terms of ``method`` (computed once)."""
        key = "rrf" if check_method(method) == "rrf" else "normalised"
        if key not in self._terms:
            terms = signal_terms(self.candidates, method, self.normalisation, self.rrf_k)
            self._terms[key] = np.ascontiguousarray(terms, dtype=np.float32)
        return self._terms[key]

    def _retrieved(self) -> np.ndarray:
        """``(s, n, c)`` float32 retrieval flags (for CombMNZ)."""
        if self._retrieved_flags is None:
            self._retrieved_flags = self.candidates.retrieved.astype(np.float32)
        return self._retrieved_flags

    def _fused(
        self,
        weights: np.ndarray,
        method: str,
        rows: slice,
        cold_weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """``(m, c)`` fused scores of the users in ``rows``, padding at ``-inf``."""
        fused = self._weighted_sum(weights, method, rows)
        if self._present is not None:
            fused = self._renormalised(fused, weights, rows)
        if cold_weights is not None:
            cold = self.candidates.cold[rows]
            if cold.any():
                plain = self._weighted_sum(cold_weights, method, rows)
                fused = np.where(cold, self._listed(plain, cold_weights, rows), fused)
        fused += self._penalty[rows]
        return fused

    def _weighted_sum(self, weights: np.ndarray, method: str, rows: slice) -> np.ndarray:
        """``(m, c)`` weighted sum of the terms (times CombMNZ's count), not renormalised."""
        terms = self.terms(method)[:, rows]
        s, m, c = terms.shape
        if weights.ndim == 1:
            fused = weights @ terms.reshape(s, m * c)
            if method == "combmnz":
                active = (weights > 0).astype(np.float32)
                fused *= active @ self._retrieved()[:, rows].reshape(s, m * c)
            return fused.reshape(m, c)
        fused = np.einsum("ns,snc->nc", weights[rows], terms)
        if method == "combmnz":
            active = (weights[rows] > 0).astype(np.float32)
            fused *= np.einsum("ns,snc->nc", active, self._retrieved()[:, rows])
        return fused

    def _listed(self, fused: np.ndarray, weights: np.ndarray, rows: slice) -> np.ndarray:
        """``fused`` at ``-inf`` where no signal of positive weight scored the candidate."""
        if self._present is None:
            return fused
        present = self._present[:, rows]
        s, m, c = present.shape
        if weights.ndim == 1:
            present_weight = (weights @ present.reshape(s, m * c)).reshape(m, c)
        else:
            present_weight = np.einsum("ns,snc->nc", weights[rows], present)
        return np.where(present_weight > 0, fused, -np.inf).astype(np.float32)

    def _renormalised(self, fused: np.ndarray, weights: np.ndarray, rows: slice) -> np.ndarray:
        """``fused`` with each candidate's weights renormalised over its present signals."""
        present = self._present[:, rows]
        s, m, c = present.shape
        if weights.ndim == 1:
            present_weight = (weights @ present.reshape(s, m * c)).reshape(m, c)
            total: np.ndarray | float = float(weights.sum())
        else:
            present_weight = np.einsum("ns,snc->nc", weights[rows], present)
            total = weights[rows].sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = fused * total / present_weight
        return np.where(present_weight > 0, scaled, -np.inf).astype(np.float32)

    def top_items(
        self,
        weights: np.ndarray | Sequence[float],
        method: str = "weighted",
        k: int = 10,
        cold_weights: np.ndarray | Sequence[float] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each user's top ``k`` item indices (``-1`` padded) and whether each is relevant.

        ``cold_weights`` fuse the cold candidates on their own (segment-aware weights, see
        :mod:`core.fusion.methods`).

        Users are fused and ranked in blocks of :data:`ROW_BLOCK`, so a block's fused scores
        stay in the CPU cache for the ``k`` passes of the top-k.
        """
        k = check_k(k)
        check_method(method)
        weights = check_weights(weights, self.candidates.n_signals, self.n_users)
        if cold_weights is not None:
            cold_weights = check_weights(cold_weights, self.candidates.n_signals, self.n_users)
        columns = np.empty((self.n_users, k), dtype=np.int64)
        # One BLAS thread: twice as fast as einsum for these products, and more BLAS threads
        # keep spinning after each call, slowing the single-threaded top-k that follows.
        with _blas_controller().limit(limits=1, user_api="blas"):
            for start in range(0, self.n_users, ROW_BLOCK):
                rows = slice(start, start + ROW_BLOCK)
                columns[rows], _ = top_columns(self._fused(weights, method, rows, cold_weights), k)
        listed = columns >= 0
        n, c = self.candidates.items.shape
        where = np.arange(n, dtype=np.int64)[:, None] * c + np.where(listed, columns, 0)
        items = np.where(listed, self.candidates.items.reshape(-1)[where], -1)
        hits = self.is_relevant.reshape(-1)[where] & listed
        return items, hits

    def user_values(
        self,
        weights: np.ndarray | Sequence[float],
        method: str = "weighted",
        metrics: Sequence[str] = DEFAULT_METRICS,
        cold_weights: np.ndarray | Sequence[float] | None = None,
    ) -> dict[str, np.ndarray | float]:
        """Per-user values of ``metrics`` (a float for coverage) for these weights."""
        k = max(parse_fusion_metric(metric)[1] for metric in metrics)
        items, hits = self.top_items(weights, method, k, cold_weights)
        return list_metrics(
            items,
            hits,
            self.n_relevant,
            metrics,
            n_items=self.candidates.n_items,
            context=self.context,
            relevant=self.relevant_rows,
        )

    def evaluate(
        self,
        weights: np.ndarray | Sequence[float],
        method: str = "weighted",
        metrics: Sequence[str] = DEFAULT_METRICS,
        cold_weights: np.ndarray | Sequence[float] | None = None,
    ) -> dict[str, float]:
        """Mean of each metric over the users, for these weights."""
        values = self.user_values(weights, method, metrics, cold_weights)
        return {name: float(np.mean(value)) for name, value in values.items()}

    def cold_item_values(
        self,
        weights: np.ndarray | Sequence[float],
        method: str,
        metric: str,
        cold_items: np.ndarray,
        cold_weights: np.ndarray | Sequence[float] | None = None,
    ) -> np.ndarray:
        """Per-user ``metric`` (an accuracy metric) on cold items alone.

        Only the relevant items marked in ``cold_items`` (``(n_items,)`` bool, e.g. items
        without training interactions) count, over the users with at least one of them (the
        ``cold_items`` segment of :mod:`core.evaluation.experiment`).
        """
        name, k = parse_fusion_metric(metric)
        if name not in HIT_METRICS:
            raise FusionError(f"{metric} is not an accuracy metric; use e.g. ndcg@10")
        cold_items = np.asarray(cold_items, dtype=bool)
        if cold_items.shape != (self.candidates.n_items,):
            raise FusionError(f"cold_items must have one flag per item ({self.candidates.n_items})")
        rows = self.relevant_rows
        entry_user = np.repeat(np.arange(self.n_users), np.diff(rows.indptr))
        n_cold = np.bincount(
            entry_user, weights=cold_items[rows.indices], minlength=self.n_users
        ).astype(np.int64)
        items, hits = self.top_items(weights, method, k, cold_weights)
        hits = hits & cold_items[np.maximum(items, 0)] & (items >= 0)
        users = n_cold > 0
        return HIT_METRICS[name](hits[users], n_cold[users], k)

    def rank(
        self,
        weights: np.ndarray | Sequence[float],
        method: str = "weighted",
        k: int = 10,
        cold_weights: np.ndarray | Sequence[float] | None = None,
    ) -> FusedRanking:
        """The fused top ``k`` with each signal's contribution (see :func:`fuse`)."""
        cold = None if cold_weights is None else np.asarray(cold_weights)
        terms = self.terms(method)
        return rank_candidates(self.candidates, terms, np.asarray(weights), method, k, cold)
