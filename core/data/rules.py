"""The cleaning rules and their parameters, each a DuckDB statement over the rows kept so far.

The rules run in a fixed order (:data:`RULES`), each over the rows the previous one kept:

1. ``missing_ids``: rows without a user, or without an item unless the event is a search.
2. ``duplicates``: repeats of the same user, item, event and timestamp (searches also match on
   the query); optionally a whole burst of repeats less than N seconds apart collapses into its
   first event.
3. ``timestamps``: missing timestamps, and timestamps before a minimum date, after a maximum
   date or in the future.
4. ``returns``: rows flagged ``is_return``; optionally also the purchases they cancel.
5. ``bots``: every event of a user with more events in one day, or in one session, than a
   threshold.
6. ``unknown_items``: item events whose item is not in the catalogue, applied only when a
   catalogue file was given (a catalogue derived from the log says nothing about which items
   exist).
7. ``k_core``: users with fewer than ``min_user_interactions`` distinct items and items with
   fewer than ``min_item_interactions`` distinct users, removed repeatedly until none is left.

Rules never copy the rows they keep: the raw table carries one flag column, ``_removed``, that
each rule sets on the rows it removes (:class:`Stages`), and the next rule reads the rows not
flagged. :mod:`core.data.clean` runs them and records what each did.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from core.data.workspace import relation_exists
from core.errors import CleaningError, WorkspaceError
from core.schema import (
    DATASET_TABLE,
    DESCRIPTION,
    ITEM_ID,
    PRICE,
    RATING,
    RAW_CATALOG_TABLE,
    RAW_EVENTS_TABLE,
    REMOVED_FLAG,
    SEARCH,
    TITLE,
)

RULES: tuple[str, ...] = (
    "missing_ids",
    "duplicates",
    "timestamps",
    "returns",
    "bots",
    "unknown_items",
    "k_core",
)

RULE_DESCRIPTIONS: dict[str, str] = {
    "missing_ids": "Rows with no user id, or no item id on an event other than a search.",
    "duplicates": (
        "Repeats of the same user, item, event and time (searches also match on the query); "
        "with a window, repeats less than N seconds after the previous one."
    ),
    "timestamps": "Rows with a missing timestamp, or one outside the allowed date range.",
    "returns": "Returns and cancellations, optionally with the purchases they cancel.",
    "bots": (
        "All events of users with more events in one day or one session than the threshold "
        "(ratings, often entered in bulk, are not counted)."
    ),
    "unknown_items": "Item events whose item is not in the catalogue file.",
    "k_core": (
        "Users and items with too few distinct interaction partners, removed repeatedly "
        "until every remaining one has enough."
    ),
}

# Timestamps up to this far past the clock count as present: logs are often in local time.
FUTURE_TOLERANCE = timedelta(days=1)

# Temporary tables and views of one cleaning run; the prefix keeps them apart from the
# workspace tables.
_CURRENT = "_clean_current"
_BATCH = "_clean_batch"
_REPEATED = "_clean_repeated"
# The catalogue rows kept (one per id), staged by core.data.clean for unknown_items.
CATALOG_STAGE = "_clean_catalog"
_PAIRS = "_clean_pairs"
_KCORE_ITEMS = "_clean_kcore_items"

# Optional event columns and their types, added as NULL when a raw table lacks them.
_OPTIONAL_EVENT_COLUMNS: dict[str, str] = {
    "ts": "TIMESTAMP",
    "session_id": "VARCHAR",
    "query": "VARCHAR",
    "value": "DOUBLE",
    "is_return": "BOOLEAN",
}


def _as_datetime(value: datetime | date | str | None, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as error:
            raise CleaningError(
                f"{name}={value!r} is not a date; write it as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"
            ) from error
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    raise CleaningError(f"{name} must be a date, a datetime or an ISO string, not {value!r}")


def _as_threshold(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise CleaningError(f"{name} must be a whole number >= 0 (0 or None turns it off)")
    return int(value)


@dataclass(frozen=True)
class CleaningConfig:
    """Parameters of the cleaning rules; ``None``, ``False`` or ``0`` turns a rule (part) off.

    Parameters
    ----------
    drop_missing_ids : bool
        Drop rows with no user id, or no item id on an event other than ``search``.
    drop_duplicates : bool
        Drop repeats of the same (user, item, event, ts), keeping the first row loaded.
    duplicate_window_seconds : float
        When > 0, an event also goes when the previous event of the same user, item and type
        came at most this many seconds before it, so a burst of repeats collapses into its
        first event. 0 keeps exact duplicates only.
    drop_missing_ts : bool
        Drop rows with no timestamp. Skipped when no row has one (the source has no time
        column, as in plain user-sequence files).
    min_ts, max_ts : datetime or str, optional
        Allowed range of timestamps (inclusive). The default minimum, 1990-01-01, catches
        epoch-zero and other placeholder dates.
    drop_future : bool
        Drop timestamps later than the clock plus one day (logs are often in local time).
    drop_returns : bool
        Drop rows flagged ``is_return`` (returns and cancellations).
    drop_returned_purchases : bool
        Also drop a purchase when the same user returned the same item at or after it.
    max_events_per_user_day : int, optional
        A user with more events than this on one calendar day is a bot: all of its events go.
    max_events_per_session : int, optional
        Same, for the events of one user in one session.
    drop_unknown_items : bool
        Drop item events whose item is not in the catalogue. Applied only when a catalogue
        file was loaded; see :func:`catalog_was_given`.
    min_user_interactions : int, optional
        k-core: a user needs this many distinct items among non-search events.
    min_item_interactions : int, optional
        k-core: an item needs this many distinct users among non-search events.

    Notes
    -----
    The defaults suit e-commerce logs and keep cold-start material: a user needs two distinct
    items (one cannot be both learnt from and evaluated), and items have no minimum, because
    items that are new or rarely seen are what the cold-start models are for. Use 5 and 5 for
    the usual research "5-core" protocol.
    """

    drop_missing_ids: bool = True
    drop_duplicates: bool = True
    duplicate_window_seconds: float = 0.0
    drop_missing_ts: bool = True
    min_ts: datetime | None = datetime(1990, 1, 1)
    max_ts: datetime | None = None
    drop_future: bool = True
    drop_returns: bool = True
    drop_returned_purchases: bool = False
    max_events_per_user_day: int | None = 500
    max_events_per_session: int | None = 500
    drop_unknown_items: bool = True
    min_user_interactions: int | None = 2
    min_item_interactions: int | None = None

    def __post_init__(self) -> None:
        for name in ("min_ts", "max_ts"):
            object.__setattr__(self, name, _as_datetime(getattr(self, name), name))
        if self.min_ts is not None and self.max_ts is not None and self.min_ts > self.max_ts:
            raise CleaningError(
                f"min_ts {self.min_ts} is after max_ts {self.max_ts}; swap them or clear one"
            )
        window = self.duplicate_window_seconds
        if (
            isinstance(window, bool)
            or not isinstance(window, numbers.Real)
            or not math.isfinite(window)
            or window < 0
        ):
            raise CleaningError("duplicate_window_seconds must be a number of seconds >= 0")
        object.__setattr__(self, "duplicate_window_seconds", float(window))
        for name in (
            "max_events_per_user_day",
            "max_events_per_session",
            "min_user_interactions",
            "min_item_interactions",
        ):
            object.__setattr__(self, name, _as_threshold(getattr(self, name), name))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (dates as ISO strings)."""
        out = asdict(self)
        for name in ("min_ts", "max_ts"):
            if out[name] is not None:
                out[name] = out[name].isoformat()
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CleaningConfig:
        """Inverse of :meth:`to_dict`; unknown keys are ignored, missing ones take defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})


# --------------------------------------------------------------------------------------------
# SQL helpers


def count_rows(con: duckdb.DuckDBPyConnection, table: str, where: str = "true") -> int:
    return int(con.execute(f'SELECT count(*) FROM "{table}" WHERE {where}').fetchall()[0][0])


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in con.execute(f'DESCRIBE "{table}"').fetchall()]


def _sql_literal(value: datetime) -> str:
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"


def nonblank(column: str) -> str:
    return f"({column} IS NOT NULL AND trim({column}) <> '')"


def catalog_was_given(con: duckdb.DuckDBPyConnection) -> tuple[bool, str]:
    """Whether ``raw_catalog`` came from a catalogue file, and why we think so.

    The dataset record decides when there is one: a non-empty ``catalog_source`` means a file
    was loaded. Without a record (tables written by other means), a catalogue with any
    descriptive value (title, description, price ...) counts as given; one with ids only is
    taken as derived from the log.
    """
    if not relation_exists(con, RAW_CATALOG_TABLE):
        return False, "no catalogue table"
    if relation_exists(con, DATASET_TABLE):
        records = con.execute(
            f"SELECT catalog_source FROM {DATASET_TABLE} ORDER BY loaded_at DESC LIMIT 1"
        ).fetchall()
        if records:
            source = (records[0][0] or "").strip()
            if source:
                return True, f"catalogue file {source}"
            return False, "catalogue derived from the log"
    descriptive = [c for c in table_columns(con, RAW_CATALOG_TABLE) if c != ITEM_ID]
    if not descriptive:
        return False, "catalogue has ids only"
    preferred = [c for c in (TITLE, DESCRIPTION, PRICE) if c in descriptive] or descriptive
    condition = " OR ".join(f'"{c}" IS NOT NULL' for c in preferred)
    if count_rows(con, RAW_CATALOG_TABLE, condition):
        return True, "catalogue has descriptive columns"
    return False, "catalogue has ids only"


class Stages:
    """The rows kept so far: the raw events whose ``_removed`` flag is not set.

    A rule flags the rows it removes instead of copying the rows it keeps, so it reads only the
    columns it needs, and filtering on the flag costs next to nothing in every later query
    (far less than subtracting a table of removed row numbers).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        if REMOVED_FLAG not in table_columns(con, RAW_EVENTS_TABLE):
            con.execute(
                f"ALTER TABLE {RAW_EVENTS_TABLE} ADD COLUMN {REMOVED_FLAG} BOOLEAN DEFAULT false"
            )
        # Start from the log as loaded: the flags of an earlier cleaning are cleared.
        con.execute(f"UPDATE {RAW_EVENTS_TABLE} SET {REMOVED_FLAG} = false WHERE {REMOVED_FLAG}")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {_CURRENT} AS {base_events_sql(con)}")
        self.current = _CURRENT
        self.rows = count_rows(con, _CURRENT)

    def remove(self, rows_sql: str) -> int:
        """Remove the rows whose ``_row`` the query returns (``{src}``: rows kept so far)."""
        con = self.con
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_BATCH} AS "
            f"SELECT DISTINCT _row FROM ({rows_sql.format(src=_CURRENT)})"
        )
        updated = con.execute(
            f"UPDATE {RAW_EVENTS_TABLE} SET {REMOVED_FLAG} = true "
            f"WHERE rowid IN (SELECT _row FROM {_BATCH})"
        ).fetchall()[0][0]
        con.execute(f"DROP TABLE {_BATCH}")
        self.rows -= int(updated)
        return int(updated)

    def drop(self) -> None:
        self.con.execute(f"DROP VIEW {_CURRENT}")


