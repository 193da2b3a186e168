"""Top-k recommendation metrics: accuracy and beyond-accuracy, vectorised over all users.

Every metric reads recommendation lists as one array ``recommended`` of shape
``(n_users, k)``: item indices, best first, ``-1`` where a list has no more items. Relevance is a
``scipy.sparse.csr_matrix`` of shape ``(n_users, n_items)``; a stored non-zero marks a relevant
item and its value is the graded gain used by :func:`graded_ndcg_at_k`. Row ``u`` of both goes
with the same user.

* :mod:`core.metrics.accuracy`: hit and gain matrices, precision, recall, MRR, MAP, NDCG (and
  their cross-checks against sklearn and implicit).
* :mod:`core.metrics.beyond`: coverage, diversity, novelty, popularity, long tail, Gini,
  personalisation.
* :mod:`core.metrics.exposure`: fairness of exposure: group exposure against relevance
  (Singh & Joachims 2018), expected-exposure disparity and relevance (Diaz et al. 2020).
* :mod:`core.metrics.registry`: metrics by name (``"ndcg@10"``) and :func:`evaluate_lists`.
* :mod:`core.metrics.lists`: input checks and list helpers; :mod:`core.metrics.ranking`: top-k.
"""

from core.metrics.accuracy import (
    HIT_METRICS,
    average_precision_at_k,
    gain_matrix,
    graded_ndcg_at_k,
    hit_matrix,
    hit_rate_at_k,
    ideal_gains,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    reciprocal_rank_at_k,
    relevant_counts,
)
from core.metrics.beyond import (
    average_popularity,
    catalog_coverage,
    category_diversity,
    exposure_gini,
    intra_list_diversity,
    long_tail_items,
    long_tail_share,
    novelty,
    personalisation,
    user_coverage,
)
from core.metrics.exposure import (
    GROUPINGS,
    GroupExposure,
    expected_exposure,
    exposure_gap,
    group_exposure,
    item_exposure,
    position_weights,
)
from core.metrics.registry import METRICS, MetricContext, MetricInfo, evaluate_lists, parse_metric

__all__ = [
    "GROUPINGS",
    "HIT_METRICS",
    "METRICS",
    "GroupExposure",
    "MetricContext",
    "MetricInfo",
    "average_popularity",
    "average_precision_at_k",
    "catalog_coverage",
    "category_diversity",
    "evaluate_lists",
    "expected_exposure",
    "exposure_gap",
    "exposure_gini",
    "gain_matrix",
    "graded_ndcg_at_k",
    "group_exposure",
    "hit_matrix",
    "hit_rate_at_k",
    "ideal_gains",
    "intra_list_diversity",
    "item_exposure",
    "long_tail_items",
    "long_tail_share",
    "ndcg_at_k",
    "novelty",
    "parse_metric",
    "personalisation",
    "position_weights",
    "precision_at_k",
    "recall_at_k",
    "reciprocal_rank_at_k",
    "relevant_counts",
    "user_coverage",
]
