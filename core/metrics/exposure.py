r"""Fairness of exposure: how the attention of a ranking is shared among items and item groups.

Attention model
---------------
A user looks at position :math:`j` (1-based) of a top-:math:`k` list with probability

.. math:: w_j = \frac{1}{\log_2(1 + j)}, \qquad j = 1, \dots, k,

the position discount of DCG (Singh & Joachims 2018 use the same one), and at nothing below
:math:`k`. The exposure an item gets from user :math:`u` is the weight of its position in
:math:`u`'s list (0 when it is not listed); its exposure :math:`E_d` is the sum over users.

Group exposure against relevance (Singh & Joachims 2018)
--------------------------------------------------------
Singh and Joachims, "Fairness of Exposure in Rankings" (KDD 2018), ask that each group's
exposure be proportional to its merit: :math:`E(G_a) / U(G_a) = E(G_b) / U(G_b)` (disparate
treatment), with :math:`E(G)` and :math:`U(G)` the group's mean exposure and mean relevance. With
the shares :math:`e_g = \sum_{d \in g} E_d / \sum_d E_d` and :math:`r_g = \sum_{d \in g} R_d /
\sum_d R_d`, where :math:`R_d` is the number of users for whom item :math:`d` is relevant, the
constraint says every group has the same ratio :math:`e_g / r_g` (the group sizes cancel), which
is then 1. :func:`group_exposure` gives the shares per group; :func:`exposure_gap` sums the
disparity into one number, the total variation distance between the two shares,

.. math:: \mathrm{gap} = \tfrac12 \sum_g |e_g - r_g| \in [0, 1],

0 when exposure follows relevance exactly, 1 when all exposure goes to groups without relevant
items.

Expected exposure (Diaz et al. 2020)
------------------------------------
Diaz, Mitra, Ekstrand, Biega and Carterette, "Evaluating Stochastic Rankings with Expected
Exposure" (CIKM 2020), compare a user's expected exposure vector :math:`\varepsilon_u` over the
:math:`n` catalogue items with the target :math:`\varepsilon^*_u` of an ideal stochastic policy
that shuffles items within each relevance grade (their eq. 5, here with binary relevance and the
attention above). A recommender's lists are a policy of one deterministic list per user, whose
expected exposure is that list's exposure: :math:`\varepsilon_{u,d} = w_{\mathrm{rank}_u(d)}`.
With :math:`m` relevant items and :math:`S(a, b) = \sum_{j=a}^{\min(b, k)} w_j`, the target is

.. math:: \varepsilon^*_{u,d} = \begin{cases} S(1, m) / m & d \text{ relevant} \\
          S(m + 1, n) / (n - m) & \text{otherwise.} \end{cases}

Their metrics are the disparity :math:`\mathrm{EE\text{-}D} = \lVert \varepsilon \rVert_2^2`
(lower is more equal) and the relevance :math:`\mathrm{EE\text{-}R} = \varepsilon^{\top}
\varepsilon^*` (higher is better), with :math:`\mathrm{EE\text{-}L} = \lVert \varepsilon -
\varepsilon^* \rVert^2 = \mathrm{EE\text{-}D} - 2\,\mathrm{EE\text{-}R} + \lVert \varepsilon^*
\rVert^2`. Both are divided by :math:`\lVert \varepsilon^*_u \rVert^2`, the value the ideal
policy reaches, so they compare across users: the ideal policy scores EE-R = EE-D = 1; a
deterministic list that puts the relevant items first also reaches EE-R = 1, but with EE-D above 1.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from core.errors import MetricError
from core.metrics.lists import as_inputs, item_vector

# The item groupings whose exposure gap the registry offers (``exposure_gap_<grouping>@k``), in
# the keys of :attr:`core.metrics.MetricContext.item_groups`.
GROUPINGS: tuple[str, ...] = ("brand", "category", "price", "newness")


def position_weights(k: int) -> np.ndarray:
    r"""``(k,)`` attention of positions 1..k: :math:`w_j = 1 / \log_2(1 + j)`."""
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def item_exposure_kernel(lists: np.ndarray, n_items: int) -> np.ndarray:
    """Exposure of each catalogue item summed over checked lists (see :func:`item_exposure`)."""
    weights = np.broadcast_to(position_weights(lists.shape[1]), lists.shape)
    listed = lists >= 0
    return np.bincount(lists[listed], weights=weights[listed], minlength=n_items)


def item_exposure(recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray) -> np.ndarray:
    r"""``(n_items,)`` exposure :math:`E_d = \sum_u w_{\mathrm{rank}_u(d)}` of each item.

    ``relevant`` only gives the catalogue size (its column count) and the users (its rows).
    """
    lists, matrix = as_inputs(recommended, relevant)
    return item_exposure_kernel(lists, matrix.shape[1])


class GroupExposure(NamedTuple):
    """Exposure and relevance shares of each item group, in the order of ``labels``."""

    labels: np.ndarray
    exposure_share: np.ndarray
    relevance_share: np.ndarray

    @property
    def ratio(self) -> np.ndarray:
        """Exposure share / relevance share (NaN for a group without relevant items)."""
        share = self.relevance_share
        return np.divide(
            self.exposure_share, share, out=np.full(share.shape, np.nan), where=share > 0
        )

    @property
    def difference(self) -> np.ndarray:
        """Exposure share - relevance share."""
        return self.exposure_share - self.relevance_share


def group_codes(item_groups: np.ndarray, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct group labels and each item's code into them."""
    groups = item_vector(item_groups, "item_groups", n_items)
    labels, codes = np.unique(groups, return_inverse=True)
    return labels, codes.ravel()


