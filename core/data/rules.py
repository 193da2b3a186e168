"""The cleaning rules and their parameters, each a DuckDB statement over the rows kept so far.

The rules run in a fixed order (:data:`RULES`), each over the rows the previous one kept:

1. ``missing_ids``: rows without a user, or without an item unless the event is a search.
2. ``duplicates``: repeats of the same user, item, event and timestamp (searches also match on
   the query); optionally a whole burst of repeats less than N seconds apart collapses into its
   first event.
3. ``timestamps``: missing timestamps, and timestamps before a minimum date (given, or derived
   from the data: a minority of rows before a gap of more than a year), after a maximum date
   or in the future. Skipped when the dataset's times are positions in a sequence.
4. ``returns``: rows flagged ``is_return``; optionally also the purchases they cancel.
5. ``bots``: every event of a user whose browsing (events other than purchases and ratings)
   runs faster than a threshold per minute within a session, or exceeds a count per session
   (or per day); users whose purchases make up a large share of their events are buyers, not
   bots, and chosen users are kept.
6. ``unknown_items``: item events whose item is not in the catalogue, applied only when a
   catalogue file was given (a catalogue derived from the log says nothing about which items
   exist).
7. ``k_core``: users with fewer than ``min_user_interactions`` distinct items and items with
   fewer than ``min_item_interactions`` distinct users, removed repeatedly until none is left
   (chosen users are kept).

Item ids may be normalised first (surrounding spaces trimmed, letters upper-cased), so that
"85123A" and " 85123a" are one product. A rule that would remove every remaining event is
refused with its reason.

The rules read the log dictionary-encoded (:mod:`core.data.codes`): users and items are
integer codes, so they group and join integers, not strings. Rules never copy the rows they
keep: the coded log carries one flag column, ``_removed``, that each rule sets on the rows it
removes (:class:`Stages`), and the next rule reads the rows not flagged; at the end the flags
are copied to the raw table, whose unflagged rows are the cleaned ``events``.
:mod:`core.data.clean` runs the rules and records what each did.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from core.data.cleaning_config import CleaningConfig
from core.data.codes import OPTIONAL_EVENT_COLUMNS, ensure_codes, kept_events_sql
from core.data.ingest.presets import PRESETS
from core.data.workspace import relation_exists
from core.errors import WorkspaceError
from core.schema import (
    CLEAN_ITEM_CODES_TABLE,
    DATASET_TABLE,
    DESCRIPTION,
    EVENT_CODES_TABLE,
    ITEM_CODES_TABLE,
    ITEM_ID,
    PRICE,
    PURCHASE,
    RATING,
    RAW_CATALOG_TABLE,
    RAW_EVENTS_TABLE,
    REMOVED_FLAG,
    SEARCH,
    TITLE,
    USER_CODES_TABLE,
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
    "timestamps": (
        "Rows with a missing timestamp, or one outside the allowed date range (skipped when "
        "the times are positions in a sequence)."
    ),
    "returns": "Returns and cancellations, optionally with the purchases they cancel.",
    "bots": (
        "All events of users who browse faster than the threshold per minute in a session, or "
        "more than the threshold per session or day (purchases and ratings are not counted; "
        "users with a large purchase share are buyers and stay)."
    ),
    "unknown_items": "Item events whose item is not in the catalogue file.",
    "k_core": (
        "Users and items with too few distinct interaction partners, removed repeatedly "
        "until every remaining one has enough."
    ),
}

# A derived lower time bound cuts a minority of rows off the rest across a gap longer than this.
MIN_TS_GAP_DAYS = 365

# Removed users kept per rule in a report (the total is kept too).
MAX_LISTED_USERS = 1000

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
_BATCH_USERS = "_clean_batch_users"
# The codes of the users the bot and k-core rules keep (CleaningConfig.keep_users).
KEEP_USERS = "_clean_keep_users"
# The codes of the catalogue's items, as the cleaning reads them.
_CATALOG_CODES = "_clean_catalog_codes"
# Codes of users whose id is blank: no user to the missing_ids rule and the reports.
_BLANK_USERS = f"SELECT user_code FROM {USER_CODES_TABLE} WHERE blank"


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


def dataset_preset(con: duckdb.DuckDBPyConnection) -> str | None:
    """The preset the active dataset was loaded with (None without a dataset record)."""
    if not relation_exists(con, DATASET_TABLE):
        return None
    found = con.execute(
        f"SELECT preset FROM {DATASET_TABLE} ORDER BY loaded_at DESC LIMIT 1"
    ).fetchall()
    return found[0][0] if found else None


def times_are_positions(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the dataset's ``ts`` are positions in a sequence (its preset says so)."""
    preset = PRESETS.get(dataset_preset(con) or "")
    return preset is not None and preset.ts_is_position


