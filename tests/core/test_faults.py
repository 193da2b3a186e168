"""Crash consistency: a step killed at any of its kill points leaves the workspace as it was.

Each step runs in a subprocess (:mod:`tests.core.fault_steps`) with ``SHOPSYNTH_KILL_AT`` set;
the process dies by SIGKILL at that point. The workspace must then open, list only complete
runs (each one loads), hold no leftover folder, and have exactly the rows it had before.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.data.clean import clean_dataset
from core.data.ingest.load import load_sample_world
from core.data.rules import CleaningConfig
from core.data.runs import MODEL_KIND
from core.data.workspace import STAGING_PREFIX, Workspace
from core.faults import KILL_ENV_VAR
from core.models.runs import load_model
from core.models.training import train_model
from core.simulate.world import simulate_world
from tests.core.fault_steps import WORLD_FOLDER

ROOT = Path(__file__).resolve().parents[2]

KILL_POINTS = [
    ("ingest", "ingest:commit"),
    ("clean", "clean:commit"),
    ("model", "model:staged"),
    ("model", "model:commit"),
    ("synthetic", "synthetic_descriptions:staged"),
    ("synthetic", "synthetic_descriptions:commit"),
    ("fusion", "fusion:staged"),
    ("fusion", "fusion:commit"),
    ("comparison", "experiment:staged"),
    ("comparison", "experiment:commit"),
]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace home with a sample world loaded, cleaned and one model trained."""
    home = tmp_path_factory.mktemp("faults") / "home"
    simulate_world(3000, home / WORLD_FOLDER, random_state=5)
    ws = Workspace.open("test", home=home)
    load_sample_world(ws, home / WORLD_FOLDER)
    clean_dataset(ws, CleaningConfig())
    train_model(ws, "popularity", name="popular")
    return home


@pytest.fixture
def home(prepared: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(prepared, copy)
    return copy


def run_step(step: str, home: Path, kill_at: str | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(KILL_ENV_VAR, None)
    if kill_at is not None:
        env[KILL_ENV_VAR] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "tests.core.fault_steps", step, str(home)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def state(ws: Workspace) -> dict[str, object]:
    """Every table's fingerprint, the listed runs and the folders under ``runs/``."""
    with ws.connect() as con:
        tables = sorted(
            row[0]
            for row in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary"
            ).fetchall()
        )
    return {
        "tables": ws.fingerprint(*tables),
        "runs": sorted(ws.list_runs()["run_id"]),
        "folders": sorted(path.name for path in ws.runs_dir.iterdir()),
    }


def check_complete(ws: Workspace) -> None:
    """Every listed run has its folder, models load, and ``runs/`` holds nothing else."""
    runs = ws.list_runs()
    assert sorted(path.name for path in ws.runs_dir.iterdir()) == sorted(runs["run_id"])
    for run in runs.itertuples(index=False):
        assert any((ws.runs_dir / run.run_id).iterdir()) or run.kind != MODEL_KIND
        if run.kind == MODEL_KIND:
            load_model(ws, run.run_id)


@pytest.mark.parametrize(("step", "kill_at"), KILL_POINTS)
def test_a_killed_step_leaves_the_workspace_as_it_was(home: Path, step: str, kill_at: str) -> None:
    before = state(Workspace.open("test", home=home))
    killed = run_step(step, home, kill_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    ws = Workspace.open("test", home=home)
    check_complete(ws)
    assert not any(p.name.startswith(STAGING_PREFIX) for p in ws.runs_dir.iterdir())
    assert state(ws) == before


@pytest.mark.parametrize("step", sorted({step for step, _ in KILL_POINTS}))
def test_the_step_without_a_kill_changes_the_workspace(home: Path, step: str) -> None:
    """The control: unkilled, each step ends normally and writes (so the kills above hit)."""
    before = state(Workspace.open("test", home=home))
    finished = run_step(step, home, None)
    assert finished.returncode == 0, finished.stderr[-2000:]
    ws = Workspace.open("test", home=home)
    check_complete(ws)
    after = state(ws)
    assert after["tables"] != before["tables"]
    run_id = finished.stdout.strip().splitlines()[-1] if finished.stdout.strip() else ""
    if step in {"model", "synthetic", "fusion", "comparison"}:
        assert after["runs"] == sorted([*before["runs"], run_id])
