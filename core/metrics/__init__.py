r"""Top-k recommendation metrics: accuracy and beyond-accuracy, vectorised over all users.

Every metric reads recommendation lists as one array ``recommended`` of shape
``(n_users, k)``: item indices, best first, ``-1`` where a list has no more items. Relevance is a
``scipy.sparse.csr_matrix`` of shape ``(n_users, n_items)``; a stored non-zero marks a relevant
item and its value is the graded gain used by :func:`graded_ndcg_at_k`. Row ``u`` of both goes
with the same user. Lists hold distinct items, as recommenders return them; a relevant item
listed twice raises :class:`MetricError` (other repeats are not looked for).

Accuracy metrics are functions of the hit matrix (:func:`hit_matrix`) and the number of relevant
items per user (:func:`relevant_counts`). Per-user metrics return float64 arrays of shape
``(n_users,)``; a user without recommendations or without relevant items scores 0 and stays in
the denominator of any mean taken over the array. Catalogue-level metrics return a float.

:func:`evaluate_lists` computes metrics by name (``"ndcg@10"``, ``"coverage@20"``; see
:data:`METRICS`) and builds the hit matrix once for all accuracy metrics.

Cross-checks (see ``tests/core/evaluation/test_metrics.py``)
------------------------------------------------------------
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

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from core.errors import MetricError

__all__ = [
    "METRICS",
    "MetricContext",
    "MetricInfo",
    "average_popularity",
    "average_precision_at_k",
    "catalog_coverage",
    "category_diversity",
    "evaluate_lists",
    "exposure_gini",
    "gain_matrix",
    "graded_ndcg_at_k",
    "hit_matrix",
    "hit_rate_at_k",
    "ideal_gains",
    "intra_list_diversity",
    "long_tail_items",
    "long_tail_share",
    "ndcg_at_k",
    "novelty",
    "parse_metric",
    "personalisation",
    "precision_at_k",
    "recall_at_k",
    "reciprocal_rank_at_k",
    "relevant_counts",
    "user_coverage",
]


# Input checks ---------------------------------------------------------------------------------


def _as_lists(recommended: np.ndarray, n_items: int | None = None) -> np.ndarray:
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


def _as_relevant(relevant: sp.spmatrix | sp.sparray) -> sp.csr_matrix:
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


def _as_inputs(
    recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Checked lists and relevance of the same users."""
    matrix = _as_relevant(relevant)
    lists = _as_lists(recommended, matrix.shape[1])
    if lists.shape[0] != matrix.shape[0]:
        raise MetricError(
            f"relevant has {matrix.shape[0]} rows but recommended has {lists.shape[0]}; row u "
            "of both must be the same user"
        )
    return lists, matrix


def _item_vector(values: np.ndarray, name: str, n_items: int | None = None) -> np.ndarray:
    """``values`` as a 1-D array with one entry per catalogue item (``n_items`` if given)."""
    vector = np.asarray(values)
    if vector.ndim != 1 or (n_items is not None and len(vector) != n_items):
        expected = f"({n_items},)" if n_items is not None else "(n_items,)"
        raise MetricError(
            f"{name} must have one entry per catalogue item, shape {expected}, got shape "
            f"{vector.shape}"
        )
    return vector


class _Listed(NamedTuple):
    """The listed (non-padding) entries of a recommendation array, row-major."""

    rows: np.ndarray
    items: np.ndarray
    lengths: np.ndarray


def _listed(lists: np.ndarray) -> _Listed:
    valid = lists >= 0
    lengths = valid.sum(axis=1)
    if lengths.sum() == lists.size:  # no padding: skip the masked copies
        rows = np.repeat(np.arange(lists.shape[0]), lists.shape[1])
        return _Listed(rows, lists.ravel(), lengths)
    rows = np.broadcast_to(np.arange(lists.shape[0])[:, None], lists.shape)[valid]
    return _Listed(rows, lists[valid], lengths)