# --------------------------------------------------------------------------------------------
# The rules. Each returns (parameter text, rows removed).


def _rule_missing_ids(stages: Stages, config: CleaningConfig) -> tuple[str, int]:
    if not config.drop_missing_ids:
        return "off", 0
    removed = stages.remove(
        f"SELECT _row FROM {{src}} WHERE NOT {nonblank('user_id')} "
        f"OR (item_id IS NULL AND event IS DISTINCT FROM '{SEARCH}')"
    )
    return "user id required; item id required except on searches", removed


def _rule_duplicates(stages: Stages, config: CleaningConfig) -> tuple[str, int]:
    if not config.drop_duplicates:
        return "off", 0
    window = float(config.duplicate_window_seconds)
    query = f"CASE WHEN event = '{SEARCH}' THEN query END"
    key = ["user_id", "item_id", "event", query] + (["ts"] if window <= 0 else [])
    label = "exact (user, item, event, ts)" if window <= 0 else f"repeats within {window:g} s"
    # One pass hashing the key finds the few groups with repeats (none, often: then the rule
    # ends here); the exact key then decides, so a hash collision cannot remove a row.
    con = stages.con
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_REPEATED} AS SELECT hash({', '.join(key)}) AS _hash "
        f"FROM {stages.current} GROUP BY _hash HAVING count(*) > 1"
    )
    if count_rows(con, _REPEATED) == 0:
        con.execute(f"DROP TABLE {_REPEATED}")
        return label, 0
    keyed = (
        f"WITH keyed AS (SELECT _row, user_id, item_id, event, {query} AS _query, ts AS _ts "
        f"FROM {{src}} WHERE hash({', '.join(key)}) IN (SELECT _hash FROM {_REPEATED})) "
        "SELECT _row FROM keyed "
    )
    exact = ["user_id", "item_id", "event", "_query"] + (["_ts"] if window <= 0 else [])
    partition = ", ".join(exact)
    if window <= 0:
        removed = stages.remove(
            keyed + f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY _row) > 1"
        )
    else:
        window_us = round(window * 1_000_000)
        removed = stages.remove(
            keyed + f"WINDOW w AS (PARTITION BY {partition} ORDER BY _ts NULLS LAST, _row) "
            "QUALIFY row_number() OVER w > 1 AND (_ts IS NOT DISTINCT FROM lag(_ts) OVER w "
            f"OR epoch_us(_ts) - epoch_us(lag(_ts) OVER w) <= {window_us})"
        )
    con.execute(f"DROP TABLE {_REPEATED}")
    return label, removed


