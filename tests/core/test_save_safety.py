"""Saving safely: leftovers of a crash removed at open, a full disk rolled back and reported,
a save that waits for a workspace another process is writing to."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import duckdb
import pytest

import core.data.workspace as workspace_module
from core.data.clean import clean_dataset
from core.data.ingest.load import load_dataset
from core.data.rules import CleaningConfig
from core.data.workspace import Workspace
from core.errors import DiskFullError, IngestError, WorkspaceError
from core.models.runs import list_models
from core.models.training import train_model
from tests.core.test_training import write_log

DiskUsage = namedtuple("DiskUsage", "total used free")
FREE_BYTES = 7 * 2**20 + 12_345  # 7 MB (and a bit) free
NO_SPACE = 'Could not write file "shopsynth.duckdb": No space left on device'


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        workspace_module.shutil, "disk_usage", lambda path: DiskUsage(10**12, 10**12, FREE_BYTES)
    )


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def hold_database(ws: Workspace, seconds: float) -> subprocess.Popen:
    """Another process holding the workspace database for ``seconds``; returns once it holds it."""
    code = (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True); "
        "time.sleep(float(sys.argv[2]))"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(ws.db_path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_open_removes_leftovers_and_hides_runs_without_folder(workspace: Workspace) -> None:
    kept = workspace.add_run("model", "kept", {})
    lost = workspace.add_run("model", "lost", {})
    shutil.rmtree(workspace.runs_dir / lost)
    orphan = workspace.runs_dir / "20240101-000000-deadbeef"
    crashed = workspace.runs_dir / f".staging-{dead_pid()}-0a1b2c"
    legacy = workspace.runs_dir / ".staging-0123456789abcdef"
    live = workspace.runs_dir / f".staging-{os.getppid()}-0a1b2c"
    for folder in (orphan, crashed, legacy, live):
        folder.mkdir()
        (folder / "model.bin").write_bytes(b"half")
    ws = Workspace.open("test", home=workspace.path.parent)
    assert sorted(p.name for p in ws.runs_dir.iterdir()) == sorted([kept, live.name])
    assert ws.list_runs()["run_id"].tolist() == [kept]
    assert ws.run_row(lost) is None
    assert ws.run_row(kept)["name"] == "kept"


def test_disk_full_in_a_transaction_rolls_back_reclaims_and_says_so(
    workspace: Workspace, full_disk: None
) -> None:
    with workspace.transaction() as con:
        con.execute("CREATE TABLE kept AS SELECT range AS x FROM range(10)")
    with workspace.connect() as con:
        con.execute("CHECKPOINT")
    before, size_before = workspace.fingerprint("kept", "big"), workspace.db_path.stat().st_size
    with pytest.raises(DiskFullError) as caught, workspace.transaction() as con:
        con.execute(
            "CREATE TABLE big AS SELECT range AS x, md5(CAST(range AS VARCHAR)) AS s "
            "FROM range(2000000)"
        )
        raise duckdb.IOException(NO_SPACE)
    assert str(caught.value).startswith(f"no space left on {workspace.path}: 7 MB free.")
    assert workspace.fingerprint("kept", "big") == before
    # The rolled-back table took about 40 MB of the file; reclaiming gives them back.
    assert workspace.db_path.stat().st_size < size_before + 2**20


def write_csv(path: Path) -> Path:
    rows = ["user_id,item_id,event,ts"] + [
        f"u{i % 7},i{i % 11},{['view', 'purchase'][i % 2]},2024-05-{1 + i % 28:02d} 10:00:00"
        for i in range(200)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_disk_full_while_loading_does_not_blame_the_file(
    workspace: Workspace, tmp_path: Path, full_disk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(*args: object) -> int:
        raise duckdb.IOException(NO_SPACE)

    monkeypatch.setattr("core.data.ingest.load._derive_catalog", no_space)
    with pytest.raises(DiskFullError, match=r"^no space left on .*: 7 MB free") as caught:
        load_dataset(workspace, write_csv(tmp_path / "big.csv"))
    assert "big.csv" not in str(caught.value)
    assert not isinstance(caught.value, IngestError)
    assert (
        workspace.fingerprint("raw_events", "raw_catalog") == "raw_events:absent|raw_catalog:absent"
    )


def test_disk_full_while_cleaning_keeps_the_data(
    workspace: Workspace, tmp_path: Path, full_disk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_dataset(workspace, write_csv(tmp_path / "log.csv"))
    tables = ("raw_events", "events", "catalog", "cleaning_reports")
    before = workspace.fingerprint(*tables)

    def no_space(*args: object) -> None:
        raise duckdb.IOException(NO_SPACE)

    monkeypatch.setattr("core.data.clean.store_report", no_space)
    with pytest.raises(DiskFullError, match=r"^no space left on .*: 7 MB free"):
        clean_dataset(workspace, CleaningConfig())
    assert workspace.fingerprint(*tables) == before


def test_disk_full_while_saving_a_model_leaves_no_run(
    workspace: Workspace, full_disk: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_log(workspace)

    def no_space(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("core.models.runs.atomic_write_json", no_space)
    with pytest.raises(DiskFullError, match=r"^no space left on .*: 7 MB free"):
        train_model(workspace, "popularity")
    assert list_models(workspace).empty
    assert list(workspace.runs_dir.iterdir()) == []


def test_a_model_save_waits_for_another_process_to_release_the_workspace(
    workspace: Workspace,
) -> None:
    write_log(workspace)
    texts: list[str] = []
    holders: list[subprocess.Popen] = []

    def progress(step: int, total: int, info: str) -> None:
        texts.append(str(info))
        if "writing the model" in info and not holders:
            holders.append(hold_database(workspace, 3.0))

    trained = train_model(workspace, "popularity", callback=progress)
    holders[0].wait(timeout=30)
    assert any("another program is writing to workspace 'test'" in text for text in texts)
    assert list_models(workspace)["run_id"].tolist() == [trained.run_id]


def test_a_save_gives_up_after_its_bounded_wait(workspace: Workspace) -> None:
    holder = hold_database(workspace, 30.0)
    try:
        with pytest.raises(WorkspaceError, match=r"\(waited [12] s\)"):
            workspace.record_run("model", "late", {}, {}, wait_s=1.5)
    finally:
        holder.kill()
        holder.wait()
    assert list(workspace.runs_dir.iterdir()) == []


def test_an_empty_run_list_keeps_its_columns(workspace) -> None:
    runs = workspace.list_runs()
    assert runs.empty
    assert {"run_id", "kind", "name", "created_at"} <= set(runs.columns)
    assert workspace.list_runs(kind="model").empty
