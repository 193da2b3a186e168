r"""Beyond-accuracy metrics of recommendation lists: coverage, diversity, novelty, popularity.

Per-user metrics (intra-list and category diversity, novelty, average popularity, long-tail
share) return float64 arrays of shape ``(n_users,)``, 0 for an empty list; catalogue-level
metrics (catalogue and user coverage, exposure Gini, personalisation) return a float. None of
them reads relevance, only the lists and the catalogue data each one names.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from core.errors import MetricError
from core.metrics.lists import (
    Listed,
    as_lists,
    check_n_items,
    item_vector,
    list_mean,
    listed_entries,
    per_user_mean,
)


def coverage_kernel(listed: Listed, n_items: int) -> float:
    """Catalogue coverage of already listed entries (see :func:`catalog_coverage`)."""
    shown = np.zeros(n_items, dtype=bool)
    shown[listed.items] = True
    return float(shown.mean())


def catalog_coverage(recommended: np.ndarray, n_items: int) -> float:
    r"""Share of the catalogue that appears in at least one list.

    .. math:: \mathrm{Coverage} = |\bigcup_u L_u| \,/\, |I|

    ``n_items`` is :math:`|I|`, the catalogue size.
    """
    check_n_items(n_items)
    return coverage_kernel(listed_entries(as_lists(recommended, n_items)), n_items)


def user_coverage_kernel(listed: Listed) -> float:
    """User coverage of already listed entries (see :func:`user_coverage`)."""
    return float((listed.lengths > 0).mean()) if len(listed.lengths) else 0.0


def user_coverage(recommended: np.ndarray) -> float:
    """Share of users whose list holds at least one item (0.0 for no users)."""
    return user_coverage_kernel(listed_entries(as_lists(recommended)))


def unit_embeddings(item_embeddings: np.ndarray) -> np.ndarray:
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


def intra_list_diversity_kernel(
    lists: np.ndarray, lengths: np.ndarray, unit: np.ndarray
) -> np.ndarray:
    """Intra-list diversity of checked lists over :func:`unit_embeddings` rows."""
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
    return np.where(pairs > 0, 1.0 - per_user_mean(similarity, pairs), 0.0)


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
    unit = unit_embeddings(item_embeddings)
    lists = as_lists(recommended, unit.shape[0] - 1)
    return intra_list_diversity_kernel(lists, (lists >= 0).sum(axis=1), unit)


def category_codes(item_categories: np.ndarray, n_items: int | None = None) -> np.ndarray:
    """Category labels of any kind as codes ``0..n_categories - 1``."""
    categories = item_vector(item_categories, "item_categories", n_items)
    return np.unique(categories, return_inverse=True)[1].ravel()


def category_diversity_kernel(lists: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Category diversity of checked lists over :func:`category_codes`."""
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
    return np.where(pairs > 0, 1.0 - per_user_mean(same, pairs), 0.0)


def category_diversity(recommended: np.ndarray, item_categories: np.ndarray) -> np.ndarray:
    r"""Per-user share of item pairs in each list whose categories differ.

    .. math:: \mathrm{ILD}^{cat}_u = \frac{2}{m(m - 1)} \sum_{a < b}
              \mathbb{1}[c(a) \ne c(b)]
              = 1 - \frac{\sum_c \binom{n_{u,c}}{2}}{\binom{m}{2}}

    where :math:`n_{u,c}` is the number of listed items of category ``c``; 0 for a list of
    fewer than two items. ``item_categories`` holds one label per catalogue item (codes or
    strings; a missing category should be given its own label).
    """
    codes = category_codes(item_categories)
    return category_diversity_kernel(as_lists(recommended, len(codes)), codes)


def self_information(item_popularity: np.ndarray, n_users: int | None) -> np.ndarray:
    """Self-information in bits of each item (see :func:`novelty`), counts checked first."""
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
    popularity = item_vector(item_popularity, "item_popularity")
    information = self_information(popularity, n_users)
    return list_mean(listed_entries(as_lists(recommended, len(popularity))), information)


def average_popularity(recommended: np.ndarray, item_popularity: np.ndarray) -> np.ndarray:
    r"""Per-user mean popularity of the listed items (ARP); 0 for an empty list.

    .. math:: \mathrm{ARP}_u = \frac{1}{m} \sum_{i \in L_u} \mathrm{pop}_i

    ``item_popularity`` holds :math:`\mathrm{pop}_i` per catalogue item, in the caller's unit
    (users or interactions per item).
    """
    popularity = item_vector(item_popularity, "item_popularity").astype(np.float64)
    return list_mean(listed_entries(as_lists(recommended, len(popularity))), popularity)


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
    popularity = item_vector(item_popularity, "item_popularity").astype(np.float64)
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
    tail = item_vector(tail_items, "tail_items").astype(np.float64)
    return list_mean(listed_entries(as_lists(recommended, len(tail))), tail)


def exposure_gini_kernel(listed: Listed, n_items: int) -> float:
    """Exposure Gini of already listed entries (see :func:`exposure_gini`)."""
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
    check_n_items(n_items)
    return exposure_gini_kernel(listed_entries(as_lists(recommended, n_items)), n_items)


def personalisation_kernel(listed: Listed) -> float:
    """Personalisation of already listed entries (see :func:`personalisation`)."""
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
    return personalisation_kernel(listed_entries(as_lists(recommended)))
