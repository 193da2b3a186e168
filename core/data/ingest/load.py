"""Ingest: read a behaviour log (and a catalogue) into ``raw_events`` / ``raw_catalog``.

Files are read by DuckDB, never held whole in pandas: CSV/TSV (delimiter sniffed), Parquet,
JSON lines, user-sequence lines, each optionally gzip-compressed. A load goes

1. :func:`sniff`: look at the first bytes and rows: format, encoding, delimiter, header, columns,
   the :mod:`preset <core.data.ingest.presets>` and a suggested column mapping;
2. plan: one SQL expression per canonical column, chosen from the mapping and a sample of values
   (timestamp format, epoch unit, event names);
3. one ``CREATE TABLE ... AS SELECT`` per file into staging tables, validation, then the staging
   tables replace ``raw_events`` / ``raw_catalog`` and the dataset record is written, all in one
   :meth:`Workspace.transaction <core.data.workspace.Workspace.transaction>`.

Any failure raises :class:`~core.errors.IngestError` (or its subclass
:class:`~core.errors.SchemaError`) with a message that says what to do, and leaves the workspace
as it was.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

import duckdb
import pandas as pd

from core.data.ingest.presets import (
    CATALOG_KIND,
    ESCI_GAINS,
    ESCI_LABEL,
    EVENTS_KIND,
    ITEM_TEXT_TARGETS,
    ODD_DELIMITERS,
    PRESETS,
    QUANTITY,
    TARGETS,
    TS_OFFSET_MS,
    FileInfo,
    Preset,
    alias_hint,
    column_types,
    detect_preset,
    display_name,
    event_case_sql,
    inspect_file,
    is_number,
    source_sql,
    sql_ident,
    sql_string,
    suggest_mapping,
)
from core.data.workspace import DatasetInfo, Workspace, drop_relation
from core.errors import IngestError, SchemaError
from core.schema import (
    BRAND,
    CATALOG_COLUMNS,
    CATALOG_TABLE,
    CATEGORY,
    CLEANING_REMOVED_TABLE,
    DESCRIPTION,
    EVENT,
    EVENT_COLUMNS,
    EVENT_TYPES,
    EVENTS_TABLE,
    FIRST_SEEN,
    IS_RETURN,
    ITEM_ID,
    PRICE,
    QUERY,
    RATING,
    RAW_CATALOG_TABLE,
    RAW_EVENTS_TABLE,
    SEARCH,
    SESSION_ID,
    TITLE,
    TS,
    USER_ID,
    VALUE,
    VIEW,
)

__all__ = [
    "PRESETS",
    "LoadResult",
    "Preset",
    "SourceSniff",
    "load_dataset",
    "load_sample_world",
    "sniff",
    "suggest_mapping",
]

Callback = Callable[[int, int, str], None]

SAMPLE_DIR = Path(__file__).resolve().parents[3] / "sample_data"

# Columns of raw_events, in order: the canonical event columns and the returns flag.
RAW_EVENT_COLUMNS: tuple[str, ...] = (*EVENT_COLUMNS, IS_RETURN)
_CATALOG_TYPES = {PRICE: "DOUBLE", FIRST_SEEN: "TIMESTAMP"}

ACCEPTED_TIME_FORMATS = (
    "ISO 8601 (2024-01-31, 2024-01-31 13:45:00, 2024-01-31T13:45:00Z), day/month/year or "
    "month/day/year with '/', '.' or '-' (31/01/2024 13:45), 20240131, '31 Jan 2024', or "
    "epoch seconds / milliseconds (1706708700, 1706708700000)"
)

_SAMPLE_ROWS = 10_000
_SAMPLE_TABLE = "_ingest_sample"
_PREVIEW_ROWS = 20
_STAGE_EVENTS = "_ingest_stage_events"
_STAGE_CATALOG = "_ingest_stage_catalog"
_NULL_TOKENS = ("", "NA", "N/A", "NULL", "null", "None", "none", "nan", "NaN", "\\N")
_FORMULA_SQL = (
    "({x}[1] IN ('=', '@') OR ({x}[1] IN ('+', '-') AND regexp_matches({x}, '^[+-][A-Za-z(]')))"
)
_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_NESTED = re.compile(r"(\[\]|\[\d+\]|^STRUCT|^MAP|^UNION)", re.IGNORECASE)
_NUMERIC_NAMES = (
    "TINYINT SMALLINT INTEGER BIGINT HUGEINT UTINYINT USMALLINT UINTEGER UBIGINT UHUGEINT FLOAT "
    "DOUBLE DECIMAL"
)
_NUMERIC_TYPES = frozenset(_NUMERIC_NAMES.split())
_FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE"})
# Families of strptime formats tried on text timestamps, most usual first.
_TIME_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (label, tuple(formats.split("|")))
    for label, formats in (
        (
            "month/day/year",
            "%m/%d/%Y %H:%M:%S|%m/%d/%Y %H:%M|%m/%d/%Y %I:%M:%S %p|"
            "%m/%d/%Y %I:%M %p|%m/%d/%Y|%m/%d/%y %H:%M|%m/%d/%y",
        ),
        ("day/month/year", "%d/%m/%Y %H:%M:%S|%d/%m/%Y %H:%M|%d/%m/%Y|%d/%m/%y %H:%M|%d/%m/%y"),
        ("day.month.year", "%d.%m.%Y %H:%M:%S|%d.%m.%Y %H:%M|%d.%m.%Y"),
        ("day-month-year", "%d-%m-%Y %H:%M:%S|%d-%m-%Y %H:%M|%d-%m-%Y"),
        ("year/month/day", "%Y/%m/%d %H:%M:%S|%Y/%m/%d %H:%M|%Y/%m/%d"),
        ("yyyymmdd", "%Y%m%d%H%M%S|%Y%m%d"),
        (
            "month names",
            "%d %b %Y %H:%M:%S|%d %b %Y %H:%M|%d %b %Y|%d %B %Y|%b %d, %Y|"
            "%B %d, %Y|%b %d %Y|%d-%b-%Y|%d-%b-%y",
        ),
    )
)


# Results ----------------------------------------------------------------------------------------


@dataclass
class SourceSniff:
    """What a file looks like, from its first bytes and rows.

    Attributes
    ----------
    path : Path
        The file.
    format : str
        ``"csv"`` (any delimited text), ``"parquet"``, ``"json"`` (JSON lines or an array of
        records) or ``"sequences"`` (``user item item ...`` lines).
    compression : str or None
        ``"gzip"`` or None.
    encoding : str
        ``"utf-8"``, ``"latin-1"`` or ``"utf-16"``.
    delimiter : str or None
        Field separator of delimited text.
    has_header : bool
        Whether the first line names the columns.
    columns : list of str
        Column names as the mapping sees them (RecBole ``:type`` suffixes removed, duplicates
        numbered ``name_2``...).
    preview : pandas.DataFrame
        The first rows as read.
    preset : str
        Detected preset name (``"generic"`` if none fits).
    mapping : dict
        Suggested ``{canonical target: source column}``.
    kind : str
        ``"events"`` or ``"catalog"``.
    warnings : list of str
        Things worth knowing before loading.
    column_types : dict
        DuckDB type of each column as read.
    source_sql : str
        The DuckDB ``FROM`` clause that reads the file.
    duplicated_columns : dict
        ``{header name: [column names it became]}`` for names the header repeats.
    """

    path: Path
    format: str
    compression: str | None
    encoding: str
    delimiter: str | None
    has_header: bool
    columns: list[str]
    preview: pd.DataFrame
    preset: str
    mapping: dict[str, str]
    kind: str
    warnings: list[str] = field(default_factory=list)
    column_types: dict[str, str] = field(default_factory=dict)
    source_sql: str = ""
    duplicated_columns: dict[str, list[str]] = field(default_factory=dict)


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


# Errors ------------------------------------------------------------------------------------------


def _short_cause(error: BaseException) -> str:
    """The gist of a DuckDB or OS error: its first line plus, for CSV errors, what was wrong."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    cause = re.sub(r"^[A-Za-z ]*Error: ", "", lines[0])
    detail = [
        line
        for line in lines[1:]
        if not line.startswith(("Original Line", "Possible", "*", "LINE ", "^", "Try "))
    ]
    if cause.startswith("CSV Error") and detail:
        cause = f"{cause}: {detail[0]}"
    return cause[:200].rstrip(". ")


