"""Cleaning on Spark: the rules of :mod:`core.data.rules` over a Spark DataFrame, the same
:class:`~core.data.clean.CleaningReport` as the DuckDB path, and the cleaned interactions and
catalogue written as Parquet.

The rows kept so far are cached after each rule (the rule's removals counted once, the next
rule reading the cache), so the plan never grows with the number of rules.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.data.clean import CleaningReport, RemovedUsers, RuleResult
from core.data.cleaning_config import CleaningConfig
from core.data.ingest.presets import PRESETS
from core.data.rules import MAX_LISTED_USERS, RULE_DESCRIPTIONS, RULES
from core.engines.spark.ingest import ROW, read_catalog, read_events
from core.engines.spark.rules import RULE_FUNCTIONS, RuleInput, nonblank
from core.engines.spark.session import run_tracked, spark_errors
from core.errors import CleaningError
from core.progress import ProgressCallback

Callback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class SparkCleaned:
    """What :func:`clean_files` wrote: the report, and the Parquet folders of the cleaned
    interactions and catalogue."""

    report: CleaningReport
    events_path: Path
    catalog_path: Path
    report_path: Path


def _item_id(column: str, normalise: bool) -> str:
    value = f"upper(trim({column}))" if normalise else column
    return f"CASE WHEN trim({column}) = '' THEN NULL ELSE {value} END"


def _distinct_counts(frame: Any, normalised: bool = False) -> tuple[int, int]:
    from pyspark.sql import functions as sf

    # One distinct count per query: two conditional distinct counts in one aggregate make
    # Spark 4.3's expand plan fail with a NullPointerException in JoinedRow.
    users, items = (
        frame.where(sf.expr(nonblank(column))).select(column).distinct().count()
        for column in ("user_id", "item_id")
    )
    return int(users), int(items)


def _removed_users(rule: str, removed: Any, kept: Any) -> RemovedUsers | None:
    """Users whose every row ``removed`` holds, with their rows removed (most first)."""
    from pyspark.sql import functions as sf

    # The removed rows' users are materialised first: aggregating straight over the semi-join
    # fails inside Spark 4.3's hash aggregate (NullPointerException in JoinedRow).
    users = removed.where(nonblank("user_id")).select("user_id").localCheckpoint()
    gone = (
        users.groupBy("user_id")
        .agg(sf.count("*").alias("n"))
        .join(kept.select("user_id").distinct(), "user_id", "left_anti")
    )
    total = gone.count()
    if total == 0:
        return None
    listed = gone.orderBy(sf.desc("n"), "user_id").limit(MAX_LISTED_USERS).collect()
    return RemovedUsers(rule, total, tuple((str(r.user_id), int(r.n)) for r in listed))


def clean_frames(
    spark: Any,
    raw_events: Any,
    raw_catalog: Any | None = None,
    *,
    config: CleaningConfig | None = None,
    preset: str | None = None,
    catalog_source: str | None = None,
    now: datetime | None = None,
    callback: ProgressCallback | None = None,
) -> tuple[CleaningReport, Any, Any]:
    """Run the cleaning rules on Spark; return the report and the cleaned events and catalogue.

    Parameters
    ----------
    raw_events, raw_catalog : pyspark.sql.DataFrame
        From :func:`~core.engines.spark.ingest.read_events` / ``read_catalog``.
    config : CleaningConfig, optional
        The rule parameters; the defaults of ``preset`` when omitted.
    preset : str, optional
        The file layout (its times may be positions, and it brings cleaning defaults).
    catalog_source : str, optional
        The catalogue file's name as the report states it (``unknown_items`` applies only
        when a catalogue file was given).
    now : datetime, optional
        The time of the run (UTC, naive): later timestamps are in the future.
    callback : callable, optional
        ``callback(step, total, info)`` after each rule, with Spark's task progress between.

    Raises
    ------
    CleaningError
        A rule would remove every event left.
    SparkEngineError
        Spark failed.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as sf
    from pyspark.sql.types import StringType, StructField, StructType

    config = CleaningConfig.for_preset(preset) if config is None else config
    if not isinstance(config, CleaningConfig):
        raise CleaningError(f"config must be a CleaningConfig, not {type(config).__name__}")
    created_at = now or datetime.now(UTC).replace(tzinfo=None)
    total = len(RULES) + 1
    normalise = config.normalise_ids
    with spark_errors("cleaning"):
        keep_users = spark.createDataFrame(
            [(user,) for user in config.keep_users],
            StructType([StructField("user_id", StringType())]),
        )
        raw_events = raw_events.cache()
        n_before = raw_events.count()
        if n_before == 0:
            raise CleaningError("the log is empty: load a dataset with events")
        users_before, items_before = _distinct_counts(raw_events)
        merged = 0
        if normalise:
            ids = raw_events.select("item_id")
            if raw_catalog is not None:
                ids = ids.unionByName(raw_catalog.select("item_id"))
            ids = ids.where(nonblank("item_id"))
            found = ids.agg(
                sf.count_distinct("item_id"), sf.count_distinct(sf.expr("upper(trim(item_id))"))
            ).collect()[0]
            merged = int(found[0]) - int(found[1])
        catalog = None
        n_catalog_before = 0
        if raw_catalog is not None:
            n_catalog_before = raw_catalog.count()
            first = sf.row_number().over(Window.partitionBy("item_id").orderBy(ROW))
            catalog = (
                raw_catalog.where(nonblank("item_id"))
                .withColumn("item_id", sf.expr(_item_id("item_id", normalise)))
                .withColumn("_first", first)
                .where("_first = 1")
                .drop("_first")
                .cache()
            )
        given = RuleInput(
            config=config,
            now=created_at,
            positions=bool(PRESETS.get(preset or "") and PRESETS[preset or ""].ts_is_position),
            catalog=catalog if catalog_source else None,
            catalog_reason=(
                f"catalogue file {catalog_source}"
                if catalog_source
                else "catalogue derived from the log"
            ),
            keep_users=keep_users,
        )
        rows = raw_events.withColumn("item_id", sf.expr(_item_id("item_id", normalise))).cache()
        if catalog is None:
            # As the local load does: a catalogue of every item the log names, before cleaning.
            catalog = rows.where(nonblank("item_id")).select("item_id").distinct().cache()
            n_catalog_before = catalog.count()
        n_rows = n_before
        results: list[RuleResult] = []
        removed_users: list[RemovedUsers] = []
        for step, name in enumerate(RULES, start=1):
            parameter, removed_rows = RULE_FUNCTIONS[name](rows, given)
            n_removed = 0
            if removed_rows is not None:
                removed_ids = removed_rows.distinct().cache()
                n_removed = run_tracked(spark, removed_ids.count, callback, step - 1, total)
            if n_removed == n_rows:
                raise CleaningError(
                    f"refused: rule {name} ({parameter}) would remove all {n_removed:,} "
                    f"events left, leaving an empty dataset; loosen or turn off {name}"
                    + (" or keep some users" if name in ("bots", "k_core") else "")
                )
            if n_removed:
                kept = rows.join(removed_ids, ROW, "left_anti").cache()
                # Materialise the kept rows before their sources leave the cache.
                run_tracked(spark, kept.count, callback, step - 1, total)
                gone = _removed_users(name, rows.join(removed_ids, ROW, "left_semi"), kept)
                if gone is not None:
                    removed_users.append(gone)
                rows.unpersist()
                rows = kept
            if removed_rows is not None:
                removed_ids.unpersist()
            results.append(
                RuleResult(
                    step=step,
                    rule=name,
                    parameter=parameter,
                    rows_before=n_rows,
                    rows_after=n_rows - n_removed,
                    removed=n_removed,
                    description=RULE_DESCRIPTIONS[name],
                )
            )
            n_rows -= n_removed
            if callback is not None:
                callback(step, total, f"{name}: {n_removed:,} rows removed")
        users_after, items_after = _distinct_counts(rows)
        n_catalog_after = catalog.count()
    report = CleaningReport(
        report_id=uuid.uuid4().hex,
        created_at=created_at,
        config=config,
        rules=tuple(results),
        n_events_before=n_before,
        n_events_after=n_rows,
        n_users_before=users_before,
        n_users_after=users_after,
        n_items_before=items_before,
        n_items_after=items_after,
        n_catalog_before=n_catalog_before,
        n_catalog_after=n_catalog_after,
        n_ids_merged=merged,
        removed_users=tuple(removed_users),
    )
    return report, rows, catalog


