"""Limits on what one file may cost: columns, rows, line length and memory, each a setting.

The memory test runs sniff and load in a child process and reads its peak resident size, so the
numbers are the process's own, not this test runner's.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from core.data.ingest.limits import (
    DEFAULT_MAX_COLUMNS,
    MAX_COLUMNS_ENV_VAR,
    MAX_LINE_ENV_VAR,
    MAX_ROWS_ENV_VAR,
    MEMORY_BUDGET_ENV_VAR,
    ingest_limits,
)
from core.data.ingest.load import _execute_with_progress, load_dataset
from core.data.ingest.sniff import sniff
from core.data.workspace import Workspace
from core.errors import IngestError, SchemaError

ROOT = Path(__file__).resolve().parents[2]
GOOD_ROWS = "u1,i1,2024-01-01 10:00:00\nu2,i2,2024-01-02 10:00:00\n"


def _wide_csv(path: Path, n_columns: int, n_rows: int = 20, formula_at: int | None = None) -> Path:
    header = "user_id,item_id," + ",".join(f"c{index}" for index in range(n_columns - 2))
    lines = [header]
    for row in range(n_rows):
        cells = [f"u{row}", f"i{row}"] + [str((row * index) % 97) for index in range(n_columns - 2)]
        if formula_at is not None and row == 3:
            cells[formula_at] = "=HYPERLINK(1)"
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_limits_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MAX_COLUMNS_ENV_VAR, raising=False)
    monkeypatch.setenv(MAX_ROWS_ENV_VAR, "1_000")
    monkeypatch.setenv(MAX_LINE_ENV_VAR, "3")
    monkeypatch.setenv(MEMORY_BUDGET_ENV_VAR, "300")
    limits = ingest_limits()
    assert limits.max_columns == DEFAULT_MAX_COLUMNS
    assert limits.max_rows == 1000
    assert limits.max_line_bytes == 3 * 1024 * 1024
    assert limits.memory_budget_mb == 300


@pytest.mark.parametrize("value", ["0", "-5", "lots", "1.5"])
def test_a_bad_limit_setting_is_an_ingest_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(MAX_ROWS_ENV_VAR, value)
    with pytest.raises(IngestError, match=f"invalid {MAX_ROWS_ENV_VAR}.*whole number >= 1"):
        ingest_limits()


def test_too_many_columns_is_refused_with_the_setting_named(tmp_path: Path) -> None:
    path = _wide_csv(tmp_path / "wide.csv", 5000, n_rows=3)
    with pytest.raises(IngestError) as raised:
        sniff(path)
    message = str(raised.value)
    assert "has 5,000 columns, more than the limit of 2,000" in message
    assert MAX_COLUMNS_ENV_VAR in message
    assert len(message) < 400


def test_the_column_limit_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _wide_csv(tmp_path / "wide.csv", 30, n_rows=3)
    assert len(sniff(path).columns) == 30
    monkeypatch.setenv(MAX_COLUMNS_ENV_VAR, "29")
    with pytest.raises(IngestError, match="has 30 columns, more than the limit of 29"):
        sniff(path)


def test_formula_check_of_a_wide_file_finds_the_one_column(tmp_path: Path) -> None:
    path = _wide_csv(tmp_path / "wide.csv", 1500, formula_at=1234)
    warnings = [w for w in sniff(path).warnings if "spreadsheet formulas" in w]
    assert len(warnings) == 1
    assert "column 'c1232'" in warnings[0]
    assert "'=HYPERLINK(1)'" in warnings[0]


def test_negative_infinity_is_not_a_formula(tmp_path: Path) -> None:
    path = tmp_path / "signs.csv"
    path.write_text("user_id,item_id,price,title\nu1,i1,-inf,-Inf\nu2,i2,+infinity,-(x)\n")
    warnings = [w for w in sniff(path).warnings if "spreadsheet formulas" in w]
    assert warnings == [
        "values in column 'title' of 'signs.csv' start like spreadsheet formulas (e.g. '-(x)'); "
        "they are stored as plain text and never evaluated, but take care when opening exported "
        "data in a spreadsheet"
    ]


def test_header_names_differing_in_case_say_which_columns_clash(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "case.csv"
    path.write_text("user_id,item_id,USER_ID\nu1,i1,x\nu2,i2,y\n")
    assert sniff(path).duplicated_columns == {"user_id": ["user_id", "USER_ID_2"]}
    with pytest.raises(SchemaError) as raised:
        load_dataset(workspace, path)
    message = str(raised.value)
    assert "names column 'user_id' 2 times" in message
    assert "differ only in case" in message
    assert "'user_id', 'USER_ID_2'" in message
    result = load_dataset(workspace, path, mapping={"user_id": "USER_ID_2"})
    assert result.n_users == 2
    with workspace.connect() as con:
        users = con.execute("SELECT user_id FROM raw_events ORDER BY user_id").fetchall()
    assert users == [("x",), ("y",)]


def test_a_first_line_over_the_limit_is_refused_early(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_LINE_ENV_VAR, "2")
    path = tmp_path / "one_line.csv"
    path.write_bytes(b"user_id,item_id," + b"x" * (3 << 20) + b"\n" + GOOD_ROWS.encode())
    with pytest.raises(IngestError) as raised:
        sniff(path)
    message = str(raised.value)
    assert message.startswith("line 1 of 'one_line.csv' is longer than 2 MB (SHOPSYNTH_MAX_LINE")
    assert "xxxxxxxxxx" not in message
    assert len(message) < 400


def test_a_gzip_line_over_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_LINE_ENV_VAR, "2")
    path = tmp_path / "one_line.csv.gz"
    path.write_bytes(gzip.compress(b"user_id,item_id,ts" + b"y" * (3 << 20)))
    with pytest.raises(IngestError, match=r"line 1 of 'one_line\.csv\.gz' is longer than 2 MB"):
        sniff(path)


def test_a_later_line_over_the_limit_is_refused_and_nothing_changes(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "good.csv"
    good.write_text("user_id,item_id,ts\n" + GOOD_ROWS)
    load_dataset(workspace, good)
    before = workspace.fingerprint("raw_events", "raw_catalog")
    monkeypatch.setenv(MAX_LINE_ENV_VAR, "3")
    path = tmp_path / "later.csv"
    path.write_bytes(b"user_id,item_id,title\nu1,i1,a\nu2,i2," + b"z" * (4 << 20) + b"\nu3,i3,b\n")
    with pytest.raises(IngestError) as raised:
        load_dataset(workspace, path)
    message = str(raised.value)
    assert message.startswith("line 3 of 'later.csv' is longer than 3 MB")
    assert "zzzzzzzz" not in message
    assert workspace.fingerprint("raw_events", "raw_catalog") == before


def test_a_line_under_the_limit_loads(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_LINE_ENV_VAR, "4")
    path = tmp_path / "long.csv"
    path.write_bytes(b"user_id,item_id,title\nu1,i1,a\nu2,i2," + b"z" * (3 << 20) + b"\n")
    assert load_dataset(workspace, path).n_events == 2


def test_rows_past_the_limit_are_refused(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "many.csv.gz"
    path.write_bytes(
        gzip.compress(("user_id,item_id\n" + "".join(f"u{i},i{i}\n" for i in range(1001))).encode())
    )
    monkeypatch.setenv(MAX_ROWS_ENV_VAR, "1000")
    with pytest.raises(IngestError) as raised:
        load_dataset(workspace, path)
    assert str(raised.value).startswith(
        "'many.csv.gz' has more than 1,000 rows, the limit (SHOPSYNTH_MAX_ROWS)"
    )
    assert not workspace.table_exists("raw_events")
    monkeypatch.setenv(MAX_ROWS_ENV_VAR, "1001")
    assert load_dataset(workspace, path).n_events == 1001


def test_progress_is_reported_while_a_statement_runs() -> None:
    con = duckdb.connect()
    seen: list[float] = []
    _execute_with_progress(
        con,
        "CREATE TABLE t AS SELECT sum(hash(i)) AS s FROM range(150000000) r(i)",
        seen.append,
    )
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 1
    assert seen
    assert all(0 <= percent <= 100 for percent in seen)


def test_an_error_in_a_reported_statement_reaches_the_caller() -> None:
    con = duckdb.connect()
    with pytest.raises(duckdb.CatalogException):
        _execute_with_progress(con, "SELECT * FROM no_such_table", lambda percent: None)


_CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from core.data.ingest.load import load_dataset
    from core.data.ingest.sniff import sniff
    from core.data.workspace import Workspace
    from core.errors import IngestError

    path = Path(sys.argv[1])
    outcome = "loaded"
    try:
        sniff(path)
        load_dataset(Workspace.open("memory", home=path.parent / "home"), path)
    except IngestError as error:
        outcome = str(error)
    # VmHWM is this process's own peak: ru_maxrss would keep the forking parent's (Linux keeps
    # it across execve), so a large test runner would count against the child.
    status = Path("/proc/self/status").read_text()
    peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    peak_mb = peak_kb / 1024
    print(json.dumps({"outcome": outcome, "peak_mb": peak_mb}))
    """
)
_BUDGET_MB = 512