class _RetryError(Exception):
    """Reading must start again with other options for one file (``"events"``/``"catalog"``)."""

    def __init__(self, which: str, **options: object) -> None:
        super().__init__(which)
        self.which = which
        self.options = options


@contextmanager
def _readable_errors(path: Path, which: str = "events") -> Iterator[None]:
    """Turn DuckDB and OS errors into IngestError with a short cause and what to do.

    A quoted field spanning lines past the first megabyte asks for a retry without null padding
    (DuckDB's parallel reader cannot do both).
    """
    try:
        yield
    except duckdb.Error as error:
        if "null_padding" in str(error) and "quoted new lines" in str(error):
            raise _RetryError(which, multiline=True) from error
        raise IngestError(
            f"cannot read {display_name(path)}: {_short_cause(error)}. Check that it is a complete "
            "CSV/TSV, JSON lines or Parquet file (optionally .gz) and export it again if needed"
        ) from error
    except (OSError, UnicodeError, csv.Error) as error:
        raise IngestError(
            f"cannot read {display_name(path)}: {_short_cause(error)}. Check that it is a complete "
            "CSV/TSV, JSON lines or Parquet file (optionally .gz) and export it again if needed"
        ) from error


# Sniffing ----------------------------------------------------------------------------------------


def sniff(path: str | Path) -> SourceSniff:
    """Look at a file: format, delimiter, header, columns, preview, preset and mapping.

    Parameters
    ----------
    path : str or Path
        A CSV/TSV, Parquet, JSON lines or user-sequence file, optionally gzip-compressed.

    Returns
    -------
    SourceSniff

    Raises
    ------
    IngestError
        The file cannot be read (empty, binary, unsupported type...); the message says what to do.
    """
    path = Path(path)
    options: dict = {}
    for _ in range(3):
        try:
            with _readable_errors(path):
                info = inspect_file(path, **options)
                con = duckdb.connect()
                try:
                    return _sniff(con, info)
                finally:
                    con.close()
        except _RetryError as retry:
            options.update(retry.options)
    raise IngestError(f"cannot read {display_name(path)}; export it again as UTF-8 CSV")


