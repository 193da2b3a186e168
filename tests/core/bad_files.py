"""Malformed input files, written on demand, with the outcome each one must have.

Each :class:`BadFile` either fails with a typed error whose message names the problem and the
fix (``fragments``), or loads with a warning (``warning``) and passes its ``check``.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from core.data.workspace import Workspace
from core.errors import IngestError, SchemaError

GOOD_CSV = (
    "user_id,item_id,event,ts\n"
    "u1,i1,view,2024-01-01 10:00:00\n"
    "u1,i2,purchase,2024-01-01 10:05:00\n"
    "u2,i1,view,2024-01-02 09:00:00\n"
)


@dataclass(frozen=True)
class BadFile:
    """A malformed file and what loading it must do.

    Attributes
    ----------
    filename : str
        Name to write it under (the extension matters).
    build : callable
        Returns the file's bytes.
    error : type or None
        Exception class that loading raises; None when it loads with a warning.
    fragments : tuple of str
        Text the error message (or the warning) must contain: what is wrong and what to do.
    check : callable or None
        ``check(workspace)`` after a successful load.
    """

    filename: str
    build: Callable[[], bytes]
    error: type[Exception] | None
    fragments: tuple[str, ...]
    check: Callable[[Workspace], None] | None = None

    def write(self, folder: Path) -> Path:
        path = folder / self.filename
        path.write_bytes(self.build())
        return path


def _text(text: str, encoding: str = "utf-8") -> Callable[[], bytes]:
    return lambda: text.encode(encoding)


def _binary() -> bytes:
    rng = random.Random(7)
    return bytes(rng.randrange(256) for _ in range(4096)) + b"\x00\x00\x00"


def _truncated_gzip() -> bytes:
    body = GOOD_CSV + "".join(f"u{i},i{i % 50},view,2024-01-03 10:00:00\n" for i in range(20000))
    data = gzip.compress(body.encode())
    return data[: len(data) // 2]


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _parquet(table: pa.Table) -> Callable[[], bytes]:
    def build() -> bytes:
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        return buffer.getvalue()

    return build


def _latin1_late() -> bytes:
    ascii_rows = "".join(f"u{i},a{i % 97},Plain ASCII title\n" for i in range(40000))
    text = "user_id,item_id,title\n" + ascii_rows + "u9,i9,Caf\xe9 cr\xe8me\n"
    assert len(text) > 1 << 20
    return text.encode("latin-1")


def _huge_field() -> bytes:
    return (
        "user_id,item_id,description\nu1,i1," + "x" * (10 * 1024 * 1024) + "\nu2,i2,short text\n"
    ).encode()


def _title_of(workspace: Workspace, item_id: str) -> str:
    with workspace.connect() as con:
        return con.execute("SELECT title FROM raw_catalog WHERE item_id = ?", [item_id]).fetchone()[
            0
        ]


def _check_latin1(workspace: Workspace) -> None:
    assert _title_of(workspace, "i1") == "Café crème"


def _check_latin1_late(workspace: Workspace) -> None:
    assert _title_of(workspace, "i9") == "Café crème"
    assert workspace.row_count("raw_events") == 40001


def _check_ragged(workspace: Workspace) -> None:
    with workspace.connect() as con:
        rows = con.execute("SELECT user_id, item_id FROM raw_events ORDER BY user_id").fetchall()
    # u3 had one field too many and is skipped; u4 had one too few and keeps NULL for ts.
    assert rows == [("u1", "i1"), ("u2", "i2"), ("u4", "i4"), ("u5", "i5")]


def _check_huge(workspace: Workspace) -> None:
    with workspace.connect() as con:
        length = con.execute("SELECT length(title) FROM raw_catalog WHERE item_id = 'i1'")
        assert length.fetchone()[0] == 10 * 1024 * 1024


def _check_formula(workspace: Workspace) -> None:
    assert _title_of(workspace, "i1") == "=cmd()"
    assert _title_of(workspace, "i2") == "+cmd|' /C calc'!A0"
    assert _title_of(workspace, "i3") == "@SUM(1+1)"


def _check_some_bad_times(workspace: Workspace) -> None:
    with workspace.connect() as con:
        missing = con.execute("SELECT item_id FROM raw_events WHERE ts IS NULL").fetchall()
    assert missing == [("i2",)]


def _check_utf16(workspace: Workspace) -> None:
    assert _title_of(workspace, "i1") == "Grüner Tee"


BAD_FILES: dict[str, BadFile] = {
    "empty": BadFile("empty.csv", _text(""), IngestError, ("is empty (0 bytes)", "export")),
    "zero_byte_gz": BadFile(
        "events.csv.gz", _text(""), IngestError, ("is empty (0 bytes)", "export")
    ),
    "empty_inside_gz": BadFile(
        "empty_inside.csv.gz",
        lambda: gzip.compress(b""),
        IngestError,
        ("empty after decompression", "export"),
    ),
    "truncated_gz": BadFile(
        "truncated.csv.gz",
        _truncated_gzip,
        IngestError,
        ("not a valid gzip file", "compress it again"),
    ),
    "not_gzip": BadFile(
        "plain.csv.gz", _text(GOOD_CSV), IngestError, ("not gzip-compressed", "rename it")
    ),
    "binary": BadFile(
        "garbage.csv", _binary, IngestError, ("binary file", "export the data as CSV or Parquet")
    ),
    "wrong_delimiter": BadFile(
        "tilde.csv",
        _text("user_id~item_id~ts\nu1~i1~2024-01-01\nu2~i2~2024-01-02\n"),
        SchemaError,
        ("only one column", "separated by '~'", "comma, semicolon, tab or '|'"),
    ),
    "missing_item_column": BadFile(
        "no_item.csv",
        _text("user_id,event,ts\nu1,view,2024-01-01\nu2,view,2024-01-02\n"),
        SchemaError,
        ("no item column", "map one of its columns (user_id, event, ts) to item_id", "product"),
    ),
    "unparseable_timestamps": BadFile(
        "bad_times.csv",
        _text("user_id,item_id,timestamp\nu1,i1,yesterday\nu2,i2,soon\nu3,i3,2024-13-45\n"),
        SchemaError,
        ("column 'timestamp'", "could not be read as times", "accepted formats: ISO 8601"),
    ),
    "some_unparseable_timestamps": BadFile(
        "some_bad_times.csv",
        _text(
            "user_id,item_id,timestamp\nu1,i1,2024-01-01\nu2,i2,not a date\n"
            "u3,i3,2024-01-03\nu4,i4,2024-01-04\n"
        ),
        None,
        ("rows with an empty or unreadable time in column 'timestamp': 1 of 4",),
        _check_some_bad_times,
    ),
    "latin1": BadFile(
        "latin1.csv",
        _text("user_id,item_id,title\nu1,i1,Café crème\nu2,i2,Crêpe\n", "latin-1"),
        None,
        ("is not UTF-8", "Latin-1", "save the file as UTF-8"),
        _check_latin1,
    ),
    "latin1_after_first_megabyte": BadFile(
        "latin1_late.csv",
        _latin1_late,
        None,
        ("is not UTF-8", "Latin-1"),
        _check_latin1_late,
    ),
    "utf16": BadFile(
        "utf16.csv",
        _text("user_id,item_id,title\nu1,i1,Grüner Tee\n", "utf-16"),
        None,
        ("UTF-16",),
        _check_utf16,
    ),
    "duplicated_header": BadFile(
        "dup_header.csv",
        _text("user_id,item_id,user_id\nu1,i1,u9\nu2,i2,u8\n"),
        SchemaError,
        ("names column 'user_id' 2 times", "rename the duplicate", "'user_id_2'"),
    ),
    "ragged_rows": BadFile(
        "ragged.csv",
        _text(
            "user_id,item_id,ts\nu1,i1,2024-01-01\nu2,i2,2024-01-02\n"
            "u3,i3,2024-01-03,extra\nu4,i4\nu5,i5,2024-01-05\n"
        ),
        None,
        ("lines of 'ragged.csv' that could not be parsed and were skipped: 1", "line 4"),
        _check_ragged,
    ),
    "one_column": BadFile(
        "one_column.csv",
        _text("user_id\nu1\nu2\nu3\n"),
        SchemaError,
        ("only one column was found in 'one_column.csv'", "a user column and an item column"),
    ),
    "no_header": BadFile(
        "numbers.csv",
        _text("1,2,3\n4,5,6\n7,8,9\n"),
        SchemaError,
        ("no user column", "no header row", "map one of its columns (column0, column1, column2)"),
    ),
    "huge_field": BadFile("huge_field.csv", _huge_field, None, (), _check_huge),
    "formula_text": BadFile(
        "formulas.csv",
        _text(
            "user_id,item_id,title\nu1,i1,=cmd()\nu2,i2,\"+cmd|' /C calc'!A0\"\nu3,i3,@SUM(1+1)\n"
        ),
        None,
        ("spreadsheet formulas", "stored as plain text and never evaluated"),
        _check_formula,
    ),
    "header_only": BadFile(
        "header_only.csv",
        _text("user_id,item_id,ts\n"),
        SchemaError,
        ("no data rows (only a header)", "add rows"),
    ),
    "all_ids_empty": BadFile(
        "empty_ids.csv",
        _text("user_id,item_id,ts\n,,2024-01-01\nNA,,2024-01-02\n"),
        SchemaError,
        ("column 'user_id' (user_id) is empty in every row", "map user_id to a column"),
    ),
    "json_not_lines": BadFile(
        "document.json",
        _text(json.dumps({"events": [{"user_id": "u1", "item_id": "i1"}]}, indent=2)),
        IngestError,
        ("not JSON lines (one object per line)", "convert it"),
    ),
    "json_broken_line": BadFile(
        "broken.jsonl",
        _text('{"user_id": "u1", "item_id": "i1"}\n{"user_id": "u2", "item_id"\n'),
        IngestError,
        ("cannot read 'broken.jsonl'", "Malformed JSON", "export it again"),
    ),
    "parquet_wrong_types": BadFile(
        "nested_ids.parquet",
        _parquet(pa.table({"user_id": [[1, 2], [3]], "item_id": ["i1", "i2"]})),
        SchemaError,
        ("column 'user_id'", "holds BIGINT[] values", "map a column of text or numbers"),
    ),
    "parquet_boolean_time": BadFile(
        "bool_time.parquet",
        _parquet(pa.table({"user_id": ["u1", "u2"], "item_id": ["i1", "i2"], "ts": [True, False]})),
        SchemaError,
        ("column 'ts'", "BOOLEAN values, which are not times", "map ts to a column of timestamps"),
    ),
    "not_parquet": BadFile(
        "events.parquet",
        _text(GOOD_CSV),
        IngestError,
        ("not a Parquet file", "rename it"),
    ),
    "xlsx": BadFile(
        "events.xlsx",
        lambda: _zip({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"}),
        IngestError,
        ("an Excel workbook", "export the data as CSV"),
    ),
    "zip": BadFile(
        "events.zip",
        lambda: _zip({"events.csv": GOOD_CSV}),
        IngestError,
        ("a ZIP archive", "export the data as CSV"),
    ),
    "xlsx_renamed_csv": BadFile(
        "workbook_saved_as.csv",
        lambda: _zip({"[Content_Types].xml": "<Types/>"}),
        IngestError,
        ("ZIP archive or an Excel workbook", "export the data as CSV"),
    ),
}
