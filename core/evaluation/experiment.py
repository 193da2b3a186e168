"""Compare recommender variants on one split: metrics per segment, paired bootstrap, lift.

An experiment serves every variant's top-``k`` lists to the split's test users, scores them
with :mod:`core.metrics` and compares them with :func:`core.evaluation.stats.
paired_bootstrap`: all variants see the same users, so each user's difference between two
variants is one paired observation.

Segments
--------
``all``
    Every test user.
``cold_users``
    Test users with no training interaction.
``cold_items``
    Only the test items that have no training interaction count as relevant; users with at
    least one such item.
``activity_low`` / ``activity_mid`` / ``activity_high``
    Tertiles of the test users by their number of training interactions.
``long_tail``
    Only long-tail test items count as relevant (items outside the head that holds 80% of
    the training interactions); users with at least one such item.
``repeat`` / ``new``
    Only the test items the user already had in training (``repeat``: reorders, present when
    the split kept repeats) or only the others (``new`` to the user) count as relevant; users
    with at least one such item.

Per-user metrics get a mean, a percentile interval and, against the control, a paired
difference with its interval, relative lift and a paired t-test p-value (no floor, whatever the
number of resamples). P-values are Holm-adjusted within each family "one metric in one segment,
every treatment against the control". The primary metric (chosen by the user, the first metric by
default) is the confirmatory family; the others are adjusted the same way but read as exploratory.
Catalogue-level metrics (coverage, Gini, personalisation) are one number per variant and segment
and have no interval. A metric whose inputs are missing or uninformative (category diversity
without categories) is not reported: its rows carry the reason in ``not_available``.

Results are kept as a run of kind ``"experiment"`` (:func:`save_experiment`) and reopened with
:func:`load_experiment`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.checks import random_generator
from core.data.runs import EXPERIMENT_KIND
from core.data.splits import Split
from core.data.workspace import Workspace, atomic_write_bytes, atomic_write_json
from core.errors import ComparisonError
from core.evaluation.stats import (
    BOOTSTRAP_COLUMNS,
    MEAN,
    P_HOLM,
    VARIANT,
    paired_comparisons,
)
from core.metrics import (
    METRICS,
    MetricContext,
    evaluate_lists,
    long_tail_items,
    parse_metric,
)
from core.metrics.registry import DEFAULT_RECALL, grouping_problem
from core.models.base import ServedLists
from core.progress import ProgressCallback

SEGMENT = "segment"
METRIC = "metric"
N_USERS = "n_users"
SIGNIFICANT = "significant"
NOT_AVAILABLE = "not_available"
RESULT_COLUMNS: tuple[str, ...] = (
    SEGMENT, METRIC, N_USERS, *BOOTSTRAP_COLUMNS, SIGNIFICANT, NOT_AVAILABLE,
)  # fmt: skip
# Significance levels the page and report may mark (``*`` and ``**``), largest first.
SIGNIFICANCE_LEVELS: tuple[float, ...] = (0.05, 0.01)
# How p-values are computed; saved in the config. Experiments saved before had bootstrap ones.
P_TEST = "paired t-test"

SEGMENTS: tuple[str, ...] = (
    "all",
    "cold_users",
    "cold_items",
    "activity_low",
    "activity_mid",
    "activity_high",
    "long_tail",
    "repeat",
    "new",
)
DEFAULT_METRICS: tuple[str, ...] = (
    "ndcg@10",
    DEFAULT_RECALL,
    "precision@10",
    "map@10",
    "mrr@10",
    "hit_rate@10",
    "coverage@10",
    "category_diversity@10",
    "novelty@10",
    "long_tail_share@10",
    "avg_popularity@10",
    "gini@10",
    "personalisation@10",
)
# Metrics the page offers: every registered one but ``ild``, which needs item embeddings that
# an experiment over arbitrary models does not have.
METRIC_BASES: tuple[str, ...] = tuple(name for name in METRICS if name != "ild")
_TABLE_FILE = "results.parquet"
_LISTS_FILE = "lists.npz"
_CONFIG_FILE = "config.json"
_ONLINE_FILE = "online.parquet"
_FAIRNESS_FILE = "fairness.parquet"
_BATCH = 4096

Recommend = Callable[[np.ndarray, int], np.ndarray]
Serve = Callable[[np.ndarray, int], ServedLists]


@dataclass(frozen=True)
class Variant:
    """One thing to compare: a name and a function giving top-``k`` lists.

    ``recommend(user_idx, k)`` returns an ``(n, k)`` int array of item indices of the split's
    item index, best first, ``-1`` where there is no item; items seen in training must not be
    listed unless the split kept repeats (:attr:`Split.exclude_seen` False). ``serve``, when
    given, returns the same lists as :class:`~core.models.base.ServedLists`, whose cold-user
    fallback flags the experiment records (:attr:`ExperimentResult.fallback`). ``source`` says
    where the variant comes from (a model run, a fusion) for the record.
    """

    name: str
    recommend: Recommend
    source: dict[str, Any] = field(default_factory=dict)
    serve: Serve | None = None


@dataclass
class ExperimentResult:
    """A finished comparison.

    Attributes
    ----------
    table : pandas.DataFrame
        Tidy rows of :data:`RESULT_COLUMNS`: one per segment x metric x variant.
    lists : dict of str to numpy.ndarray
        Each variant's ``(n_users, k_max)`` lists for ``users``.
    users : numpy.ndarray
        Split user indices of the test users, in the row order of ``lists``.
    user_ids, item_ids : numpy.ndarray
        External ids of the split's user and item index.
    item_popularity : numpy.ndarray
        Training interactions per item (users who interacted).
    config : dict
        Variants, control, metrics, k, resamples, confidence, seed, split.
    online : pandas.DataFrame or None
        Simulated online A/B figures, when the data has a known ground truth.
    run_id : str or None
        Set once saved.
    fairness : pandas.DataFrame or None
        Exposure against relevance share per item group and variant
        (:func:`core.evaluation.fairness.exposure_table`); None when not computed.
    fallback : dict of str to numpy.ndarray
        Per variant that reports it, ``(n_users,)`` bool: the user's list is the labelled
        cold-user fallback, not the variant's own.
    """

    table: pd.DataFrame
    lists: dict[str, np.ndarray]
    users: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    item_popularity: np.ndarray
    config: dict[str, Any]
    online: pd.DataFrame | None = None
    run_id: str | None = None
    fairness: pd.DataFrame | None = None
    fallback: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def variants(self) -> list[str]:
        return list(self.lists)

    @property
    def control(self) -> str | None:
        return self.config.get("control")


# Segments -------------------------------------------------------------------------------------


def _item_popularity(split: Split) -> np.ndarray:
    train = split.train.matrix.tocsr()
    return np.bincount(train.indices, minlength=split.train.n_items).astype(np.int64)


def _keep_columns(relevant: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    """``relevant`` with the entries of columns outside ``keep`` removed."""
    coo = relevant.tocoo()
    mask = keep[coo.col]
    return sp.csr_matrix((coo.data[mask], (coo.row[mask], coo.col[mask])), shape=relevant.shape)


def _keep_entries(relevant: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    """``relevant`` with only the stored entries where ``keep`` (aligned with data) is True."""
    coo = relevant.tocoo()
    return sp.csr_matrix(
        (coo.data[keep], (coo.row[keep], coo.col[keep])), shape=relevant.shape
    ).tocsr()


def _in_training(split: Split, users: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Bool per stored entry of ``relevant`` (in ``tocoo`` order): the user's training
    history holds the item."""
    coo = relevant.tocoo()
    history = split.train.matrix.tocsr()[users]
    history.eliminate_zeros()
    width = np.int64(relevant.shape[1])
    history_rows = np.repeat(np.arange(users.size, dtype=np.int64), np.diff(history.indptr))
    history_keys = history_rows * width + history.indices
    return np.isin(coo.row.astype(np.int64) * width + coo.col, history_keys)