def _sniff(con: duckdb.DuckDBPyConnection, info: FileInfo) -> SourceSniff:
    types = column_types(con, info)
    columns = list(types)
    preset_name = detect_preset(columns, file_format=info.format, recbole=info.recbole)
    preset = PRESETS[preset_name]
    kind = _guess_kind(columns, preset, info)
    mapping = preset.mapping(columns, kind)
    relation = source_sql(info)
    select = ", ".join(sql_ident(c) for c in columns) or "*"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_SAMPLE_TABLE} AS SELECT {select} FROM {relation} "
        f"LIMIT {_SAMPLE_ROWS}"
    )
    preview = con.execute(f"SELECT * FROM {_SAMPLE_TABLE} LIMIT {_PREVIEW_ROWS}").df()
    warnings = list(info.warnings)
    warnings.extend(_formula_warnings(con, _SAMPLE_TABLE, types, display_name(info.path)).values())
    for name, copies in info.duplicated.items():
        warnings.append(
            f"the header names column '{name}' {len(copies)} times; the copies are called "
            f"{', '.join(repr(c) for c in copies)}"
        )
    return SourceSniff(
        path=info.path,
        format=info.format,
        compression=info.compression,
        encoding=info.encoding,
        delimiter=info.delimiter if info.format == "csv" else None,
        has_header=info.has_header,
        columns=columns,
        preview=preview,
        preset=preset_name,
        mapping=mapping,
        kind=kind,
        warnings=warnings,
        column_types=types,
        source_sql=relation,
        duplicated_columns=dict(info.duplicated),
    )


def _guess_kind(columns: list[str], preset: Preset, info: FileInfo) -> str:
    if len(preset.kinds) == 1:
        return preset.kinds[0]
    events = suggest_mapping(columns, EVENTS_KIND)
    if USER_ID in events or SESSION_ID in events or EVENT in events:
        return EVENTS_KIND
    suffix = info.path.name.lower().removesuffix(".gz")
    if suffix.endswith(".item"):
        return CATALOG_KIND
    catalog = suggest_mapping(columns, CATALOG_KIND)
    if ITEM_ID in catalog and any(t in catalog for t in (TITLE, DESCRIPTION, CATEGORY, BRAND)):
        return CATALOG_KIND
    return EVENTS_KIND


# Planning: one SQL expression per canonical column -------------------------------------------


@dataclass
class _Plan:
    info: FileInfo
    sniff: SourceSniff
    preset: Preset
    mapping: dict[str, str]
    select: list[tuple[str, str]]
    warnings: list[str]
    ts_column: str | None = None
    unknown_events: list[str] = field(default_factory=list)
    text_columns: list[str] = field(default_factory=list)


def _resolve_mapping(
    sniff_result: SourceSniff,
    kind: str,
    preset: Preset,
    overrides: dict[str, str | None] | None,
) -> dict[str, str]:
    targets = TARGETS[kind]
    mapping = preset.mapping(sniff_result.columns, kind)
    name = display_name(sniff_result.path)
    for target, source in (overrides or {}).items():
        if target not in targets:
            raise SchemaError(
                f"unknown mapping target '{target}' for a {kind} file; use one of: "
                f"{', '.join(targets)}"
            )
        if source is None or source == "":
            mapping.pop(target, None)
            continue
        if source not in sniff_result.columns:
            raise SchemaError(
                f"column '{source}' not found in {name}; map {target} to one of: "
                f"{', '.join(sniff_result.columns)}"
            )
        mapping[target] = source
    explicit = {source for source in (overrides or {}).values() if source}
    for target, source in mapping.items():
        for header, copies in sniff_result.duplicated_columns.items():
            if source in copies and source not in explicit:
                raise SchemaError(
                    f"the header of {name} names column '{header}' {len(copies)} times, so "
                    f"{target} is ambiguous; rename the duplicate in the file, or map {target} "
                    f"explicitly to one of {', '.join(repr(c) for c in copies)}"
                )
    return mapping


def _missing_column_error(sniff_result: SourceSniff, targets: list[str]) -> SchemaError:
    name = display_name(sniff_result.path)
    columns = sniff_result.columns
    if len(columns) == 1:
        hint = ""
        odd = _odd_delimiter_of(sniff_result) if sniff_result.format == "csv" else None
        if odd:
            hint = (
                f" The lines seem to be separated by {odd!r}, which is not supported: save "
                "the file with comma, semicolon, tab or '|' as separator."
            )
        return SchemaError(
            f"only one column ('{columns[0]}') was found in {name}; a behaviour log needs at "
            "least a user column and an item column: export both, separated by comma, "
            f"semicolon, tab or '|'.{hint}"
        )
    labels = " and no ".join(
        f"{ {USER_ID: 'user', ITEM_ID: 'item'}.get(t, t) } column" for t in targets
    )
    no_header = "" if sniff_result.has_header else " (the file seems to have no header row)"
    usual = "; ".join(f"usual names for {t}: {alias_hint(t)}" for t in targets)
    message = (
        f"no {labels} found in {name}{no_header}; map one of its columns "
        f"({', '.join(columns[:12])}) to {' and '.join(targets)} ({usual})"
    )
    if sniff_result.kind == CATALOG_KIND:
        message += (
            ". The file looks like a product catalogue: pass it as the catalogue, together "
            "with a behaviour log"
        )
    return SchemaError(message)


