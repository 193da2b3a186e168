"""Cleaning: ``raw_events`` -> ``events`` and ``raw_catalog`` -> ``catalog`` through counted rules.

The rules run in a fixed order, each over the rows the previous one kept, and each is recorded in
a :class:`CleaningReport` (rows before, after, removed, its parameter as text):

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

Everything happens in DuckDB SQL inside one workspace transaction, so no row passes through
pandas and a failure leaves the workspace exactly as it was. Rules never copy the rows they
keep: the raw table carries one flag column, ``_removed``, that each rule sets on the rows it
removes, the next rule reads the rows not flagged, and ``events`` is a view of the unflagged
raw rows. The raw values themselves are never modified, so cleaning again with other
parameters starts from the log as loaded. The catalogue keeps every item with an id, including
items no event mentions: cold-start items belong to it.
"""

from __future__ import annotations

import json
import math
import numbers
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pandas as pd

from core.data.workspace import Workspace, drop_relation, relation_exists
from core.errors import CleaningError, WorkspaceError
from core.schema import (
    CATALOG_TABLE,
    CLEANING_REMOVED_TABLE,
    CLEANING_REPORTS_TABLE,
    DATASET_TABLE,
    DESCRIPTION,
    EVENTS_TABLE,
    ITEM_ID,
    PRICE,
    RATING,
    RAW_CATALOG_TABLE,
    RAW_EVENTS_TABLE,
    REMOVED_FLAG,
    SEARCH,
    TITLE,
)

Callback = Callable[[int, int, str], None]

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

# Summary rows stored beside the rule rows of a report (step 0 in ``cleaning_reports``).
_SUMMARY_EVENTS = "total events"
_SUMMARY_USERS = "distinct users"
_SUMMARY_ITEMS = "distinct items"
_SUMMARY_CATALOG = "catalogue items"
_SUMMARY_CONFIG = "config"

# Timestamps up to this far past the clock count as present: logs are often in local time.
FUTURE_TOLERANCE = timedelta(days=1)

# Temporary tables and views of one cleaning run; the prefix keeps them apart from the
# workspace tables.
_CURRENT = "_clean_current"
_BATCH = "_clean_batch"
_REPEATED = "_clean_repeated"
_CATALOG_STAGE = "_clean_catalog"
_PAIRS = "_clean_pairs"
_KCORE_ITEMS = "_clean_kcore_items"


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


@dataclass(frozen=True)
class RuleResult:
    """What one cleaning rule did."""

    step: int
    rule: str
    parameter: str
    rows_before: int
    rows_after: int
    removed: int
    description: str


@dataclass(frozen=True)
class CleaningReport:
    """Counts of one cleaning run: per rule, and distinct users/items before and after."""

    report_id: str
    created_at: datetime
    config: CleaningConfig
    rules: tuple[RuleResult, ...]
    n_events_before: int
    n_events_after: int
    n_users_before: int
    n_users_after: int
    n_items_before: int
    n_items_after: int
    n_catalog_before: int
    n_catalog_after: int

    @property
    def removed(self) -> int:
        """Events removed by all rules together."""
        return self.n_events_before - self.n_events_after

    def rule(self, name: str) -> RuleResult:
        """The result of the rule called ``name`` (one of :data:`RULES`)."""
        for result in self.rules:
            if result.rule == name:
                return result
        raise KeyError(f"no rule {name!r} in the report; rules: {', '.join(RULES)}")

    def to_frame(self) -> pd.DataFrame:
        """One row per rule, in the order the rules ran."""
        columns = [f.name for f in fields(RuleResult)]
        return pd.DataFrame([asdict(result) for result in self.rules], columns=columns)

    def summary(self) -> list[tuple[str, int, int]]:
        """(quantity, before, after) for events, distinct users and items, catalogue items."""
        return [
            (_SUMMARY_EVENTS, self.n_events_before, self.n_events_after),
            (_SUMMARY_USERS, self.n_users_before, self.n_users_after),
            (_SUMMARY_ITEMS, self.n_items_before, self.n_items_after),
            (_SUMMARY_CATALOG, self.n_catalog_before, self.n_catalog_after),
        ]

    def summary_frame(self) -> pd.DataFrame:
        """:meth:`summary` as a frame with a ``removed`` column."""
        frame = pd.DataFrame(self.summary(), columns=["quantity", "before", "after"])
        frame["removed"] = frame["before"] - frame["after"]
        return frame


