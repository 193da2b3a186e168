"""Ingest: read a behaviour log (and a catalogue) into ``raw_events`` / ``raw_catalog``.

Files are read by DuckDB, never held whole in pandas: CSV/TSV (delimiter sniffed), Parquet,
JSON lines, user-sequence lines, each optionally gzip-compressed. A load goes

1. :func:`~core.data.ingest.sniff.sniff`: look at the first bytes and rows: format, encoding,
   delimiter, header, columns, the :mod:`preset <core.data.ingest.presets>` and a suggested
   column mapping;
2. :mod:`plan <core.data.ingest.plan>`: one SQL expression per canonical column, chosen from the
   mapping and a sample of values (timestamp format, epoch unit, event names);
3. one ``CREATE TABLE ... AS SELECT`` per file into staging tables, validation, then the staging
   tables replace ``raw_events`` / ``raw_catalog`` and the dataset record is written, all in one
   :meth:`Workspace.transaction <core.data.workspace.Workspace.transaction>`.

Any failure raises :class:`~core.errors.IngestError` (or its subclass
:class:`~core.errors.SchemaError`) with a message that says what to do, and leaves the workspace
as it was.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from core.data.codes import encode_events
from core.data.ingest.formats import (
    display_name,
    inspect_file,
    line_too_long,
    source_sql,
    sql_ident,
)
from core.data.ingest.limits import MAX_ROWS_ENV_VAR, ingest_limits, scratch_connection
from core.data.ingest.plan import CATALOG_TYPES, Plan, plan_catalog, plan_events
from core.data.ingest.sniff import formula_warnings, readable_errors, sniff_info
from core.data.ingest.times import ACCEPTED_TIME_FORMATS
from core.data.rules import FUTURE_TOLERANCE
from core.data.workspace import DatasetInfo, Workspace, drop_relation
from core.errors import IngestError, RetryError, SchemaError
from core.schema import (
    BRAND,
    CATALOG_COLUMNS,
    CATALOG_TABLE,
    CATEGORY,
    CLEAN_ITEM_CODES_TABLE,
    CLEANING_REMOVED_TABLE,
    DESCRIPTION,
    EVENT_TYPES,
    EVENTS_TABLE,
    FIRST_SEEN,
    ITEM_ID,
    PRICE,
    RAW_CATALOG_TABLE,
    RAW_EVENTS_TABLE,
    SEARCH,
    SESSION_ID,
    TITLE,
    USER_ID,
    VIEW,
)

__all__ = ["LoadResult", "load_dataset", "load_sample_world"]

Callback = Callable[[int, int, str], None]

SAMPLE_DIR = Path(__file__).resolve().parents[3] / "sample_data"
_STAGE_EVENTS = "_ingest_stage_events"
_STAGE_CATALOG = "_ingest_stage_catalog"
_NUL_FLAG = "_ingest_nul"

# Times before this are more likely a wrong unit or century than real events.
PLAUSIBLE_SINCE = datetime(1990, 1, 1)


@dataclass(frozen=True)
class LoadResult:
    """Outcome of a load.

    Attributes
    ----------
    n_events, n_users, n_items : int
        Rows of ``raw_events`` and distinct non-null user and item ids in it.
    preset : str
        Preset used for the events file.
    mapping : dict
        Mapping used for the events file.
    catalog_derived : bool
        True when ``raw_catalog`` was built from the log rather than read from a catalogue file.
    warnings : list of str
        What the analyst should know about the load (skipped lines, fallbacks, unreadable values).
    """

    n_events: int
    n_users: int
    n_items: int
    preset: str
    mapping: dict[str, str]
    catalog_derived: bool
    warnings: list[str]


# Loading -----------------------------------------------------------------------------------------


@dataclass
class _EventCounts:
    n_events: int
    n_users: int


def _select_sql(select: list[tuple[str, str]]) -> str:
    return ", ".join(f"{expr} AS {sql_ident(name)}" for name, expr in select)


def _check_rejects(
    con: duckdb.DuckDBPyConnection, plan: Plan, rejects: str, which: str
) -> tuple[int, str]:
    """Count lines DuckDB could not parse; ask for a retry when other options would read them."""
    if plan.info.format not in ("csv", "sequences"):
        return 0, ""
    count, encoding_errors, long_line, line, message = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE error_type = 'INVALID ENCODING'), "
        "min(line) FILTER (WHERE error_type = 'LINE SIZE OVER MAXIMUM'), min(line), "
        f"arg_min(error_message, line) FROM {sql_ident(rejects)}"
    ).fetchone()
    if long_line is not None and not plan.info.long_lines:
        raise RetryError(which, long_lines=True)
    if long_line is not None:
        raise line_too_long(plan.info.path, f"{long_line:,}", plan.info.max_line_bytes)
    if encoding_errors and plan.info.encoding == "utf-8" and plan.info.ascii_head:
        raise RetryError(which, encoding="latin-1")
    if not count:
        return 0, ""
    return int(count), f"line {line}: {(message or '').splitlines()[0][:120]}"


def _execute_with_progress(
    con: duckdb.DuckDBPyConnection, sql: str, report: Callable[[float], None] | None
) -> None:
    """Run ``sql``; meanwhile pass DuckDB's progress (percent) to ``report`` twice a second.

    The statement runs in a worker thread so that ``report`` is called from this one (Streamlit
    draws only from the script thread); its error, if any, is raised here.
    """
    if report is None:
        con.execute(sql)
        return
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    failure: list[BaseException] = []

    def run() -> None:
        try:
            con.execute(sql)
        except BaseException as error:
            failure.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.5)
        percent = con.query_progress()
        if worker.is_alive() and percent >= 0:
            report(percent)
    if failure:
        raise failure[0]


def _stage(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    table: str,
    which: str,
    report: Callable[[float], None] | None = None,
) -> tuple[int, str]:
    """Read the file of ``plan`` into ``table``; return the lines it could not parse and one.

    ``which`` (``"events"`` or ``"catalog"``) names the file in a retry; ``report`` receives the
    percentage read while it runs.
    """
    rejects = f"_ingest_rejects_{which}"
    max_rows = ingest_limits().max_rows
    source = source_sql(plan.info, rejects)
    checks = list(plan.checks)
    if plan.info.format == "csv":
        # A NUL byte past the first megabyte would make 'i\x009' another id than 'i9'. Only
        # values holding one are copied: a replace() of every value, or a test on all of a
        # row's values joined, costs about a third of reading the file.
        names = [sql_ident(name) for name in plan.info.names]
        cleared = ", ".join(
            f"CASE WHEN contains({name}, chr(0)) THEN replace({name}, chr(0), '') "
            f"ELSE {name} END AS {name}"
            for name in names
        )
        found = " OR ".join(f"coalesce(contains({name}, chr(0)), false)" for name in names)
        source = f"(SELECT {cleared}, {found} AS {_NUL_FLAG} FROM {source})"
        checks.append(
            (
                _NUL_FLAG,
                f"rows of {display_name(plan.info.path)} holding NUL bytes: {{count}} of {{rows}}; "
                "the NUL bytes were removed (e.g. 'i\\x009' became 'i9')",
            )
        )
    flags = [(f"_ingest_check_{index}", sql) for index, (sql, _) in enumerate(checks)]
    # Reading stops one row past the limit, so a small gzip of a huge log costs no more than that.
    _execute_with_progress(
        con,
        f"CREATE OR REPLACE TABLE {table} AS SELECT {_select_sql(plan.select + flags)} "
        f"FROM {source} LIMIT {max_rows + 1}",
        report,
    )
    n_rejected, example = _check_rejects(con, plan, rejects, which)
    counted = ", ".join(f"count(*) FILTER (WHERE {name})" for name, _ in flags)
    n_rows, *found = con.execute(
        f"SELECT count(*){', ' + counted if counted else ''} FROM {table}"
    ).fetchone()
    if n_rows > max_rows:
        raise IngestError(
            f"{display_name(plan.info.path)} has more than {max_rows:,} rows, the limit "
            f"({MAX_ROWS_ENV_VAR}); load a sample or a shorter period of the log, or raise "
            f"{MAX_ROWS_ENV_VAR}"
        )
    for (name, _), (_, message), count in zip(flags, checks, found, strict=True):
        if count:
            warning = message.replace("{count}", f"{count:,}").replace("{rows}", f"{n_rows:,}")
            plan.warnings.append(warning)
        con.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
    return n_rejected, example


def _stage_events(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    default_event: str,
    report: Callable[[float], None] | None = None,
) -> _EventCounts:
    name = display_name(plan.info.path)
    n_rejected, example = _stage(con, plan, _STAGE_EVENTS, "events", report)
    row = con.execute(
        f"SELECT count(*), count(user_id), count(item_id), "
        f"count(*) FILTER (WHERE user_id IS NOT NULL AND (item_id IS NOT NULL OR event = "
        f"'{SEARCH}')), count(ts), count(*) FILTER (WHERE event IS NULL), "
        f"count(*) FILTER (WHERE item_id IS NULL AND coalesce(event, '') <> '{SEARCH}'), "
        f"count(DISTINCT user_id), count(*) FILTER (WHERE starts_with(user_id, 'session:')) "
        f"FROM {_STAGE_EVENTS}"
    ).fetchone()
    n, n_user, n_item, n_valid, n_ts, n_unknown, n_no_item, users, n_fallback = row
    mapping = plan.mapping
    if n == 0:
        if n_rejected:
            raise SchemaError(
                f"no line of {name} could be read ({example}); check that the separator and "
                "the quoting are consistent on every line"
            )
        raise SchemaError(
            f"{name} has no data rows (only a header); add rows or choose another file"
        )
    if n_user == 0:
        column = mapping.get(USER_ID) or mapping.get(SESSION_ID)
        raise SchemaError(
            f"column '{column}' (user_id) is empty in every row of {name}; map user_id to a "
            "column that holds user ids"
        )
    if n_item == 0 and n_no_item:
        raise SchemaError(
            f"column '{mapping[ITEM_ID]}' (item_id) is empty in every row of {name}; map "
            "item_id to a column that holds item ids"
        )
    if n_valid == 0:
        raise SchemaError(
            f"no row of {name} has both a user id and an item id; check the mapping of user_id "
            f"('{mapping.get(USER_ID)}') and item_id ('{mapping[ITEM_ID]}')"
        )
    warnings = plan.warnings
    if plan.ts_column is not None and n_ts < n:
        if n_ts < n / 2:
            raise SchemaError(
                f"column '{plan.ts_column}' of {name}: {n - n_ts:,} of {n:,} values are empty or "
                f"could not be read as times; accepted formats: {ACCEPTED_TIME_FORMATS}. Fix the "
                "values, map ts to another column, or leave ts unmapped to use row order"
            )
        warnings.append(
            f"rows with an empty or unreadable time in column '{plan.ts_column}': "
            f"{n - n_ts:,} of {n:,}; their ts is NULL"
        )
    if plan.ts_column is not None and n_ts and not plan.preset.ts_is_position:
        _warn_odd_times(con, plan.ts_column, n, warnings)
    if n_unknown:
        con.execute(f"UPDATE {_STAGE_EVENTS} SET event = '{default_event}' WHERE event IS NULL")
        examples = ", ".join(repr(e) for e in plan.unknown_events) or "empty values"
        warnings.append(
            f"rows whose event type is not one of {', '.join(EVENT_TYPES)}: {n_unknown:,} "
            f"(e.g. {examples}); they were stored as '{default_event}'"
        )
    if n_rejected:
        warnings.append(
            f"lines of {name} that could not be parsed and were skipped: {n_rejected:,} (e.g. "
            f"{example}); fix them in the file to keep them"
        )
    if plan.preset.user_from_session and n_fallback:
        warnings.append(
            f"rows without a user id: {n_fallback:,} of {n:,}; their session stands for the "
            "user (user_id 'session:<session id>')"
        )
    elif n - n_user:
        warnings.append(
            f"rows without a user id: {n - n_user:,} of {n:,}; they are kept, and cleaning "
            "drops them"
        )
    if n_no_item and n_item:
        warnings.append(
            f"rows other than searches without an item id: {n_no_item:,} of {n:,}; they are "
            "kept, and cleaning drops them"
        )
    return _EventCounts(n_events=int(n), n_users=int(users))


def _warn_odd_times(
    con: duckdb.DuckDBPyConnection, column: str, n: int, warnings: list[str]
) -> None:
    """Warn about times that look like a wrong unit or century: before 1990 or in the future."""
    earliest = PLAUSIBLE_SINCE
    latest = datetime.now(UTC).replace(tzinfo=None) + FUTURE_TOLERANCE
    count, first, last = con.execute(
        "SELECT count(*) FILTER (WHERE ts < ? OR ts > ?), strftime(min(ts), '%Y-%m-%d'), "
        f"strftime(max(ts), '%Y-%m-%d') FROM {_STAGE_EVENTS}",
        [earliest, latest],
    ).fetchone()
    if not count:
        return
    share = "every row" if count == n else f"{count:,} of {n:,} rows"
    warnings.append(
        f"times in column '{column}' before {earliest:%Y-%m-%d} or in the future: {share} "
        f"(earliest {first}, latest {last}). Check the column's unit and format, map ts to "
        "another column, or set the cleaning time range"
    )


def _stage_catalog(con: duckdb.DuckDBPyConnection, plan: Plan) -> int:
    """Read the catalogue file: one row per item id; a missing first_seen comes from the log.

    Returns the number of distinct items in the log.
    """
    name = display_name(plan.info.path)
    n_rejected, example = _stage(con, plan, _STAGE_CATALOG, "catalog")
    n, n_ids, distinct = con.execute(
        f"SELECT count(*), count(item_id), count(DISTINCT item_id) FROM {_STAGE_CATALOG}"
    ).fetchone()
    if n_ids == 0:
        raise SchemaError(
            f"the catalogue {name} has no item ids (column '{plan.mapping[ITEM_ID]}' is empty or "
            "the file has no rows); map item_id to a column that holds item ids"
        )
    if n_rejected:
        plan.warnings.append(
            f"lines of the catalogue {name} that could not be parsed and were skipped: "
            f"{n_rejected:,} (e.g. {example})"
        )
    if n_ids < n or distinct < n_ids:
        con.execute(
            f"CREATE OR REPLACE TABLE {_STAGE_CATALOG}_unique AS SELECT * FROM {_STAGE_CATALOG} "
            "WHERE item_id IS NOT NULL "
            "QUALIFY row_number() OVER (PARTITION BY item_id ORDER BY rowid) = 1"
        )
        con.execute(f"DROP TABLE {_STAGE_CATALOG}")
        con.execute(f"ALTER TABLE {_STAGE_CATALOG}_unique RENAME TO {_STAGE_CATALOG}")
        plan.warnings.append(
            f"the catalogue {name} has rows without an item id ({n - n_ids:,}) and repeated "
            f"item ids ({n_ids - distinct:,}); the first row of each item was kept"
        )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _ingest_seen AS SELECT item_id, min(ts) AS first_seen "
        f"FROM {_STAGE_EVENTS} WHERE item_id IS NOT NULL GROUP BY item_id"
    )
    con.execute(
        f"UPDATE {_STAGE_CATALOG} SET {FIRST_SEEN} = seen.first_seen FROM _ingest_seen AS seen "
        f"WHERE {_STAGE_CATALOG}.item_id = seen.item_id AND {_STAGE_CATALOG}.{FIRST_SEEN} IS NULL"
    )
    return int(con.execute("SELECT count(*) FROM _ingest_seen").fetchone()[0])


def _derive_catalog(con: duckdb.DuckDBPyConnection, plan: Plan) -> int:
    """One catalogue row per item from the log: most frequent text, latest positive price.

    Returns the number of items.
    """
    present = set(plan.text_columns)
    columns = []
    for target in CATALOG_COLUMNS[1:]:
        if target == FIRST_SEEN:
            columns.append(f"min(ts) AS {FIRST_SEEN}")
        elif target not in present:
            columns.append(f"CAST(NULL AS {CATALOG_TYPES.get(target, 'VARCHAR')}) AS {target}")
        elif target == PRICE:
            columns.append(
                f"arg_max({PRICE}, coalesce(ts, TIMESTAMP '1970-01-01')) "
                f"FILTER (WHERE {PRICE} > 0) AS {PRICE}"
            )
        else:
            columns.append(f"mode({target}) AS {target}")
    if TITLE not in present and DESCRIPTION in present:
        columns[0] = f"mode({DESCRIPTION}) AS {TITLE}"
    con.execute(
        f"CREATE OR REPLACE TABLE {_STAGE_CATALOG} AS SELECT item_id, {', '.join(columns)} "
        f"FROM {_STAGE_EVENTS} WHERE item_id IS NOT NULL GROUP BY item_id"
    )
    return int(con.execute(f"SELECT count(*) FROM {_STAGE_CATALOG}").fetchone()[0])


def load_dataset(
    ws: Workspace,
    events_path: str | Path,
    *,
    mapping: dict[str, str | None] | None = None,
    preset: str | None = None,
    catalog_path: str | Path | None = None,
    catalog_mapping: dict[str, str | None] | None = None,
    name: str | None = None,
    default_event: str = VIEW,
    callback: Callback | None = None,
) -> LoadResult:
    """Load a behaviour log (and optionally a catalogue) into ``raw_events`` / ``raw_catalog``.

    Everything happens in one workspace transaction: on any error the workspace is exactly as it
    was. The data are not cleaned (see :mod:`core.data.clean`).

    Parameters
    ----------
    ws : Workspace
        Target workspace.
    events_path : str or Path
        The log: CSV/TSV, Parquet, JSON lines or user-sequence lines, optionally gzip-compressed.
    mapping : dict, optional
        ``{target: source column}`` overriding the suggested mapping of the log; a target mapped
        to None is left out. Targets: :data:`core.data.ingest.presets.EVENT_TARGETS`.
    preset : str, optional
        A key of :data:`PRESETS`; detected from the columns when omitted.
    catalog_path : str or Path, optional
        A catalogue file; without it the catalogue is derived from the log's item columns
        (title, description, category, brand, price), or holds only item ids.
    catalog_mapping : dict, optional
        Overrides of the catalogue's suggested mapping.
    name : str, optional
        Dataset name; the file name by default.
    default_event : str
        Event type of rows whose file has no event column (or an unknown event name).
    callback : callable, optional
        ``callback(step, total, info)`` as the load advances.

    Returns
    -------
    LoadResult

    Raises
    ------
    IngestError
        The file cannot be read; SchemaError (a subclass) when its columns or values do not fit.
    """
    if default_event not in EVENT_TYPES:
        raise IngestError(
            f"default_event {default_event!r} is not an event type; use one of: "
            f"{', '.join(EVENT_TYPES)}"
        )
    files = {"events": Path(events_path)}
    if catalog_path is not None:
        files["catalog"] = Path(catalog_path)
    options: dict[str, dict] = {which: {} for which in files}
    for _ in range(4):
        try:
            return _load(
                ws,
                files,
                options,
                mapping=mapping,
                preset=preset,
                catalog_mapping=catalog_mapping,
                name=name,
                default_event=default_event,
                callback=callback,
            )
        except RetryError as retry:
            options[retry.which].update(retry.options)
    raise IngestError(f"cannot read {display_name(files['events'])}; export it again as UTF-8 CSV")


def _load(
    ws: Workspace,
    files: dict[str, Path],
    options: dict[str, dict],
    *,
    mapping: dict[str, str | None] | None,
    preset: str | None,
    catalog_mapping: dict[str, str | None] | None,
    name: str | None,
    default_event: str,
    callback: Callback | None,
) -> LoadResult:
    total = 4

    def progress(step: int, info: str) -> None:
        if callback is not None:
            callback(step, total, info)

    events_file = files["events"]
    catalog_file = files.get("catalog")
    progress(0, f"reading the head of {events_file.name}")
    con = scratch_connection()
    try:
        with readable_errors(events_file):
            info = inspect_file(events_file, **options["events"])
            plan = plan_events(
                con,
                info,
                sniff_info(con, info),
                mapping=mapping,
                preset_name=preset,
                default_event=default_event,
            )
        catalog_plan = None
        if catalog_file is not None:
            with readable_errors(catalog_file, "catalog"):
                info = inspect_file(catalog_file, **options["catalog"])
                catalog_plan = plan_catalog(
                    con, info, sniff_info(con, info), mapping=catalog_mapping, preset_name=None
                )
    finally:
        con.close()
    for which, plan_of in (("events", plan), ("catalog", catalog_plan)):
        if plan_of is not None and options[which].get("encoding") == "latin-1":
            plan_of.warnings.append(
                f"{display_name(files[which])} is not UTF-8; it was read as Latin-1 (ISO-8859-1). "
                "If accents look wrong, save the file as UTF-8"
            )

    progress(1, f"loading {events_file.name}")
    with ws.transaction("ingest") as tx:
        tx.execute("SET TimeZone = 'UTC'")
        with readable_errors(events_file):
            counts = _stage_events(
                tx,
                plan,
                default_event,
                lambda percent: progress(1, f"loading {events_file.name}: {percent:.0f}% read"),
            )
        warnings = list(plan.warnings)
        progress(2, "building the catalogue")
        source = catalog_plan if catalog_plan is not None else plan
        source_file = catalog_file if catalog_plan is not None else events_file
        with readable_errors(source_file, "events" if catalog_plan is None else "catalog"):
            if catalog_plan is not None:
                n_items = _stage_catalog(tx, catalog_plan)
                warnings.extend(catalog_plan.warnings)
            else:
                n_items = _derive_catalog(tx, plan)
            text = {c: "VARCHAR" for c in (TITLE, DESCRIPTION, CATEGORY, BRAND)}
            labels = {c: source.mapping.get(c, c) for c in text}
            if catalog_plan is None and TITLE not in plan.mapping:
                labels[TITLE] = plan.mapping.get(DESCRIPTION, TITLE)
            # The log's first rows were checked already; keep one warning per column.
            found = formula_warnings(tx, _STAGE_CATALOG, text, display_name(source_file), labels)
            for label, warning in found.items():
                if not any(f"values in column '{label}' of" in w for w in warnings):
                    warnings.append(warning)
        progress(3, "replacing the raw tables")
        # The cleaned tables describe the previous dataset: they go with it.
        for table in (EVENTS_TABLE, CLEANING_REMOVED_TABLE, CATALOG_TABLE, CLEAN_ITEM_CODES_TABLE):
            drop_relation(tx, table)
        for column in plan.text_columns:
            tx.execute(f"ALTER TABLE {_STAGE_EVENTS} DROP COLUMN {sql_ident(column)}")
        for stage, table in (
            (_STAGE_EVENTS, RAW_EVENTS_TABLE),
            (_STAGE_CATALOG, RAW_CATALOG_TABLE),
        ):
            tx.execute(f"DROP TABLE IF EXISTS {table}")
            tx.execute(f"ALTER TABLE {stage} RENAME TO {table}")
        loaded_at = datetime.now(UTC).replace(tzinfo=None)
        Workspace.write_dataset_info(
            tx,
            DatasetInfo(
                name=name or events_file.name,
                source=str(events_file),
                preset=plan.preset.name,
                mapping=dict(plan.mapping),
                catalog_source=str(catalog_file) if catalog_file is not None else None,
                loaded_at=loaded_at,
                n_events=counts.n_events,
                n_items=n_items,
                notes="\n".join(warnings),
            ),
        )
    # User and item ids become integer codes once, here: every cleaning and matrix of this
    # load works on the codes. The codes point at rows by rowid, which is final only once the
    # load is committed; should this step fail, the first cleaning encodes instead.
    progress(3, "encoding user and item ids as integer codes")
    with ws.transaction("encode") as tx:
        encode_events(tx, loaded_at)
    progress(total, f"loaded {counts.n_events:,} events")
    return LoadResult(
        n_events=counts.n_events,
        n_users=counts.n_users,
        n_items=n_items,
        preset=plan.preset.name,
        mapping=dict(plan.mapping),
        catalog_derived=catalog_plan is None,
        warnings=warnings,
    )


def load_sample_world(
    ws: Workspace, sample_dir: str | Path | None = None, callback: Callback | None = None
) -> LoadResult:
    """Load the ShopSynth sample world (``events.parquet`` + ``catalog.parquet``).

    Parameters
    ----------
    ws : Workspace
        Target workspace.
    sample_dir : str or Path, optional
        Folder of the world; the repository's ``sample_data/`` by default.
    callback : callable, optional
        ``callback(step, total, info)`` after each step.
    """
    folder = Path(sample_dir) if sample_dir is not None else SAMPLE_DIR

    def first(stem: str) -> Path | None:
        for suffix in (".parquet", ".csv", ".csv.gz"):
            candidate = folder / f"{stem}{suffix}"
            if candidate.is_file():
                return candidate
        return None

    events = first("events")
    if events is None:
        raise IngestError(
            f"no sample world in {folder}: events.parquet is missing; generate it with "
            f"`python -m core simulate --events 300000 --out {folder}`"
        )
    return load_dataset(
        ws,
        events,
        preset="shopsynth",
        catalog_path=first("catalog"),
        name="ShopSynth sample world",
        callback=callback,
    )