def _odd_delimiter_of(sniff_result: SourceSniff) -> str | None:
    header = sniff_result.columns[0]
    for char in ODD_DELIMITERS:
        if char in header:
            return char
    return None


def _sample(con: duckdb.DuckDBPyConnection, expression: str) -> list:
    """Up to 2,000 non-null values of ``expression`` over the rows sampled by :func:`_sniff`."""
    rows = con.execute(
        f"SELECT v FROM (SELECT {expression} AS v FROM {_SAMPLE_TABLE}) WHERE v IS NOT NULL "
        "LIMIT 2000"
    ).fetchall()
    return [row[0] for row in rows]


def _base_type(column_type: str) -> str:
    return column_type.upper().split("(")[0].strip()


def _check_scalar(column: str, column_type: str, target: str, name: str) -> None:
    base = _base_type(column_type)
    if _NESTED.search(column_type) or base in ("BLOB", "BIT", "INTERVAL", "TIME"):
        raise SchemaError(
            f"column '{column}' of {name} holds {column_type} values, which cannot be {target}; "
            "map a column of text or numbers instead"
        )


def _id_sql(
    con: duckdb.DuckDBPyConnection, column: str, column_type: str, target: str, name: str
) -> str:
    """Text id from any scalar column; empty strings and NA tokens become NULL.

    Whole floats lose their ``.0`` (ids written by pandas next to missing values); text ids are
    trimmed and stripped of ``.0`` when the sample shows the need.
    """
    _check_scalar(column, column_type, target, name)
    ref = sql_ident(column)
    base = _base_type(column_type)
    if base in _FLOAT_TYPES:
        return (
            f"CASE WHEN {ref} = trunc({ref}) THEN CAST(try_cast({ref} AS BIGINT) AS VARCHAR) "
            f"ELSE CAST({ref} AS VARCHAR) END"
        )
    if base != "VARCHAR":
        return f"CAST({ref} AS VARCHAR)"
    values = [str(v) for v in _sample(con, ref)]
    expr = ref
    if any(v != v.strip() for v in values):
        expr = f"trim({expr})"
    if values and all(re.fullmatch(r"-?\d+\.0+", v.strip()) for v in values):
        expr = f"regexp_replace({expr}, '\\.0+$', '')"
    tokens = ", ".join(sql_string(t) for t in _NULL_TOKENS)
    return f"CASE WHEN {expr} IN ({tokens}) THEN NULL ELSE {expr} END"


def _text_sql(column: str, column_type: str) -> str:
    ref = sql_ident(column)
    base = _base_type(column_type)
    if base == "VARCHAR":
        return f"nullif({ref}, '')"
    if column_type.upper().endswith("[]"):
        return f"array_to_string(CAST({ref} AS VARCHAR[]), ' > ')"
    return f"CAST({ref} AS VARCHAR)"


def _number_sql(column: str, column_type: str, target: str, name: str) -> str:
    _check_scalar(column, column_type, target, name)
    ref = sql_ident(column)
    base = _base_type(column_type)
    if base in _NUMERIC_TYPES:
        return f"CAST({ref} AS DOUBLE)"
    if base == "BOOLEAN":
        return f"CAST(CAST({ref} AS INTEGER) AS DOUBLE)"
    return f"try_cast({ref} AS DOUBLE)"


def _bool_sql(column: str, column_type: str) -> str:
    ref = sql_ident(column)
    base = _base_type(column_type)
    if base == "BOOLEAN":
        return f"coalesce({ref}, false)"
    if base in _NUMERIC_TYPES:
        return f"coalesce({ref} <> 0, false)"
    return (
        f"coalesce(lower(trim(CAST({ref} AS VARCHAR))) IN "
        "('true', 't', '1', 'yes', 'y', 'return', 'returned'), false)"
    )


def _epoch_sql(number: str, values: list[float]) -> tuple[str, str]:
    """Epoch numbers -> TIMESTAMP; the unit (s, ms, us, ns) comes from the sample's median."""
    size = median(abs(v) for v in values) if values else 0.0
    if size < 1e11:
        unit, per_micro = "seconds", 1e6
    elif size < 1e14:
        unit, per_micro = "milliseconds", 1e3
    elif size < 1e17:
        unit, per_micro = "microseconds", 1.0
    else:
        unit, per_micro = "nanoseconds", 1e-3
    micros = f"(({number}) * {per_micro!r})"
    return (
        f"make_timestamp(CASE WHEN {micros} BETWEEN -6.2e16 AND 2.5e17 "
        f"THEN CAST({micros} AS BIGINT) END)",
        unit,
    )


