"""Experiments on a workspace: variants from trained models, the metric context, online A/B.

Every variant of one experiment must rank over the same split: the same data fingerprint and
the same cut-off times. :func:`model_variants` checks this and rebuilds the split once.
:func:`compare_models` runs the whole comparison and keeps it as a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.evaluation import online
from core.evaluation.experiment import (
    DEFAULT_METRICS,
    SEGMENTS,
    ExperimentResult,
    Variant,
    run_experiment,
    save_experiment,
)
from core.evaluation.metrics import MetricContext
from core.evaluation.stats import ComparisonError
from core.interactions import Split
from core.models.base import Recommender
from core.progress import ProgressCallback
from core.schema import CATALOG_TABLE, CATEGORY, ITEM_ID
from core.training import load_model, run_info, run_split
from core.workspace import Workspace

_SPLIT_KEYS = ("cutoff", "valid_cutoff", "weights", "half_life_days")


def model_variant(model: Recommender, name: str, run_id: str | None = None) -> Variant:
    """A variant listing ``model``'s top-``k`` with training items excluded."""

    def recommend(user_idx: np.ndarray, k: int) -> np.ndarray:
        return model.recommend(user_idx, k, exclude_seen=True)[0]

    source = {"kind": "model", "model": model.name}
    if run_id is not None:
        source["run_id"] = run_id
    return Variant(name=name, recommend=recommend, source=source)


def _split_signature(info: dict) -> tuple:
    split = info["params"].get("split", {})
    return (
        info["params"].get("data_fingerprint"),
        *(str(split.get(key)) for key in _SPLIT_KEYS),
    )


def model_variants(ws: Workspace, run_ids: Sequence[str]) -> tuple[Split, list[Variant]]:
    """The shared split of trained models ``run_ids`` and a variant per model.

    Variant names are the runs' names, made unique with the run id where two runs share one.

    Raises
    ------
    ComparisonError
        No run given, or the runs were trained on different data or different splits.
    """
    if not run_ids:
        raise ComparisonError("choose at least one trained model")
    infos = [run_info(ws, run_id) for run_id in run_ids]
    signatures = {_split_signature(info) for info in infos}
    if len(signatures) > 1:
        raise ComparisonError(
            "the chosen models were trained on different data or splits; retrain them on the "
            "current data with the same split settings, or compare them separately"
        )
    names = [info["name"] for info in infos]
    split = run_split(ws, run_ids[0])
    variants = []
    for info in infos:
        name = info["name"]
        if names.count(name) > 1:
            name = f"{name} ({info['run_id'][-8:]})"
        variants.append(model_variant(load_model(ws, info["run_id"]), name, info["run_id"]))
    return split, variants


def _catalog(ws: Workspace) -> pd.DataFrame | None:
    return ws.read_table(CATALOG_TABLE) if ws.table_exists(CATALOG_TABLE) else None


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
        item_popularity=popularity, n_users=split.train.n_users, item_categories=categories
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


def compare_models(
    ws: Workspace,
    run_ids: Sequence[str],
    *,
    name: str,
    control: str | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
    segments: Sequence[str] = SEGMENTS,
    n_resamples: int = 1000,
    random_state: int = 0,
    extra_variants: Sequence[Variant] = (),
    callback: ProgressCallback | None = None,
) -> ExperimentResult:
    """Compare trained models (and ``extra_variants`` on the same split) and keep the result.

    ``control`` is a run id of ``run_ids`` or the name of an extra variant. The simulated
    online A/B is added when the data is the sample world. Returns the saved result.
    """
    split, variants = model_variants(ws, run_ids)
    variants = [*variants, *extra_variants]
    control_name: Any = None
    if control is not None:
        by_run = {v.source.get("run_id"): v.name for v in variants if v.source.get("run_id")}
        control_name = by_run.get(control, control)
    catalog = _catalog(ws)
    result = run_experiment(
        split,
        variants,
        metrics=metrics,
        control=control_name,
        segments=segments,
        n_resamples=n_resamples,
        context=metric_context(split, catalog),
        random_state=random_state,
        callback=callback,
    )
    result.online = simulated_online(result, catalog, random_state=random_state)
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