def segment_masks(
    split: Split, users: np.ndarray, relevant: sp.csr_matrix, long_tail: np.ndarray
) -> dict[str, tuple[np.ndarray, sp.csr_matrix]]:
    """For each segment: the users (bool over ``users``) and the relevance matrix to score.

    ``relevant`` is the test matrix of ``users`` (rows in the order of ``users``);
    ``long_tail`` a bool per item.
    """
    train_counts = np.diff(split.train.matrix.tocsr().indptr)[users]
    segments: dict[str, tuple[np.ndarray, sp.csr_matrix]] = {
        "all": (np.ones(users.size, dtype=bool), relevant),
        "cold_users": (split.cold_users[users], relevant),
    }
    for name, keep in (("cold_items", split.cold_items), ("long_tail", long_tail)):
        restricted = _keep_columns(relevant, keep)
        segments[name] = (np.diff(restricted.indptr) > 0, restricted)
    # Tertiles by rank, so ties (many users with one interaction) still split evenly.
    order = np.argsort(train_counts, kind="stable")
    tertile = np.empty(users.size, dtype=np.int64)
    tertile[order] = np.arange(users.size) * 3 // max(users.size, 1)
    for value, name in enumerate(("activity_low", "activity_mid", "activity_high")):
        segments[name] = (tertile == value, relevant)
    repeated = _in_training(split, users, relevant)
    for name, keep in (("repeat", repeated), ("new", ~repeated)):
        restricted = _keep_entries(relevant, keep)
        segments[name] = (np.diff(restricted.indptr) > 0, restricted)
    return {name: segments[name] for name in SEGMENTS}


