"""File formats: what the first megabyte of a file tells, and how DuckDB reads the file.

:func:`inspect_file` reads the first megabyte of a file to tell its format (delimited text,
Parquet, JSON lines, user-sequence lines; gzip or not), encoding, delimiter and header, and
rejects what cannot be a log (empty, binary, spreadsheets, archives) with a message that says
what to do; :func:`source_sql` is the DuckDB ``FROM`` clause that reads it and
:func:`column_types` the DuckDB type of each column.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core.data.ingest.limits import MAX_LINE_ENV_VAR, ingest_limits
from core.data.ingest.presets import (
    ALIASES,
    is_recbole_header,
    normalise_name,
    strip_recbole_type,
)
from core.errors import IngestError
from core.schema import (
    ITEM_ID,
)

# File formats: what the first megabyte of a file tells

_HEAD_BYTES = 1 << 20
_DUCKDB_LINE_BYTES = 2_000_000
_DELIMITERS = (",", "\t", ";", "|")
ODD_DELIMITERS = "~^:#!$%&*+=/\\`"
_UNSUPPORTED_SUFFIXES = {
    suffix: what
    for what, suffixes in (
        ("an Excel workbook", ".xlsx .xlsm .xls"),
        ("a spreadsheet", ".ods .numbers"),
        ("a ZIP archive", ".zip"),
        ("an archive", ".7z .rar .tar"),
        ("a compressed file other than gzip", ".bz2 .xz .zst .zstd"),
        ("a columnar file other than Parquet", ".avro .orc .feather .arrow"),
        ("a Python pickle", ".pkl .pickle"),
        ("an HDF5 file", ".h5 .hdf5"),
        ("a database file", ".sqlite .db .duckdb"),
    )
    for suffix in suffixes.split()
}
_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive or an Excel workbook (.xlsx)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls)"),
    (b"\x28\xb5\x2f\xfd", "a zstd file"),
    (b"BZh9", "a bzip2 file"),
    (b"\xfd7zXZ\x00", "an xz file"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "a SQLite database"),
    (b"Obj\x01", "an Avro file"),
    (b"ARROW1\x00", "an Arrow file"),
    (b"\x80\x04", "a Python pickle"),
    (b"\x80\x05", "a Python pickle"),
)
csv.field_size_limit(max(csv.field_size_limit(), 4 * _HEAD_BYTES))


@dataclass
class FileInfo:
    """How to read a file, as its first megabyte tells.

    ``format`` is "csv" (any delimited text), "parquet", "json" or "sequences"; ``names`` are the
    column names given to DuckDB (header names made unique, or ``column0``...); ``duplicated``
    maps a repeated header name to the names its copies got; ``ascii_head`` says whether the
    first megabyte was plain ASCII (a later encoding error then means Latin-1); ``long_lines``
    raises DuckDB's line-size limit; ``multiline`` marks quoted fields that span lines (DuckDB's
    parallel reader cannot then pad short rows, so they are skipped instead); ``warnings`` are
    what the analyst should know.
    """

    path: Path
    format: str
    compression: str | None = None
    encoding: str = "utf-8"
    delimiter: str | None = None
    has_header: bool = True
    skip: int = 0
    names: list[str] = field(default_factory=list)
    recbole: bool = False
    json_format: str = "newline_delimited"
    json_columns: dict[str, str] = field(default_factory=dict)
    json_nested: bool = False
    ascii_head: bool = True
    long_lines: bool = False
    multiline: bool = False
    duplicated: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    max_line_bytes: int = 64 << 20


def display_name(path: Path) -> str:
    """How messages name a file."""
    return f"'{path.name}'"


def _read_head(path: Path, compressed: bool) -> bytes:
    if not compressed:
        with path.open("rb") as handle:
            return handle.read(_HEAD_BYTES)
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read(_HEAD_BYTES)
    except (OSError, EOFError, zlib.error) as error:
        raise IngestError(
            f"{display_name(path)} is not a valid gzip file ({error}); compress it again with "
            "gzip, or load the uncompressed file"
        ) from error


def line_too_long(path: Path, line: int | str, limit_bytes: int) -> IngestError:
    """The error for a line longer than ``SHOPSYNTH_MAX_LINE_MB`` allows."""
    return IngestError(
        f"line {line} of {display_name(path)} is longer than {limit_bytes >> 20} MB "
        f"({MAX_LINE_ENV_VAR}); a log has one event per line: check that the line ends are "
        f"newlines and the quotes are balanced, or raise {MAX_LINE_ENV_VAR}"
    )


def _check_first_line(info: FileInfo) -> None:
    """Read on (in 1 MB steps) until the first newline; refuse a first line over the limit."""
    opener = gzip.open if info.compression else open
    with opener(info.path, "rb") as handle:
        read = 0
        while read <= info.max_line_bytes:
            chunk = handle.read(_HEAD_BYTES)
            if not chunk or b"\n" in chunk:
                return
            read += len(chunk)
    raise line_too_long(info.path, 1, info.max_line_bytes)


def _unsupported(path: Path, what: str) -> IngestError:
    return IngestError(
        f"{display_name(path)} is {what}, which cannot be read as a log; export the data as CSV "
        "(UTF-8), JSON lines or Parquet and load that file"
    )


def inspect_file(
    path: Path, encoding: str | None = None, long_lines: bool = False, multiline: bool = False
) -> FileInfo:
    """Everything about a file that its first bytes tell, before DuckDB reads it.

    ``encoding`` forces the text encoding; ``long_lines`` allows lines up to
    ``SHOPSYNTH_MAX_LINE_MB`` (DuckDB's default limit is 2 MB; a larger buffer slows small reads,
    so it is used only when needed);
    ``multiline`` says that quoted fields span lines further on in the file.
    """
    if not path.exists():
        raise IngestError(f"file not found: {path}; check the path")
    if not path.is_file():
        raise IngestError(
            f"{path} is not a file; give the path of a CSV, JSON lines or Parquet file"
        )
    if path.stat().st_size == 0:
        raise IngestError(
            f"{display_name(path)} is empty (0 bytes); export the data again or choose another file"
        )
    with path.open("rb") as handle:
        magic = handle.read(16)
    suffixes = [s.lower() for s in path.suffixes]
    compressed = magic.startswith(b"\x1f\x8b") or (bool(suffixes) and suffixes[-1] == ".gz")
    inner = [s for s in suffixes if s != ".gz"]
    for suffix in inner[-1:]:
        if suffix in _UNSUPPORTED_SUFFIXES:
            raise _unsupported(path, _UNSUPPORTED_SUFFIXES[suffix])
    if compressed and not magic.startswith(b"\x1f\x8b"):
        raise IngestError(
            f"{display_name(path)} is named .gz but is not gzip-compressed; rename it without .gz"
        )
    head = _read_head(path, compressed)
    if not head:
        raise IngestError(
            f"{display_name(path)} is empty after decompression; export the data again"
        )
    for prefix, what in _MAGIC:
        if head.startswith(prefix):
            raise _unsupported(path, what)
    info = FileInfo(path=path, format="csv", compression="gzip" if compressed else None)
    info.max_line_bytes = ingest_limits().max_line_bytes
    info.long_lines = long_lines or (len(head) == _HEAD_BYTES and head.count(b"\n") < 2)
    if len(head) == _HEAD_BYTES and b"\n" not in head:
        _check_first_line(info)
    info.multiline = multiline
    if head.startswith(b"PAR1"):
        if compressed:
            raise IngestError(
                f"{display_name(path)} is a gzip-compressed Parquet file; Parquet is compressed "
                "already: load the .parquet file itself"
            )
        info.format = "parquet"
        return info
    if inner and inner[-1] in (".parquet", ".pq"):
        raise IngestError(
            f"{display_name(path)} is named .parquet but is not a Parquet file (it has no PAR1 "
            "marker); if it is CSV or JSON, rename it accordingly"
        )
    text = _decode_head(info, head, encoding)
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        _inspect_json(info, stripped, truncated=len(head) == _HEAD_BYTES)
        return info
    if inner and inner[-1] in (".json", ".jsonl", ".ndjson"):
        raise IngestError(
            f"{display_name(path)} is named {inner[-1]} but does not start with '{{' or '[': it is "
            "not JSON; export it as JSON lines (one object per line) or CSV"
        )
    _inspect_text(info, text, truncated=len(head) == _HEAD_BYTES)
    return info


def _wide_encoding(head: bytes) -> str | None:
    """UTF-16 or UTF-32 told by the byte-order mark, or by NUL bytes every other byte."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if head.startswith(b"\xff\xfe"):
        return "UTF-16LE"
    if head.startswith(b"\xfe\xff"):
        return "UTF-16BE"
    sample = head[:4096]
    even, odd = sample[0::2], sample[1::2]
    if len(sample) < 4:
        return None
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "UTF-16LE"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "UTF-16BE"
    return None