def _timestamp_sql(
    con: duckdb.DuckDBPyConnection,
    column: str,
    column_type: str,
    name: str,
    *,
    is_position: bool = False,
) -> tuple[str, list[str]]:
    """SQL turning ``column`` into TIMESTAMP, chosen from its type and a sample of values.

    Numbers are epoch times whose unit (seconds to nanoseconds) follows from their size, or
    ``yyyymmdd`` dates; text is tried against ISO 8601 and the :data:`_TIME_FAMILIES` and the
    family that reads most sample values wins. Fewer than half readable raises SchemaError.
    Returns the SQL and warnings.
    """
    ref = sql_ident(column)
    base = _base_type(column_type)
    warnings: list[str] = []
    if base.startswith("TIMESTAMP") or base == "DATE":
        return f"CAST({ref} AS TIMESTAMP)", warnings
    if base in _NUMERIC_TYPES:
        values = [float(v) for v in _sample(con, ref)]
        if _all_yyyymmdd(values):
            return f"try_strptime(CAST(CAST({ref} AS BIGINT) AS VARCHAR), '%Y%m%d')", warnings
        expr, unit = _epoch_sql(f"CAST({ref} AS DOUBLE)", values)
        _warn_small_epoch(values, unit, column, is_position, warnings)
        return expr, warnings
    if base != "VARCHAR":
        raise SchemaError(
            f"column '{column}' of {name} holds {column_type} values, which are not times; map "
            f"ts to a column of timestamps, dates or epoch numbers. Accepted formats: "
            f"{ACCEPTED_TIME_FORMATS}"
        )
    raw = [str(v) for v in _sample(con, f"nullif({ref}, '')")]
    needs_trim = any(v != v.strip() for v in raw)
    values = [v.strip() for v in raw if v.strip()]
    if not values:
        return f"try_cast({ref} AS TIMESTAMP)", warnings
    numbers = [float(v) for v in values if is_number(v)]
    if len(numbers) >= 0.9 * len(values):
        if _all_yyyymmdd(numbers):
            return f"try_strptime(trim({ref}), '%Y%m%d')", warnings
        expr, unit = _epoch_sql(f"try_cast({ref} AS DOUBLE)", numbers)
        _warn_small_epoch(numbers, unit, column, is_position, warnings)
        return expr, warnings
    candidates: list[tuple[str, str]] = []
    if any(_TZ_SUFFIX.search(v) for v in values):
        candidates.append(
            ("ISO 8601 with time zone", "CAST(try_cast({v} AS TIMESTAMPTZ) AS TIMESTAMP)")
        )
    candidates.append(("ISO 8601", "try_cast({v} AS TIMESTAMP)"))
    for label, formats in _TIME_FAMILIES:
        listed = "[" + ", ".join(sql_string(f) for f in formats) + "]"
        candidates.append((label, "try_strptime({v}, " + listed + ")"))
    counts = con.execute(
        "SELECT "
        + ", ".join(f"count({template.replace('{v}', 'v')})" for _, template in candidates)
        + " FROM (SELECT unnest(?::VARCHAR[]) AS v)",
        [values],
    ).fetchone()
    best = max(range(len(candidates)), key=lambda index: (counts[index], -index))
    label, template = candidates[best]
    if counts[best] < 0.5 * len(values):
        bad = [v for v in values if not _parses(con, template, v)][:3]
        raise SchemaError(
            f"column '{column}' of {name}: {len(values) - counts[best]} of the first "
            f"{len(values)} values could not be read as times (e.g. "
            f"{', '.join(repr(v) for v in bad)}); accepted formats: {ACCEPTED_TIME_FORMATS}. "
            "Fix the values, map ts to another column, or leave ts unmapped to use row order"
        )
    ambiguous = {"month/day/year": "day/month/year", "day/month/year": "month/day/year"}
    if label in ambiguous:
        other = [c[0] for c in candidates].index(ambiguous[label])
        if counts[other] == counts[best]:
            warnings.append(
                f"dates in column '{column}' such as {values[0]!r} could be day/month or "
                f"month/day; they were read as {label}"
            )
    return template.replace("{v}", f"trim({ref})" if needs_trim else ref), warnings


def _parses(con: duckdb.DuckDBPyConnection, template: str, value: str) -> bool:
    expr = template.replace("{v}", "v")
    row = con.execute(f"SELECT {expr} IS NOT NULL FROM (SELECT ?::VARCHAR AS v)", [value])
    return bool(row.fetchone()[0])


def _all_yyyymmdd(values: list[float]) -> bool:
    return bool(values) and all(
        v == int(v) and 19000101 <= v <= 21001231 and 1 <= int(v) // 100 % 100 <= 12 for v in values
    )


def _warn_small_epoch(
    values: list[float], unit: str, column: str, is_position: bool, warnings: list[str]
) -> None:
    if is_position or not values or unit != "seconds":
        return
    size = median(abs(v) for v in values)
    if size < 1e8:
        warnings.append(
            f"column '{column}' holds small numbers (median {size:g}); they were read as "
            "seconds after 1970-01-01. If they are not times, leave ts unmapped"
        )


def _choose_preset(name: str | None, sniff_result: SourceSniff, kind: str) -> Preset:
    if name is None:
        detected = PRESETS[sniff_result.preset]
        return detected if kind in detected.kinds else PRESETS["generic"]
    if name not in PRESETS:
        raise IngestError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    preset = PRESETS[name]
    if kind not in preset.kinds:
        raise SchemaError(
            f"preset {name!r} describes {' and '.join(preset.kinds)} files, not a {kind} file; "
            "choose another preset or leave it to detection"
        )
    return preset


def _attribute_name(column: str, taken: set[str]) -> str:
    base = re.sub(r"[^0-9a-zA-Z]+", "_", column).strip("_").lower() or "attribute"
    name = base
    while name in taken:
        name += "_attr"
    taken.add(name)
    return name