def item_id_sql(column: str, normalise: bool) -> str:
    """An item id as the cleaning sees it: blank is NULL; normalised, trimmed and upper-cased."""
    value = f"upper(trim({column}))" if normalise else column
    return f"CASE WHEN trim({column}) = '' THEN NULL ELSE {value} END"


def clean_item_codes(con: duckdb.DuckDBPyConnection, normalise: bool) -> None:
    """Write ``clean_item_codes``: each item code, the item id the cleaning reads for it and
    the code standing for that id (the smallest of the codes that normalise to it)."""
    con.execute(
        f"CREATE OR REPLACE TABLE {CLEAN_ITEM_CODES_TABLE} AS SELECT item_code, "
        "CAST(min(item_code) OVER (PARTITION BY item_id) AS INTEGER) AS clean_code, item_id "
        f"FROM (SELECT item_code, {item_id_sql('item_id', normalise)} AS item_id "
        f"FROM {ITEM_CODES_TABLE})"
    )


class Stages:
    """The rows kept so far: the coded events whose ``_removed`` flag is not set.

    A rule flags the rows it removes instead of copying the rows it keeps, so it reads only the
    columns it needs, and filtering on the flag costs next to nothing in every later query
    (far less than subtracting a table of removed row numbers). ``removed_users`` collects, per
    call of :meth:`remove`, the users that lost their last row, with their rows removed.

    The rows are those of ``event_codes`` (:mod:`core.data.codes`): ``_row`` (the raw row),
    ``user_code``, ``item_code`` (merged when ids are normalised; NULL when blank), ``event``,
    ``ts``, ``session_id``, ``query`` and ``is_return``. :meth:`drop` copies the flags to
    ``raw_events``.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        normalise_ids: bool = False,
        keep_users: tuple[str, ...] = (),
    ) -> None:
        self.con = con
        check_event_columns(con)
        ensure_codes(con)
        self.positions = times_are_positions(con)
        self.removed_users: list[tuple[str, int]] = []
        clean_item_codes(con, normalise_ids)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {KEEP_USERS} (user_code INTEGER)")
        if keep_users:
            con.executemany(
                f"INSERT INTO {KEEP_USERS} SELECT user_code FROM {USER_CODES_TABLE} "
                "WHERE user_id = ?",
                [[u] for u in keep_users],
            )
        # Start from the log as loaded: the flags of an earlier cleaning are cleared.
        con.execute(f"UPDATE {EVENT_CODES_TABLE} SET {REMOVED_FLAG} = false WHERE {REMOVED_FLAG}")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {_CURRENT} AS {kept_events_sql(con)}")
        self.current = _CURRENT
        self.rows = count_rows(con, _CURRENT)

    def distinct_counts(self, kept: bool) -> tuple[int, int]:
        """Distinct non-blank users and items of the rows kept (``kept``) or of the raw log."""
        source = _CURRENT if kept else EVENT_CODES_TABLE
        users, items = self.con.execute(
            "SELECT count(DISTINCT user_code) FILTER "
            f"(WHERE user_code NOT IN ({_BLANK_USERS})), count(DISTINCT item_code) FROM {source}"
        ).fetchall()[0]
        return int(users), int(items)

    def remove(self, rows_sql: str) -> int:
        """Remove the rows whose ``_row`` the query returns (``{src}``: rows kept so far)."""
        con = self.con
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_BATCH} AS "
            f"SELECT DISTINCT _row FROM ({rows_sql.format(src=_CURRENT)})"
        )
        if count_rows(con, _BATCH) == 0:
            con.execute(f"DROP TABLE {_BATCH}")
            return 0
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_BATCH_USERS} AS SELECT user_code, count(*) AS n "
            f"FROM {EVENT_CODES_TABLE} WHERE _row IN (SELECT _row FROM {_BATCH}) "
            f"AND user_code NOT IN ({_BLANK_USERS}) GROUP BY user_code"
        )
        updated = con.execute(
            f"UPDATE {EVENT_CODES_TABLE} SET {REMOVED_FLAG} = true "
            f"WHERE _row IN (SELECT _row FROM {_BATCH})"
        ).fetchall()[0][0]
        gone = con.execute(
            f"SELECT u.user_id, b.n FROM {_BATCH_USERS} b JOIN {USER_CODES_TABLE} u "
            f"USING (user_code) WHERE b.user_code NOT IN (SELECT user_code FROM {_CURRENT} "
            f"WHERE user_code IN (SELECT user_code FROM {_BATCH_USERS}))"
        ).fetchall()
        self.removed_users.extend((str(user), int(n)) for user, n in gone)
        con.execute(f"DROP TABLE {_BATCH}")
        con.execute(f"DROP TABLE {_BATCH_USERS}")
        self.rows -= int(updated)
        return int(updated)

    def drop(self) -> None:
        """Drop the temporary tables and copy the removal flags to ``raw_events``."""
        con = self.con
        con.execute(f"DROP VIEW {_CURRENT}")
        con.execute(f"DROP TABLE {KEEP_USERS}")
        con.execute(f"DROP TABLE IF EXISTS {_CATALOG_CODES}")
        if REMOVED_FLAG not in table_columns(con, RAW_EVENTS_TABLE):
            con.execute(
                f"ALTER TABLE {RAW_EVENTS_TABLE} ADD COLUMN {REMOVED_FLAG} BOOLEAN DEFAULT false"
            )
        con.execute(f"UPDATE {RAW_EVENTS_TABLE} SET {REMOVED_FLAG} = false WHERE {REMOVED_FLAG}")
        con.execute(
            f"UPDATE {RAW_EVENTS_TABLE} SET {REMOVED_FLAG} = true WHERE rowid IN "
            f"(SELECT _row FROM {EVENT_CODES_TABLE} WHERE {REMOVED_FLAG})"
        )


# --------------------------------------------------------------------------------------------
# The rules. Each returns (parameter text, rows removed).


def _rule_missing_ids(stages: Stages, config: CleaningConfig) -> tuple[str, int]:
    if not config.drop_missing_ids:
        return "off", 0
    removed = stages.remove(
        f"SELECT _row FROM {{src}} WHERE user_code IS NULL OR user_code IN ({_BLANK_USERS}) "
        f"OR (item_code IS NULL AND event IS DISTINCT FROM '{SEARCH}')"
    )
    return "user id required; item id required except on searches", removed


def _rule_duplicates(stages: Stages, config: CleaningConfig) -> tuple[str, int]:
    if not config.drop_duplicates:
        return "off", 0
    window = float(config.duplicate_window_seconds)
    query = f"CASE WHEN event = '{SEARCH}' THEN query END"
    key = ["user_code", "item_code", "event", query] + (["ts"] if window <= 0 else [])
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
        f"WITH keyed AS (SELECT _row, user_code, item_code, event, {query} AS _query, ts AS _ts "
        f"FROM {{src}} WHERE hash({', '.join(key)}) IN (SELECT _hash FROM {_REPEATED})) "
        "SELECT _row FROM keyed "
    )
    exact = ["user_code", "item_code", "event", "_query"] + (["_ts"] if window <= 0 else [])
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


def derived_min_ts(con: duckdb.DuckDBPyConnection, table: str) -> datetime | None:
    """The first day after the latest gap of more than :data:`MIN_TS_GAP_DAYS` days between
    dated rows that has fewer rows before it than from it on; None when there is no such gap.

    Placeholder dates (epoch zero, 1900-01-01) sit alone, years before the log; a log of any
    era, or one spread evenly over the years, has no such gap.
    """
    found = con.execute(
        f"WITH days AS (SELECT CAST(ts AS DATE) AS day, count(*) AS n FROM {table} "
        "WHERE ts IS NOT NULL GROUP BY day), "
        "steps AS (SELECT day, lead(day) OVER (ORDER BY day) AS next_day, "
        "sum(n) OVER (ORDER BY day) AS before, sum(n) OVER () AS total FROM days) "
        f"SELECT max(next_day) FROM steps WHERE next_day - day > {MIN_TS_GAP_DAYS} "
        "AND 2 * before < total"
    ).fetchall()[0][0]
    return datetime(found.year, found.month, found.day) if found is not None else None


def _rule_timestamps(stages: Stages, config: CleaningConfig, now: datetime) -> tuple[str, int]:
    if stages.positions:
        return "skipped: the times are positions in a sequence", 0
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
    lower = [config.min_ts] if config.min_ts is not None else []
    if config.min_ts is not None:
        labels.append(f"before {date_text(config.min_ts)}")
    if config.auto_min_ts:
        derived = derived_min_ts(stages.con, stages.current)
        if derived is not None:
            lower.append(derived)
            labels.append(f"before {date_text(derived)} (derived: a minority before a gap)")
        else:
            labels.append("derived minimum: none needed")
    if lower:
        keep.append(f"(ts IS NULL OR ts >= {_sql_literal(max(lower))})")
    upper = [config.max_ts] if config.max_ts is not None else []
    if config.max_ts is not None:
        labels.append(f"after {date_text(config.max_ts)}")
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


def date_text(value: datetime) -> str:
    """``value`` as a rule label shows it: the time left off at midnight."""
    return f"{value:%Y-%m-%d %H:%M:%S}".removesuffix(" 00:00:00")


def _rule_returns(stages: Stages, config: CleaningConfig) -> tuple[str, int]:
    if not (config.drop_returns or config.drop_returned_purchases):
        return "off", 0
    queries = ["SELECT _row FROM {src} WHERE is_return"] if config.drop_returns else []
    if config.drop_returned_purchases:
        # A purchase is cancelled by a return of the same user and item at or after it; a
        # missing timestamp on either side cannot rule the match out.
        queries.append(
            "SELECT s._row FROM {src} s JOIN (SELECT user_code, item_code, "
            "max(ts) AS last_return, bool_or(ts IS NULL) AS undated FROM {src} WHERE is_return "
            "GROUP BY user_code, item_code) r "
            "ON s.user_code = r.user_code AND s.item_code = r.item_code "
            "WHERE s.event = 'purchase' AND s.is_return IS NOT TRUE "
            "AND (r.undated OR s.ts IS NULL OR s.ts <= r.last_return)"
        )
    removed = stages.remove(" UNION ALL ".join(queries))
    label = "returns" if config.drop_returns else "kept returns"
    if config.drop_returned_purchases:
        label += " and the purchases they cancel"
    return label, removed


def _rule_bots(stages: Stages, config: CleaningConfig) -> tuple[str, int]:
    # Times that are positions say nothing about speed: only the per-session count applies.
    timed = not stages.positions
    per_minute = (config.max_events_per_minute or None) if timed else None
    per_day = (config.max_events_per_user_day or None) if timed else None
    per_session = config.max_events_per_session or None
    if per_minute is None and per_day is None and per_session is None:
        return "off" + ("" if timed else " (the times are positions)"), 0
    browsing = f"event NOT IN ('{PURCHASE}', '{RATING}')"
    queries: list[str] = []
    labels: list[str] = []
    for threshold, where, group, label in (
        (per_minute, "ts IS NOT NULL", "session_id, date_trunc('minute', ts)", "per minute"),
        (per_session, "session_id IS NOT NULL", "session_id", "per session"),
        (per_day, "ts IS NOT NULL", "CAST(ts AS DATE)", "per user per day"),
    ):
        if threshold is not None:
            queries.append(
                f"SELECT user_code FROM {{src}} WHERE {where} AND {browsing} "
                f"GROUP BY user_code, {group} HAVING count(*) > {int(threshold)}"
            )
            labels.append(f"> {threshold} browsing events {label}")
    bots = f"({' UNION '.join(queries)}) EXCEPT SELECT user_code FROM {KEEP_USERS}"
    share = config.buyer_purchase_share
    if share > 0:
        bots += (
            f" EXCEPT SELECT user_code FROM {{src}} WHERE event <> '{RATING}' GROUP BY user_code "
            f"HAVING avg(CASE WHEN event = '{PURCHASE}' THEN 1 ELSE 0 END) >= {share!r}"
        )
        labels.append(f"buyers (purchase share >= {share:g}) kept")
    if not timed:
        labels.append("time rates skipped: the times are positions")
    removed = stages.remove(f"SELECT _row FROM {{src}} SEMI JOIN ({bots}) b USING (user_code)")
    return "; ".join(labels), removed


def _rule_unknown_items(stages: Stages, config: CleaningConfig) -> tuple[str, int]:
    if not config.drop_unknown_items:
        return "off", 0
    given, why = catalog_was_given(stages.con)
    if not given:
        return f"skipped: {why}", 0
    stages.con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_CATALOG_CODES} AS SELECT DISTINCT clean_code AS "
        f"item_code FROM {CLEAN_ITEM_CODES_TABLE} SEMI JOIN {CATALOG_STAGE} USING (item_id)"
    )
    removed = stages.remove(
        f"SELECT s._row FROM {{src}} s ANTI JOIN {_CATALOG_CODES} c USING (item_code) "
        "WHERE s.item_code IS NOT NULL"
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
        f"SELECT DISTINCT user_code, item_code FROM {{src}} "
        f"WHERE item_code IS NOT NULL AND event <> '{SEARCH}'"
    )
    if min_item <= 1:
        # Without an item threshold nothing cascades: one pass over the users is the k-core.
        if min_user == 0:
            return k_core_label(min_user, min_item, 1), 0
        # Two distinct items means a smallest and a largest that differ: far cheaper to find
        # than a distinct count.
        enough = (
            "min(item_code) < max(item_code)"
            if min_user == 2
            else f"count(DISTINCT item_code) >= {min_user}"
        )
        removed = stages.remove(
            f"SELECT _row FROM {{src}} ANTI JOIN (SELECT user_code FROM {{src}} "
            f"WHERE item_code IS NOT NULL AND event <> '{SEARCH}' "
            f"GROUP BY user_code HAVING {enough} UNION ALL SELECT user_code FROM {KEEP_USERS}) k "
            "USING (user_code) WHERE user_code IS NOT NULL"
        )
        return k_core_label(min_user, min_item, 1), removed
    con = stages.con
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_PAIRS} AS {pairs_sql.format(src=stages.current)}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_KCORE_ITEMS} AS SELECT DISTINCT item_code FROM {_PAIRS}"
    )
    rounds = 0
    while True:
        rounds += 1
        low_users = (
            f"SELECT user_code FROM {_PAIRS} GROUP BY user_code HAVING count(*) < {min_user} "
            f"EXCEPT SELECT user_code FROM {KEEP_USERS}"
            if min_user > 1
            else "SELECT NULL AS user_code WHERE false"
        )
        low_items = (
            f"SELECT item_code FROM {_PAIRS} GROUP BY item_code HAVING count(*) < {min_item}"
            if min_item > 1
            else "SELECT NULL AS item_code WHERE false"
        )
        deleted = con.execute(
            f"DELETE FROM {_PAIRS} WHERE user_code IN ({low_users}) OR item_code IN ({low_items})"
        ).fetchall()[0][0]
        if deleted == 0:
            break
    # Users with no surviving pair (including users with searches only) go when users are
    # thresholded; items with no surviving pair go when items are.
    queries = []
    if min_user > 0:
        queries.append(
            "SELECT _row FROM {src} WHERE user_code IN "
            f"(SELECT DISTINCT user_code FROM {{src}} EXCEPT SELECT user_code FROM {_PAIRS} "
            f"EXCEPT SELECT user_code FROM {KEEP_USERS})"
        )
    if min_item > 1:
        queries.append(
            f"SELECT _row FROM {{src}} WHERE item_code IS NOT NULL AND event <> '{SEARCH}' "
            f"AND item_code IN (SELECT item_code FROM {_KCORE_ITEMS} "
            f"EXCEPT SELECT item_code FROM {_PAIRS})"
        )
    removed = stages.remove(" UNION ALL ".join(queries)) if queries else 0
    con.execute(f"DROP TABLE {_PAIRS}")
    con.execute(f"DROP TABLE {_KCORE_ITEMS}")
    return k_core_label(min_user, min_item, rounds), removed


def k_core_label(min_user: int, min_item: int, rounds: int) -> str:
    """The k-core rule's label in the cleaning report (both engines write the same)."""
    parts = []
    if min_user > 0:
        parts.append(f"users >= {min_user} distinct items")
    if min_item > 0:
        parts.append(f"items >= {min_item} distinct users")
    return f"{', '.join(parts)} ({rounds} {'round' if rounds == 1 else 'rounds'})"


def check_event_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The columns of ``raw_events``; raises WorkspaceError when an id or the event lacks."""
    columns = table_columns(con, RAW_EVENTS_TABLE)
    missing = [c for c in ("user_id", "item_id", "event") if c not in columns]
    if missing:
        raise WorkspaceError(
            f"{RAW_EVENTS_TABLE} lacks column(s) {', '.join(missing)}; load the dataset again"
        )
    return columns


def base_events_sql(con: duckdb.DuckDBPyConnection, normalise_ids: bool = False) -> str:
    """The raw events not flagged removed, with a row number, blank item ids as NULL (trimmed
    and upper-cased when ``normalise_ids``) and every optional column."""
    columns = check_event_columns(con)
    added = "".join(
        f", CAST(NULL AS {kind}) AS {name}"
        for name, kind in OPTIONAL_EVENT_COLUMNS.items()
        if name not in columns
    )
    # A blank item id is no id: searches keep it as NULL, other events lose the row.
    return (
        f"SELECT rowid AS _row, * EXCLUDE ({REMOVED_FLAG}) REPLACE "
        f"({item_id_sql('item_id', normalise_ids)} AS item_id){added} FROM {RAW_EVENTS_TABLE} "
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