# Running --------------------------------------------------------------------------------------


def _max_k(metrics: Sequence[str]) -> int:
    return max(parse_metric(name)[1] for name in metrics)


def _serve(
    variants: Sequence[Variant],
    users: np.ndarray,
    k: int,
    callback: ProgressCallback | None,
    total: int,
    fallback: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Each variant's lists; ``fallback`` gets the cold-user flags of variants reporting them."""
    lists: dict[str, np.ndarray] = {}
    step = 0
    for variant in variants:
        parts, flags = [], []
        for start in range(0, users.size, _BATCH):
            chunk = users[start : start + _BATCH]
            if variant.serve is not None:
                lists_served = variant.serve(chunk, k)
                flags.append(np.asarray(lists_served.fallback, dtype=bool))
                served = np.asarray(lists_served.items, dtype=np.int64)
            else:
                served = np.asarray(variant.recommend(chunk, k), dtype=np.int64)
            if served.shape[0] != chunk.size:
                raise ComparisonError(
                    f"variant {variant.name!r} returned {served.shape[0]} lists for "
                    f"{chunk.size} users"
                )
            if served.shape[1] < k:
                served = np.pad(served, ((0, 0), (0, k - served.shape[1])), constant_values=-1)
            parts.append(served[:, :k])
            step += 1
            if callback is not None:
                callback(step, total, f"serving {variant.name}: {start + chunk.size:,} users")
        lists[variant.name] = np.concatenate(parts) if parts else np.empty((0, k), dtype=np.int64)
        if flags:
            fallback[variant.name] = np.concatenate(flags)
    return lists


def _check_variants(variants: Sequence[Variant], control: str | None) -> None:
    names = [variant.name for variant in variants]
    if not names:
        raise ComparisonError("choose at least one variant to evaluate")
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise ComparisonError(f"variant names must differ; repeated: {', '.join(duplicated)}")
    if control is not None and control not in names:
        raise ComparisonError(f"control {control!r} is not one of the variants {names}")


def unavailable_metrics(metrics: Sequence[str], context: MetricContext) -> dict[str, str]:
    """Metrics of ``metrics`` that cannot be reported on this data, with the reason.

    A metric is not available when the context lacks what it needs, and category diversity also
    when the categories carry no information: every item in a category of its own (a catalogue
    without categories) or all items in one category. It would then be a constant of the list
    length, not of the recommendations.
    """
    reasons = {}
    for metric in metrics:
        base = parse_metric(metric)[0]
        missing = [need for need in METRICS[base].requires if getattr(context, need) is None]
        if missing:
            reasons[metric] = f"needs {' and '.join(missing)}, which this data does not have"
        elif base.startswith("exposure_gap_"):
            if problem := grouping_problem(context, base.removeprefix("exposure_gap_")):
                reasons[metric] = problem
        elif base == "category_diversity":
            categories = np.asarray(context.item_categories)
            distinct = np.unique(categories).size
            if distinct == categories.size:
                reasons[metric] = (
                    "no two items share a category (the catalogue has no categories), so every "
                    "full list scores the same"
                )
            elif distinct < 2:
                reasons[metric] = "every item has the same category, so every list scores 0"
    return reasons


def _empty_rows(metric: str, variants: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame({METRIC: metric, VARIANT: list(variants)})
    for column in BOOTSTRAP_COLUMNS[1:]:
        frame[column] = np.nan
    return frame


def _catalogue_rows(metric: str, values: dict[str, Any], control: str | None) -> pd.DataFrame:
    """A catalogue-level metric: one number per variant, a difference and lift, no interval."""
    frame = _empty_rows(metric, list(values))
    frame[MEAN] = [float(v) for v in values.values()]
    if control is not None:
        base = float(values[control])
        treated = frame[VARIANT] != control
        frame.loc[treated, "diff"] = frame.loc[treated, MEAN] - base
        if base != 0:
            frame.loc[treated, "lift"] = frame.loc[treated, "diff"] / base
    return frame


def _segment_rows(
    segment: str,
    per_variant: dict[str, dict[str, Any]],
    metrics: Sequence[str],
    control: str | None,
    n_users: int,
    n_resamples: int,
    confidence: float,
    rng: np.random.Generator,
    unavailable: Mapping[str, str],
) -> pd.DataFrame:
    """One segment's rows; per-user metrics share one set of bootstrap resamples, and Holm
    adjusts each metric's p-values across the treatments (its own family)."""
    names = list(per_variant)
    frames: dict[str, pd.DataFrame] = {}
    per_user = {}
    for metric in metrics:
        values = {name: result.get(metric) for name, result in per_variant.items()}
        if metric in unavailable or n_users == 0:
            frames[metric] = _empty_rows(metric, names)
        elif all(np.ndim(value) == 0 for value in values.values()):
            frames[metric] = _catalogue_rows(metric, values, control)
        else:
            per_user[metric] = values
    if per_user:
        compared = paired_comparisons(
            per_user,
            control=control,
            n_resamples=n_resamples,
            confidence=confidence,
            random_state=rng,
        )
        for metric, rows in compared.groupby(METRIC, sort=False):
            frames[metric] = rows
    table = pd.concat([frames[metric] for metric in metrics], ignore_index=True)
    table.insert(1, N_USERS, n_users)
    table.insert(0, SEGMENT, segment)
    table[NOT_AVAILABLE] = [unavailable.get(metric, "") for metric in table[METRIC]]
    return table


def run_experiment(
    split: Split,
    variants: Sequence[Variant],
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    control: str | None = None,
    segments: Sequence[str] = SEGMENTS,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    alpha: float = 0.05,
    primary_metric: str | None = None,
    context: MetricContext | None = None,
    random_state: int | np.random.Generator | None = 0,
    callback: ProgressCallback | None = None,
) -> ExperimentResult:
    """Serve each variant's lists to the split's test users and compare them per segment.

    Parameters
    ----------
    split : Split
        The split every variant was trained on (same user and item index).
    variants : sequence of Variant
        What to compare; names must differ.
    metrics : sequence of str
        Registry names such as ``"ndcg@10"``; lists are served at the largest ``k`` asked for.
    control : str, optional
        Variant the others are compared with (differences, lift, p-values).
    segments : sequence of str
        Names from :data:`SEGMENTS`.
    n_resamples, confidence : int, float
        Paired bootstrap resamples and interval coverage.
    alpha : float
        Level of the ``significant`` mark (Holm-adjusted p-value below ``alpha``).
    primary_metric : str, optional
        The metric the decision rests on (one of ``metrics``; the first by default).
    context : MetricContext, optional
        Item popularity, categories or embeddings for beyond-accuracy metrics; by default
        built from the split (popularity only).
    random_state : int, numpy.random.Generator or None
        Seed of the bootstrap.
    callback : callable, optional
        ``callback(step, total, info)``.

    Returns
    -------
    ExperimentResult
    """
    _check_variants(variants, control)
    metrics = list(metrics)
    if not metrics:
        raise ComparisonError("choose at least one metric")
    primary_metric = metrics[0] if primary_metric is None else primary_metric
    if primary_metric not in metrics:
        raise ComparisonError(
            f"the primary metric {primary_metric!r} is not one of the chosen metrics {metrics}"
        )
    unknown = sorted(set(segments) - set(SEGMENTS))
    if unknown:
        raise ComparisonError(f"unknown segment {unknown[0]!r}; use one of {', '.join(SEGMENTS)}")
    k = _max_k(metrics)
    users = np.asarray(split.test_users, dtype=np.int64)
    if users.size == 0:
        raise ComparisonError("the split has no test users; choose a larger test part")
    popularity = _item_popularity(split)
    if context is None:
        context = MetricContext(item_popularity=popularity, n_users=split.train.n_users)
    relevant = split.test.matrix.tocsr()[users]
    n_batches = -(-users.size // _BATCH)
    total = n_batches * len(variants) + len(segments)
    fallback: dict[str, np.ndarray] = {}
    lists = _serve(variants, users, k, callback, total, fallback)

    rng = random_generator(random_state)
    masks = segment_masks(split, users, relevant, long_tail_items(popularity))
    unavailable = unavailable_metrics(metrics, context)
    scored = [metric for metric in metrics if metric not in unavailable]
    tables = []
    for position, segment in enumerate(segments):
        chosen, segment_relevant = masks[segment]
        per_variant = {
            name: evaluate_lists(served[chosen], segment_relevant[chosen], scored, context)
            if scored
            else {}
            for name, served in lists.items()
        }
        tables.append(
            _segment_rows(
                segment,
                per_variant,
                metrics,
                control,
                int(chosen.sum()),
                n_resamples,
                confidence,
                rng,
                unavailable,
            )
        )
        if callback is not None:
            callback(n_batches * len(variants) + position + 1, total, f"scored {segment}")
    table = pd.concat(tables, ignore_index=True)
    table[SIGNIFICANT] = table[P_HOLM] < alpha
    config = {
        "variants": [{"name": v.name, **v.source} for v in variants],
        "control": control,
        "metrics": metrics,
        "segments": list(segments),
        "k": k,
        "n_resamples": n_resamples,
        "confidence": confidence,
        "alpha": alpha,
        "primary_metric": primary_metric,
        "p_test": P_TEST,
        "split": {"method": split.method, **split.params},
    }
    return ExperimentResult(
        table=table[list(RESULT_COLUMNS)],
        lists=lists,
        users=users,
        user_ids=np.asarray(split.train.user_ids),
        item_ids=np.asarray(split.train.item_ids),
        item_popularity=popularity,
        config=config,
        fallback=fallback,
    )


# Reading a result -----------------------------------------------------------------------------


def metric_table(result: ExperimentResult, segment: str = "all") -> pd.DataFrame:
    """Variant x metric means of one segment (variants in the experiment's order)."""
    rows = result.table[result.table[SEGMENT] == segment]
    wide = rows.pivot(index=VARIANT, columns=METRIC, values=MEAN)
    return wide.reindex(index=result.variants, columns=result.config["metrics"])


def coverage_curve(result: ExperimentResult, ks: Sequence[int] | None = None) -> pd.DataFrame:
    """Catalogue coverage of each variant's top-``k`` for each ``k``: variant, k, coverage."""
    k_max = next(iter(result.lists.values())).shape[1]
    ks = list(ks) if ks is not None else sorted({1, 2, 5, *range(10, k_max + 1, 10), k_max})
    n_items = result.item_ids.size
    rows = []
    for name, served in result.lists.items():
        for k in ks:
            top = served[:, : min(k, k_max)]
            distinct = np.unique(top[top >= 0]).size
            rows.append({VARIANT: name, "k": k, "coverage": distinct / n_items if n_items else 0})
    return pd.DataFrame(rows)


def popularity_profile(result: ExperimentResult, k: int = 10, n_bins: int = 10) -> pd.DataFrame:
    """Share of recommendations and of the catalogue in each popularity decile.

    Items are ranked by training popularity and cut into ``n_bins`` bins of equal item count
    (bin 1 holds the most popular items). Returns bin, variant (``"catalogue"`` for the
    catalogue itself) and share.
    """
    popularity = result.item_popularity
    n_items = popularity.size
    order = np.argsort(-popularity, kind="stable")
    bins = np.empty(n_items, dtype=np.int64)
    bins[order] = np.arange(n_items) * n_bins // max(n_items, 1)
    rows = [
        {"bin": b + 1, VARIANT: "catalogue", "share": float(np.mean(bins == b))}
        for b in range(n_bins)
    ]
    for name, served in result.lists.items():
        top = served[:, :k]
        listed = top[top >= 0]
        counts = np.bincount(bins[listed], minlength=n_bins) if listed.size else np.zeros(n_bins)
        shares = counts / max(listed.size, 1)
        rows.extend({"bin": b + 1, VARIANT: name, "share": float(shares[b])} for b in range(n_bins))
    return pd.DataFrame(rows)


# Keeping results ------------------------------------------------------------------------------


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def save_experiment(ws: Workspace, result: ExperimentResult, name: str) -> str:
    """Keep ``result`` as a run of kind ``"experiment"``; sets and returns ``result.run_id``."""

    def write(folder: Path) -> None:
        buffer = io.BytesIO()
        result.table.to_parquet(buffer, index=False)
        atomic_write_bytes(folder / _TABLE_FILE, buffer.getvalue())
        if result.online is not None:
            buffer = io.BytesIO()
            result.online.to_parquet(buffer, index=False)
            atomic_write_bytes(folder / _ONLINE_FILE, buffer.getvalue())
        if result.fairness is not None:
            buffer = io.BytesIO()
            result.fairness.to_parquet(buffer, index=False)
            atomic_write_bytes(folder / _FAIRNESS_FILE, buffer.getvalue())
        arrays = {f"list:{variant}": served for variant, served in result.lists.items()}
        arrays.update({f"fallback:{name}": flags for name, flags in result.fallback.items()})
        arrays.update(
            users=result.users,
            user_ids=np.asarray(result.user_ids, dtype=str),
            item_ids=np.asarray(result.item_ids, dtype=str),
            item_popularity=result.item_popularity,
        )
        atomic_write_bytes(folder / _LISTS_FILE, _npz_bytes(arrays))
        atomic_write_json(
            folder / _CONFIG_FILE, {**result.config, "variant_order": result.variants}
        )

    all_rows = result.table[result.table[SEGMENT] == "all"]
    headline = {
        f"{row.variant}:{row.metric}": row.mean
        for row in all_rows.itertuples(index=False)
        if np.isfinite(row.mean)
    }
    result.run_id = ws.record_run(EXPERIMENT_KIND, name, result.config, headline, write)
    return result.run_id


def list_experiments(ws: Workspace) -> pd.DataFrame:
    """Saved experiments, newest first: run_id, name, created_at, variants, control, k."""
    runs = ws.list_runs(kind=EXPERIMENT_KIND)
    rows = []
    for run in runs.itertuples(index=False):
        params = json.loads(run.params or "{}")
        rows.append(
            {
                "run_id": run.run_id,
                "name": run.name,
                "created_at": run.created_at,
                "variants": ", ".join(v["name"] for v in params.get("variants", [])),
                "control": params.get("control"),
                "k": params.get("k"),
            }
        )
    return pd.DataFrame(rows, columns=["run_id", "name", "created_at", "variants", "control", "k"])


def load_experiment(ws: Workspace, run_id: str) -> ExperimentResult:
    """Reopen a saved experiment."""
    if ws.run_row(run_id, kind=EXPERIMENT_KIND) is None:
        raise ComparisonError(f"no saved experiment {run_id!r} in workspace {ws.name!r}")
    folder = ws.runs_dir / run_id
    try:
        table = pd.read_parquet(folder / _TABLE_FILE)
        online_path = folder / _ONLINE_FILE
        online = pd.read_parquet(online_path) if online_path.is_file() else None
        fairness_path = folder / _FAIRNESS_FILE
        fairness = pd.read_parquet(fairness_path) if fairness_path.is_file() else None
        config = json.loads((folder / _CONFIG_FILE).read_text(encoding="utf-8"))
        with np.load(folder / _LISTS_FILE, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, KeyError) as error:
        raise ComparisonError(f"cannot read experiment {run_id!r}: {error}") from error
    order = config.pop("variant_order")
    if NOT_AVAILABLE not in table:
        table[NOT_AVAILABLE] = ""  # saved before metrics could be marked as not available
    return ExperimentResult(
        table=table,
        lists={name: arrays[f"list:{name}"] for name in order},
        users=arrays["users"],
        user_ids=arrays["user_ids"].astype(object),
        item_ids=arrays["item_ids"].astype(object),
        item_popularity=arrays["item_popularity"],
        config=config,
        online=online,
        run_id=run_id,
        fairness=fairness,
        fallback={
            name: arrays[f"fallback:{name}"] for name in order if f"fallback:{name}" in arrays
        },
    )


def delete_experiment(ws: Workspace, run_id: str) -> None:
    """Remove a saved experiment."""
    if ws.run_row(run_id, kind=EXPERIMENT_KIND) is None:
        raise ComparisonError(f"no saved experiment {run_id!r} in workspace {ws.name!r}")
    ws.delete_run(run_id)


def export_csv(result: ExperimentResult) -> bytes:
    """The tidy result table as UTF-8 CSV."""
    return result.table.to_csv(index=False).encode("utf-8")