def _rule_timestamps(stages: Stages, config: CleaningConfig, now: datetime) -> tuple[str, int]:
    keep: list[str] = []
    labels: list[str] = []
    if config.drop_missing_ts:
        has_any = stages.con.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {stages.current} WHERE ts IS NOT NULL LIMIT 1)"
        ).fetchall()[0][0]
        if has_any:
            keep.append("ts IS NOT NULL")
            labels.append("missing")
        else:
            labels.append("missing (skipped: no row has a timestamp)")
    # A NULL timestamp that is kept must survive the range tests below.
    if config.min_ts is not None:
        keep.append(f"(ts IS NULL OR ts >= {_sql_literal(config.min_ts)})")
        labels.append(f"before {_date_text(config.min_ts)}")
    upper = [config.max_ts] if config.max_ts is not None else []
    if config.max_ts is not None:
        labels.append(f"after {_date_text(config.max_ts)}")
    if config.drop_future:
        upper.append(now + FUTURE_TOLERANCE)
        labels.append("in the future")
    if upper:
        keep.append(f"(ts IS NULL OR ts <= {_sql_literal(min(upper))})")
    if not labels:
        return "off", 0
    if not keep:
        return "; ".join(labels), 0
    removed = stages.remove(f"SELECT _row FROM {{src}} WHERE NOT ({' AND '.join(keep)})")
    return "; ".join(labels), removed


