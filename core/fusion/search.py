"""Search for fixed fusion weights, and the Pareto front of two metrics.

Weights live on the simplex (non-negative, summing to 1: only their ratios matter). The
``grid`` strategy tries every point whose coordinates are multiples of ``step``; ``random``
draws from a Dirichlet distribution and adds the corners (each signal alone) and the centre
(equal weights), so the single signals are always in the sweep. Each point is scored on a
:class:`~core.fusion.prepared.PreparedFusion` (the slider path). The best point maximises
``metric`` among the points that meet every ``floors`` bound (e.g. a minimum coverage).

:func:`search_cold_weights` then chooses segment-aware weights: with the warm weights fixed, a
second vector for the cold candidates (see :mod:`core.fusion.methods`), over the simplex of the
signals that score cold items plus one share for those that cannot (how far cold items are
discounted). Its best point maximises ``metric`` among the points whose cold-item ``metric``
reaches ``cold_floor`` (e.g. the best content model's, on the same validation users).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from core.checks import random_generator
from core.errors import FusionError
from core.fusion.methods import check_method
from core.fusion.prepared import PreparedFusion, parse_fusion_metric
from core.progress import ProgressCallback

STRATEGIES = ("grid", "random")
WEIGHT_PREFIX = "weight_"
COLD_WEIGHT_PREFIX = "cold_weight_"
COLD_PREFIX = "cold:"
FEASIBLE = "feasible"


@dataclass(frozen=True)
class WeightSearch:
    """The sweep of a weight search and its best point.

    Attributes
    ----------
    sweep : pandas.DataFrame
        One row per weight vector tried: ``weight_<signal>`` columns, one column per metric
        and ``feasible`` (every floor met).
    best_weights : dict or None
        Signal -> weight of the best feasible row; None when no row meets the floors.
    best_metrics : dict or None
        Metrics of that row.
    metric : str
        The metric maximised.
    """

    sweep: pd.DataFrame
    best_weights: dict[str, float] | None
    best_metrics: dict[str, float] | None
    metric: str


def simplex_grid(n_signals: int, step: float = 0.1) -> np.ndarray:
    """Every weight vector of ``n_signals`` non-negative multiples of ``step`` summing to 1.

    ``1 / step`` must be a whole number. There are ``C(1/step + s - 1, s - 1)`` of them
    (286 for 4 signals at step 0.1). Rows are in lexicographic order, largest first weight
    first.
    """
    if n_signals < 1:
        raise FusionError("the grid needs at least one signal")
    parts = round(1 / step) if step > 0 else 0
    if parts < 1 or not np.isclose(parts * step, 1):
        raise FusionError(f"step must divide 1 into whole parts (0.1, 0.05, 0.25), not {step!r}")
    # Stars and bars: choose the s - 1 bar positions among parts + s - 1 slots.
    slots = parts + n_signals - 1
    rows = []
    for bars in combinations(range(slots), n_signals - 1):
        edges = np.array([-1, *bars, slots])
        rows.append(np.diff(edges) - 1)
    grid = np.array(rows, dtype=np.float64).reshape(-1, n_signals) / parts
    return grid[np.lexsort(grid.T[::-1])[::-1]]


def dirichlet_weights(
    n_signals: int,
    n_samples: int,
    *,
    concentration: float = 1.0,
    random_state: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """The ``n_signals`` corners, the centre, then ``n_samples`` Dirichlet draws."""
    if n_signals < 1 or n_samples < 0 or not concentration > 0:
        raise FusionError("need n_signals >= 1, n_samples >= 0 and concentration > 0")
    rng = random_generator(random_state)
    draws = rng.dirichlet(np.full(n_signals, float(concentration)), size=n_samples)
    centre = np.full((1, n_signals), 1.0 / n_signals)
    return np.vstack([np.eye(n_signals), centre, draws.reshape(-1, n_signals)])


def search_weights(
    prepared: PreparedFusion,
    *,
    method: str = "weighted",
    strategy: str = "grid",
    step: float = 0.1,
    n_samples: int = 200,
    metric: str = "ndcg@10",
    metrics: Sequence[str] = ("recall@20", "coverage@10"),
    floors: Mapping[str, float] | None = None,
    random_state: int | np.random.Generator | None = 0,
    callback: ProgressCallback | None = None,
) -> WeightSearch:
    """Try weight vectors on ``prepared`` and keep the one that maximises ``metric``.

    Parameters
    ----------
    prepared : PreparedFusion
        Candidates with validation relevance.
    method : str
        Fusion rule (``weighted``, ``rrf`` or ``combmnz``).
    strategy : str
        ``"grid"`` (:func:`simplex_grid` with ``step``) or ``"random"``
        (:func:`dirichlet_weights` with ``n_samples``).
    metric : str
        Metric to maximise.
    metrics : sequence of str
        Further metrics to record (for trade-off plots); the floors' metrics are added.
    floors : mapping, optional
        Metric -> smallest acceptable value, e.g. ``{"coverage@10": 0.2}``.
    random_state : int, numpy.random.Generator or None
        Seed of the random strategy.
    callback : callable, optional
        ``callback(step, total, info)`` after each weight vector.

    Returns
    -------
    WeightSearch
    """
    check_method(method)
    floors = dict(floors or {})
    recorded = list(dict.fromkeys([metric, *metrics, *floors]))
    for name in recorded:
        parse_fusion_metric(name)
    n_signals = prepared.candidates.n_signals
    if strategy == "grid":
        candidates = simplex_grid(n_signals, step)
    elif strategy == "random":
        candidates = dirichlet_weights(n_signals, n_samples, random_state=random_state)
    else:
        raise FusionError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    rows = []
    for index, weights in enumerate(candidates):
        rows.append(prepared.evaluate(weights, method, recorded))
        if callback is not None:
            callback(index + 1, len(candidates), f"weights {index + 1} of {len(candidates)}")
    names = [f"{WEIGHT_PREFIX}{name}" for name in prepared.candidates.signal_names]
    sweep = pd.concat(
        [pd.DataFrame(candidates, columns=names), pd.DataFrame(rows, columns=recorded)], axis=1
    )
    feasible = np.ones(len(sweep), dtype=bool)
    for name, bound in floors.items():
        feasible &= sweep[name].to_numpy() >= bound
    sweep[FEASIBLE] = feasible
    if not feasible.any():
        return WeightSearch(sweep, None, None, metric)
    # First best row on ties: the grid lists heavier first signals first.
    best = int(np.flatnonzero(feasible)[np.argmax(sweep[metric].to_numpy()[feasible])])
    best_weights = {
        name: float(sweep.at[best, f"{WEIGHT_PREFIX}{name}"])
        for name in prepared.candidates.signal_names
    }
    best_metrics = {name: float(sweep.at[best, name]) for name in recorded}
    return WeightSearch(sweep, best_weights, best_metrics, metric)


@dataclass(frozen=True)
class ColdWeightSearch:
    """The sweep of a cold-candidate weight search and its best point.

    Attributes
    ----------
    sweep : pandas.DataFrame
        One row per cold weight vector: ``cold_weight_<signal>`` columns, ``metric`` over
        every user, ``cold:<metric>`` over the users with cold relevant items, ``feasible``.
    weights : dict
        The fixed weights of the warm candidates.
    best_cold_weights : dict or None
        Signal -> cold weight of the best feasible row; None when no row reaches the floor.
    best_metrics : dict or None
        ``metric`` and ``cold:<metric>`` of that row.
    metric : str
    """

    sweep: pd.DataFrame
    weights: dict[str, float]
    best_cold_weights: dict[str, float] | None
    best_metrics: dict[str, float] | None
    metric: str


def cold_weight_grid(capable: np.ndarray, step: float = 0.05) -> np.ndarray:
    """Cold weight vectors: the simplex over the ``capable`` signals and one more share.

    ``capable`` (bool per signal) marks the signals that can score cold items; the extra share
    is spread evenly over the others (it discounts cold candidates, which are fused without
    renormalisation). Without such signals the grid is the simplex over the capable ones.
    """
    capable = np.asarray(capable, dtype=bool)
    if not capable.any():
        raise FusionError("no signal scores cold items: give a content model to fuse")
    others = ~capable
    parts = simplex_grid(int(capable.sum()) + int(others.any()), step)
    grid = np.zeros((len(parts), capable.size))
    grid[:, capable] = parts[:, : capable.sum()]
    if others.any():
        grid[:, others] = parts[:, -1:] / others.sum()
    return grid


def search_cold_weights(
    prepared: PreparedFusion,
    weights: Mapping[str, float] | Sequence[float],
    cold_items: np.ndarray,
    *,
    method: str = "weighted",
    step: float = 0.05,
    metric: str = "ndcg@10",
    cold_floor: float | None = None,
    callback: ProgressCallback | None = None,
) -> ColdWeightSearch:
    """Choose the cold candidates' weights with the warm ``weights`` fixed (segment-aware).

    Parameters
    ----------
    prepared : PreparedFusion
        Candidates with validation relevance.
    weights : mapping or sequence
        The warm candidates' weights (e.g. :attr:`WeightSearch.best_weights`).
    cold_items : numpy.ndarray
        ``(n_items,)`` bool: the item has no training interaction (the cold-item segment).
    method, step, metric : str, float, str
        Fusion rule, grid step (:func:`cold_weight_grid`), metric to maximise.
    cold_floor : float, optional
        Smallest acceptable ``metric`` on cold items (e.g. the best content model's on the
        same users); None accepts every point.
    callback : callable, optional
        ``callback(step, total, info)`` after each weight vector.
    """
    check_method(method)
    names = prepared.candidates.signal_names
    if isinstance(weights, Mapping):
        weights = [float(weights[name]) for name in names]
    warm = np.asarray(weights, dtype=np.float32)
    candidates = prepared.candidates
    capable = (candidates.present & candidates.cold[None]).any(axis=(1, 2))
    grid = cold_weight_grid(capable, step)
    cold_metric = f"{COLD_PREFIX}{metric}"
    rows = []
    for index, cold_weights in enumerate(grid):
        overall = prepared.evaluate(warm, method, (metric,), cold_weights)[metric]
        cold = prepared.cold_item_values(warm, method, metric, cold_items, cold_weights)
        rows.append({metric: overall, cold_metric: float(np.mean(cold)) if cold.size else 0.0})
        if callback is not None:
            callback(index + 1, len(grid), f"cold weights {index + 1} of {len(grid)}")
    columns = [f"{COLD_WEIGHT_PREFIX}{name}" for name in names]
    sweep = pd.concat([pd.DataFrame(grid, columns=columns), pd.DataFrame(rows)], axis=1)
    feasible = np.ones(len(sweep), dtype=bool)
    if cold_floor is not None:
        feasible = sweep[cold_metric].to_numpy() >= cold_floor
    sweep[FEASIBLE] = feasible
    warm_weights = {name: float(value) for name, value in zip(names, warm, strict=True)}
    if not feasible.any():
        return ColdWeightSearch(sweep, warm_weights, None, None, metric)
    best = int(np.flatnonzero(feasible)[np.argmax(sweep[metric].to_numpy()[feasible])])
    best_cold = {name: float(grid[best, i]) for i, name in enumerate(names)}
    best_metrics = {
        metric: float(sweep.at[best, metric]),
        cold_metric: float(sweep.at[best, cold_metric]),
    }
    return ColdWeightSearch(sweep, warm_weights, best_cold, best_metrics, metric)


def pareto_front(
    frame: pd.DataFrame, x: str, y: str, *, maximise: tuple[bool, bool] = (True, True)
) -> pd.DataFrame:
    """Rows of ``frame`` that no other row beats on both ``x`` and ``y``, sorted by ``x``.

    A row is dominated when another is at least as good on both columns and better on one
    (better = larger, or smaller where ``maximise`` says False). Rows with equal values are
    all kept. The original index is kept.
    """
    for column in (x, y):
        if column not in frame.columns:
            raise FusionError(f"no column {column!r}; the frame has {', '.join(frame.columns)}")
    xs = frame[x].to_numpy(dtype=np.float64) * (1 if maximise[0] else -1)
    ys = frame[y].to_numpy(dtype=np.float64) * (1 if maximise[1] else -1)
    # Best x first (best y first within a tie): a row survives when its y beats every row
    # of strictly better x and equals the best y of its own x.
    order = np.lexsort((-ys, -xs))
    sorted_x, sorted_y = xs[order], ys[order]
    new_x = np.ones(len(order), dtype=bool)
    new_x[1:] = sorted_x[1:] != sorted_x[:-1]
    group = np.cumsum(new_x) - 1
    group_best = sorted_y[new_x]
    before = np.concatenate([[-np.inf], np.maximum.accumulate(group_best)[:-1]])
    keep = (sorted_y == group_best[group]) & (sorted_y > before[group])
    kept = order[keep]
    return frame.iloc[kept[np.argsort(frame[x].to_numpy()[kept], kind="stable")]]