def _per_user_mean(totals: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``totals / lengths`` as float64, 0 where a list is empty."""
    return np.divide(
        totals, lengths, out=np.zeros(len(lengths), dtype=np.float64), where=lengths > 0
    )


def _list_mean(listed: _Listed, item_values: np.ndarray) -> np.ndarray:
    """Per-user mean of ``item_values`` over the listed items; 0 for an empty list."""
    totals = np.bincount(
        listed.rows, weights=item_values[listed.items], minlength=len(listed.lengths)
    )
    return _per_user_mean(totals, listed.lengths)


def _discounts(k: int) -> np.ndarray:
    r"""Position discounts :math:`1 / \log_2(j + 1)` for ``j = 1..k``."""
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


# Hits and gains -------------------------------------------------------------------------------


def _hit_positions(lists: np.ndarray, relevant: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
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
    lists, matrix = _as_inputs(recommended, relevant)
    hits = np.zeros(lists.shape, dtype=bool)
    hits[_hit_positions(lists, matrix)] = True
    return hits


def gain_matrix(recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray) -> np.ndarray:
    """Relevance value of each recommended item for its user (0 for a miss or padding).

    Arguments as in :func:`hit_matrix`; returns ``(n_users, k)`` float64.
    """
    lists, matrix = _as_inputs(recommended, relevant)
    return _gains_from_hits(lists, matrix, *_hit_positions(lists, matrix))


def _gains_from_hits(
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
    return np.diff(_as_relevant(relevant).indptr).astype(np.int64)


def ideal_gains(relevant: sp.spmatrix | sp.sparray, k: int) -> np.ndarray:
    """Each user's ``k`` largest relevance values, in decreasing order, 0-padded.

    Returns ``(n_users, k)`` float64: the best possible gain at each position (the IDCG list).
    """
    _check_k(k)
    matrix = _as_relevant(relevant)
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


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise MetricError(f"k must be a positive integer, got {k!r}")


def _top(matrix: np.ndarray, k: int) -> np.ndarray:
    _check_k(k)
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
    return _per_user_mean(found, np.asarray(n_relevant))


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
    return _per_user_mean(total, np.minimum(np.asarray(n_relevant), k))


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
    return _per_user_mean(dcg, ideal)


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
    return _per_user_mean(dcg, idcg)


# Beyond accuracy ------------------------------------------------------------------------------


def _check_n_items(n_items: int) -> None:
    if isinstance(n_items, bool) or not isinstance(n_items, int | np.integer) or n_items < 1:
        raise MetricError(f"n_items must be a positive catalogue size, got {n_items!r}")


def _coverage(listed: _Listed, n_items: int) -> float:
    shown = np.zeros(n_items, dtype=bool)
    shown[listed.items] = True
    return float(shown.mean())


def catalog_coverage(recommended: np.ndarray, n_items: int) -> float:
    r"""Share of the catalogue that appears in at least one list.

    .. math:: \mathrm{Coverage} = |\bigcup_u L_u| \,/\, |I|

    ``n_items`` is :math:`|I|`, the catalogue size.
    """
    _check_n_items(n_items)
    return _coverage(_listed(_as_lists(recommended, n_items)), n_items)


def _user_coverage(listed: _Listed) -> float:
    return float((listed.lengths > 0).mean()) if len(listed.lengths) else 0.0


def user_coverage(recommended: np.ndarray) -> float:
    """Share of users whose list holds at least one item (0.0 for no users)."""
    return _user_coverage(_listed(_as_lists(recommended)))


def _unit_embeddings(item_embeddings: np.ndarray) -> np.ndarray:
    """Unit-length rows (zero rows stay zero) plus one zero row that padding points to."""
    embeddings = np.asarray(item_embeddings, dtype=np.float64)
    if embeddings.ndim != 2:
        raise MetricError(
            f"item_embeddings must be a 2-D array (n_items, d), got shape {embeddings.shape}"
        )
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    unit = np.zeros((embeddings.shape[0] + 1, embeddings.shape[1]))
    np.divide(embeddings, norms, out=unit[:-1], where=norms > 0)
    return unit


def _intra_list_diversity(lists: np.ndarray, lengths: np.ndarray, unit: np.ndarray) -> np.ndarray:
    n_users, width = lists.shape
    index = np.where(lists >= 0, lists, unit.shape[0] - 1).ravel()
    # Sum of each list's unit vectors as a sparse (lists x items) product; padding points to
    # the zero row.
    membership = sp.csr_matrix(
        (np.ones(index.size), index, np.arange(n_users + 1) * width),
        shape=(n_users, unit.shape[0]),
    )
    sums = membership @ unit
    self_similarity = np.any(unit != 0, axis=1)[index].reshape(lists.shape).sum(axis=1)
    similarity = (np.einsum("ij,ij->i", sums, sums) - self_similarity) / 2.0
    pairs = lengths * (lengths - 1) / 2.0
    return np.where(pairs > 0, 1.0 - _per_user_mean(similarity, pairs), 0.0)


def intra_list_diversity(recommended: np.ndarray, item_embeddings: np.ndarray) -> np.ndarray:
    r"""Per-user mean pairwise cosine distance between the items of each list.

    .. math:: \mathrm{ILD}_u = \frac{2}{m(m - 1)} \sum_{a < b} \left(1 - \cos(e_a, e_b)\right)

    over the :math:`m` listed items of user ``u``; 0 for a list of fewer than two items. An item
    whose embedding is all zeros is at distance 1 from every item. Computed exactly without
    forming the pairs: with unit vectors :math:`\hat e` and :math:`s_u = \sum_a \hat e_a`,
    :math:`\sum_{a<b} \cos(e_a, e_b) = (\lVert s_u \rVert^2 - \sum_a \lVert \hat e_a \rVert^2) / 2`.

    Parameters
    ----------
    recommended : numpy.ndarray
        ``(n_users, k)`` item indices, ``-1`` for no item.
    item_embeddings : numpy.ndarray
        ``(n_items, d)`` one vector per catalogue item.
    """
    unit = _unit_embeddings(item_embeddings)
    lists = _as_lists(recommended, unit.shape[0] - 1)
    return _intra_list_diversity(lists, (lists >= 0).sum(axis=1), unit)


def _category_codes(item_categories: np.ndarray, n_items: int | None = None) -> np.ndarray:
    """Category labels of any kind as codes ``0..n_categories - 1``."""
    categories = _item_vector(item_categories, "item_categories", n_items)
    return np.unique(categories, return_inverse=True)[1].ravel()


def _category_diversity(lists: np.ndarray, codes: np.ndarray) -> np.ndarray:
    positions = np.arange(lists.shape[1])
    # Padding gets a distinct negative label per position, so it never pairs with anything.
    labels = np.where(lists >= 0, codes[lists], -1 - positions)
    labels.sort(axis=1)
    # In each sorted row, an entry pairs with the equal entries before it in its run:
    # position - run start; summed over a run of length n that is n (n - 1) / 2.
    run_start = np.zeros(labels.shape, dtype=np.int64)
    run_start[:, 1:] = np.where(labels[:, 1:] != labels[:, :-1], positions[1:], 0)
    np.maximum.accumulate(run_start, axis=1, out=run_start)
    same = (positions - run_start).sum(axis=1)
    lengths = (lists >= 0).sum(axis=1)
    pairs = lengths * (lengths - 1) / 2.0
    return np.where(pairs > 0, 1.0 - _per_user_mean(same, pairs), 0.0)


def category_diversity(recommended: np.ndarray, item_categories: np.ndarray) -> np.ndarray:
    r"""Per-user share of item pairs in each list whose categories differ.

    .. math:: \mathrm{ILD}^{cat}_u = \frac{2}{m(m - 1)} \sum_{a < b}
              \mathbb{1}[c(a) \ne c(b)]
              = 1 - \frac{\sum_c \binom{n_{u,c}}{2}}{\binom{m}{2}}

    where :math:`n_{u,c}` is the number of listed items of category ``c``; 0 for a list of
    fewer than two items. ``item_categories`` holds one label per catalogue item (codes or
    strings; a missing category should be given its own label).
    """
    codes = _category_codes(item_categories)
    return _category_diversity(_as_lists(recommended, len(codes)), codes)


def _self_information(item_popularity: np.ndarray, n_users: int | None) -> np.ndarray:
    popularity = np.asarray(item_popularity, dtype=np.float64)
    if isinstance(n_users, bool) or not isinstance(n_users, int | np.integer) or n_users < 1:
        raise MetricError(f"n_users must be a positive number of training users, got {n_users}")
    if popularity.size and (popularity.min() < 0 or popularity.max() > n_users):
        raise MetricError(
            "item_popularity must count distinct users per item, between 0 and n_users "
            f"({n_users}); got values from {popularity.min()} to {popularity.max()}"
        )
    return -np.log2(np.maximum(popularity, 1.0) / n_users)


def novelty(recommended: np.ndarray, item_popularity: np.ndarray, n_users: int) -> np.ndarray:
    r"""Per-user mean self-information of the listed items, in bits.

    .. math:: \mathrm{Novelty}_u = \frac{1}{m} \sum_{i \in L_u}
              -\log_2 \frac{\max(\mathrm{pop}_i, 1)}{N}

    ``item_popularity`` is :math:`\mathrm{pop}_i`, the number of distinct training users who
    interacted with item ``i``, and ``n_users`` is :math:`N`, the number of training users, so
    :math:`\mathrm{pop}_i / N` is the chance that a user knows the item. An item nobody
    interacted with counts as known to one user (:math:`\log_2 N` bits) rather than infinitely
    novel. 0 for an empty list.
    """
    popularity = _item_vector(item_popularity, "item_popularity")
    information = _self_information(popularity, n_users)
    return _list_mean(_listed(_as_lists(recommended, len(popularity))), information)


def average_popularity(recommended: np.ndarray, item_popularity: np.ndarray) -> np.ndarray:
    r"""Per-user mean popularity of the listed items (ARP); 0 for an empty list.

    .. math:: \mathrm{ARP}_u = \frac{1}{m} \sum_{i \in L_u} \mathrm{pop}_i

    ``item_popularity`` holds :math:`\mathrm{pop}_i` per catalogue item, in the caller's unit
    (users or interactions per item).
    """
    popularity = _item_vector(item_popularity, "item_popularity").astype(np.float64)
    return _list_mean(_listed(_as_lists(recommended, len(popularity))), popularity)


def long_tail_items(item_popularity: np.ndarray, head_share: float = 0.8) -> np.ndarray:
    """Which items form the long tail: all but the most popular ones that hold ``head_share``.

    Items are ranked by popularity (ties by index); the head is the shortest prefix of that
    ranking whose popularity reaches ``head_share`` of the total. Items with zero popularity
    are always in the tail; with no popularity at all every item is.

    Parameters
    ----------
    item_popularity : numpy.ndarray
        ``(n_items,)`` interactions (or users) per item.
    head_share : float
        Share of all popularity the head holds, in ``(0, 1]``.

    Returns
    -------
    numpy.ndarray
        ``(n_items,)`` bool, True for a long-tail item.
    """
    popularity = _item_vector(item_popularity, "item_popularity").astype(np.float64)
    if not 0.0 < head_share <= 1.0:
        raise MetricError(f"head_share must be in (0, 1], got {head_share}")
    if popularity.size and popularity.min() < 0:
        raise MetricError("item_popularity must be non-negative")
    tail = np.ones(len(popularity), dtype=bool)
    if popularity.sum() > 0:
        order = np.argsort(-popularity, kind="stable")
        cumulative = np.cumsum(popularity[order])
        n_head = int(np.searchsorted(cumulative, head_share * cumulative[-1])) + 1
        tail[order[:n_head]] = False
    return tail


def long_tail_share(recommended: np.ndarray, tail_items: np.ndarray) -> np.ndarray:
    r"""Per-user share of the listed items that are long-tail items; 0 for an empty list.

    .. math:: \mathrm{LT}_u = |L_u \cap T| \,/\, m

    ``tail_items`` is the ``(n_items,)`` bool mask of :func:`long_tail_items`.
    """
    tail = _item_vector(tail_items, "tail_items").astype(np.float64)
    return _list_mean(_listed(_as_lists(recommended, len(tail))), tail)


def _exposure_gini(listed: _Listed, n_items: int) -> float:
    exposure = np.sort(np.bincount(listed.items, minlength=n_items)).astype(np.float64)
    total = exposure.sum()
    if total == 0:
        return 0.0
    ranks = np.arange(1, n_items + 1, dtype=np.float64)
    return float(((2.0 * ranks - n_items - 1.0) @ exposure) / (n_items * total))


def exposure_gini(recommended: np.ndarray, n_items: int) -> float:
    r"""Gini coefficient of item exposure over the whole catalogue.

    With :math:`e_{(1)} \le \dots \le e_{(n)}` the number of lists each of the ``n_items``
    catalogue items appears in (never-shown items count with 0),

    .. math:: G = \frac{\sum_{i=1}^{n} (2i - n - 1)\, e_{(i)}}{n \sum_i e_i}

    0 when every item is shown equally often, close to 1 when a few items take all exposure;
    0.0 when nothing is shown.
    """
    _check_n_items(n_items)
    return _exposure_gini(_listed(_as_lists(recommended, n_items)), n_items)


def _personalisation(listed: _Listed) -> float:
    n_listed = int((listed.lengths > 0).sum())
    if n_listed < 2:
        return 0.0
    weights = 1.0 / np.sqrt(listed.lengths[listed.rows])
    column_sums = np.bincount(listed.items, weights=weights)
    similarity = (column_sums @ column_sums - (weights**2).sum()) / 2.0
    return float(1.0 - similarity / (n_listed * (n_listed - 1) / 2.0))


def personalisation(recommended: np.ndarray) -> float:
    r"""One minus the mean similarity between the lists of two different users.

    .. math:: \mathrm{Pers} = 1 - \frac{2}{N(N - 1)} \sum_{u < v}
              \frac{|L_u \cap L_v|}{\sqrt{|L_u|\,|L_v|}}

    over the :math:`N` users with a non-empty list (users without one are left to
    :func:`user_coverage`, so an empty model does not look personal); the similarity is the
    cosine of the binary list vectors, which is :math:`|L_u \cap L_v| / k` for full lists.
    Jaccard similarity is not used: it has no exact formula linear in the list entries, and
    this one is exact over all pairs: with :math:`S_i = \sum_u x_{ui} / \sqrt{|L_u|}`,
    :math:`\sum_{u<v} \cos(x_u, x_v) = \sum_i (S_i^2 - \sum_u x_{ui} / |L_u|) / 2`.
    0.0 with fewer than two non-empty lists.
    """
    return _personalisation(_listed(_as_lists(recommended)))


# Registry -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricContext:
    """Catalogue data the beyond-accuracy metrics need; accuracy metrics need none of it.

    Item arrays have one entry (row) per catalogue item, in the columns' order of ``relevant``.

    Attributes
    ----------
    item_popularity : numpy.ndarray or None
        ``(n_items,)`` distinct training users per item (``novelty``, ``avg_popularity``,
        ``long_tail_share``).
    n_users : int or None
        Number of training users behind ``item_popularity`` (``novelty``).
    item_embeddings : numpy.ndarray or None
        ``(n_items, d)`` item vectors (``ild``).
    item_categories : numpy.ndarray or None
        ``(n_items,)`` category label per item (``category_diversity``).
    head_share : float
        Share of popularity held by the head, for ``long_tail_share`` (:func:`long_tail_items`).
    """

    item_popularity: np.ndarray | None = None
    n_users: int | None = None
    item_embeddings: np.ndarray | None = None
    item_categories: np.ndarray | None = None
    head_share: float = 0.8


class _Evaluation:
    """One call's checked inputs; the hit matrix and other shared pieces are computed once."""

    def __init__(
        self,
        lists: np.ndarray,
        relevant: sp.csr_matrix,
        context: MetricContext,
        accuracy_width: int,
    ) -> None:
        self.lists = lists
        self.relevant = relevant
        self.context = context
        self.n_items = relevant.shape[1]
        self.accuracy_lists = lists[:, :accuracy_width]
        self.accuracy_width = accuracy_width
        self._listed: dict[int, _Listed] = {}

    def top(self, k: int) -> np.ndarray:
        return self.lists[:, :k]

    def listed(self, k: int) -> _Listed:
        if k not in self._listed:
            self._listed[k] = _listed(self.top(k))
        return self._listed[k]

    @cached_property
    def hit_positions(self) -> tuple[np.ndarray, np.ndarray]:
        return _hit_positions(self.accuracy_lists, self.relevant)

    @cached_property
    def hits(self) -> np.ndarray:
        hits = np.zeros(self.accuracy_lists.shape, dtype=bool)
        hits[self.hit_positions] = True
        return hits

    @cached_property
    def gains(self) -> np.ndarray:
        return _gains_from_hits(self.accuracy_lists, self.relevant, *self.hit_positions)

    @cached_property
    def ideal(self) -> np.ndarray:
        return ideal_gains(self.relevant, self.accuracy_width)

    @cached_property
    def n_relevant(self) -> np.ndarray:
        return np.diff(self.relevant.indptr).astype(np.int64)

    @cached_property
    def popularity(self) -> np.ndarray:
        popularity = self.context.item_popularity
        return _item_vector(popularity, "item_popularity", self.n_items).astype(np.float64)

    @cached_property
    def information(self) -> np.ndarray:
        return _self_information(self.popularity, self.context.n_users)

    @cached_property
    def tail(self) -> np.ndarray:
        return long_tail_items(self.popularity, self.context.head_share).astype(np.float64)

    @cached_property
    def unit_embeddings(self) -> np.ndarray:
        unit = _unit_embeddings(self.context.item_embeddings)
        if unit.shape[0] - 1 != self.n_items:
            raise MetricError(
                f"item_embeddings has {unit.shape[0] - 1} rows for a catalogue of "
                f"{self.n_items} items; give one vector per item"
            )
        return unit

    @cached_property
    def category_codes(self) -> np.ndarray:
        return _category_codes(self.context.item_categories, self.n_items)


@dataclass(frozen=True)
class MetricInfo:
    """A registered metric: what it measures, whether it is per user, what context it needs."""

    description: str
    per_user: bool
    requires: tuple[str, ...]
    compute: Callable[[_Evaluation, int], np.ndarray | float]


METRICS: dict[str, MetricInfo] = {
    "precision": MetricInfo(
        "share of the top k that is relevant", True, (),
        lambda run, k: precision_at_k(run.hits, k),
    ),
    "recall": MetricInfo(
        "share of the relevant items found in the top k", True, (),
        lambda run, k: recall_at_k(run.hits, run.n_relevant, k),
    ),
    "ndcg": MetricInfo(
        "normalised discounted cumulative gain, binary relevance", True, (),
        lambda run, k: ndcg_at_k(run.hits, run.n_relevant, k),
    ),
    "graded_ndcg": MetricInfo(
        "normalised discounted cumulative gain, gain = relevance value", True, (),
        lambda run, k: graded_ndcg_at_k(run.gains, run.ideal, k),
    ),
    "map": MetricInfo(
        "average precision, denominator min(|relevant|, k)", True, (),
        lambda run, k: average_precision_at_k(run.hits, run.n_relevant, k),
    ),
    "mrr": MetricInfo(
        "reciprocal rank of the first hit in the top k", True, (),
        lambda run, k: reciprocal_rank_at_k(run.hits, k),
    ),
    "hit_rate": MetricInfo(
        "1 if the top k holds a relevant item", True, (),
        lambda run, k: hit_rate_at_k(run.hits, k),
    ),
    "coverage": MetricInfo(
        "share of the catalogue shown to anyone", False, (),
        lambda run, k: _coverage(run.listed(k), run.n_items),
    ),
    "user_coverage": MetricInfo(
        "share of users with at least one recommendation", False, (),
        lambda run, k: _user_coverage(run.listed(k)),
    ),
    "ild": MetricInfo(
        "mean pairwise cosine distance of item embeddings in a list", True,
        ("item_embeddings",),
        lambda run, k: _intra_list_diversity(
            run.top(k), run.listed(k).lengths, run.unit_embeddings
        ),
    ),
    "category_diversity": MetricInfo(
        "share of item pairs in a list from different categories", True,
        ("item_categories",),
        lambda run, k: _category_diversity(run.top(k), run.category_codes),
    ),
    "novelty": MetricInfo(
        "mean self-information -log2(popularity / users) of the listed items", True,
        ("item_popularity", "n_users"),
        lambda run, k: _list_mean(run.listed(k), run.information),
    ),
    "avg_popularity": MetricInfo(
        "mean popularity of the listed items", True, ("item_popularity",),
        lambda run, k: _list_mean(run.listed(k), run.popularity),
    ),
    "long_tail_share": MetricInfo(
        "share of the listed items outside the popular head", True, ("item_popularity",),
        lambda run, k: _list_mean(run.listed(k), run.tail),
    ),
    "gini": MetricInfo(
        "Gini coefficient of item exposure over the catalogue", False, (),
        lambda run, k: _exposure_gini(run.listed(k), run.n_items),
    ),
    "personalisation": MetricInfo(
        "1 - mean cosine similarity between two users' lists", False, (),
        lambda run, k: _personalisation(run.listed(k)),
    ),
}  # fmt: skip
"""Registered metrics by base name; ask for them as ``"<name>@<k>"``."""

_ACCURACY = frozenset({"precision", "recall", "ndcg", "graded_ndcg", "map", "mrr", "hit_rate"})
_NAME = re.compile(r"^\s*([a-z_]+)\s*@\s*(\d+)\s*$")


def parse_metric(name: str) -> tuple[str, int]:
    """Split a metric name such as ``"ndcg@10"`` into its base name and cut-off.

    Case and spaces around the parts are ignored. Raises :class:`MetricError` for a malformed
    name, an unknown base name or a cut-off below 1.
    """
    match = _NAME.match(name.lower()) if isinstance(name, str) else None
    if match is None:
        raise MetricError(
            f"metric name {name!r} is not of the form '<metric>@<k>', e.g. 'ndcg@10'; "
            f"metrics: {', '.join(METRICS)}"
        )
    base, k = match.group(1), int(match.group(2))
    if base not in METRICS:
        raise MetricError(f"unknown metric {base!r} in {name!r}; metrics: {', '.join(METRICS)}")
    if k < 1:
        raise MetricError(f"cut-off in {name!r} must be at least 1")
    return base, k


def evaluate_lists(
    recommended: np.ndarray,
    relevant: sp.spmatrix | sp.sparray,
    metrics: Iterable[str],
    context: MetricContext | None = None,
) -> dict[str, np.ndarray | float]:
    """Compute metrics by name over the same recommendation lists.

    Parameters
    ----------
    recommended : numpy.ndarray
        ``(n_users, width)`` item indices, best first, ``-1`` for no item. A list is cut at each
        metric's ``k``; a ``k`` above ``width`` reads the missing positions as empty.
    relevant : scipy.sparse.csr_matrix
        ``(n_users, n_items)`` relevance; its column count is the catalogue size.
    metrics : iterable of str
        Names such as ``"ndcg@10"``, ``"recall@20"``, ``"coverage@10"`` (see :data:`METRICS`).
    context : MetricContext, optional
        Catalogue data for the beyond-accuracy metrics that need it.

    Returns
    -------
    dict
        Metric name as given -> ``(n_users,)`` float64 array for per-user metrics, float for
        catalogue-level ones (``coverage``, ``user_coverage``, ``gini``, ``personalisation``).

    Raises
    ------
    MetricError
        For an unknown or malformed name or context missing for a requested metric (both
        checked before anything is computed), and for inconsistent inputs.
    """
    names = list(metrics)
    parsed = {name: parse_metric(name) for name in names}
    context = context or MetricContext()
    for name, (base, _) in parsed.items():
        missing = [field for field in METRICS[base].requires if getattr(context, field) is None]
        if missing:
            raise MetricError(
                f"metric {name!r} needs {' and '.join(missing)} in the MetricContext; pass "
                f"MetricContext({', '.join(f'{field}=...' for field in missing)})"
            )
    lists, matrix = _as_inputs(recommended, relevant)
    accuracy_k = [k for base, k in parsed.values() if base in _ACCURACY]
    run = _Evaluation(lists, matrix, context, max(accuracy_k, default=1))
    return {name: METRICS[base].compute(run, k) for name, (base, k) in parsed.items()}
