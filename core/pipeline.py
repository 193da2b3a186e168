"""The pipeline steps that span packages, called by both the command line and the dashboard.

Each step composes lower layers (data, models, synthetic data) so that neither front end
repeats the composition: loading is followed by cleaning here, so the cleaned tables never
describe another dataset; training with accepted synthetic interactions lives here because a
model knows nothing of where its extra training rows come from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.data.clean import CleaningConfig, CleaningReport, clean_dataset
from core.data.ingest.load import LoadResult
from core.data.interactions import Interactions
from core.data.profile import is_cleaned
from core.data.runs import EXPERIMENT_KIND, FUSION_KIND, MODEL_KIND, SYNTHETIC_RUN_KINDS
from core.data.splits import Split
from core.data.workspace import Workspace
from core.errors import ModelError, ShopSynthError
from core.models.training import TrainedModel, train_model
from core.progress import ProgressCallback
from core.schema import RAW_EVENTS_TABLE


def pipeline_status(ws: Workspace) -> dict[str, Any]:
    """Which pipeline steps the workspace has done.

    Keys: ``info`` (:class:`core.data.workspace.DatasetInfo` or None), ``loaded`` and
    ``cleaned`` (:func:`core.data.profile.is_cleaned`) flags, and the runs recorded of each
    later step: ``n_models``, ``n_synthetic``, ``n_fusions`` and ``n_experiments``.
    """
    kinds = ws.list_runs()["kind"]
    return {
        "info": ws.dataset_info(),
        "loaded": ws.table_exists(RAW_EVENTS_TABLE),
        "cleaned": is_cleaned(ws),
        "n_models": int((kinds == MODEL_KIND).sum()),
        "n_synthetic": int(kinds.isin(SYNTHETIC_RUN_KINDS).sum()),
        "n_fusions": int((kinds == FUSION_KIND).sum()),
        "n_experiments": int((kinds == EXPERIMENT_KIND).sum()),
    }


@dataclass(frozen=True)
class LoadAndClean:
    """What :func:`load_and_clean` did: the load, and the cleaning report or why it failed."""

    load: LoadResult
    report: CleaningReport | None
    clean_error: ShopSynthError | None


def load_and_clean(
    ws: Workspace,
    load: Callable[[ProgressCallback | None], LoadResult],
    *,
    config: CleaningConfig | None = None,
    load_callback: ProgressCallback | None = None,
    clean_callback: ProgressCallback | None = None,
) -> LoadAndClean:
    """Run ``load(load_callback)``, then clean the new data with ``config`` (by default the
    rules' defaults for the dataset's preset).

    A load leaves the previous cleaned tables in place, so cleaning follows at once. When the
    cleaning fails with a :class:`ShopSynthError` the new raw data stay loaded and the error
    is returned in ``clean_error`` (the caller says how to go on); a failing load raises.
    """
    result = load(load_callback)
    try:
        report = clean_dataset(ws, config, callback=clean_callback)
    except ShopSynthError as error:
        return LoadAndClean(result, None, error)
    return LoadAndClean(result, report, None)


def synthetic_augment(ws: Workspace, split: Split) -> tuple[Interactions, dict[str, int]]:
    """The split's training part plus the workspace's accepted synthetic interactions.

    Returns the training interactions and the counts a run records of them.

    Raises
    ------
    ModelError
        No accepted synthetic interaction falls in the training period.
    """
    from core.synth.interactions.augment import augment

    augmented = augment(split, ws)
    if augmented.synthetic.nnz == 0:
        raise ModelError(
            "no accepted synthetic interaction falls in the training period: generate and "
            "accept some on the Synthetic Data page, or train without them"
        )
    return augmented.train, {
        "n_rows": augmented.n_rows,
        "n_pairs": int(augmented.synthetic.nnz),
        "n_unknown_users": augmented.n_unknown_users,
        "n_unknown_items": augmented.n_unknown_items,
        "n_after_end": augmented.n_after_end,
    }


def train(
    ws: Workspace,
    model_name: str,
    params: Mapping[str, Any] | None = None,
    *,
    split_params: Mapping[str, Any] | None = None,
    name: str | None = None,
    eval_every: int | None = None,
    synthetic: bool = False,
    callback: ProgressCallback | None = None,
) -> TrainedModel:
    """Train and record ``model_name`` (:func:`core.models.training.train_model`).

    With ``synthetic``, the accepted synthetic interactions (:mod:`core.synth.interactions`)
    are added to the training part for the fit; the model still ranks from, and excludes,
    each user's real history, and it is validated on real interactions only.
    """
    return train_model(
        ws,
        model_name,
        params,
        split_params=split_params,
        name=name,
        eval_every=eval_every,
        augment=(lambda split: synthetic_augment(ws, split)) if synthetic else None,
        callback=callback,
    )
