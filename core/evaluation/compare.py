"""Experiments on a workspace: variants from trained models, the metric context, online A/B.

Every variant of one experiment must rank over the same split: the same data fingerprint and
the same cut-off times. :func:`model_variants` checks this and rebuilds the split once.
:func:`compare_models` runs the whole comparison and keeps it as a run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.data.splits import Split
from core.data.workspace import Workspace
from core.errors import ComparisonError, ModelError
from core.evaluation import online
from core.evaluation.experiment import (
    DEFAULT_METRICS,
    SEGMENTS,
    ExperimentResult,
    Variant,
    run_experiment,
    save_experiment,
)
from core.evaluation.fairness import exposure_table
from core.metrics import MetricContext
from core.models.base import Recommender, ServedLists
from core.models.runs import split_signature, trained_models
from core.progress import ProgressCallback
from core.schema import BRAND, CATALOG_TABLE, CATEGORY, FIRST_SEEN, ITEM_ID, PRICE

# Price bands of the fairness groupings: quantile bins of the catalogue's prices.
PRICE_BANDS = 4
# An item is new when first seen within this many days before the end of training.
NEW_ITEM_DAYS = 30


def model_variant(
    model: Recommender, name: str, run_id: str | None = None, *, exclude_seen: bool = True
) -> Variant:
    """A variant listing ``model``'s top-``k``, training items excluded when ``exclude_seen``
    (the split's :attr:`~core.data.splits.Split.exclude_seen`).

    Users without training history get the labelled popularity fallback where the model cannot
    rank them (:meth:`~core.models.base.Recommender.serve`), not an empty list.
    """

    def serve(user_idx: np.ndarray, k: int) -> ServedLists:
        return model.serve(user_idx, k, exclude_seen=exclude_seen)

    source = {"kind": "model", "model": model.name}
    if run_id is not None:
        source["run_id"] = run_id
    return Variant(name, lambda users, k: serve(users, k).items, source, serve)


def model_variants(ws: Workspace, run_ids: Sequence[str]) -> tuple[Split, list[Variant]]:
    """The shared split of trained models ``run_ids`` and a variant per model.

    Variant names are the runs' names, made unique with the run id where two runs share one.

    Raises
    ------
    ComparisonError
        No run given, or the runs were trained on different data or different splits.
    """
    try:
        split, models = trained_models(ws, run_ids)
    except ModelError as error:
        raise ComparisonError(str(error)) from error
    variants = [
        model_variant(model, name, run_id, exclude_seen=split.exclude_seen)
        for (name, model), run_id in zip(models.items(), run_ids, strict=True)
    ]
    return split, variants


def _catalog(ws: Workspace) -> pd.DataFrame | None:
    return ws.read_table(CATALOG_TABLE) if ws.table_exists(CATALOG_TABLE) else None


def item_groups(split: Split, catalog: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Item groups of the fairness metrics, one label per item of the split's item index.

    ``brand``: the catalogue brand; ``category``: the top level of the category path;
    ``price``: quantile band of the price (:data:`PRICE_BANDS` bands); ``newness``: ``new`` when
    the item was first seen (catalogue ``first_seen``, else its earliest training interaction)
    within :data:`NEW_ITEM_DAYS` days before the end of training, or never in training,
    ``established`` otherwise. Items without a value get a ``(no brand)``-style label; a
    grouping the data cannot give is left out.
    """
    ids = pd.Index(split.train.item_ids, dtype=str)
    rows = None
    if catalog is not None:
        rows = catalog.set_index(catalog[ITEM_ID].astype(str))
        rows = rows[~rows.index.duplicated()].reindex(ids)
    groups: dict[str, np.ndarray] = {}
    if rows is not None and BRAND in rows and rows[BRAND].notna().any():
        brand = rows[BRAND].astype("string").str.strip()
        groups["brand"] = brand.fillna("(no brand)").to_numpy(dtype=object)
    if rows is not None and CATEGORY in rows and rows[CATEGORY].notna().any():
        top = rows[CATEGORY].astype("string").str.split(">").str[0].str.strip()
        groups["category"] = top.fillna("(no category)").to_numpy(dtype=object)
    if rows is not None and PRICE in rows:
        price = pd.to_numeric(rows[PRICE], errors="coerce")
        if price.notna().any():
            bands = pd.qcut(price, PRICE_BANDS, duplicates="drop")
            labels = bands.astype("string").radd("price ").fillna("(no price)")
            groups["price"] = labels.to_numpy(dtype=object)
    train = split.train
    coo = train.matrix.tocoo()
    seen = pd.Series(pd.NaT, index=range(train.n_items), dtype="datetime64[s]")
    if coo.nnz:
        # Each entry's time is the user's latest event with the item; the earliest of them is the
        # closest the interactions come to the item's first one.
        frame = pd.DataFrame({"item": train.matrix.indices, "ts": train.last_ts})
        seen = frame.groupby("item")["ts"].min().reindex(range(train.n_items))
    if rows is not None and FIRST_SEEN in rows:
        listed = pd.to_datetime(rows[FIRST_SEEN], errors="coerce", utc=True).dt.tz_localize(None)
        seen = pd.Series(listed.to_numpy(), index=seen.index).fillna(seen)
    end = pd.Series(train.last_ts).max()
    if pd.notna(end):
        new = ~(seen < end - pd.Timedelta(days=NEW_ITEM_DAYS)).to_numpy()
        groups["newness"] = np.where(new, "new", "established").astype(object)
    return groups


def metric_context(split: Split, catalog: pd.DataFrame | None) -> MetricContext:
    """Training popularity, user count and item categories aligned to the split's items.

    The category is the catalogue's second level (``Top > Sub``) where paths have one, so
    that two pans of different brands count as the same kind of thing; items without a
    category get a code of their own each.
    """
    train = split.train.matrix.tocsr()
    popularity = np.bincount(train.indices, minlength=split.train.n_items).astype(np.int64)
    categories = None
    if catalog is not None and CATEGORY in catalog.columns:
        path = catalog.set_index(catalog[ITEM_ID].astype(str))[CATEGORY]
        path = path[~path.index.duplicated()].reindex(pd.Index(split.train.item_ids, dtype=str))
        level = path.astype("string").str.split(">").str[:2].str.join(">").str.strip()
        codes, _ = pd.factorize(level, use_na_sentinel=True)
        missing = codes < 0
        codes[missing] = codes.max(initial=-1) + 1 + np.arange(int(missing.sum()))
        categories = codes.astype(np.int64)
    return MetricContext(
        item_popularity=popularity,
        n_users=split.train.n_users,
        item_categories=categories,
        item_groups=item_groups(split, catalog),
    )


def simulated_online(
    result: ExperimentResult, catalog: pd.DataFrame | None, *, random_state: int = 0
) -> pd.DataFrame | None:
    """The simulated online A/B table of ``result`` when its data is the sample world."""
    if catalog is None:
        return None
    try:
        truth = online.load_ground_truth()
    except ComparisonError:
        return None
    user_ids = np.asarray(result.user_ids)[result.users].astype(str)
    if not online.is_sample_world(user_ids, catalog, truth):
        return None
    simulated = online.simulate_online_ab(
        result.lists,
        user_ids,
        np.asarray(result.item_ids).astype(str),
        truth.users,
        truth.catalog,
        control=result.control,
        n_resamples=result.config["n_resamples"],
        confidence=result.config["confidence"],
        random_state=random_state,
    )
    return simulated.summary


def fusion_variant(ws: Workspace, run_id: str) -> tuple[Split, Variant]:
    """A saved fused variant (:mod:`core.fusion.runs`) and the split of its models."""
    from core.fusion.runs import fusion_signals, load_fusion, serve_fused

    name, config, gate = load_fusion(ws, run_id)
    signals = fusion_signals(ws, config.run_ids)

    def serve(user_idx: np.ndarray, k: int) -> ServedLists:
        return serve_fused(signals.models, config, gate, signals.split, user_idx, k)

    source = {"kind": "fusion", "run_id": run_id, "description": config.describe()}
    variant = Variant(name, lambda users, k: serve(users, k).items, source, serve)
    return signals.split, variant


def workspace_variants(
    ws: Workspace, model_run_ids: Sequence[str], fusion_run_ids: Sequence[str] = ()
) -> tuple[Split, list[Variant]]:
    """Variants for trained models and saved fusions that all rank over one split.

    Raises
    ------
    ComparisonError
        Nothing chosen, or the models (those fused included) were trained on different data
        or splits.
    """
    from core.fusion.runs import load_fusion

    if not model_run_ids and not fusion_run_ids:
        raise ComparisonError("choose at least one trained model or saved fusion")
    underlying = list(model_run_ids)
    for run_id in fusion_run_ids:
        underlying.extend(load_fusion(ws, run_id)[1].run_ids)
    if len({split_signature(ws, run_id) for run_id in underlying}) > 1:
        raise ComparisonError(
            "the chosen variants rank over models trained on different data or splits; "
            "retrain them on the current data with the same split settings"
        )
    variants: list[Variant] = []
    split = None
    if model_run_ids:
        split, variants = model_variants(ws, model_run_ids)
    for run_id in fusion_run_ids:
        fusion_split, variant = fusion_variant(ws, run_id)
        split = split or fusion_split
        taken = {v.name for v in variants}
        if variant.name in taken:
            variant = dataclasses.replace(variant, name=f"{variant.name} ({run_id[-8:]})")
        variants.append(variant)
    return split, variants


def compare_models(
    ws: Workspace,
    run_ids: Sequence[str],
    *,
    name: str,
    control: str | None = None,
    fusion_run_ids: Sequence[str] = (),
    metrics: Sequence[str] = DEFAULT_METRICS,
    primary_metric: str | None = None,
    segments: Sequence[str] = SEGMENTS,
    n_resamples: int = 1000,
    random_state: int = 0,
    callback: ProgressCallback | None = None,
) -> ExperimentResult:
    """Compare trained models and saved fusions on their shared split and keep the result.

    ``control`` is one of the run ids; ``primary_metric`` one of ``metrics`` (the first by
    default), the metric the verdict rests on. The simulated online A/B is added when the data
    is the sample world, and the exposure of item groups against their relevance
    (:func:`core.evaluation.fairness.exposure_table`). Returns the saved result.
    """
    split, variants = workspace_variants(ws, run_ids, fusion_run_ids)
    control_name: Any = None
    if control is not None:
        by_run = {v.source.get("run_id"): v.name for v in variants}
        if control not in by_run:
            raise ComparisonError(f"the control {control!r} is not one of the chosen variants")
        control_name = by_run[control]
    catalog = _catalog(ws)
    context = metric_context(split, catalog)
    result = run_experiment(
        split,
        variants,
        metrics=metrics,
        primary_metric=primary_metric,
        control=control_name,
        segments=segments,
        n_resamples=n_resamples,
        context=context,
        random_state=random_state,
        callback=callback,
    )
    result.online = simulated_online(result, catalog, random_state=random_state)
    relevant = split.test.matrix.tocsr()[result.users]
    result.fairness = exposure_table(result.lists, relevant, context.item_groups or {})
    save_experiment(ws, result, name)
    return result


def agreement_text(agreement: dict[str, Any], offline_metric: str) -> str:
    """One sentence on whether ``offline_metric`` and the simulated clicks rank variants alike."""
    rho = agreement["spearman"]
    rank = "undefined (ties)" if not np.isfinite(rho) else f"{rho:+.2f}"
    if agreement["winner_agrees"]:
        verdict = f"both pick {agreement['offline_winner']} as the best variant"
    else:
        verdict = (
            f"they disagree on the best variant: {agreement['offline_winner']} offline, "
            f"{agreement['online_winner']} online"
        )
    return (
        f"Offline {offline_metric} and simulated click-through rank the "
        f"{agreement['n_variants']} variants with a Spearman correlation of {rank}; {verdict}."
    )
