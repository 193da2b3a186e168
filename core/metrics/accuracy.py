r"""Accuracy metrics at a cut-off ``k``: hit and gain matrices, precision, recall, MRR, MAP, NDCG.

Every metric here is a function of the hit matrix (:func:`hit_matrix`) and the number of
relevant items per user (:func:`relevant_counts`), or, for graded NDCG, of the gain matrix
(:func:`gain_matrix`) and the ideal gains (:func:`ideal_gains`). Per-user metrics return
float64 arrays of shape ``(n_users,)``; a user without recommendations or without relevant
items scores 0 and stays in the denominator of any mean taken over the array. Lists hold
distinct items, as recommenders return them; a relevant item listed twice raises
:class:`MetricError` (other repeats are not looked for).

Cross-checks (see ``tests/core/metrics/test_metrics.py``)
---------------------------------------------------------
* ``sklearn.metrics.ndcg_score(y_true, y_score, k=k)`` equals the mean of
  :func:`graded_ndcg_at_k` (gain = relevance value, discount :math:`1/\log_2(j+1)`, a user with
  no relevant item scores 0) when ``y_score`` ranks the listed items first, in list order, and
  every list has at least ``k`` items. sklearn ranks a whole score row, so it continues a list
  shorter than ``k`` with the unlisted items in score order (averaging the gains of tied
  scores, ``ignore_ties=False``), whereas here a missing recommendation gains nothing.
* ``implicit.evaluation.ranking_metrics_at_k`` (implicit 0.7.3) averages over users with at least
  one relevant item only. On those users its ``ndcg`` and ``map`` equal the means of
  :func:`ndcg_at_k` and :func:`average_precision_at_k` (same IDCG and AP denominator
  :math:`\min(|R_u|, k)`). Its ``precision`` is pooled, :math:`\sum_u \mathrm{hits}_u /
  \sum_u \min(|R_u|, k)`, not the mean of :func:`precision_at_k`, whose denominator is ``k``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from core.errors import MetricError
from core.metrics.lists import as_inputs, as_relevant, check_k, per_user_mean


def _discounts(k: int) -> np.ndarray:
    r"""Position discounts :math:`1 / \log_2(j + 1)` for ``j = 1..k``."""
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


# Hits and gains -------------------------------------------------------------------------------


def hit_positions(lists: np.ndarray, relevant: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Row and list position of every listed item that is relevant."""
    n_users, width = lists.shape
    n_items = relevant.shape[1]
    if lists.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    index_dtype = np.int32 if max(n_items + 1, lists.size) < 2**31 else np.int64
    # One CSR row per list, padding sent to an extra column that nothing is relevant in. The
    # element-wise product with the relevance pattern keeps exactly the hits; each entry is
    # valued once + position, with once above any sum of positions, so a product entry of
    # 2 * once or more means the list holds that item twice.
    once = (width + 1) ** 2
    listed = sp.csr_matrix(
        (
            np.tile(np.arange(once, once + width, dtype=np.int64), n_users),
            np.where(lists >= 0, lists, n_items).astype(index_dtype).ravel(),
            np.arange(n_users + 1, dtype=index_dtype) * width,
        ),
        shape=(n_users, n_items + 1),
    )
    pattern = sp.csr_matrix(
        (np.ones(relevant.nnz, dtype=np.int64), relevant.indices, relevant.indptr),
        shape=(n_users, n_items + 1),
    )
    found = listed.multiply(pattern).tocsr()
    rows = np.repeat(np.arange(n_users), np.diff(found.indptr))
    repeated = found.data >= 2 * once
    if repeated.any():
        raise MetricError(
            f"the list of user row {int(rows[repeated][0])} holds the same item more than once; "
            "recommendation lists must hold distinct items (drop repeats before evaluating)"
        )
    return rows, found.data - once


def hit_matrix(recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray) -> np.ndarray:
    """Whether each recommended item is relevant to its user.

    Parameters
    ----------
    recommended : numpy.ndarray
        ``(n_users, k)`` item indices, best first, ``-1`` for no item.
    relevant : scipy.sparse.csr_matrix
        ``(n_users, n_items)``; a stored non-zero marks a relevant item.

    Returns
    -------
    numpy.ndarray
        ``(n_users, k)`` bool; padding is never a hit.
    """
    lists, matrix = as_inputs(recommended, relevant)
    hits = np.zeros(lists.shape, dtype=bool)
    hits[hit_positions(lists, matrix)] = True
    return hits


