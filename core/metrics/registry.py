"""Metrics by name: the registry behind ``"ndcg@10"``, and :func:`evaluate_lists`.

:func:`evaluate_lists` computes metrics by name (``"ndcg@10"``, ``"coverage@20"``; see
:data:`METRICS`) and builds the hit matrix once for all accuracy metrics.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from core.errors import MetricError
from core.metrics.accuracy import (
    HIT_METRICS,
    gains_from_hits,
    graded_ndcg_at_k,
    hit_positions,
    ideal_gains,
)
from core.metrics.beyond import (
    category_codes,
    category_diversity_kernel,
    coverage_kernel,
    exposure_gini_kernel,
    intra_list_diversity_kernel,
    long_tail_items,
    personalisation_kernel,
    self_information,
    unit_embeddings,
    user_coverage_kernel,
)
from core.metrics.exposure import (
    GROUPINGS,
    expected_exposure_kernel,
    exposure_gap_kernel,
    group_codes,
)
from core.metrics.lists import Listed, as_inputs, item_vector, list_mean, listed_entries


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
    item_groups : mapping of str to numpy.ndarray or None
        Grouping name of :data:`~core.metrics.exposure.GROUPINGS` -> ``(n_items,)`` group label
        per item (``exposure_gap_<grouping>``); a grouping the data lacks is left out.
    """

    item_popularity: np.ndarray | None = None
    n_users: int | None = None
    item_embeddings: np.ndarray | None = None
    item_categories: np.ndarray | None = None
    head_share: float = 0.8
    item_groups: Mapping[str, np.ndarray] | None = None


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
        self._listed: dict[int, Listed] = {}
        self._exposure: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def top(self, k: int) -> np.ndarray:
        return self.lists[:, :k]

    def listed(self, k: int) -> Listed:
        if k not in self._listed:
            self._listed[k] = listed_entries(self.top(k))
        return self._listed[k]

    @cached_property
    def hit_positions(self) -> tuple[np.ndarray, np.ndarray]:
        return hit_positions(self.accuracy_lists, self.relevant)

    @cached_property
    def hits(self) -> np.ndarray:
        hits = np.zeros(self.accuracy_lists.shape, dtype=bool)
        hits[self.hit_positions] = True
        return hits

    @cached_property
    def gains(self) -> np.ndarray:
        return gains_from_hits(self.accuracy_lists, self.relevant, *self.hit_positions)

    @cached_property
    def ideal(self) -> np.ndarray:
        return ideal_gains(self.relevant, self.accuracy_width)

    @cached_property
    def n_relevant(self) -> np.ndarray:
        return np.diff(self.relevant.indptr).astype(np.int64)

    @cached_property
    def popularity(self) -> np.ndarray:
        popularity = self.context.item_popularity
        return item_vector(popularity, "item_popularity", self.n_items).astype(np.float64)

    @cached_property
    def information(self) -> np.ndarray:
        return self_information(self.popularity, self.context.n_users)

    @cached_property
    def tail(self) -> np.ndarray:
        return long_tail_items(self.popularity, self.context.head_share).astype(np.float64)

    @cached_property
    def unit_embeddings(self) -> np.ndarray:
        unit = unit_embeddings(self.context.item_embeddings)
        if unit.shape[0] - 1 != self.n_items:
            raise MetricError(
                f"item_embeddings has {unit.shape[0] - 1} rows for a catalogue of "
                f"{self.n_items} items; give one vector per item"
            )
        return unit

    @cached_property
    def category_codes(self) -> np.ndarray:
        return category_codes(self.context.item_categories, self.n_items)

    def expected_exposure_at(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k not in self._exposure:
            top = self.top(k)
            # The target exposure depends on k: read positions past the lists as empty.
            top = np.pad(top, ((0, 0), (0, k - top.shape[1])), constant_values=-1)
            self._exposure[k] = expected_exposure_kernel(top, self.relevant)
        return self._exposure[k]

    def exposure_gap(self, grouping: str, k: int) -> float:
        problem = grouping_problem(self.context, grouping)
        if problem:
            raise MetricError(f"exposure_gap_{grouping}: {problem}")
        labels, codes = group_codes(self.context.item_groups[grouping], self.n_items)
        return exposure_gap_kernel(self.top(k), self.relevant, codes, len(labels))


@dataclass(frozen=True)
class MetricInfo:
    """A registered metric: what it measures, whether it is per user, what context it needs,
    and which way is better (``higher_is_better`` False: a smaller value is the better one)."""

    description: str
    per_user: bool
    requires: tuple[str, ...]
    compute: Callable[[_Evaluation, int], np.ndarray | float]
    higher_is_better: bool = True


def _on_hits(base: str, description: str) -> MetricInfo:
    """A binary accuracy metric of :data:`HIT_METRICS`, on the hit matrix built once a call."""
    kernel = HIT_METRICS[base]
    return MetricInfo(description, True, (), lambda run, k: kernel(run.hits, run.n_relevant, k))


def _list_average(description: str, requires: tuple[str, ...], values: str) -> MetricInfo:
    """A per-user mean, over each list, of the per-item array ``values`` of the evaluation."""
    return MetricInfo(
        description, True, requires, lambda run, k: list_mean(run.listed(k), getattr(run, values))
    )


def _catalogue(
    description: str, kernel: Callable[..., float], *, with_n_items: bool = False
) -> MetricInfo:
    """A catalogue-level metric of the listed entries (and of the catalogue size if it needs it)."""
    if with_n_items:
        return MetricInfo(description, False, (), lambda run, k: kernel(run.listed(k), run.n_items))
    return MetricInfo(description, False, (), lambda run, k: kernel(run.listed(k)))


def grouping_problem(context: MetricContext, grouping: str) -> str:
    """Why the exposure gap by ``grouping`` cannot be reported on ``context`` ("" when it can)."""
    groups = (context.item_groups or {}).get(grouping)
    if groups is None:
        return f"the catalogue gives no {grouping} to group items by"
    if np.unique(np.asarray(groups)).size < 2:
        return f"every item has the same {grouping}, so there is no gap between groups"
    return ""


def _exposure_gap(grouping: str) -> MetricInfo:
    return MetricInfo(
        f"half the summed |exposure share - relevance share| over item groups by {grouping} "
        "(attention 1/log2(1 + rank); 0 = exposure follows relevance)",
        False, ("item_groups",), lambda run, k: run.exposure_gap(grouping, k),
        higher_is_better=False,
    )  # fmt: skip


_POPULARITY = ("item_popularity",)

# The cut-offs every page reports unless told otherwise (Models, Fusion, A/B Compare), so that
# one model shows the same recall everywhere.
DEFAULT_RECALL_K = 20
DEFAULT_NDCG_K = 10
DEFAULT_RECALL = f"recall@{DEFAULT_RECALL_K}"
DEFAULT_NDCG = f"ndcg@{DEFAULT_NDCG_K}"


def metrics_at(bases: Sequence[str], k: int) -> list[str]:
    """Metric names of ``bases`` at one list length ``k``, plus recall at
    :data:`DEFAULT_RECALL_K` when recall is asked for at another ``k``, so every page reports
    the same recall (the Models and Fusion pages' Recall@20) beside its own."""
    names = [f"{base}@{k}" for base in bases]
    if "recall" in bases and DEFAULT_RECALL not in names:
        names.append(DEFAULT_RECALL)
    return names


METRICS: dict[str, MetricInfo] = {
    "precision": _on_hits("precision", "share of the top k that is relevant"),
    "recall": _on_hits("recall", "share of the relevant items found in the top k"),
    "ndcg": _on_hits("ndcg", "normalised discounted cumulative gain, binary relevance"),
    "graded_ndcg": MetricInfo(
        "normalised discounted cumulative gain, gain = relevance value", True, (),
        lambda run, k: graded_ndcg_at_k(run.gains, run.ideal, k),
    ),
    "map": _on_hits("map", "average precision, denominator min(|relevant|, k)"),
    "mrr": _on_hits("mrr", "reciprocal rank of the first hit in the top k"),
    "hit_rate": _on_hits("hit_rate", "1 if the top k holds a relevant item"),
    "coverage": _catalogue(
        "share of the catalogue shown to anyone", coverage_kernel, with_n_items=True
    ),
    "user_coverage": _catalogue(
        "share of users with at least one recommendation", user_coverage_kernel
    ),
    "ild": MetricInfo(
        "mean pairwise cosine distance of item embeddings in a list", True,
        ("item_embeddings",),
        lambda run, k: intra_list_diversity_kernel(
            run.top(k), run.listed(k).lengths, run.unit_embeddings
        ),
    ),
    "category_diversity": MetricInfo(
        "share of item pairs in a list from different categories", True,
        ("item_categories",),
        lambda run, k: category_diversity_kernel(run.top(k), run.category_codes),
    ),
    "novelty": _list_average(
        "mean self-information -log2(popularity / users) of the listed items",
        ("item_popularity", "n_users"), "information",
    ),
    "avg_popularity": replace(
        _list_average("mean popularity of the listed items", _POPULARITY, "popularity"),
        higher_is_better=False,
    ),
    "long_tail_share": _list_average(
        "share of the listed items outside the popular head", _POPULARITY, "tail"
    ),
    "gini": replace(
        _catalogue(
            "Gini coefficient of item exposure over the catalogue", exposure_gini_kernel,
            with_n_items=True,
        ),
        higher_is_better=False,
    ),
    "personalisation": _catalogue(
        "1 - mean cosine similarity between two users' lists", personalisation_kernel
    ),
    "ee_disparity": MetricInfo(
        "expected-exposure disparity |e|^2 / |e*|^2 (Diaz et al. 2020); lower spreads attention",
        True, (), lambda run, k: run.expected_exposure_at(k)[0], higher_is_better=False,
    ),
    "ee_relevance": MetricInfo(
        "expected-exposure relevance e.e* / |e*|^2 (Diaz et al. 2020); 1 is the best possible",
        True, (), lambda run, k: run.expected_exposure_at(k)[1],
    ),
    **{f"exposure_gap_{grouping}": _exposure_gap(grouping) for grouping in GROUPINGS},
}  # fmt: skip
"""Registered metrics by base name; ask for them as ``"<name>@<k>"``."""

_ACCURACY = frozenset({*HIT_METRICS, "graded_ndcg"})
# Beyond-accuracy metrics that read relevance as well as the lists.
READS_RELEVANCE = frozenset(
    {"ee_disparity", "ee_relevance", *(f"exposure_gap_{grouping}" for grouping in GROUPINGS)}
)
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


def higher_is_better(name: str) -> bool:
    """Whether a larger value of metric ``name`` (``"gini@10"``) is the better one."""
    return METRICS[parse_metric(name)[0]].higher_is_better


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
    lists, matrix = as_inputs(recommended, relevant)
    accuracy_k = [k for base, k in parsed.values() if base in _ACCURACY]
    run = _Evaluation(lists, matrix, context, max(accuracy_k, default=1))
    return {name: METRICS[base].compute(run, k) for name, (base, k) in parsed.items()}