def _decode_head(info: FileInfo, head: bytes, encoding: str | None) -> str:
    wide = _wide_encoding(head)
    if wide in ("UTF-32", "UTF-16BE"):
        raise IngestError(
            f"{display_name(info.path)} is {wide} text, which cannot be read; save it as UTF-8 "
            "(or UTF-16 little-endian) and load it again"
        )
    if wide == "UTF-16LE":
        # DuckDB's "utf-16" reads little-endian text, with or without a byte-order mark.
        info.encoding = "utf-16"
        info.ascii_head = False
        info.warnings.append(f"{display_name(info.path)} is UTF-16 text; it was read as such")
        even = head[: len(head) // 2 * 2].removeprefix(b"\xff\xfe")
        text = even.decode("utf-16-le", errors="replace")
        if _control_share(text[:4096].encode("utf-8", errors="replace")) > 0.01:
            raise _binary_error(info.path)
        return text
    if b"\x00" in head or _control_share(head) > 0.01:
        raise _binary_error(info.path)
    info.ascii_head = head.isascii()
    if encoding is not None:
        info.encoding = encoding
        return head.decode(encoding, errors="replace")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if len(head) == _HEAD_BYTES and error.start >= len(head) - 3:
            return head[: error.start].decode("utf-8")
        info.encoding = "latin-1"
        info.warnings.append(
            f"{display_name(info.path)} is not UTF-8; it was read as Latin-1 (ISO-8859-1). If "
            "accents look wrong, save the file as UTF-8"
        )
        return head.decode("latin-1")
    return text.removeprefix("\ufeff")


def _binary_error(path: Path) -> IngestError:
    return IngestError(
        f"{display_name(path)} looks like a binary file, not text (CSV, TSV, JSON lines) "
        "or Parquet; export the data as CSV or Parquet"
    )


_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))