def _plan_events(
    con: duckdb.DuckDBPyConnection,
    info: FileInfo,
    sniff_result: SourceSniff,
    *,
    mapping: dict[str, str | None] | None,
    preset_name: str | None,
    default_event: str,
) -> _Plan:
    """SQL expressions for every raw_events column (and item text for a derived catalogue)."""
    name = display_name(info.path)
    preset = _choose_preset(preset_name, sniff_result, EVENTS_KIND)
    chosen = _resolve_mapping(sniff_result, EVENTS_KIND, preset, mapping)
    types = sniff_result.column_types
    warnings = list(sniff_result.warnings)
    if preset.note:
        warnings.append(preset.note)

    def kind_of(target: str) -> str:
        return types[chosen[target]]

    session_sql = (
        _id_sql(con, chosen[SESSION_ID], kind_of(SESSION_ID), SESSION_ID, name)
        if SESSION_ID in chosen
        else None
    )
    missing = [USER_ID] if USER_ID not in chosen and session_sql is None else []
    if ITEM_ID not in chosen:
        missing.append(ITEM_ID)
    if missing:
        raise _missing_column_error(sniff_result, missing)
    if USER_ID in chosen:
        user_sql = _id_sql(con, chosen[USER_ID], kind_of(USER_ID), USER_ID, name)
        if preset.user_from_session and session_sql is not None:
            user_sql = f"coalesce({user_sql}, 'session:' || ({session_sql}))"
    else:
        user_sql = str(session_sql)
        warnings.append(
            f"{name} has no user column: each session (column '{chosen[SESSION_ID]}') is used "
            "as a user"
        )
    item_sql = _id_sql(con, chosen[ITEM_ID], kind_of(ITEM_ID), ITEM_ID, name)
    query_sql = (
        _text_sql(chosen[QUERY], kind_of(QUERY)) if QUERY in chosen else "CAST(NULL AS VARCHAR)"
    )

    plan = _Plan(
        info=info,
        sniff=sniff_result,
        preset=preset,
        mapping=chosen,
        select=[],
        warnings=warnings,
    )
    event_sql = _event_sql(con, plan, default_event, item_sql, query_sql)
    ts_sql = _event_time_sql(con, plan)
    value_sql = _value_sql(chosen, types, name)
    return_parts = []
    if IS_RETURN in chosen:
        return_parts.append(_bool_sql(chosen[IS_RETURN], kind_of(IS_RETURN)))
    if QUANTITY in chosen:
        quantity = _number_sql(chosen[QUANTITY], kind_of(QUANTITY), QUANTITY, name)
        return_parts.append(f"coalesce({quantity} < 0, false)")
    if preset.returns_from_invoice and SESSION_ID in chosen:
        invoice = f"upper(CAST({sql_ident(chosen[SESSION_ID])} AS VARCHAR))"
        return_parts.append(f"coalesce(starts_with({invoice}, 'C'), false)")
    expressions = {
        USER_ID: user_sql,
        ITEM_ID: item_sql,
        EVENT: event_sql,
        TS: ts_sql,
        SESSION_ID: session_sql or "CAST(NULL AS VARCHAR)",
        QUERY: query_sql,
        VALUE: value_sql,
        IS_RETURN: " OR ".join(return_parts) or "false",
    }
    plan.select = [(column, expressions[column]) for column in RAW_EVENT_COLUMNS]
    for target in ITEM_TEXT_TARGETS:
        if target in chosen:
            column = chosen[target]
            expr = (
                _number_sql(column, types[column], target, name)
                if target == PRICE
                else _text_sql(column, types[column])
            )
            plan.select.append((target, expr))
            plan.text_columns.append(target)
    return plan


def _event_sql(
    con: duckdb.DuckDBPyConnection,
    plan: _Plan,
    default_event: str,
    item_sql: str,
    query_sql: str,
) -> str:
    chosen = plan.mapping
    if EVENT in chosen:
        column = chosen[EVENT]
        raw = sql_ident(column)
        if _base_type(plan.sniff.column_types[column]) != "VARCHAR":
            raw = f"CAST({raw} AS VARCHAR)"
        sql = event_case_sql(raw)
        rows = con.execute(
            f"SELECT DISTINCT r FROM (SELECT {raw} AS r FROM {_SAMPLE_TABLE}) "
            f"WHERE r IS NOT NULL AND ({event_case_sql('r')}) IS NULL ORDER BY r LIMIT 5"
        ).fetchall()
        plan.unknown_events = [row[0] for row in rows]
        return sql
    constant = plan.preset.event or (
        RATING if ESCI_LABEL in chosen or RATING in chosen else default_event
    )
    if QUERY in chosen and constant != RATING:
        return (
            f"CASE WHEN ({item_sql}) IS NULL AND ({query_sql}) IS NOT NULL THEN '{SEARCH}' "
            f"ELSE '{constant}' END"
        )
    return f"'{constant}'"


