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
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One Spark session for every Spark test (a JVM holds one): ``local[1]``, two shuffle
    partitions, no web UI, and no code generation or adaptive re-planning, which cost more to
    compile than tiny test data costs to run. Shuffle files and the SQL warehouse go to a
    temporary folder, never the checkout; the driver binds the loopback address on ports the
    system chooses. Skips the test when pyspark is not installed."""
    pytest.importorskip("pyspark")
    from core.engines.spark.session import spark_session

    scratch = tmp_path_factory.mktemp("spark")

    session = spark_session(
        "local[1]",
        shuffle_partitions=2,
        app_name="ShopSynth tests",
        conf={
            "spark.sql.codegen.wholeStage": "false",
            "spark.sql.adaptive.enabled": "false",
            "spark.local.dir": str(scratch / "local"),
            "spark.sql.warehouse.dir": str(scratch / "warehouse"),
        },
    )
    yield session
    session.stop()
