"""The cleaning rules of :mod:`core.data.rules` on Spark DataFrames, count for count.

Each rule takes the rows kept so far (a DataFrame with ``_row`` and the canonical columns) and
returns its parameter text and the rows it removes; :mod:`core.engines.spark.clean` subtracts
them and records the counts. Rule order, parameter texts, NULL handling and thresholds follow
the DuckDB statements one for one, so the two engines write the same cleaning report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Any

from core.data.cleaning_config import CleaningConfig
from core.data.rules import (
    FUTURE_TOLERANCE,
    MIN_TS_GAP_DAYS,
    date_text,
    k_core_label,
)
from core.schema import PURCHASE, RATING, SEARCH

ROW = "_row"


@dataclass
class RuleInput:
    """What a rule reads besides the rows: the dataset's facts and the kept-user list."""

    config: CleaningConfig
    now: datetime
    positions: bool
    catalog: Any | None
    catalog_reason: str
    keep_users: Any


def nonblank(column: str) -> str:
    return f"({column} IS NOT NULL AND trim({column}) <> '')"


def _ts_literal(value: datetime) -> str:
    return f"TIMESTAMP_NTZ '{value.isoformat(sep=' ')}'"


def _rows(frame: Any) -> Any:
    return frame.select(ROW)


def missing_ids(rows: Any, given: RuleInput) -> tuple[str, Any | None]:
    if not given.config.drop_missing_ids:
        return "off", None
    removed = rows.where(
        f"NOT {nonblank('user_id')} OR (item_id IS NULL AND NOT (event <=> '{SEARCH}'))"
    )
    return "user id required; item id required except on searches", _rows(removed)


def duplicates(rows: Any, given: RuleInput) -> tuple[str, Any | None]:
    from pyspark.sql import Window
    from pyspark.sql import functions as sf

    config = given.config
    if not config.drop_duplicates:
        return "off", None
    window = float(config.duplicate_window_seconds)
    label = "exact (user, item, event, ts)" if window <= 0 else f"repeats within {window:g} s"
    keyed = rows.withColumn("_query", sf.expr(f"CASE WHEN event = '{SEARCH}' THEN query END"))
    partition = ["user_id", "item_id", "event", "_query"] + (["ts"] if window <= 0 else [])
    if window <= 0:
        ordered = Window.partitionBy(*partition).orderBy(ROW)
        removed = keyed.withColumn("_n", sf.row_number().over(ordered)).where("_n > 1")
        return label, _rows(removed)
    ordered = Window.partitionBy(*partition).orderBy(sf.col("ts").asc_nulls_last(), ROW)
    window_us = round(window * 1_000_000)
    marked = keyed.withColumn("_n", sf.row_number().over(ordered)).withColumn(
        "_prev", sf.lag("ts").over(ordered)
    )
    removed = marked.where(
        "_n > 1 AND ((ts <=> _prev) OR unix_micros(CAST(ts AS TIMESTAMP)) "
        f"- unix_micros(CAST(_prev AS TIMESTAMP)) <= {window_us})"
    )
    return label, _rows(removed)


def derived_min_ts(rows: Any) -> datetime | None:
    """:func:`core.data.rules.derived_min_ts` over Spark rows: the per-day counts are few (one
    row per calendar day), so the gap search runs on the driver."""
    from pyspark.sql import functions as sf

    days = rows.where("ts IS NOT NULL").groupBy(sf.to_date("ts").alias("day")).count().collect()
    counts = sorted((row[0], int(row[1])) for row in days)
    total = sum(n for _, n in counts)
    found: date | None = None
    before = 0
    for (day, n), (next_day, _) in pairwise(counts):
        before += n
        if (next_day - day).days > MIN_TS_GAP_DAYS and 2 * before < total:
            found = next_day if found is None or next_day > found else found
    return datetime(found.year, found.month, found.day) if found is not None else None