def _event_time_sql(con: duckdb.DuckDBPyConnection, plan: _Plan) -> str:
    chosen = plan.mapping
    types = plan.sniff.column_types
    name = display_name(plan.info.path)
    if TS not in chosen:
        plan.warnings.append(
            f"{name} has no timestamp column: row order gives the time (ts is 1970-01-01 plus "
            "one second per row), so time-based splits follow the file order"
        )
        return "make_timestamp((row_number() OVER ()) * 1000000)"
    column = chosen[TS]
    plan.ts_column = column
    sql, warnings = _timestamp_sql(
        con,
        column,
        types[column],
        name,
        is_position=plan.preset.ts_is_position,
    )
    plan.warnings.extend(warnings)
    if TS_OFFSET_MS in chosen:
        offset = _number_sql(chosen[TS_OFFSET_MS], types[chosen[TS_OFFSET_MS]], TS_OFFSET_MS, name)
        sql = f"({sql}) + to_milliseconds(coalesce(try_cast({offset} AS BIGINT), 0))"
    return sql


def _value_sql(chosen: dict[str, str], types: dict[str, str], name: str) -> str:
    def number(target: str) -> str:
        return _number_sql(chosen[target], types[chosen[target]], target, name)

    if VALUE in chosen:
        return number(VALUE)
    if ESCI_LABEL in chosen:
        label = f"left(upper(trim(CAST({sql_ident(chosen[ESCI_LABEL])} AS VARCHAR))), 1)"
        branches = " ".join(f"WHEN '{k}' THEN {v!r}" for k, v in ESCI_GAINS.items())
        return f"CAST(CASE {label} {branches} END AS DOUBLE)"
    if RATING in chosen:
        return number(RATING)
    if QUANTITY in chosen and PRICE in chosen:
        return f"({number(QUANTITY)}) * ({number(PRICE)})"
    if QUANTITY in chosen:
        return number(QUANTITY)
    return "CAST(NULL AS DOUBLE)"


def _plan_catalog(
    con: duckdb.DuckDBPyConnection,
    info: FileInfo,
    sniff_result: SourceSniff,
    *,
    mapping: dict[str, str | None] | None,
    preset_name: str | None,
) -> _Plan:
    """SQL expressions for raw_catalog: canonical columns plus every other column as attribute."""
    name = display_name(info.path)
    preset = _choose_preset(preset_name, sniff_result, CATALOG_KIND)
    chosen = _resolve_mapping(sniff_result, CATALOG_KIND, preset, mapping)
    types = sniff_result.column_types
    if ITEM_ID not in chosen:
        columns = ", ".join(sniff_result.columns[:12])
        raise SchemaError(
            f"no item column found in the catalogue {name}; map one of its columns ({columns}) "
            f"to item_id; usual names are: {alias_hint(ITEM_ID)}"
        )
    plan = _Plan(
        info=info,
        sniff=sniff_result,
        preset=preset,
        mapping=chosen,
        select=[],
        warnings=list(sniff_result.warnings),
    )
    select = [(ITEM_ID, _id_sql(con, chosen[ITEM_ID], types[chosen[ITEM_ID]], ITEM_ID, name))]
    taken = set(CATALOG_COLUMNS)
    extras: list[tuple[str, str]] = []
    for target in CATALOG_COLUMNS[1:]:
        column = chosen.get(target)
        if column is None:
            select.append((target, f"CAST(NULL AS {_CATALOG_TYPES.get(target, 'VARCHAR')})"))
        elif target == PRICE:
            select.append((target, _number_sql(column, types[column], target, name)))
        elif target == FIRST_SEEN:
            sql, warnings = _timestamp_sql(con, column, types[column], name)
            plan.warnings.extend(warnings)
            select.append((target, sql))
        elif target == CATEGORY and preset.category_first_token:
            text = _text_sql(column, types[column])
            select.append((target, f"nullif(split_part(trim({text}), ' ', 1), '')"))
            extras.append((_attribute_name("genres", taken), text))
        else:
            select.append((target, _text_sql(column, types[column])))
    used = set(chosen.values())
    for column in sniff_result.columns:
        if column not in used:
            extras.append((_attribute_name(column, taken), sql_ident(column)))
    plan.select = select + extras
    plan.text_columns = [TITLE, DESCRIPTION, CATEGORY, BRAND]
    return plan


# Loading -----------------------------------------------------------------------------------------


@dataclass
class _EventCounts:
    n_events: int
    n_users: int


def _select_sql(select: list[tuple[str, str]]) -> str:
    return ", ".join(f"{expr} AS {sql_ident(name)}" for name, expr in select)


def _check_rejects(
    con: duckdb.DuckDBPyConnection, plan: _Plan, rejects: str, which: str
) -> tuple[int, str]:
    """Count lines DuckDB could not parse; ask for a retry when other options would read them."""
    if plan.info.format not in ("csv", "sequences"):
        return 0, ""
    count, encoding_errors, long_lines, line, message = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE error_type = 'INVALID ENCODING'), "
        "count(*) FILTER (WHERE error_type = 'LINE SIZE OVER MAXIMUM'), min(line), "
        f"arg_min(error_message, line) FROM {sql_ident(rejects)}"
    ).fetchone()
    if long_lines and not plan.info.long_lines:
        raise _RetryError(which, long_lines=True)
    if encoding_errors and plan.info.encoding == "utf-8" and plan.info.ascii_head:
        raise _RetryError(which, encoding="latin-1")
    if not count:
        return 0, ""
    return int(count), f"line {line}: {(message or '').splitlines()[0][:120]}"


def _formula_filter(column: str) -> str:
    return _FORMULA_SQL.replace("{x}", sql_ident(column))