def gain_matrix(recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray) -> np.ndarray:
    """Relevance value of each recommended item for its user (0 for a miss or padding).

    Arguments as in :func:`hit_matrix`; returns ``(n_users, k)`` float64.
    """
    lists, matrix = as_inputs(recommended, relevant)
    return gains_from_hits(lists, matrix, *hit_positions(lists, matrix))


def gains_from_hits(
    lists: np.ndarray, relevant: sp.csr_matrix, rows: np.ndarray, positions: np.ndarray
) -> np.ndarray:
    """Gain matrix from the hit positions: one ``searchsorted`` per hit, not per listed item."""
    gains = np.zeros(lists.shape, dtype=np.float64)
    if rows.size:
        n_items = relevant.shape[1]
        relevant_rows = np.repeat(np.arange(relevant.shape[0]), np.diff(relevant.indptr))
        keys = relevant_rows * n_items + relevant.indices  # sorted: the matrix is canonical
        at = np.searchsorted(keys, rows * n_items + lists[rows, positions])
        gains[rows, positions] = relevant.data[at]
    return gains


def relevant_counts(relevant: sp.spmatrix | sp.sparray) -> np.ndarray:
    """Number of relevant items per user, ``(n_users,)`` int64 (explicit zeros not counted)."""
    return np.diff(as_relevant(relevant).indptr).astype(np.int64)


def ideal_gains(relevant: sp.spmatrix | sp.sparray, k: int) -> np.ndarray:
    """Each user's ``k`` largest relevance values, in decreasing order, 0-padded.

    Returns ``(n_users, k)`` float64: the best possible gain at each position (the IDCG list).
    """
    check_k(k)
    matrix = as_relevant(relevant)
    n_users = matrix.shape[0]
    rows = np.repeat(np.arange(n_users), np.diff(matrix.indptr))
    # Rows are already in order, so sorting by (row, -value) keeps every row in place.
    order = np.lexsort((-matrix.data, rows))
    rank = np.arange(matrix.nnz) - matrix.indptr[rows]
    keep = rank < k
    ideal = np.zeros((n_users, k), dtype=np.float64)
    ideal[rows[keep], rank[keep]] = matrix.data[order][keep]
    return ideal


# Accuracy at k --------------------------------------------------------------------------------


def _top(matrix: np.ndarray, k: int) -> np.ndarray:
    check_k(k)
    matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise MetricError(f"expected a 2-D (n_users, k) array, got shape {matrix.shape}")
    return matrix[:, :k]


def precision_at_k(hits: np.ndarray, k: int) -> np.ndarray:
    r"""Per-user precision: :math:`P@k = |L_u^k \cap R_u| / k`.

    Parameters
    ----------
    hits : numpy.ndarray
        ``(n_users, >= k)`` bool hit matrix (:func:`hit_matrix`); a narrower matrix is read as
        lists shorter than ``k``, whose missing positions are misses.
    k : int
        Cut-off.

    Returns
    -------
    numpy.ndarray
        ``(n_users,)`` float64. The denominator is ``k`` even for short lists.
    """
    return _top(hits, k).sum(axis=1, dtype=np.float64) / k


def recall_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    r"""Per-user recall: :math:`R@k = |L_u^k \cap R_u| / |R_u|` (0 when :math:`R_u` is empty).

    ``hits`` and ``k`` as in :func:`precision_at_k`; ``n_relevant`` is :math:`|R_u|`
    (:func:`relevant_counts`).
    """
    found = _top(hits, k).sum(axis=1, dtype=np.float64)
    return per_user_mean(found, np.asarray(n_relevant))


def hit_rate_at_k(hits: np.ndarray, k: int) -> np.ndarray:
    r"""Per-user hit rate: 1 if any of the top ``k`` items is relevant, else 0.

    .. math:: \mathrm{HR}@k = \mathbb{1}[\,|L_u^k \cap R_u| > 0\,]
    """
    return _top(hits, k).any(axis=1).astype(np.float64)