def _wide_refused(folder: Path) -> Path:
    return _wide_csv(folder / "wide.csv", 5000, n_rows=60)


def _wide_accepted(folder: Path) -> Path:
    return _wide_csv(folder / "wide_ok.csv", 1900, n_rows=60)


def _long_line(folder: Path) -> Path:
    path = folder / "long_line.csv"
    path.write_bytes(b"user_id,item_id,title\nu1,i1,a\nu2,i2," + b"w" * (12 << 20) + b"\n")
    return path


def _many_rows(folder: Path) -> Path:
    path = folder / "many.csv.gz"
    body = "user_id,item_id,ts\n" + "u1,i1,2024-01-01 10:00:00\n" * 400_000
    path.write_bytes(gzip.compress(body.encode(), 1))
    return path


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (_wide_refused, "has 5,000 columns"),
        (_wide_accepted, "loaded"),
        (_long_line, "line 3 of 'long_line.csv' is longer than 8 MB"),
        (_many_rows, "has more than 200,000 rows"),
    ],
    ids=["wide_refused", "wide_accepted", "long_line", "many_rows"],
)
def test_one_file_stays_under_the_memory_budget(build, expected: str, tmp_path: Path) -> None:
    path = build(tmp_path)
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        MEMORY_BUDGET_ENV_VAR: str(_BUDGET_MB),
        MAX_LINE_ENV_VAR: "8",
        MAX_ROWS_ENV_VAR: "200000",
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert expected in result["outcome"]
    assert result["peak_mb"] < _BUDGET_MB, result
