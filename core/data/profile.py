"""Data profile of a loaded dataset: counts, funnel, long tail, activity and category mix.

Every function runs one or two DuckDB queries over the ``events`` and ``catalog`` tables (or
their ``raw_*`` versions before cleaning) and returns a small DataFrame or dict, so a profile
of a 10M-event log never holds the log in pandas.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from core.data.workspace import Workspace, relation_exists
from core.errors import WorkspaceError
from core.schema import (
    CATALOG_TABLE,
    CATEGORY,
    CLEANING_REPORTS_TABLE,
    DATASET_TABLE,
    EVENT,
    EVENTS_TABLE,
    FUNNEL,
    ITEM_ID,
    RAW_CATALOG_TABLE,
    RAW_EVENTS_TABLE,
    SEARCH,
    SESSION_ID,
    TS,
    USER_ID,
)

# Profiles read either the cleaned tables or the raw ones; nothing else is accepted as a name.
_EVENT_TABLES = (EVENTS_TABLE, RAW_EVENTS_TABLE)
_CATALOG_FOR = {EVENTS_TABLE: CATALOG_TABLE, RAW_EVENTS_TABLE: RAW_CATALOG_TABLE}
FREQUENCIES = ("hour", "day", "week", "month")
NO_CATEGORY = "(no category)"
CATEGORY_SEPARATOR = ">"


def is_cleaned(ws: Workspace) -> bool:
    """Whether ``events`` holds the current dataset cleaned.

    True when the table exists and the latest cleaning report is no older than the latest
    load; a load replaces only the raw tables, so until the next cleaning ``events`` still
    describes the previous dataset.
    """
    with ws.connect() as con:
        if not relation_exists(con, EVENTS_TABLE):
            return False
        cleaned_at = con.execute(
            f"SELECT max(created_at) FROM {CLEANING_REPORTS_TABLE}"
        ).fetchone()[0]
        loaded_at = con.execute(f"SELECT max(loaded_at) FROM {DATASET_TABLE}").fetchone()[0]
    if cleaned_at is None:
        return False
    return loaded_at is None or cleaned_at >= loaded_at


def profile_table(ws: Workspace) -> str:
    """The events table a profile should read: ``events`` when it holds the current dataset
    cleaned (:func:`is_cleaned`), else ``raw_events``.

    Raises
    ------
    WorkspaceError
        When nothing has been loaded.
    """
    if is_cleaned(ws):
        return EVENTS_TABLE
    if ws.table_exists(RAW_EVENTS_TABLE):
        return RAW_EVENTS_TABLE
    raise WorkspaceError(
        f"workspace {ws.name!r} holds no events yet: load a dataset (Data page, Load tab, "
        "or the 'Load sample data' button on the home page)"
    )


def _item_counts_sql(table: str, column: str) -> str:
    """Query of the events per item of ``table``, one column ``column``; rows without item out."""
    return (
        f'SELECT count(*) AS {column} FROM "{table}" WHERE {ITEM_ID} IS NOT NULL GROUP BY {ITEM_ID}'
    )


def _check_events_table(con: duckdb.DuckDBPyConnection, table: str, ws: Workspace) -> None:
    if table not in _EVENT_TABLES:
        raise WorkspaceError(f"unknown events table {table!r}; use one of {_EVENT_TABLES}")
    if not relation_exists(con, table):
        raise WorkspaceError(
            f"table {table!r} not found in workspace {ws.name!r}: load a dataset"
            + (" and clean it" if table == EVENTS_TABLE else "")
        )


def dataset_counts(ws: Workspace, table: str = EVENTS_TABLE) -> dict[str, Any]:
    """Sizes and sparsity of the events table.

    Returns
    -------
    dict
        ``n_events`` (all rows), ``n_users`` (distinct non-null users), ``n_items``
        (distinct non-null items), ``n_sessions``, ``n_searches``, ``n_missing_ts``,
        ``n_pairs`` (distinct user-item pairs), ``n_matrix_users`` (users with at least one
        item event), ``density`` = n_pairs / (n_matrix_users * n_items), ``sparsity`` =
        1 - density, ``events_per_user`` = n_events / n_users, ``events_per_item`` = item
        events / n_items, ``first_ts`` and ``last_ts`` (None when no timestamp),
        ``events_by_type`` ({event: count}) and ``n_catalog_items`` (rows of the matching
        catalogue, 0 when absent).
    """
    with ws.connect() as con:
        _check_events_table(con, table, ws)
        row = con.execute(
            f"""SELECT count(*),
                       count(DISTINCT {USER_ID}),
                       count(DISTINCT {ITEM_ID}),
                       count(DISTINCT {SESSION_ID}),
                       count(*) FILTER (WHERE {EVENT} = '{SEARCH}'),
                       count(*) FILTER (WHERE {TS} IS NULL),
                       count(*) FILTER (WHERE {ITEM_ID} IS NOT NULL),
                       count(DISTINCT {USER_ID}) FILTER (WHERE {ITEM_ID} IS NOT NULL),
                       min({TS}), max({TS})
                FROM "{table}" """
        ).fetchone()
        n_pairs = con.execute(
            f"""SELECT count(*) FROM (SELECT DISTINCT {USER_ID}, {ITEM_ID} FROM "{table}"
                WHERE {USER_ID} IS NOT NULL AND {ITEM_ID} IS NOT NULL)"""
        ).fetchone()[0]
        by_type = con.execute(
            f'SELECT {EVENT}, count(*) FROM "{table}" GROUP BY {EVENT} ORDER BY count(*) DESC'
        ).fetchall()
        catalog = _CATALOG_FOR[table]
        n_catalog = (
            con.execute(f'SELECT count(*) FROM "{catalog}"').fetchone()[0]
            if relation_exists(con, catalog)
            else 0
        )
    n_events, n_users, n_items, n_sessions, n_searches, n_missing_ts = (int(v) for v in row[:6])
    n_item_events, n_matrix_users = int(row[6]), int(row[7])
    cells = n_matrix_users * n_items
    density = n_pairs / cells if cells else 0.0
    return {
        "n_events": n_events,
        "n_users": n_users,
        "n_items": n_items,
        "n_sessions": n_sessions,
        "n_searches": n_searches,
        "n_missing_ts": n_missing_ts,
        "n_pairs": int(n_pairs),
        "n_matrix_users": n_matrix_users,
        "density": density,
        "sparsity": 1.0 - density if cells else 1.0,
        "events_per_user": n_events / n_users if n_users else 0.0,
        "events_per_item": n_item_events / n_items if n_items else 0.0,
        "first_ts": row[8],
        "last_ts": row[9],
        "events_by_type": {str(event): int(count) for event, count in by_type},
        "n_catalog_items": int(n_catalog),
    }


def choose_frequency(first_ts: Any, last_ts: Any) -> str:
    """Bucket size that gives a readable time series: hours up to 3 days, days up to 180,
    weeks up to 3 years, months beyond."""
    if first_ts is None or last_ts is None:
        return "day"
    span_days = (pd.Timestamp(last_ts) - pd.Timestamp(first_ts)).total_seconds() / 86400
    if span_days <= 3:
        return "hour"
    if span_days <= 180:
        return "day"
    if span_days <= 3 * 365:
        return "week"
    return "month"


def events_over_time(ws: Workspace, table: str = EVENTS_TABLE, freq: str = "auto") -> pd.DataFrame:
    """Events per time bucket and event type.

    Parameters
    ----------
    freq : {"auto", "hour", "day", "week", "month"}
        Bucket size; "auto" picks one from the time span (:func:`choose_frequency`).

    Returns
    -------
    DataFrame
        Columns ``period`` (bucket start), ``event``, ``n_events``, sorted by period then
        event; rows with a NULL timestamp are left out. ``frame.attrs["freq"]`` holds the
        bucket size used.
    """
    with ws.connect() as con:
        _check_events_table(con, table, ws)
        if freq == "auto":
            first, last = con.execute(f'SELECT min({TS}), max({TS}) FROM "{table}"').fetchone()
            freq = choose_frequency(first, last)
        if freq not in FREQUENCIES:
            raise ValueError(f"freq must be 'auto' or one of {FREQUENCIES}, not {freq!r}")
        frame = con.execute(
            f"""SELECT date_trunc('{freq}', {TS}) AS period, {EVENT} AS event,
                       count(*) AS n_events
                FROM "{table}" WHERE {TS} IS NOT NULL
                GROUP BY ALL ORDER BY period, event"""
        ).df()
    frame["n_events"] = frame["n_events"].astype("int64")
    frame.attrs["freq"] = freq
    return frame


def funnel(ws: Workspace, table: str = EVENTS_TABLE) -> pd.DataFrame:
    """Funnel view > click > add_to_cart > purchase.

    Returns
    -------
    DataFrame
        One row per funnel stage, in order, with ``stage``, ``n_events``, ``n_users`` (distinct
        users with at least one event of the stage), ``rate_from_previous`` = n_events /
        n_events of the previous stage (1.0 for the first stage) and ``rate_from_first`` =
        n_events / n_events of the first stage. A rate is NaN when its denominator is 0.
    """
    with ws.connect() as con:
        _check_events_table(con, table, ws)
        rows = dict.fromkeys(FUNNEL, (0, 0))
        for event, n_events, n_users in con.execute(
            f"""SELECT {EVENT}, count(*), count(DISTINCT {USER_ID}) FROM "{table}"
                WHERE {EVENT} IN ({", ".join(f"'{stage}'" for stage in FUNNEL)})
                GROUP BY {EVENT}"""
        ).fetchall():
            rows[event] = (int(n_events), int(n_users))
    frame = pd.DataFrame(
        {
            "stage": list(FUNNEL),
            "n_events": [rows[stage][0] for stage in FUNNEL],
            "n_users": [rows[stage][1] for stage in FUNNEL],
        }
    )
    counts = frame["n_events"].astype("float64")
    previous = counts.shift(1)
    previous.iloc[0] = counts.iloc[0]
    frame["rate_from_previous"] = counts / previous.where(previous > 0)
    first = counts.iloc[0]
    frame["rate_from_first"] = counts / first if first > 0 else float("nan")
    return frame


def item_popularity(ws: Workspace, table: str = EVENTS_TABLE) -> pd.DataFrame:
    """Rank-frequency curve of items (the long tail), compressed without loss of shape.

    Items are ranked by their number of events (descending, rank 1 = most popular). The curve
    is a step function, so only the first and last rank of each distinct count are returned:
    at most twice the number of distinct counts, whatever the number of items.

    Returns
    -------
    DataFrame
        Columns ``rank`` and ``n_events``, sorted by rank.
    """
    with ws.connect() as con:
        _check_events_table(con, table, ws)
        frame = con.execute(
            f"""WITH counts AS ({_item_counts_sql(table, "n_events")}),
                ranked AS (
                    SELECT n_events, row_number() OVER (ORDER BY n_events DESC) AS rank
                    FROM counts),
                steps AS (
                    SELECT n_events, min(rank) AS first_rank, max(rank) AS last_rank
                    FROM ranked GROUP BY n_events)
                SELECT DISTINCT rank, n_events FROM (
                    SELECT first_rank AS rank, n_events FROM steps
                    UNION ALL SELECT last_rank AS rank, n_events FROM steps)
                ORDER BY rank"""
        ).df()
    return frame.astype({"rank": "int64", "n_events": "int64"})


def popularity_concentration(ws: Workspace, table: str = EVENTS_TABLE) -> dict[str, float]:
    """How concentrated item events are.

    Returns
    -------
    dict
        ``top_1pct_share`` and ``top_20pct_share``: share of item events that go to the
        ceil(1%) and ceil(20%) most popular items; ``gini``: Gini coefficient of the item
        counts, ``sum_i (2 i - n - 1) x_i / (n sum_i x_i)`` with counts x sorted ascending
        and i = 1..n (0 = all equal, near 1 = all events on one item).
    """
    with ws.connect() as con:
        _check_events_table(con, table, ws)
        row = con.execute(
            f"""WITH counts AS ({_item_counts_sql(table, "x")}),
                ranked AS (
                    SELECT x, row_number() OVER (ORDER BY x DESC) AS desc_rank,
                           row_number() OVER (ORDER BY x ASC) AS asc_rank,
                           count(*) OVER () AS n
                    FROM counts)
                SELECT sum(x),
                       sum(x) FILTER (WHERE desc_rank <= ceil(n * 0.01)),
                       sum(x) FILTER (WHERE desc_rank <= ceil(n * 0.20)),
                       sum((2 * asc_rank - n - 1) * x), max(n)
                FROM ranked"""
        ).fetchone()
    total, top1, top20, gini_numerator, n = row
    if not total:
        return {"top_1pct_share": 0.0, "top_20pct_share": 0.0, "gini": 0.0}
    return {
        "top_1pct_share": float(top1) / float(total),
        "top_20pct_share": float(top20) / float(total),
        "gini": float(gini_numerator) / (float(n) * float(total)),
    }


def user_activity(ws: Workspace, table: str = EVENTS_TABLE) -> pd.DataFrame:
    """Histogram of events per user in powers-of-two bins (1, 2-3, 4-7, 8-15, ...).

    Returns
    -------
    DataFrame
        Columns ``bin_low``, ``bin_high`` (inclusive bounds), ``label`` ("1", "2-3", ...)
        and ``n_users``, one row per non-empty bin, sorted by bin.
    """
    with ws.connect() as con:
        _check_events_table(con, table, ws)
        frame = con.execute(
            f"""WITH per_user AS (
                    SELECT count(*) AS n FROM "{table}"
                    WHERE {USER_ID} IS NOT NULL GROUP BY {USER_ID})
                SELECT CAST(floor(log2(n)) AS INTEGER) AS b, count(*) AS n_users
                FROM per_user GROUP BY b ORDER BY b"""
        ).df()
    low = (2 ** frame["b"]).astype("int64")
    high = (2 ** (frame["b"] + 1) - 1).astype("int64")
    labels = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in zip(low, high, strict=True)]
    return pd.DataFrame(
        {
            "bin_low": low,
            "bin_high": high,
            "label": labels,
            "n_users": frame["n_users"].astype("int64"),
        }
    )


def category_mix(ws: Workspace, table: str = EVENTS_TABLE) -> pd.DataFrame:
    """Items and events per top-level category (the first part of the ``A > B > C`` path).

    Items without a category, or events on items missing from the catalogue, fall under
    ``"(no category)"``.

    Returns
    -------
    DataFrame
        Columns ``category``, ``n_items`` (catalogue items), ``n_events`` (item events) and
        ``event_share`` (n_events / all item events), sorted by n_events descending, then
        category.
    """
    catalog = _CATALOG_FOR.get(table, CATALOG_TABLE)
    top = (
        f"coalesce(nullif(trim(split_part(c.{CATEGORY}, '{CATEGORY_SEPARATOR}', 1)), ''), "
        f"'{NO_CATEGORY}')"
    )
    with ws.connect() as con:
        _check_events_table(con, table, ws)
        if not relation_exists(con, catalog):
            raise WorkspaceError(
                f"table {catalog!r} not found in workspace {ws.name!r}: load a dataset"
            )
        frame = con.execute(
            f"""WITH item_top AS (
                    SELECT c.{ITEM_ID}, any_value({top}) AS category
                    FROM "{catalog}" c GROUP BY c.{ITEM_ID}),
                items AS (
                    SELECT category, count(*) AS n_items FROM item_top GROUP BY category),
                ev AS (
                    SELECT coalesce(t.category, '{NO_CATEGORY}') AS category,
                           count(*) AS n_events
                    FROM "{table}" e LEFT JOIN item_top t ON e.{ITEM_ID} = t.{ITEM_ID}
                    WHERE e.{ITEM_ID} IS NOT NULL GROUP BY ALL)
                SELECT coalesce(i.category, ev.category) AS category,
                       coalesce(i.n_items, 0) AS n_items,
                       coalesce(ev.n_events, 0) AS n_events
                FROM items i FULL OUTER JOIN ev ON i.category = ev.category
                ORDER BY n_events DESC, category"""
        ).df()
    frame = frame.astype({"n_items": "int64", "n_events": "int64"})
    total = frame["n_events"].sum()
    frame["event_share"] = frame["n_events"] / total if total else 0.0
    return frame.reset_index(drop=True)