def timestamps(rows: Any, given: RuleInput) -> tuple[str, Any | None]:
    config = given.config
    if given.positions:
        return "skipped: the times are positions in a sequence", None
    keep: list[str] = []
    labels: list[str] = []
    if config.drop_missing_ts:
        if rows.where("ts IS NOT NULL").limit(1).count():
            keep.append("ts IS NOT NULL")
            labels.append("missing")
        else:
            labels.append("missing (skipped: no row has a timestamp)")
    lower = [config.min_ts] if config.min_ts is not None else []
    if config.min_ts is not None:
        labels.append(f"before {date_text(config.min_ts)}")
    if config.auto_min_ts:
        derived = derived_min_ts(rows)
        if derived is not None:
            lower.append(derived)
            labels.append(f"before {date_text(derived)} (derived: a minority before a gap)")
        else:
            labels.append("derived minimum: none needed")
    if lower:
        keep.append(f"(ts IS NULL OR ts >= {_ts_literal(max(lower))})")
    upper = [config.max_ts] if config.max_ts is not None else []
    if config.max_ts is not None:
        labels.append(f"after {date_text(config.max_ts)}")
    if config.drop_future:
        upper.append(given.now + FUTURE_TOLERANCE)
        labels.append("in the future")
    if upper:
        keep.append(f"(ts IS NULL OR ts <= {_ts_literal(min(upper))})")
    if not labels:
        return "off", None
    if not keep:
        return "; ".join(labels), None
    # NOT(NULL) keeps a row in SQL; coalesce makes the test total, as DuckDB's WHERE NOT does.
    return "; ".join(labels), _rows(rows.where(f"NOT coalesce(({' AND '.join(keep)}), true)"))


def returns(rows: Any, given: RuleInput) -> tuple[str, Any | None]:
    from pyspark.sql import functions as sf

    config = given.config
    if not (config.drop_returns or config.drop_returned_purchases):
        return "off", None
    parts = [_rows(rows.where("is_return"))] if config.drop_returns else []
    if config.drop_returned_purchases:
        # A purchase is cancelled by a return of the same user and item at or after it; a
        # missing timestamp on either side cannot rule the match out.
        last = (
            rows.where("is_return")
            .groupBy(sf.col("user_id").alias("r_user"), sf.col("item_id").alias("r_item"))
            .agg(sf.max("ts").alias("last_return"), sf.expr("bool_or(ts IS NULL)").alias("undated"))
        )
        cancelled = rows.join(
            last, (rows.user_id == last.r_user) & (rows.item_id == last.r_item)
        ).where(
            f"event = '{PURCHASE}' AND NOT (is_return <=> true) "
            "AND (undated OR ts IS NULL OR ts <= last_return)"
        )
        parts.append(_rows(cancelled))
    removed = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
    label = "returns" if config.drop_returns else "kept returns"
    if config.drop_returned_purchases:
        label += " and the purchases they cancel"
    return label, removed


def bots(rows: Any, given: RuleInput) -> tuple[str, Any | None]:
    from pyspark.sql import functions as sf

    config = given.config
    timed = not given.positions
    per_minute = (config.max_events_per_minute or None) if timed else None
    per_day = (config.max_events_per_user_day or None) if timed else None
    per_session = config.max_events_per_session or None
    if per_minute is None and per_day is None and per_session is None:
        return "off" + ("" if timed else " (the times are positions)"), None
    browsing = f"event NOT IN ('{PURCHASE}', '{RATING}')"
    found: Any | None = None
    labels: list[str] = []
    for threshold, where, group, label in (
        (per_minute, "ts IS NOT NULL", ["session_id", "date_trunc('minute', ts)"], "per minute"),
        (per_session, "session_id IS NOT NULL", ["session_id"], "per session"),
        (per_day, "ts IS NOT NULL", ["CAST(ts AS DATE)"], "per user per day"),
    ):
        if threshold is not None:
            users = (
                rows.where(f"{where} AND {browsing}")
                .groupBy("user_id", *(sf.expr(g) for g in group))
                .count()
                .where(f"count > {int(threshold)}")
                .select("user_id")
            )
            found = users if found is None else found.union(users)
            labels.append(f"> {threshold} browsing events {label}")
    assert found is not None
    flagged = found.distinct().subtract(given.keep_users)
    share = config.buyer_purchase_share
    if share > 0:
        buyers = (
            rows.where(f"event <> '{RATING}'")
            .groupBy("user_id")
            .agg(sf.avg(sf.expr(f"CASE WHEN event = '{PURCHASE}' THEN 1 ELSE 0 END")).alias("s"))
            .where(f"s >= {share!r}")
            .select("user_id")
        )
        flagged = flagged.subtract(buyers)
        labels.append(f"buyers (purchase share >= {share:g}) kept")
    if not timed:
        labels.append("time rates skipped: the times are positions")
    removed = rows.join(flagged, "user_id", "left_semi")
    return "; ".join(labels), _rows(removed)


