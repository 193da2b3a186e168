"""Fairness of exposure of a comparison: each item group's share of the exposure a variant's lists
give, against its share of the test users' relevant items (Singh & Joachims 2018).

The attention model and the shares are those of :func:`core.metrics.group_exposure`; the exposure
gap of a variant, half the summed absolute difference of the two shares, is the registered metric
``exposure_gap_<grouping>@k``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.metrics import MetricContext, group_exposure
from core.metrics.registry import grouping_problem

GROUPING = "grouping"
GROUP = "group"
VARIANT = "variant"
EXPOSURE_SHARE = "exposure_share"
RELEVANCE_SHARE = "relevance_share"
RATIO = "ratio"
FAIRNESS_COLUMNS = (GROUPING, GROUP, VARIANT, EXPOSURE_SHARE, RELEVANCE_SHARE, RATIO)


def exposure_table(
    lists: Mapping[str, np.ndarray],
    relevant: sp.spmatrix | sp.sparray,
    item_groups: Mapping[str, np.ndarray],
) -> pd.DataFrame:
    """Exposure share against relevance share of every item group, per grouping and variant.

    Parameters
    ----------
    lists : mapping of str to numpy.ndarray
        Variant name -> ``(n_users, k)`` item indices, best first, ``-1`` for no item.
    relevant : scipy.sparse.csr_matrix
        ``(n_users, n_items)`` test relevance of the same users, in the same row order.
    item_groups : mapping of str to numpy.ndarray
        Grouping name -> ``(n_items,)`` group label per item (``MetricContext.item_groups``).
        A grouping that gives fewer than two groups is left out: it has no disparity to show.

    Returns
    -------
    pandas.DataFrame
        Rows of :data:`FAIRNESS_COLUMNS`, one per grouping x variant x group: the group as text,
        its exposure and relevance shares and their ratio (1 when exposure follows relevance,
        NaN for a group without relevant items).
    """
    context = MetricContext(item_groups=item_groups)
    frames = []
    for grouping, groups in item_groups.items():
        if grouping_problem(context, grouping):
            continue
        for variant, served in lists.items():
            shares = group_exposure(served, relevant, groups)
            frames.append(
                pd.DataFrame(
                    {
                        GROUPING: grouping,
                        GROUP: shares.labels.astype(str),
                        VARIANT: variant,
                        EXPOSURE_SHARE: shares.exposure_share,
                        RELEVANCE_SHARE: shares.relevance_share,
                        RATIO: shares.ratio,
                    }
                )
            )
    if not frames:
        return pd.DataFrame({column: [] for column in FAIRNESS_COLUMNS})
    return pd.concat(frames, ignore_index=True)[list(FAIRNESS_COLUMNS)]


def exposure_gaps(table: pd.DataFrame, grouping: str) -> pd.Series:
    """Each variant's exposure gap by ``grouping`` from :func:`exposure_table`'s rows:
    ``0.5 * sum |exposure share - relevance share|`` over the groups, in the table's order."""
    rows = table[table[GROUPING] == grouping]
    difference = (rows[EXPOSURE_SHARE] - rows[RELEVANCE_SHARE]).abs()
    return 0.5 * difference.groupby(rows[VARIANT], sort=False).sum()