def _control_share(head: bytes) -> float:
    """Share of control characters (other than tab, newlines, form feed): text has next to none."""
    if not head:
        return 0.0
    return (len(head) - len(head.translate(None, _CONTROL_BYTES))) / len(head)


def _inspect_json(info: FileInfo, text: str, truncated: bool) -> None:
    info.format = "json"
    if text.startswith("["):
        info.json_format = "array"
        return
    first, newline, _ = text.partition("\n")
    if not newline and truncated:
        return
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        record = None
    if not isinstance(record, dict):
        raise IngestError(
            f"{display_name(info.path)} holds one JSON document spread over several lines, not "
            "JSON lines (one object per line); convert it, e.g. with `jq -c '.[]'`, or export "
            "the data as CSV"
        )


def _parse_rows(text: str, delimiter: str, truncated: bool, limit: int = 200) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"')
    rows: list[list[str]] = []
    try:
        for row in reader:
            if row:
                rows.append(row)
            if len(rows) > limit:
                break
    except csv.Error:
        pass
    if truncated and len(rows) > 1 and len(rows) <= limit:
        rows.pop()
    return rows[:limit]


def _consistency(rows: list[list[str]]) -> tuple[float, int]:
    if not rows:
        return 0.0, 0
    width, count = Counter(len(row) for row in rows).most_common(1)[0]
    return count / len(rows), width


