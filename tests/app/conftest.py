"""Fixtures of the dashboard tests: a private workspace home and empty Streamlit caches."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.data.paths import ROOTS_ENV_VAR
from core.data.workspace import HOME_ENV_VAR, Workspace

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
# Loading and cleaning the sample world takes seconds, far past AppTest's 3 s default.
SLOW_TIMEOUT = 120


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Caches are process-wide: each test starts and ends with none."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace home in a temporary folder, used by the app under test, which may
    read server paths under ``tmp_path`` only."""
    folder = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV_VAR, str(folder))
    monkeypatch.setenv(ROOTS_ENV_VAR, str(tmp_path))
    return folder


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace home whose default workspace holds the sample world, loaded and cleaned
    once per test session with core (independently of the dashboard)."""
    from core.data.clean import clean_dataset
    from core.data.ingest.load import load_sample_world

    folder = tmp_path_factory.mktemp("sample_home")
    workspace = Workspace.open(home=folder)
    load_sample_world(workspace)
    clean_dataset(workspace)
    return folder


@pytest.fixture
def loaded_home(sample_home: Path, home: Path) -> Path:
    """``home`` holding a copy of the loaded and cleaned sample workspace."""
    shutil.copytree(sample_home, home)
    return home


@pytest.fixture
def app_test(home: Path) -> AppTest:
    """The dashboard, on its home page, not yet run, using ``home``."""
    return AppTest.from_file(APP, default_timeout=SLOW_TIMEOUT)