# --------------------------------------------------------------------------------------------
# SQL helpers


def _count(con: duckdb.DuckDBPyConnection, table: str, where: str = "true") -> int:
    return int(con.execute(f'SELECT count(*) FROM "{table}" WHERE {where}').fetchall()[0][0])


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in con.execute(f'DESCRIBE "{table}"').fetchall()]


def _sql_literal(value: datetime) -> str:
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"


def _nonblank(column: str) -> str:
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
    descriptive = [c for c in _columns(con, RAW_CATALOG_TABLE) if c != ITEM_ID]
    if not descriptive:
        return False, "catalogue has ids only"
    preferred = [c for c in (TITLE, DESCRIPTION, PRICE) if c in descriptive] or descriptive
    condition = " OR ".join(f'"{c}" IS NOT NULL' for c in preferred)
    if _count(con, RAW_CATALOG_TABLE, condition):
        return True, "catalogue has descriptive columns"
    return False, "catalogue has ids only"


class _Stages:
    """The rows kept so far: the raw events whose ``_removed`` flag is not set.

    A rule flags the rows it removes instead of copying the rows it keeps, so it reads only the
    columns it needs, and filtering on the flag costs next to nothing in every later query
    (far less than subtracting a table of removed row numbers).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        if REMOVED_FLAG not in _columns(con, RAW_EVENTS_TABLE):
            con.execute(
                f"ALTER TABLE {RAW_EVENTS_TABLE} ADD COLUMN {REMOVED_FLAG} BOOLEAN DEFAULT false"
            )
        # Start from the log as loaded: the flags of an earlier cleaning are cleared.
        con.execute(f"UPDATE {RAW_EVENTS_TABLE} SET {REMOVED_FLAG} = false WHERE {REMOVED_FLAG}")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {_CURRENT} AS {_base_events_sql(con)}")
        self.current = _CURRENT
        self.rows = _count(con, _CURRENT)

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


def _rule_missing_ids(stages: _Stages, config: CleaningConfig) -> tuple[str, int]:
    if not config.drop_missing_ids:
        return "off", 0
    removed = stages.remove(
        f"SELECT _row FROM {{src}} WHERE NOT {_nonblank('user_id')} "
        f"OR (item_id IS NULL AND event IS DISTINCT FROM '{SEARCH}')"
    )
    return "user id required; item id required except on searches", removed


def _rule_duplicates(stages: _Stages, config: CleaningConfig) -> tuple[str, int]:
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
    if _count(con, _REPEATED) == 0:
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


def _rule_timestamps(stages: _Stages, config: CleaningConfig, now: datetime) -> tuple[str, int]:
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


def _rule_returns(stages: _Stages, config: CleaningConfig) -> tuple[str, int]:
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


def _rule_bots(stages: _Stages, config: CleaningConfig) -> tuple[str, int]:
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


def _rule_unknown_items(stages: _Stages, config: CleaningConfig) -> tuple[str, int]:
    if not config.drop_unknown_items:
        return "off", 0
    given, why = catalog_was_given(stages.con)
    if not given:
        return f"skipped: {why}", 0
    removed = stages.remove(
        f"SELECT s._row FROM {{src}} s ANTI JOIN {_CATALOG_STAGE} c USING (item_id) "
        "WHERE s.item_id IS NOT NULL"
    )
    return f"on ({why})", removed


def _rule_k_core(stages: _Stages, config: CleaningConfig) -> tuple[str, int]:
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


# --------------------------------------------------------------------------------------------
# Running the rules


# Optional event columns and their types, added as NULL when a raw table lacks them.
_OPTIONAL_EVENT_COLUMNS: dict[str, str] = {
    "ts": "TIMESTAMP",
    "session_id": "VARCHAR",
    "query": "VARCHAR",
    "value": "DOUBLE",
    "is_return": "BOOLEAN",
}
_CATALOG_TYPES: dict[str, str] = {
    "title": "VARCHAR",
    "description": "VARCHAR",
    "category": "VARCHAR",
    "brand": "VARCHAR",
    "price": "DOUBLE",
    "first_seen": "TIMESTAMP",
}


def _distinct_counts(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int]:
    users, items = con.execute(
        f"SELECT count(DISTINCT user_id) FILTER (WHERE {_nonblank('user_id')}), "
        f"count(DISTINCT item_id) FILTER (WHERE {_nonblank('item_id')}) FROM {table}"
    ).fetchall()[0]
    return int(users), int(items)


def _base_events_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The raw events not flagged removed, with a row number, blank item ids as NULL and every
    optional column."""
    columns = _columns(con, RAW_EVENTS_TABLE)
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