def group_exposure_kernel(
    lists: np.ndarray, relevant: sp.csr_matrix, codes: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exposure and relevance shares per group code of checked inputs (NaN when a total is 0)."""
    exposure = np.bincount(
        codes, weights=item_exposure_kernel(lists, relevant.shape[1]), minlength=n_groups
    )
    merit = np.bincount(codes[relevant.indices], minlength=n_groups).astype(np.float64)
    shares = []
    for totals in (exposure, merit):
        total = totals.sum()
        shares.append(totals / total if total > 0 else np.full(n_groups, np.nan))
    return shares[0], shares[1]


def group_exposure(
    recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray, item_groups: np.ndarray
) -> GroupExposure:
    r"""Share of the exposure and share of the relevance of each item group.

    .. math:: e_g = \frac{\sum_{d \in g} E_d}{\sum_d E_d}, \qquad
              r_g = \frac{\sum_{d \in g} R_d}{\sum_d R_d}

    with :math:`E_d` the exposure of item :math:`d` under the attention :math:`w_j = 1 /
    \log_2(1 + j)` and :math:`R_d` the number of users (rows of ``relevant``) for whom it is
    relevant (any stored non-zero). Singh and Joachims' disparate-treatment constraint holds when
    :attr:`GroupExposure.ratio` is the same (1) for every group.

    Parameters
    ----------
    recommended : numpy.ndarray
        ``(n_users, k)`` item indices, best first, ``-1`` for no item.
    relevant : scipy.sparse.csr_matrix
        ``(n_users, n_items)`` relevance of the same users.
    item_groups : numpy.ndarray
        ``(n_items,)`` group label per catalogue item (codes or strings).

    Returns
    -------
    GroupExposure
        Shares are NaN when nothing is listed (exposure) or nothing is relevant (relevance).
    """
    lists, matrix = as_inputs(recommended, relevant)
    labels, codes = group_codes(item_groups, matrix.shape[1])
    exposure, merit = group_exposure_kernel(lists, matrix, codes, len(labels))
    return GroupExposure(labels, exposure, merit)


def exposure_gap_kernel(
    lists: np.ndarray, relevant: sp.csr_matrix, codes: np.ndarray, n_groups: int
) -> float:
    """Exposure gap of checked inputs (see :func:`exposure_gap`)."""
    exposure, merit = group_exposure_kernel(lists, relevant, codes, n_groups)
    return float(0.5 * np.abs(exposure - merit).sum())


def exposure_gap(
    recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray, item_groups: np.ndarray
) -> float:
    r"""Total variation distance between the groups' exposure and relevance shares.

    .. math:: \mathrm{gap} = \tfrac12 \sum_g |e_g - r_g|

    (see :func:`group_exposure`); 0 when exposure follows relevance, at most 1. NaN when nothing
    is listed or nothing is relevant.
    """
    lists, matrix = as_inputs(recommended, relevant)
    labels, codes = group_codes(item_groups, matrix.shape[1])
    return exposure_gap_kernel(lists, matrix, codes, len(labels))


def _check_distinct(lists: np.ndarray) -> None:
    ordered = np.sort(lists, axis=1)
    if np.any((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)):
        raise MetricError(
            "a recommendation list holds the same item twice; expected exposure needs distinct "
            "items per list (drop the repeats)"
        )


def expected_exposure_kernel(
    lists: np.ndarray, relevant: sp.csr_matrix
) -> tuple[np.ndarray, np.ndarray]:
    """Per-user normalised EE-D and EE-R of checked inputs (see :func:`expected_exposure`)."""
    _check_distinct(lists)
    n_users, k = lists.shape
    n_items = relevant.shape[1]
    weights = position_weights(k)
    cumulative = np.concatenate([[0.0], np.cumsum(weights)])
    m = np.diff(relevant.indptr).astype(np.int64)
    top_relevant = cumulative[np.minimum(m, k)]  # S(1, m)
    rest = cumulative[k] - top_relevant  # S(m + 1, n): positions below the relevant ones
    per_relevant = np.divide(top_relevant, m, out=np.zeros(n_users), where=m > 0)
    n_other = n_items - m
    per_other = np.divide(rest, n_other, out=np.zeros(n_users), where=n_other > 0)
    target_norm = per_relevant * top_relevant + per_other * rest
    listed = lists >= 0
    position = np.where(listed, weights, 0.0)
    disparity = (position**2).sum(axis=1)
    rows = np.repeat(np.arange(n_users), np.diff(relevant.indptr))
    keys = rows.astype(np.int64) * n_items + relevant.indices
    listed_keys = np.arange(n_users, dtype=np.int64)[:, None] * n_items + np.where(listed, lists, 0)
    is_relevant = np.isin(listed_keys, keys) & listed
    on_relevant = np.where(is_relevant, position, 0.0).sum(axis=1)
    agreement = per_relevant * on_relevant + per_other * (position.sum(axis=1) - on_relevant)
    return disparity / target_norm, agreement / target_norm


def expected_exposure(
    recommended: np.ndarray, relevant: sp.spmatrix | sp.sparray
) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-user expected-exposure disparity and relevance (Diaz et al. 2020), normalised.

    .. math:: \mathrm{EE\text{-}D}_u = \frac{\lVert \varepsilon_u \rVert^2}
              {\lVert \varepsilon^*_u \rVert^2}, \qquad
              \mathrm{EE\text{-}R}_u = \frac{\varepsilon_u^{\top} \varepsilon^*_u}
              {\lVert \varepsilon^*_u \rVert^2}

    with :math:`\varepsilon_u` the exposure of user ``u``'s one deterministic list and
    :math:`\varepsilon^*_u` the target exposure of binary relevance (module docstring). In closed
    form, with :math:`m` relevant items, :math:`n` catalogue items, :math:`S_1 = S(1, m)` and
    :math:`S_2 = S(m + 1, n)`:

    .. math:: \lVert \varepsilon^*_u \rVert^2 = \frac{S_1^2}{m} + \frac{S_2^2}{n - m}, \quad
              \lVert \varepsilon_u \rVert^2 = \sum_{j \le |L_u|} w_j^2, \quad
              \varepsilon_u^{\top} \varepsilon^*_u = \frac{S_1}{m} \sum_{j:\,\mathrm{rel}} w_j
              + \frac{S_2}{n - m} \sum_{j:\,\mathrm{not\ rel}} w_j

    (a term is 0 when its count is 0). Lists must hold distinct items.

    Returns
    -------
    tuple of numpy.ndarray
        ``(n_users,)`` EE-D (lower spreads attention more evenly) and EE-R (1 is the best a
        policy can reach).
    """
    lists, matrix = as_inputs(recommended, relevant)
    return expected_exposure_kernel(lists, matrix)
