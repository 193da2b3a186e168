"""Sniffing: what a file looks like before it is loaded, and errors made readable.

:func:`sniff` looks at the first bytes and rows of a file: its format, encoding, delimiter,
header and columns (from :mod:`core.data.ingest.formats`), a preview, the
:mod:`preset <core.data.ingest.presets>` and a suggested column mapping, and warns about cells
that a spreadsheet would run as formulas. :func:`readable_errors` turns DuckDB and OS errors into
:class:`~core.errors.IngestError` with a short cause and what to do.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from core.data.ingest.formats import (
    FileInfo,
    base_type,
    column_types,
    display_name,
    inspect_file,
    source_sql,
    sql_ident,
)
from core.data.ingest.limits import MAX_COLUMNS_ENV_VAR, ingest_limits, scratch_connection
from core.data.ingest.presets import (
    CATALOG_KIND,
    EVENTS_KIND,
    PRESETS,
    Preset,
    detect_preset,
    suggest_mapping,
)
from core.errors import IngestError, RetryError
from core.schema import (
    BRAND,
    CATEGORY,
    DESCRIPTION,
    EVENT,
    ITEM_ID,
    SESSION_ID,
    TITLE,
    USER_ID,
)

SAMPLE_TABLE = "_ingest_sample"
_SAMPLE_ROWS = 10_000
# The sample holds at most this many cells, so a very wide file samples fewer rows.
_SAMPLE_CELLS = 2_000_000
_PREVIEW_ROWS = 20
# A sign followed by a letter or '(' is a formula, unless the text reads as a number (-inf).
_FORMULA_SQL = (
    "({x}[1] IN ('=', '@') OR ({x}[1] IN ('+', '-') AND regexp_matches({x}, '^[+-][A-Za-z(]') "
    "AND try_cast({x} AS DOUBLE) IS NULL))"
)


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


@contextmanager
def readable_errors(path: Path, which: str = "events") -> Iterator[None]:
    """Turn DuckDB and OS errors into IngestError with a short cause and what to do.

    A quoted field spanning lines past the first megabyte asks for a retry without null padding
    (DuckDB's parallel reader cannot do both).
    """
    try:
        yield
    except duckdb.Error as error:
        if "null_padding" in str(error) and "quoted new lines" in str(error):
            raise RetryError(which, multiline=True) from error
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
            with readable_errors(path):
                info = inspect_file(path, **options)
                con = scratch_connection()
                try:
                    return sniff_info(con, info)
                finally:
                    con.close()
        except RetryError as retry:
            options.update(retry.options)
    raise IngestError(f"cannot read {display_name(path)}; export it again as UTF-8 CSV")


def sniff_info(con: duckdb.DuckDBPyConnection, info: FileInfo) -> SourceSniff:
    """What the file ``info`` describes looks like; leaves a sample in ``SAMPLE_TABLE``."""
    types = column_types(con, info)
    columns = list(types)
    check_width(info, len(columns))
    preset_name = detect_preset(columns, file_format=info.format, recbole=info.recbole)
    preset = PRESETS[preset_name]
    kind = _guess_kind(columns, preset, info)
    mapping = preset.mapping(columns, kind)
    relation = source_sql(info)
    select = ", ".join(sql_ident(c) for c in columns) or "*"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {SAMPLE_TABLE} AS SELECT {select} FROM {relation} "
        f"LIMIT {sample_rows(len(columns))}"
    )
    preview = con.execute(f"SELECT * FROM {SAMPLE_TABLE} LIMIT {_PREVIEW_ROWS}").df()
    warnings = list(info.warnings)
    warnings.extend(formula_warnings(con, SAMPLE_TABLE, types, display_name(info.path)).values())
    for name, copies in info.duplicated.items():
        warnings.append(
            f"the header names column '{name}' {len(copies)} times{case_note(copies)}; the "
            f"copies are called {', '.join(repr(c) for c in copies)}"
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


def case_note(copies: list[str]) -> str:
    """Say so when repeated names differ only in case (one column to the database)."""
    if len({c.rstrip("_0123456789") for c in copies}) > 1:
        return " (names that differ only in case are the same column to the database)"
    return ""


def sample_rows(n_columns: int) -> int:
    """Rows sampled from a file of ``n_columns`` columns: fewer when it is wide."""
    return max(100, min(_SAMPLE_ROWS, _SAMPLE_CELLS // max(n_columns, 1)))


def check_width(info: FileInfo, n_columns: int) -> None:
    """Refuse a file with more columns than ``SHOPSYNTH_MAX_COLUMNS`` allows."""
    limit = ingest_limits().max_columns
    if n_columns > limit:
        raise IngestError(
            f"{display_name(info.path)} has {n_columns:,} columns, more than the limit of "
            f"{limit:,} ({MAX_COLUMNS_ENV_VAR}); export only the columns you need (user, item, "
            f"time, event, text), or raise {MAX_COLUMNS_ENV_VAR}"
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


def formula_warnings(
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
    columns = [c for c, kind in types.items() if base_type(kind) == "VARCHAR"]
    if not columns:
        return {}
    # One long table of (column, value): linear in the columns, where one filtered aggregate
    # per column grows quadratically (minutes for a few thousand columns).
    listed = ", ".join(sql_ident(c) for c in columns)
    rows = con.execute(
        f"SELECT name, min(value) FROM (UNPIVOT (SELECT {listed} FROM {table}) ON {listed} "
        f"INTO NAME name VALUE value) WHERE {_FORMULA_SQL.replace('{x}', 'value')} GROUP BY name"
    ).fetchall()
    examples = dict(rows)
    found = {}
    for column in columns:
        example = examples.get(column)
        if example is not None:
            label = (labels or {}).get(column, column)
            found[label] = (
                f"values in column '{label}' of {name} start like spreadsheet formulas (e.g. "
                f"{example[:40]!r}); they are stored as plain text and never evaluated, but take "
                "care when opening exported data in a spreadsheet"
            )
    return found