def unknown_items(rows: Any, given: RuleInput) -> tuple[str, Any | None]:
    if not given.config.drop_unknown_items:
        return "off", None
    if given.catalog is None:
        return f"skipped: {given.catalog_reason}", None
    known = given.catalog.select("item_id")
    removed = rows.where("item_id IS NOT NULL").join(known, "item_id", "left_anti")
    return f"on ({given.catalog_reason})", _rows(removed)


def k_core(rows: Any, given: RuleInput) -> tuple[str, Any | None]:
    """The k-core of :func:`core.data.rules._rule_k_core`: rounds over the distinct (user,
    item) pairs of non-search events until one removes nothing."""
    from pyspark.sql import functions as sf

    config = given.config
    min_user = config.min_user_interactions or 0
    min_item = config.min_item_interactions or 0
    if min_user == 0 and min_item == 0:
        return "off", None
    interacted = rows.where(f"item_id IS NOT NULL AND event <> '{SEARCH}'")
    keep = given.keep_users
    if min_item <= 1:
        if min_user == 0:
            return k_core_label(min_user, min_item, 1), None
        enough = (
            interacted.groupBy("user_id")
            .agg(sf.count_distinct("item_id").alias("n"))
            .where(f"n >= {min_user}")
            .select("user_id")
            .unionByName(keep)
        )
        removed = rows.where("user_id IS NOT NULL").join(enough, "user_id", "left_anti")
        return k_core_label(min_user, min_item, 1), _rows(removed)
    pairs = interacted.select("user_id", "item_id").distinct().localCheckpoint()
    items_before = pairs.select("item_id").distinct().localCheckpoint()
    rounds = 0
    while True:
        rounds += 1
        n_pairs = pairs.count()
        kept = pairs
        if min_user > 1:
            low_users = (
                pairs.groupBy("user_id").count().where(f"count < {min_user}").select("user_id")
            ).subtract(keep)
            kept = kept.join(low_users, "user_id", "left_anti")
        if min_item > 1:
            low_items = pairs.groupBy("item_id").count().where(f"count < {min_item}")
            kept = kept.join(low_items.select("item_id"), "item_id", "left_anti")
        # NULL user ids never match a low user; DuckDB's IN keeps them alike.
        kept = kept.localCheckpoint()
        if kept.count() == n_pairs:
            break
        pairs = kept
    parts = []
    if min_user > 0:
        gone_users = (
            rows.select("user_id").distinct().subtract(pairs.select("user_id")).subtract(keep)
        )
        parts.append(_rows(rows.join(gone_users, "user_id", "left_semi")))
    if min_item > 1:
        gone_items = items_before.subtract(pairs.select("item_id"))
        parts.append(_rows(interacted.join(gone_items, "item_id", "left_semi")))
    removed = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
    return k_core_label(min_user, min_item, rounds), removed


RULE_FUNCTIONS = {
    "missing_ids": missing_ids,
    "duplicates": duplicates,
    "timestamps": timestamps,
    "returns": returns,
    "bots": bots,
    "unknown_items": unknown_items,
    "k_core": k_core,
}
