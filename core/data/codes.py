"""Dictionary encoding of the log: user and item ids as integer codes, the ids kept beside.

A load gives every user id of ``raw_events`` and every item id of ``raw_events`` and
``raw_catalog`` an integer code, numbered in the sorted order of the ids, in two vocabularies
(``user_codes``, ``item_codes``). ``event_codes`` holds one row per raw event: its row number
``_row`` (the ``rowid`` of ``raw_events``), the two codes, and the other columns the cleaning
rules read. The rules then group, join and count integers instead of strings, and the
interaction matrix is aggregated on codes; codes become ids again only where ids are shown
(the users a rule removed, the axes of the matrix).

Blank item ids get no code (the cleaning reads them as missing). Blank user ids keep a code
flagged ``blank``, so a rule that treats them as users (with ``drop_missing_ids`` off) still
can. The codes are built once per load; :func:`ensure_codes` rebuilds them when ``raw_events``
came from elsewhere (written directly, not by a load), so they always describe the raw table.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from core.data.workspace import relation_exists
from core.schema import (
    CLEAN_ITEM_CODES_TABLE,
    DATASET_TABLE,
    EVENT_CODES_SOURCE_TABLE,
    EVENT_CODES_TABLE,
    EVENTS_TABLE,
    ITEM_CODES_TABLE,
    RAW_CATALOG_TABLE,
    RAW_EVENTS_TABLE,
    REMOVED_FLAG,
    USER_CODES_TABLE,
)

# Optional event columns and their types, read as NULL when a raw table lacks them.
OPTIONAL_EVENT_COLUMNS: dict[str, str] = {
    "ts": "TIMESTAMP",
    "session_id": "VARCHAR",
    "query": "VARCHAR",
    "value": "DOUBLE",
    "is_return": "BOOLEAN",
}

# The columns of event_codes besides the codes: what the cleaning rules and the matrix read.
_CODED_COLUMNS = ("event", "ts", "session_id", "query", "is_return")


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in con.execute(f'DESCRIBE "{table}"').fetchall()]


def encode_events(con: duckdb.DuckDBPyConnection, loaded_at: datetime | None = None) -> None:
    """Build ``user_codes``, ``item_codes`` and ``event_codes`` from the raw tables.

    ``loaded_at`` is the time of the load that wrote the raw tables (its dataset record); the
    codes are then reused by every cleaning of that load. Without it they serve one cleaning.
    """
    columns = _columns(con, RAW_EVENTS_TABLE)
    catalog = (
        f" UNION ALL SELECT item_id FROM {RAW_CATALOG_TABLE}"
        if relation_exists(con, RAW_CATALOG_TABLE)
        else ""
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {USER_CODES_TABLE} AS SELECT "
        "CAST(row_number() OVER (ORDER BY user_id) - 1 AS INTEGER) AS user_code, user_id, "
        f"trim(user_id) = '' AS blank FROM {RAW_EVENTS_TABLE} "
        "WHERE user_id IS NOT NULL GROUP BY user_id"
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {ITEM_CODES_TABLE} AS SELECT "
        "CAST(row_number() OVER (ORDER BY item_id) - 1 AS INTEGER) AS item_code, item_id "
        f"FROM (SELECT item_id FROM {RAW_EVENTS_TABLE}{catalog}) "
        "WHERE item_id IS NOT NULL AND trim(item_id) <> '' GROUP BY item_id"
    )
    coded = ", ".join(
        f"e.{name}"
        if name in columns
        else f"CAST(NULL AS {OPTIONAL_EVENT_COLUMNS.get(name, 'VARCHAR')}) AS {name}"
        for name in _CODED_COLUMNS
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {EVENT_CODES_TABLE} AS SELECT e.rowid AS _row, "
        f"u.user_code, i.item_code, {coded}, false AS {REMOVED_FLAG} "
        f"FROM {RAW_EVENTS_TABLE} e LEFT JOIN {USER_CODES_TABLE} u ON u.user_id = e.user_id "
        f"LEFT JOIN {ITEM_CODES_TABLE} i ON i.item_id = e.item_id"
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {EVENT_CODES_SOURCE_TABLE} (loaded_at TIMESTAMP, n_rows BIGINT)"
    )
    if loaded_at is not None:
        con.execute(
            f"INSERT INTO {EVENT_CODES_SOURCE_TABLE} SELECT ?, count(*) FROM {RAW_EVENTS_TABLE}",
            [loaded_at],
        )


def codes_are_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``event_codes`` was built by the load that wrote the active ``raw_events``."""
    if not all(
        relation_exists(con, table)
        for table in (EVENT_CODES_TABLE, EVENT_CODES_SOURCE_TABLE, DATASET_TABLE)
    ):
        return False
    found = con.execute(
        f"SELECT count(*) FROM {EVENT_CODES_SOURCE_TABLE} s WHERE s.loaded_at = "
        f"(SELECT max(loaded_at) FROM {DATASET_TABLE}) "
        f"AND s.n_rows = (SELECT count(*) FROM {RAW_EVENTS_TABLE}) "
        f"AND s.n_rows = (SELECT count(*) FROM {EVENT_CODES_TABLE})"
    ).fetchall()[0][0]
    return bool(found)


def ensure_codes(con: duckdb.DuckDBPyConnection) -> None:
    """Build the codes unless the active load's codes are there already."""
    if not codes_are_current(con):
        encode_events(con)


def kept_events_sql(con: duckdb.DuckDBPyConnection) -> str:
    """SQL of the coded events the latest cleaning kept, item codes merged as it read them.

    Columns: ``_row``, ``user_code``, ``item_code``, ``event``, ``ts``, ``session_id``,
    ``query``, ``is_return``.
    """
    merges = relation_exists(con, CLEAN_ITEM_CODES_TABLE) and bool(
        con.execute(
            f"SELECT count(*) FROM {CLEAN_ITEM_CODES_TABLE} WHERE clean_code <> item_code"
        ).fetchall()[0][0]
    )
    if merges:
        return (
            f"SELECT c.* EXCLUDE ({REMOVED_FLAG}) REPLACE (m.clean_code AS item_code) "
            f"FROM {EVENT_CODES_TABLE} c LEFT JOIN {CLEAN_ITEM_CODES_TABLE} m USING (item_code) "
            f"WHERE NOT c.{REMOVED_FLAG}"
        )
    return f"SELECT * EXCLUDE ({REMOVED_FLAG}) FROM {EVENT_CODES_TABLE} WHERE NOT {REMOVED_FLAG}"


def cleaned_codes_available(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``events`` is the view a cleaning wrote over ``event_codes``' flags, so the
    coded events stand for it."""
    if not all(
        relation_exists(con, table) for table in (EVENT_CODES_TABLE, CLEAN_ITEM_CODES_TABLE)
    ):
        return False
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_views() WHERE NOT temporary AND view_name = ? "
            f"AND (SELECT count(*) FROM {EVENT_CODES_TABLE}) = "
            f"(SELECT count(*) FROM {RAW_EVENTS_TABLE})",
            [EVENTS_TABLE],
        ).fetchall()[0][0]
    )