def _inspect_text(info: FileInfo, text: str, truncated: bool) -> None:
    lines = text.splitlines()
    if lines and re.fullmatch(r"sep=.", lines[0].strip()):
        info.delimiter = lines[0].strip()[4]
        info.skip = 1
        text = text.split("\n", 1)[1] if "\n" in text else ""
    if info.delimiter is None:
        best: tuple[float, int, int] | None = None
        for order, delimiter in enumerate(_DELIMITERS):
            share, width = _consistency(_parse_rows(text, delimiter, truncated))
            if width >= 2 and share >= 0.5:
                score = (share, width, -order)
                if best is None or score > best:
                    best = score
                    info.delimiter = delimiter
    if info.delimiter is None:
        widths = _token_widths(text, truncated)
        if widths and (len(widths) > 1 or widths == {2}):
            info.format = "sequences"
            info.has_header = False
            info.names = ["user", "item", "position"]
            return
        single = _consistency(_parse_rows(text, " ", truncated))
        info.delimiter = " " if widths and single[0] == 1.0 and single[1] >= 2 else ","
    rows = _parse_rows(text, info.delimiter, truncated)
    if not rows:
        raise IngestError(
            f"{display_name(info.path)} holds only blank lines; export the data again"
        )
    info.has_header = _looks_like_header(rows)
    info.multiline = info.multiline or any("\n" in v or "\r" in v for row in rows for v in row)
    width = len(rows[0]) if info.has_header else _consistency(rows)[1]
    if info.has_header:
        raw = [name.strip() for name in rows[0]]
        info.recbole = is_recbole_header(raw)
        names = [strip_recbole_type(name) if info.recbole else name for name in raw]
        info.names = _deduplicate(names, info)
    else:
        info.names = [f"column{index}" for index in range(width)]


_TOKEN = re.compile(r"^[\w.:\-/@#]+$")


def _token_widths(text: str, truncated: bool) -> set[int]:
    """Token counts of whitespace-separated id lines (``user item item ...``); empty if not so.

    Varying counts (or always two) mean user-sequence lines; a constant count above two means a
    space-separated table.
    """
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if truncated and len(lines) > 1:
        lines.pop()
    lines = lines[:200]
    if not lines or any(len(tokens) < 2 for tokens in lines):
        return set()
    if not all(_TOKEN.match(t) for tokens in lines for t in tokens):
        return set()
    return {len(tokens) for tokens in lines}


def is_number(value: str) -> bool:
    """True for text that reads as a finite number."""
    try:
        float(value)
    except ValueError:
        return False
    return value.strip().lower() not in ("nan", "inf", "-inf", "infinity")


_KNOWN_NAMES = frozenset(name for names in ALIASES.values() for name in names)


def _looks_like_header(rows: list[list[str]]) -> bool:
    first = [value.strip() for value in rows[0]]
    if any(is_number(value) for value in first if value):
        return False
    if is_recbole_header(first) or any(normalise_name(v) in _KNOWN_NAMES for v in first):
        return True
    body = rows[1:]
    if not body:
        return True
    for index in range(len(first)):
        values = [row[index] for row in body if index < len(row) and row[index].strip()]
        if values and sum(is_number(v) for v in values) >= 0.5 * len(values):
            return True
    return not any(
        first[index] and first[index] in {row[index] for row in body if index < len(row)}
        for index in range(len(first))
    )


def _deduplicate(names: list[str], info: FileInfo) -> list[str]:
    """Unique column names; DuckDB ignores case, so ``user_id`` and ``USER_ID`` are a repeat."""
    first: dict[str, str] = {}
    seen: Counter[str] = Counter()
    taken: set[str] = set()
    result = []
    for index, name in enumerate(names):
        base = name or f"column{index}"
        key = base.lower()
        seen[key] += 1
        unique = base if seen[key] == 1 else f"{base}_{seen[key]}"
        while unique.lower() in taken:
            unique += "_"
        taken.add(unique.lower())
        result.append(unique)
        first.setdefault(key, base)
        if seen[key] > 1:
            info.duplicated.setdefault(first[key], [first[key]]).append(unique)
    return result


# Reading a file with DuckDB