def _start_catalog(con: duckdb.DuckDBPyConnection) -> int:
    """Stage the catalogue (one row per non-blank id, first row loaded); return raw rows."""
    if not relation_exists(con, RAW_CATALOG_TABLE):
        return 0
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_CATALOG_STAGE} AS SELECT rowid AS _row, * "
        f"FROM {RAW_CATALOG_TABLE} WHERE {_nonblank('item_id')} "
        "QUALIFY row_number() OVER (PARTITION BY item_id ORDER BY rowid) = 1"
    )
    return _count(con, RAW_CATALOG_TABLE)


def _write_catalog(con: duckdb.DuckDBPyConnection, has_raw: bool) -> int:
    if has_raw:
        con.execute(
            f"CREATE OR REPLACE TABLE {CATALOG_TABLE} AS "
            f"SELECT * EXCLUDE (_row) FROM {_CATALOG_STAGE} ORDER BY _row"
        )
        con.execute(f"DROP TABLE {_CATALOG_STAGE}")
    else:
        nulls = ", ".join(
            f"CAST(NULL AS {kind}) AS {name}" for name, kind in _CATALOG_TYPES.items()
        )
        con.execute(
            f"CREATE OR REPLACE TABLE {CATALOG_TABLE} AS SELECT item_id, {nulls} FROM "
            f"(SELECT DISTINCT item_id FROM {EVENTS_TABLE} WHERE item_id IS NOT NULL) "
            "ORDER BY item_id"
        )
    return _count(con, CATALOG_TABLE)


def _store_report(con: duckdb.DuckDBPyConnection, report: CleaningReport) -> None:
    rows: list[Sequence[Any]] = [
        (0, _SUMMARY_CONFIG, json.dumps(report.config.to_dict(), sort_keys=True), 0, 0, 0, ""),
    ]
    for name, before, after in report.summary():
        rows.append((0, name, "", before, after, before - after, ""))
    rows.extend(
        (r.step, r.rule, r.parameter, r.rows_before, r.rows_after, r.removed, r.description)
        for r in report.rules
    )
    placeholders = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
    values = [value for row in rows for value in (report.report_id, report.created_at, *row)]
    con.execute(f"INSERT INTO {CLEANING_REPORTS_TABLE} VALUES {placeholders}", values)