def _date_text(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}".removesuffix(" 00:00:00")


def _rule_returns(stages: Stages, config: CleaningConfig) -> tuple[str, int]:
    if not (config.drop_returns or config.drop_returned_purchases):
        return "off", 0
    queries = ["SELECT _row FROM {src} WHERE is_return"] if config.drop_returns else []
    if config.drop_returned_purchases:
        # A purchase is cancelled by a return of the same user and item at or after it; a
        # missing timestamp on either side cannot rule the match out.
        queries.append(
            "SELECT s._row FROM {src} s JOIN (SELECT user_id, item_id, max(ts) AS last_return, "
            "bool_or(ts IS NULL) AS undated FROM {src} WHERE is_return "
            "GROUP BY user_id, item_id) r ON s.user_id = r.user_id AND s.item_id = r.item_id "
            "WHERE s.event = 'purchase' AND s.is_return IS NOT TRUE "
            "AND (r.undated OR s.ts IS NULL OR s.ts <= r.last_return)"
        )
    removed = stages.remove(" UNION ALL ".join(queries))
    label = "returns" if config.drop_returns else "kept returns"
    if config.drop_returned_purchases:
        label += " and the purchases they cancel"
    return label, removed


def _rule_bots(stages: Stages, config: CleaningConfig) -> tuple[str, int]:
    per_day = config.max_events_per_user_day or None
    per_session = config.max_events_per_session or None
    if per_day is None and per_session is None:
        return "off", 0
    queries: list[str] = []
    labels: list[str] = []
    if per_day is not None:
        queries.append(
            f"SELECT user_id FROM {{src}} WHERE ts IS NOT NULL AND event <> '{RATING}' "
            f"GROUP BY user_id, CAST(ts AS DATE) HAVING count(*) > {int(per_day)}"
        )
        labels.append(f"> {per_day} events per user per day")
    if per_session is not None:
        queries.append(
            f"SELECT user_id FROM {{src}} WHERE session_id IS NOT NULL AND event <> '{RATING}' "
            f"GROUP BY user_id, session_id HAVING count(*) > {int(per_session)}"
        )
        labels.append(f"> {per_session} events per session")
    bots = " UNION ".join(queries)
    removed = stages.remove(f"SELECT _row FROM {{src}} SEMI JOIN ({bots}) b USING (user_id)")
    return "; ".join(labels), removed