def sql_string(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _varchar_struct(names: list[str]) -> str:
    return "{" + ", ".join(f"{sql_string(name)}: 'VARCHAR'" for name in names) + "}"


def source_sql(info: FileInfo, rejects: str | None = None) -> str:
    """The FROM clause reading the file; ``rejects`` names the table that collects bad lines."""
    path = sql_string(str(info.path))
    compression = "'gzip'" if info.compression else "'none'"
    if info.format == "parquet":
        return f"read_parquet({path})"
    if info.format == "json":
        columns = ""
        if info.json_columns:
            columns = (
                ", columns={"
                + ", ".join(
                    f"{sql_string(k)}: {sql_string(v)}" for k, v in info.json_columns.items()
                )
                + "}"
            )
        size = f", maximum_object_size={info.max_line_bytes}" if info.long_lines else ""
        sql = (
            f"read_json({path}, format='{info.json_format}', compression={compression}"
            f"{size}{columns})"
        )
        return f"(SELECT fields.* FROM {sql})" if info.json_nested else sql
    errors = (
        f"store_rejects=true, rejects_table={sql_string(rejects)}, "
        f"rejects_scan={sql_string(rejects + '_scan')}"
        if rejects
        else "ignore_errors=true"
    )
    size = (
        f"max_line_size={info.max_line_bytes}, "
        if info.long_lines or info.max_line_bytes < _DUCKDB_LINE_BYTES
        else ""
    )
    common = f"compression={compression}, encoding='{info.encoding}', {size}{errors}"
    if info.format == "sequences":
        lines = (
            f"read_csv({path}, delim=chr(1), quote='', escape='', header=false, "
            f"auto_detect=false, columns={{'line': 'VARCHAR'}}, {common})"
        )
        return (
            '(SELECT parts[1] AS "user", unnest(parts[2:]) AS item, '
            "unnest(range(1, len(parts))) AS position FROM (SELECT "
            f"regexp_split_to_array(trim(line), '\\s+') AS parts FROM {lines}) "
            "WHERE len(parts) >= 2)"
        )
    return (
        f"read_csv({path}, delim={sql_string(info.delimiter or ',')}, quote='\"', escape='\"', "
        f"header={'true' if info.has_header else 'false'}, skip={info.skip}, auto_detect=false, "
        f"columns={_varchar_struct(info.names)}, null_padding={str(not info.multiline).lower()}, "
        f"{common})"
    )


def _describe_json(con: duckdb.DuckDBPyConnection, info: FileInfo) -> dict[str, str]:
    """Read JSON keys from a sample; every value is then read as text (nested as JSON text)."""
    rows = con.execute(f"DESCRIBE SELECT * FROM {source_sql(info)}").fetchall()
    types = {row[0]: row[1] for row in rows}
    fields = types.get("fields", "")
    if fields.upper().startswith("STRUCT") and not any(
        normalise_name(c) in ALIASES[ITEM_ID] for c in types if c != "fields"
    ):
        # A feed whose records keep their attributes under "fields" (e.g. a Vespa feed).
        info.json_nested = True
        rows = con.execute(f"DESCRIBE SELECT * FROM {source_sql(info)}").fetchall()
        names = [row[0] for row in rows]
        struct = "STRUCT(" + ", ".join(f"{sql_ident(n)} VARCHAR" for n in names) + ")"
        info.json_columns = {"fields": struct}
        return dict.fromkeys(names, "VARCHAR")
    info.json_columns = dict.fromkeys(types, "VARCHAR")
    return dict.fromkeys(types, "VARCHAR")


def column_types(con: duckdb.DuckDBPyConnection, info: FileInfo) -> dict[str, str]:
    """DuckDB type of each column as :func:`source_sql` reads it (text files: all VARCHAR)."""
    if info.format == "json":
        return _describe_json(con, info)
    if info.format == "sequences":
        return {"user": "VARCHAR", "item": "VARCHAR", "position": "BIGINT"}
    if info.format == "csv":
        return dict.fromkeys(info.names, "VARCHAR")
    rows = con.execute(f"DESCRIBE SELECT * FROM {source_sql(info)}").fetchall()
    return {row[0]: row[1] for row in rows if not row[0].startswith("__index_level_")}


def base_type(column_type: str) -> str:
    """A DuckDB type name without its parameters: ``DECIMAL(18,3)`` -> ``DECIMAL``."""
    return column_type.upper().split("(")[0].strip()