def report_dict(report: CleaningReport) -> dict[str, Any]:
    """The report as JSON-ready data (the rules, the summary, removed users, the config)."""
    return {
        "report_id": report.report_id,
        "created_at": report.created_at.isoformat(),
        "config": report.config.to_dict(),
        "rules": [result.__dict__ for result in report.rules],
        "summary": [list(row) for row in report.summary()],
        "n_ids_merged": report.n_ids_merged,
        "removed_users": [
            {"rule": r.rule, "total": r.total, "users": [list(u) for u in r.users]}
            for r in report.removed_users
        ],
    }


def clean_files(
    spark: Any,
    events_path: str | Path,
    out_dir: str | Path,
    *,
    catalog_path: str | Path | None = None,
    mapping: dict[str, str] | None = None,
    preset: str | None = None,
    config: CleaningConfig | None = None,
    callback: ProgressCallback | None = None,
    **read_options: Any,
) -> SparkCleaned:
    """Read a log (and catalogue) with Spark, clean it, and write ``events.parquet/``,
    ``catalog.parquet/`` and ``cleaning_report.json`` in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    events = read_events(spark, events_path, mapping, **read_options)
    catalog = read_catalog(spark, catalog_path) if catalog_path is not None else None
    report, cleaned, kept_catalog = clean_frames(
        spark,
        events,
        catalog,
        config=config,
        preset=preset,
        catalog_source=str(catalog_path) if catalog_path is not None else None,
        callback=callback,
    )
    paths = out / "events.parquet", out / "catalog.parquet", out / "cleaning_report.json"
    try:
        with spark_errors("writing the cleaned interactions"):
            run_tracked(
                spark,
                lambda: cleaned.drop(ROW).write.mode("overwrite").parquet(str(paths[0])),
                callback,
                len(RULES),
                len(RULES) + 1,
            )
            kept_catalog.drop(ROW).write.mode("overwrite").parquet(str(paths[1]))
    finally:
        # The rules cache each stage; once written, free them so that the next cleaning in
        # this session does not run out of execution memory.
        spark.catalog.clearCache()
    paths[2].write_text(json.dumps(report_dict(report), indent=1, sort_keys=True))
    if callback is not None:
        callback(len(RULES) + 1, len(RULES) + 1, f"{report.n_events_after:,} events written")
    return SparkCleaned(report, *paths)
