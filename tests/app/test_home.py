"""Home page: workspace, dataset status, pipeline checklist and the sample-data button."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data.profile import dataset_counts
from core.data.workspace import Workspace
from ui import state


def _texts(at: AppTest) -> str:
    return "\n".join(element.value for element in [*at.markdown, *at.caption, *at.info])


def test_home_renders_on_an_empty_workspace(app_test: AppTest, home: Path) -> None:
    at = app_test.run()
    assert not at.exception
    assert not at.error
    assert at.title[0].value == "ShopSynth"
    assert "No dataset loaded yet" in at.info[0].value
    text = _texts(at)
    for step in ("Data loaded", "Data cleaned", "Models", "Synthetic data", "Fusion", "A/B"):
        assert step in text
    assert "not started" in text
    # The default workspace is created under $SHOPSYNTH_HOME.
    assert (home / "default" / "shopsynth.duckdb").is_file()


def test_home_shows_the_loaded_dataset(app_test: AppTest, loaded_home: Path) -> None:
    at = app_test.run()
    assert not at.exception
    counts = dataset_counts(Workspace.open(home=loaded_home))
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Events"] == f"{counts['n_events']:,}"
    assert metrics["Users"] == f"{counts['n_users']:,}"
    assert metrics["Items"] == f"{counts['n_items']:,}"
    assert "cleaned" in _texts(at)


@pytest.mark.slow
def test_load_sample_button_loads_and_cleans(app_test: AppTest, home: Path) -> None:
    at = app_test.run()
    at.button(key=state.HOME_LOAD_SAMPLE).click().run()
    assert not at.exception
    assert not at.error
    assert "Sample data loaded" in at.success[0].value
    workspace = Workspace.open(home=home)
    assert workspace.dataset_info() is not None
    counts = dataset_counts(workspace)
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Events"] == f"{counts['n_events']:,}"


def test_create_and_switch_workspace(app_test: AppTest, home: Path) -> None:
    at = app_test.run()
    at.text_input(key=state.HOME_NEW_WORKSPACE_NAME).input("shop-b")
    at.button(key=state.HOME_CREATE_WORKSPACE).click().run()
    assert not at.exception
    assert at.session_state[state.WORKSPACE_NAME] == "shop-b"
    assert (home / "shop-b" / "shopsynth.duckdb").is_file()
    assert at.selectbox(key=state.HOME_WORKSPACE_SELECT).value == "shop-b"


def test_invalid_workspace_name_shows_the_rule(app_test: AppTest, home: Path) -> None:
    at = app_test.run()
    at.text_input(key=state.HOME_NEW_WORKSPACE_NAME).input("../escape")
    at.button(key=state.HOME_CREATE_WORKSPACE).click().run()
    assert not at.exception
    assert "invalid name" in at.error[0].value
    assert at.session_state[state.WORKSPACE_NAME] == "default"
    assert not (home.parent / "escape").exists()


def test_switch_to_an_existing_workspace(app_test: AppTest, home: Path) -> None:
    Workspace.open("other", home=home)
    at = app_test.run()
    assert at.selectbox(key=state.HOME_WORKSPACE_SELECT).options == ["default", "other"]
    at.selectbox(key=state.HOME_WORKSPACE_SELECT).select("other").run()
    assert not at.exception
    assert at.session_state[state.WORKSPACE_NAME] == "other"
    assert "Workspace **other**" in at.sidebar.caption[0].value