def clean_dataset(
    ws: Workspace,
    config: CleaningConfig | None = None,
    callback: Callback | None = None,
) -> CleaningReport:
    """Apply the cleaning rules to ``raw_events``/``raw_catalog`` and write ``events``/``catalog``.

    Parameters
    ----------
    ws : Workspace
        Workspace holding the loaded raw tables.
    config : CleaningConfig, optional
        Rule parameters; the defaults of :class:`CleaningConfig` when omitted.
    callback : callable, optional
        ``callback(step, total, info)`` after each rule and after the final write.

    Returns
    -------
    CleaningReport
        Also stored in ``cleaning_reports`` (see :func:`latest_report`).

    Raises
    ------
    WorkspaceError
        No raw events have been loaded.
    CleaningError
        The rules would remove every event; nothing is written then.
    """
    config = CleaningConfig() if config is None else config
    if not isinstance(config, CleaningConfig):
        raise CleaningError(f"config must be a CleaningConfig, not {type(config).__name__}")
    total = len(RULES) + 1
    created_at = datetime.now(UTC).replace(tzinfo=None)
    with ws.transaction() as con:
        if not relation_exists(con, RAW_EVENTS_TABLE):
            raise WorkspaceError(
                f"no raw events in workspace {ws.name!r}: load a dataset before cleaning"
            )
        stages = _Stages(con)
        n_before = stages.rows
        if n_before == 0:
            raise CleaningError(f"{RAW_EVENTS_TABLE} is empty: load a dataset with events")
        users_before, items_before = _distinct_counts(con, stages.current)
        has_catalog = relation_exists(con, RAW_CATALOG_TABLE)
        n_catalog_before = _start_catalog(con)

        rules = {
            "missing_ids": lambda: _rule_missing_ids(stages, config),
            "duplicates": lambda: _rule_duplicates(stages, config),
            "timestamps": lambda: _rule_timestamps(stages, config, created_at),
            "returns": lambda: _rule_returns(stages, config),
            "bots": lambda: _rule_bots(stages, config),
            "unknown_items": lambda: _rule_unknown_items(stages, config),
            "k_core": lambda: _rule_k_core(stages, config),
        }
        results: list[RuleResult] = []
        for step, name in enumerate(RULES, start=1):
            rows_before = stages.rows
            parameter, removed = rules[name]()
            results.append(
                RuleResult(
                    step=step,
                    rule=name,
                    parameter=parameter,
                    rows_before=rows_before,
                    rows_after=stages.rows,
                    removed=removed,
                    description=RULE_DESCRIPTIONS[name],
                )
            )
            if callback is not None:
                callback(step, total, f"{name}: {removed:,} rows removed")
        if stages.rows == 0:
            last = next(result for result in results if result.rows_after == 0)
            raise CleaningError(
                f"the cleaning rules would remove every event: {last.rule} "
                f"({last.parameter}) removed the last {last.removed:,}; loosen that rule"
            )

        # Only the removal flags are written; events is a view of the raw rows not flagged, so
        # a clean never copies the whole log.
        drop_relation(con, EVENTS_TABLE)
        drop_relation(con, CLEANING_REMOVED_TABLE)
        con.execute(
            f"CREATE VIEW {EVENTS_TABLE} AS SELECT * EXCLUDE (_row) FROM ({_base_events_sql(con)})"
        )
        stages.drop()
        users_after, items_after = _distinct_counts(con, EVENTS_TABLE)
        n_catalog_after = _write_catalog(con, has_catalog)
        report = CleaningReport(
            report_id=uuid.uuid4().hex,
            created_at=created_at,
            config=config,
            rules=tuple(results),
            n_events_before=n_before,
            n_events_after=stages.rows,
            n_users_before=users_before,
            n_users_after=users_after,
            n_items_before=items_before,
            n_items_after=items_after,
            n_catalog_before=n_catalog_before,
            n_catalog_after=n_catalog_after,
        )
        _store_report(con, report)
    if callback is not None:
        callback(
            total,
            total,
            f"{report.n_events_after:,} events and "
            f"{report.n_catalog_after:,} catalogue items written",
        )
    return report


def latest_report(ws: Workspace) -> CleaningReport | None:
    """The newest stored :class:`CleaningReport` of ``ws``, or None if it was never cleaned."""
    with ws.connect() as con:
        if not relation_exists(con, CLEANING_REPORTS_TABLE):
            return None
        newest = con.execute(
            f"SELECT report_id, created_at FROM {CLEANING_REPORTS_TABLE} "
            "ORDER BY created_at DESC, report_id DESC LIMIT 1"
        ).fetchall()
        if not newest:
            return None
        report_id, created_at = newest[0]
        stored = con.execute(
            "SELECT step, rule, parameter, rows_before, rows_after, removed, description "
            f"FROM {CLEANING_REPORTS_TABLE} WHERE report_id = ? ORDER BY step, rule",
            [report_id],
        ).fetchall()
    summary: dict[str, tuple[int, int]] = {}
    config = CleaningConfig()
    rules: list[RuleResult] = []
    for step, rule, parameter, before, after, removed, description in stored:
        if step == 0 and rule == _SUMMARY_CONFIG:
            config = CleaningConfig.from_dict(json.loads(parameter))
        elif step == 0:
            summary[rule] = (int(before), int(after))
        else:
            rules.append(
                RuleResult(
                    step=int(step),
                    rule=rule,
                    parameter=parameter,
                    rows_before=int(before),
                    rows_after=int(after),
                    removed=int(removed),
                    description=description,
                )
            )
    rules.sort(key=lambda result: result.step)
    zero = (0, 0)
    return CleaningReport(
        report_id=report_id,
        created_at=created_at,
        config=config,
        rules=tuple(rules),
        n_events_before=summary.get(_SUMMARY_EVENTS, zero)[0],
        n_events_after=summary.get(_SUMMARY_EVENTS, zero)[1],
        n_users_before=summary.get(_SUMMARY_USERS, zero)[0],
        n_users_after=summary.get(_SUMMARY_USERS, zero)[1],
        n_items_before=summary.get(_SUMMARY_ITEMS, zero)[0],
        n_items_after=summary.get(_SUMMARY_ITEMS, zero)[1],
        n_catalog_before=summary.get(_SUMMARY_CATALOG, zero)[0],
        n_catalog_after=summary.get(_SUMMARY_CATALOG, zero)[1],
    )