def _rule_unknown_items(stages: Stages, config: CleaningConfig) -> tuple[str, int]:
    if not config.drop_unknown_items:
        return "off", 0
    given, why = catalog_was_given(stages.con)
    if not given:
        return f"skipped: {why}", 0
    removed = stages.remove(
        f"SELECT s._row FROM {{src}} s ANTI JOIN {CATALOG_STAGE} c USING (item_id) "
        "WHERE s.item_id IS NOT NULL"
    )
    return f"on ({why})", removed


def _rule_k_core(stages: Stages, config: CleaningConfig) -> tuple[str, int]:
    r"""Remove users and items below their thresholds until none is left.

    Over the bipartite graph of distinct (user, item) pairs of non-search events, the k-core
    is the largest subgraph where every user has at least :math:`k_u` items and every item at
    least :math:`k_i` users. Each round removes every user and item below its threshold
    together with their pairs; removals can push others below, so rounds repeat until one
    removes nothing. The result is the subgraph induced by the surviving users and items, so
    an event goes exactly when its user or its item was removed.
    """
    min_user = config.min_user_interactions or 0
    min_item = config.min_item_interactions or 0
    if min_user == 0 and min_item == 0:
        return "off", 0
    pairs_sql = (
        f"SELECT DISTINCT user_id, item_id FROM {{src}} "
        f"WHERE item_id IS NOT NULL AND event <> '{SEARCH}'"
    )
    if min_item <= 1:
        # Without an item threshold nothing cascades: one pass over the users is the k-core.
        if min_user == 0:
            return _k_core_label(min_user, min_item, 1), 0
        # Two distinct items means a smallest and a largest that differ: far cheaper to find
        # than a distinct count.
        enough = (
            "min(item_id) < max(item_id)"
            if min_user == 2
            else f"count(DISTINCT item_id) >= {min_user}"
        )
        removed = stages.remove(
            f"SELECT _row FROM {{src}} ANTI JOIN (SELECT user_id FROM {{src}} "
            f"WHERE item_id IS NOT NULL AND event <> '{SEARCH}' "
            f"GROUP BY user_id HAVING {enough}) k USING (user_id) "
            "WHERE user_id IS NOT NULL"
        )
        return _k_core_label(min_user, min_item, 1), removed
    con = stages.con
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_PAIRS} AS {pairs_sql.format(src=stages.current)}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_KCORE_ITEMS} AS SELECT DISTINCT item_id FROM {_PAIRS}"
    )
    rounds = 0
    while True:
        rounds += 1
        low_users = (
            f"SELECT user_id FROM {_PAIRS} GROUP BY user_id HAVING count(*) < {min_user}"
            if min_user > 1
            else "SELECT NULL AS user_id WHERE false"
        )
        low_items = (
            f"SELECT item_id FROM {_PAIRS} GROUP BY item_id HAVING count(*) < {min_item}"
            if min_item > 1
            else "SELECT NULL AS item_id WHERE false"
        )
        deleted = con.execute(
            f"DELETE FROM {_PAIRS} WHERE user_id IN ({low_users}) OR item_id IN ({low_items})"
        ).fetchall()[0][0]
        if deleted == 0:
            break
    # Users with no surviving pair (including users with searches only) go when users are
    # thresholded; items with no surviving pair go when items are.
    queries = []
    if min_user > 0:
        queries.append(
            "SELECT _row FROM {src} WHERE user_id IN "
            f"(SELECT DISTINCT user_id FROM {{src}} EXCEPT SELECT user_id FROM {_PAIRS})"
        )
    if min_item > 1:
        queries.append(
            f"SELECT _row FROM {{src}} WHERE item_id IS NOT NULL AND event <> '{SEARCH}' "
            f"AND item_id IN (SELECT item_id FROM {_KCORE_ITEMS} "
            f"EXCEPT SELECT item_id FROM {_PAIRS})"
        )
    removed = stages.remove(" UNION ALL ".join(queries)) if queries else 0
    con.execute(f"DROP TABLE {_PAIRS}")
    con.execute(f"DROP TABLE {_KCORE_ITEMS}")
    return _k_core_label(min_user, min_item, rounds), removed


