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


def clean_on_spark(
    ws: Workspace,
    master: str,
    config: CleaningConfig | None = None,
    callback: ProgressCallback | None = None,
) -> CleaningReport:
    """Clean the workspace's loaded dataset on Spark (``master``) from its source files.

    Spark reads the files the dataset was loaded from (Parquet or CSV, with the columns the load
    mapped), runs the cleaning rules and writes the cleaned interactions and catalogue as
    Parquet under the workspace's artifacts; the workspace's ``events`` and ``catalog`` are then
    read from those files and the report stored beside the local engine's, so every later step
    (interactions, splits, models) runs on the Spark output.

    Raises
    ------
    WorkspaceError
        No dataset is loaded.
    SparkEngineError, CleaningError, IngestError
        Spark failed, a rule would remove everything, or a file cannot be read on Spark.
    """
    from core.data.clean import default_config, store_report
    from core.data.workspace import drop_relation
    from core.engines.spark.clean import clean_files
    from core.engines.spark.ingest import EVENT_SOURCE_COLUMNS
    from core.engines.spark.session import spark_session
    from core.errors import WorkspaceError
    from core.schema import CATALOG_TABLE, CLEANING_REMOVED_TABLE, EVENTS_TABLE

    info = ws.dataset_info()
    if info is None:
        raise WorkspaceError(f"no dataset in workspace {ws.name!r}: load one before cleaning")
    config = default_config(ws) if config is None else config
    spark = spark_session(master)
    mapping = {t: c for t, c in info.mapping.items() if t in EVENT_SOURCE_COLUMNS}
    out = ws.artifacts_dir / "spark_clean"
    cleaned = clean_files(
        spark,
        info.source,
        out,
        catalog_path=info.catalog_source or None,
        mapping=mapping,
        preset=info.preset,
        config=config,
        callback=callback,
    )
    optional = {
        "title": "VARCHAR",
        "description": "VARCHAR",
        "category": "VARCHAR",
        "brand": "VARCHAR",
        "price": "DOUBLE",
        "first_seen": "TIMESTAMP",
    }
    with ws.transaction("clean") as con:
        drop_relation(con, EVENTS_TABLE)
        drop_relation(con, CLEANING_REMOVED_TABLE)
        con.execute(
            f"CREATE TABLE {EVENTS_TABLE} AS SELECT * "
            f"FROM read_parquet('{cleaned.events_path}/*.parquet')"
        )
        con.execute(
            f"CREATE OR REPLACE TABLE {CATALOG_TABLE} AS SELECT * "
            f"FROM read_parquet('{cleaned.catalog_path}/*.parquet')"
        )
        present = {row[0] for row in con.execute(f"DESCRIBE {CATALOG_TABLE}").fetchall()}
        for name, kind in optional.items():
            if name not in present:
                con.execute(f"ALTER TABLE {CATALOG_TABLE} ADD COLUMN {name} {kind}")
        store_report(con, cleaned.report)
    return cleaned.report
