"""Shared fixtures: a fresh workspace per test, the path to the public datasets, and one small
Spark session for the tests of the optional Spark engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One Spark session for every Spark test (a JVM holds one): ``local[1]``, two shuffle
    partitions, no web UI, and no code generation or adaptive re-planning, which cost more to
    compile than tiny test data costs to run. Skips the test when pyspark is not installed."""
    pytest.importorskip("pyspark")
    from core.engines.spark.session import spark_session

    session = spark_session(
        "local[1]",
        shuffle_partitions=2,
        app_name="ShopSynth tests",
        conf={
            "spark.sql.codegen.wholeStage": "false",
            "spark.sql.adaptive.enabled": "false",
        },
    )
    yield session
    session.stop()