def _k_core_label(min_user: int, min_item: int, rounds: int) -> str:
    parts = []
    if min_user > 0:
        parts.append(f"users >= {min_user} distinct items")
    if min_item > 0:
        parts.append(f"items >= {min_item} distinct users")
    return f"{', '.join(parts)} ({rounds} {'round' if rounds == 1 else 'rounds'})"


def base_events_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The raw events not flagged removed, with a row number, blank item ids as NULL and every
    optional column."""
    columns = table_columns(con, RAW_EVENTS_TABLE)
    missing = [c for c in ("user_id", "item_id", "event") if c not in columns]
    if missing:
        raise WorkspaceError(
            f"{RAW_EVENTS_TABLE} lacks column(s) {', '.join(missing)}; load the dataset again"
        )
    added = "".join(
        f", CAST(NULL AS {kind}) AS {name}"
        for name, kind in _OPTIONAL_EVENT_COLUMNS.items()
        if name not in columns
    )
    # A blank item id is no id: searches keep it as NULL, other events lose the row.
    return (
        f"SELECT rowid AS _row, * EXCLUDE ({REMOVED_FLAG}) REPLACE (CASE WHEN trim(item_id) = '' "
        f"THEN NULL ELSE item_id END AS item_id){added} FROM {RAW_EVENTS_TABLE} "
        f"WHERE NOT {REMOVED_FLAG}"
    )


def run_rule(name: str, stages: Stages, config: CleaningConfig, now: datetime) -> tuple[str, int]:
    """Apply rule ``name`` to the rows kept so far; return its parameter text and rows removed.

    ``now`` is the time of the cleaning run: the ``timestamps`` rule removes times after it.
    """
    if name == "timestamps":
        return _rule_timestamps(stages, config, now)
    rule = {
        "missing_ids": _rule_missing_ids,
        "duplicates": _rule_duplicates,
        "returns": _rule_returns,
        "bots": _rule_bots,
        "unknown_items": _rule_unknown_items,
        "k_core": _rule_k_core,
    }[name]
    return rule(stages, config)