def reciprocal_rank_at_k(hits: np.ndarray, k: int) -> np.ndarray:
    r"""Per-user reciprocal rank of the first hit within the top ``k`` (0 without a hit).

    .. math:: \mathrm{RR}@k = 1 / \min\{\, j \le k : l_j \in R_u \,\}

    Its mean over users is MRR@k.
    """
    top = _top(hits, k)
    if top.shape[1] == 0:
        return np.zeros(top.shape[0])
    first = np.argmax(top, axis=1)
    return np.where(top.any(axis=1), 1.0 / (first + 1.0), 0.0)


def average_precision_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    r"""Per-user average precision at ``k``; its mean over users is MAP@k.

    .. math:: \mathrm{AP}@k = \frac{1}{\min(|R_u|, k)} \sum_{j=1}^{k} P@j \cdot
              \mathbb{1}[l_j \in R_u]

    The denominator :math:`\min(|R_u|, k)` (the convention of implicit and of most
    recommender-system libraries) makes a perfect top-``k`` list score 1 even when the user has
    more than ``k`` relevant items; 0 when :math:`R_u` is empty.
    """
    top = _top(hits, k).astype(np.float64)
    precision_at_j = np.cumsum(top, axis=1) / np.arange(1, top.shape[1] + 1)
    total = (precision_at_j * top).sum(axis=1)
    return per_user_mean(total, np.minimum(np.asarray(n_relevant), k))


def ndcg_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    r"""Per-user NDCG at ``k`` with binary relevance.

    .. math:: \mathrm{DCG}@k = \sum_{j=1}^{k} \frac{\mathbb{1}[l_j \in R_u]}{\log_2(j + 1)},
              \qquad
              \mathrm{IDCG}@k = \sum_{j=1}^{\min(|R_u|, k)} \frac{1}{\log_2(j + 1)}

    and NDCG@k = DCG@k / IDCG@k, 0 when :math:`R_u` is empty. ``hits``, ``n_relevant`` and
    ``k`` as in :func:`recall_at_k`.
    """
    top = _top(hits, k)
    discounts = _discounts(k)
    dcg = top @ discounts[: top.shape[1]]
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[np.minimum(np.asarray(n_relevant), k)]
    return per_user_mean(dcg, ideal)


def graded_ndcg_at_k(gains: np.ndarray, ideal: np.ndarray, k: int) -> np.ndarray:
    r"""Per-user NDCG at ``k`` with graded relevance (gain = relevance value).

    .. math:: \mathrm{DCG}@k = \sum_{j=1}^{k} \frac{g_u(l_j)}{\log_2(j + 1)}, \qquad
              \mathrm{IDCG}@k = \sum_{j=1}^{k} \frac{g_u^{(j)}}{\log_2(j + 1)}

    where :math:`g_u(i)` is user ``u``'s relevance value for item ``i`` (0 if not relevant)
    and :math:`g_u^{(j)}` the ``j``-th largest of them. Linear gains, as
    ``sklearn.metrics.ndcg_score``; 0 for a user without relevant items.

    Parameters
    ----------
    gains : numpy.ndarray
        ``(n_users, >= k)`` gain at each list position (:func:`gain_matrix`).
    ideal : numpy.ndarray
        ``(n_users, >= k)`` each user's relevance values sorted decreasingly
        (:func:`ideal_gains`).
    k : int
        Cut-off.
    """
    top = _top(gains, k).astype(np.float64, copy=False)
    best = _top(ideal, k).astype(np.float64, copy=False)
    discounts = _discounts(k)
    dcg = top @ discounts[: top.shape[1]]
    idcg = best @ discounts[: best.shape[1]]
    return per_user_mean(dcg, idcg)


HIT_METRICS: dict[str, Callable[[np.ndarray, np.ndarray, int], np.ndarray]] = {
    "precision": lambda hits, n_relevant, k: precision_at_k(hits, k),
    "recall": recall_at_k,
    "ndcg": ndcg_at_k,
    "map": average_precision_at_k,
    "mrr": lambda hits, n_relevant, k: reciprocal_rank_at_k(hits, k),
    "hit_rate": lambda hits, n_relevant, k: hit_rate_at_k(hits, k),
}
"""Binary accuracy metrics by base name, each called as ``metric(hits, n_relevant, k)``."""