def _formula_warnings(
    con: duckdb.DuckDBPyConnection,
    table: str,
    types: dict[str, str],
    name: str,
    labels: dict[str, str] | None = None,
) -> dict[str, str]:
    """Warn about text that a spreadsheet would run as a formula (it is stored as plain text).

    ``labels`` names the columns of ``table`` as the analyst knows them (source column names).
    Returns ``{column label: warning}``.
    """
    columns = [c for c, kind in types.items() if _base_type(kind) == "VARCHAR"]
    if not columns:
        return {}
    row = con.execute(
        "SELECT "
        + ", ".join(f"min({sql_ident(c)}) FILTER (WHERE {_formula_filter(c)})" for c in columns)
        + f" FROM {table}"
    ).fetchone()
    found = {}
    for column, example in zip(columns, row, strict=True):
        if example is not None:
            label = (labels or {}).get(column, column)
            found[label] = (
                f"values in column '{label}' of {name} start like spreadsheet formulas (e.g. "
                f"{example[:40]!r}); they are stored as plain text and never evaluated, but take "
                "care when opening exported data in a spreadsheet"
            )
    return found


def _stage_events(con: duckdb.DuckDBPyConnection, plan: _Plan, default_event: str) -> _EventCounts:
    name = display_name(plan.info.path)
    rejects = "_ingest_rejects_events"
    con.execute(
        f"CREATE OR REPLACE TABLE {_STAGE_EVENTS} AS SELECT {_select_sql(plan.select)} "
        f"FROM {source_sql(plan.info, rejects)}"
    )
    n_rejected, example = _check_rejects(con, plan, rejects, "events")
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


def _stage_catalog(con: duckdb.DuckDBPyConnection, plan: _Plan) -> int:
    """Read the catalogue file: one row per item id; a missing first_seen comes from the log.

    Returns the number of distinct items in the log.
    """
    name = display_name(plan.info.path)
    rejects = "_ingest_rejects_catalog"
    con.execute(
        f"CREATE OR REPLACE TABLE {_STAGE_CATALOG} AS SELECT {_select_sql(plan.select)} "
        f"FROM {source_sql(plan.info, rejects)}"
    )
    n_rejected, example = _check_rejects(con, plan, rejects, "catalog")
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


def _derive_catalog(con: duckdb.DuckDBPyConnection, plan: _Plan) -> int:
    """One catalogue row per item from the log: most frequent text, latest positive price.

    Returns the number of items.
    """
    present = set(plan.text_columns)
    columns = []
    for target in CATALOG_COLUMNS[1:]:
        if target == FIRST_SEEN:
            columns.append(f"min(ts) AS {FIRST_SEEN}")
        elif target not in present:
            columns.append(f"CAST(NULL AS {_CATALOG_TYPES.get(target, 'VARCHAR')}) AS {target}")
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
        except _RetryError as retry:
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
    con = duckdb.connect()
    try:
        with _readable_errors(events_file):
            info = inspect_file(events_file, **options["events"])
            plan = _plan_events(
                con,
                info,
                _sniff(con, info),
                mapping=mapping,
                preset_name=preset,
                default_event=default_event,
            )
        catalog_plan = None
        if catalog_file is not None:
            with _readable_errors(catalog_file, "catalog"):
                info = inspect_file(catalog_file, **options["catalog"])
                catalog_plan = _plan_catalog(
                    con, info, _sniff(con, info), mapping=catalog_mapping, preset_name=None
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
    with ws.transaction() as tx:
        tx.execute("SET TimeZone = 'UTC'")
        with _readable_errors(events_file):
            counts = _stage_events(tx, plan, default_event)
        warnings = list(plan.warnings)
        progress(2, "building the catalogue")
        source = catalog_plan if catalog_plan is not None else plan
        source_file = catalog_file if catalog_plan is not None else events_file
        with _readable_errors(source_file, "events" if catalog_plan is None else "catalog"):
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
            found = _formula_warnings(tx, _STAGE_CATALOG, text, display_name(source_file), labels)
            for label, warning in found.items():
                if not any(f"values in column '{label}' of" in w for w in warnings):
                    warnings.append(warning)
        progress(3, "replacing the raw tables")
        # The cleaned tables describe the previous dataset: they go with it.
        for table in (EVENTS_TABLE, CLEANING_REMOVED_TABLE, CATALOG_TABLE):
            drop_relation(tx, table)
        for column in plan.text_columns:
            tx.execute(f"ALTER TABLE {_STAGE_EVENTS} DROP COLUMN {sql_ident(column)}")
        for stage, table in (
            (_STAGE_EVENTS, RAW_EVENTS_TABLE),
            (_STAGE_CATALOG, RAW_CATALOG_TABLE),
        ):
            tx.execute(f"DROP TABLE IF EXISTS {table}")
            tx.execute(f"ALTER TABLE {stage} RENAME TO {table}")
        Workspace.write_dataset_info(
            tx,
            DatasetInfo(
                name=name or events_file.name,
                source=str(events_file),
                preset=plan.preset.name,
                mapping=dict(plan.mapping),
                catalog_source=str(catalog_file) if catalog_file is not None else None,
                loaded_at=datetime.now(UTC).replace(tzinfo=None),
                n_events=counts.n_events,
                n_items=n_items,
                notes="\n".join(warnings),
            ),
        )
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
