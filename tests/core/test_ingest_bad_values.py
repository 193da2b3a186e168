"""Bad values inside readable files: wide text encodings, NUL bytes, non-finite numbers, times in
the wrong century or unit, and messages that would echo a megabyte.

Each load either fails with a typed error that says what to do, or loads with a counted warning
and the values checked here by hand.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from core.data.clean import clean_dataset
from core.data.ingest.load import load_dataset
from core.data.ingest.sniff import sniff
from core.data.rules import CleaningConfig
from core.data.workspace import Workspace
from core.errors import CleaningError, IngestError, SchemaError

TEXT = "user_id,item_id,title\nu1,i1,Grüner Tee\nu2,i2,Café\n"


def _rows(workspace: Workspace, sql: str) -> list[tuple]:
    with workspace.connect() as con:
        return con.execute(sql).fetchall()


def _titles(workspace: Workspace) -> list[tuple]:
    return _rows(workspace, "SELECT item_id, title FROM raw_catalog ORDER BY item_id")


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-16"),
        TEXT.encode("utf-16-le"),
        TEXT.replace("\n", "\r\n").replace(",", "\t").encode("utf-16-le"),
        TEXT.encode("utf-8-sig"),
    ],
    ids=["utf16_bom", "utf16le_no_bom", "utf16le_tsv_crlf", "utf8_bom"],
)
def test_utf16_and_utf8_bom_load(workspace: Workspace, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(data)
    result = load_dataset(workspace, path)
    assert result.n_events == 2
    assert _titles(workspace) == [("i1", "Grüner Tee"), ("i2", "Café")]
    assert sniff(path).columns == ["user_id", "item_id", "title"]


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"\xfe\xff" + TEXT.encode("utf-16-be"), "UTF-16BE"),
        (TEXT.encode("utf-16-be"), "UTF-16BE"),
        (TEXT.encode("utf-32"), "UTF-32"),
    ],
    ids=["utf16be_bom", "utf16be_no_bom", "utf32"],
)
def test_other_wide_encodings_are_named(
    workspace: Workspace, tmp_path: Path, data: bytes, encoding: str
) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(data)
    with pytest.raises(IngestError) as raised:
        load_dataset(workspace, path)
    assert str(raised.value) == (
        f"'events.csv' is {encoding} text, which cannot be read; save it as UTF-8 (or UTF-16 "
        "little-endian) and load it again"
    )


def test_nul_bytes_after_the_first_megabyte_are_removed_and_counted(
    workspace: Workspace, tmp_path: Path
) -> None:
    body = "".join(f"u{i % 7},i{i % 50},view\n" for i in range(100_000))
    path = tmp_path / "late_nul.csv"
    path.write_bytes(f"user_id,item_id,event\n{body}u1,i\x009,view\nu2,i9\x00,view\n".encode())
    assert path.stat().st_size > 1 << 20
    result = load_dataset(workspace, path)
    assert (
        "rows of 'late_nul.csv' holding NUL bytes: 2 of 100,002; the NUL bytes were removed"
        in "\n".join(result.warnings)
    )
    # 100,000 / 50 = 2,000 rows of i9 in the body, plus the two that held a NUL byte.
    assert _rows(workspace, "SELECT count(*) FROM raw_events WHERE item_id = 'i9'") == [(2002,)]
    assert _rows(workspace, "SELECT count(*) FROM raw_events WHERE contains(item_id, chr(0))") == [
        (0,)
    ]


def test_non_finite_and_huge_numbers_are_nulled_and_counted(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "amounts.csv"
    path.write_text(
        "user_id,item_id,quantity,price,ts\n"
        "u1,i1,inf,2.0,2024-01-01\n"
        "u2,i2,1,-inf,2024-01-02\n"
        "u3,i3,nan,1e308,2024-01-03\n"
        "u4,i4,2,3.5,2024-01-04\n"
        "u5,i5,-1,4,2024-01-05\n"
    )
    result = load_dataset(workspace, path)
    warnings = "\n".join(result.warnings)
    assert "values of column 'quantity' that are not finite numbers" in warnings
    assert "(inf, -inf, nan, 1e308): 2 of 5 rows; they were set to NULL" in warnings
    assert "values of column 'price' that are not finite numbers" in warnings
    assert "spreadsheet formulas" not in warnings
    # value = quantity * price, NULL where either was refused; -1 marks u5 as a return.
    assert _rows(workspace, "SELECT user_id, value, is_return FROM raw_events ORDER BY ts") == [
        ("u1", None, False),
        ("u2", None, False),
        ("u3", None, False),
        ("u4", 7.0, False),
        ("u5", -4.0, True),
    ]
    assert _rows(workspace, "SELECT item_id, price FROM raw_catalog ORDER BY item_id") == [
        ("i1", 2.0),
        ("i2", None),
        ("i3", None),
        ("i4", 3.5),
        ("i5", 4.0),
    ]


def test_catalogue_prices_that_are_not_finite_are_counted(
    workspace: Workspace, tmp_path: Path
) -> None:
    events = tmp_path / "events.csv"
    events.write_text("user_id,item_id\nu1,i1\nu2,i2\n")
    catalog = tmp_path / "products.csv"
    catalog.write_text("item_id,title,price\ni1,Tea,Infinity\ni2,Cup,4.5\n")
    result = load_dataset(workspace, events, catalog_path=catalog)
    assert any(
        w.startswith("values of column 'price' that are not finite") and "1 of 2 rows" in w
        for w in result.warnings
    )
    assert _rows(workspace, "SELECT item_id, price FROM raw_catalog ORDER BY item_id") == [
        ("i1", None),
        ("i2", 4.5),
    ]


def test_times_in_another_century_warn_and_cleaning_refuses_to_empty(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "centuries.csv"
    path.write_text(
        "user_id,item_id,ts\nu1,i1,1800-01-01\nu2,i2,2300-01-01\nu1,i2,1800-05-01\nu2,i1,1801-01-01\n"
    )
    result = load_dataset(workspace, path)
    assert (
        "times in column 'ts' before 1990-01-01 or in the future: every row (earliest "
        "1800-01-01, latest 2300-01-01). Check the column's unit and format"
    ) in "\n".join(result.warnings)
    before = workspace.fingerprint("raw_events", "events")
    with pytest.raises(CleaningError, match=r"rule timestamps .* would remove all 4 events left"):
        clean_dataset(
            workspace,
            CleaningConfig(min_ts="2000-01-01", min_user_interactions=1, min_item_interactions=1),
        )
    assert workspace.fingerprint("raw_events", "events") == before
    assert not workspace.table_exists("events")


def test_some_times_out_of_range_are_counted(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "some.csv"
    path.write_text("user_id,item_id,ts\nu1,i1,2024-01-01\nu2,i2,1850-01-01\nu3,i3,2024-02-01\n")
    result = load_dataset(workspace, path)
    assert any("in the future: 1 of 3 rows (earliest 1850-01-01" in w for w in result.warnings)


def test_mixed_epoch_seconds_and_milliseconds_are_read_per_value(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "epochs.csv"
    path.write_text(
        "user_id,item_id,ts\nu1,i1,1706708700\nu2,i2,1706708700000\nu3,i3,1706708800\n"
        "u4,i4,1706708900500\n"
    )
    result = load_dataset(workspace, path)
    assert any(
        w.startswith("column 'ts' mixes epoch seconds and milliseconds") for w in result.warnings
    )
    # 1706708700 s = 2024-01-31 13:45:00 UTC.
    assert _rows(workspace, "SELECT user_id, ts FROM raw_events ORDER BY user_id") == [
        ("u1", datetime(2024, 1, 31, 13, 45, 0)),
        ("u2", datetime(2024, 1, 31, 13, 45, 0)),
        ("u3", datetime(2024, 1, 31, 13, 46, 40)),
        ("u4", datetime(2024, 1, 31, 13, 48, 20, 500000)),
    ]


def test_epochs_in_one_unit_do_not_warn(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "epochs.csv"
    path.write_text("user_id,item_id,ts\nu1,i1,1706708700000\nu2,i2,1706708800000\n")
    result = load_dataset(workspace, path)
    assert not any("mixes epoch" in w for w in result.warnings)
    latest = datetime(2024, 1, 31, 13, 46, 40)
    assert _rows(workspace, "SELECT max(ts) FROM raw_events") == [(latest,)]


def test_a_megabyte_header_is_not_echoed(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "one_field.csv"
    path.write_text("h" * (1 << 20) + "\nu1\nu2\n")
    with pytest.raises(SchemaError) as raised:
        load_dataset(workspace, path)
    message = str(raised.value)
    assert len(message) <= 500
    # A one-column file may not be data at all: its header (first line) is not quoted.
    assert "hhhh" not in message
    assert message.startswith("only one column was found in 'one_field.csv'")
    assert message.endswith("separated by comma, semicolon, tab or '|'.")


def test_short_messages_are_kept_whole() -> None:
    message = "x" * 499 + "!"
    assert str(IngestError(message)) == message
    long = "a" * 400 + "b" * 400
    shortened = str(IngestError(long))
    assert len(shortened) == 500
    assert shortened == "a" * 300 + " [...] " + "b" * 193
