"""Shared fixtures: a fresh workspace per test and the path to the public datasets."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.data.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """An empty workspace in a temporary folder."""
    return Workspace.open("test", home=tmp_path / "home")


@pytest.fixture
def shared_datasets() -> Path:
    """Folder of the public datasets; skips the test when it is absent."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"{SHARED_DATASETS} not present")
    return SHARED_DATASETS
