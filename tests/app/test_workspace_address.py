"""The active workspace is named in the address (a reload or a shared link opens it), and
loading over a dataset that has runs asks for confirmation first."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data.workspace import Workspace, list_workspaces
from core.models.training import train_model
from ui import state

DATA_PAGE = "pages/1_Data.py"
SAMPLE_CONFIRM = f"{state.CONFIRM_REPLACE}{state.HOME_LOAD_SAMPLE}"


def _sidebar_workspace(at: AppTest) -> str:
    return next(c.value for c in at.sidebar.caption if "Workspace" in c.value)


def test_the_address_opens_its_workspace(app_test: AppTest, loaded_home: Path) -> None:
    Workspace.open("empty", home=loaded_home)
    app_test.query_params[state.WORKSPACE_PARAM] = "empty"
    at = app_test.run()
    assert not at.exception and not at.error
    assert at.session_state[state.WORKSPACE_NAME] == "empty"
    assert "**empty**" in _sidebar_workspace(at)
    assert at.query_params[state.WORKSPACE_PARAM] == "empty"
    # The default workspace holds the sample data; the one named in the address has none.
    assert "No dataset loaded yet" in at.info[0].value

    at.switch_page(DATA_PAGE).run()
    assert at.session_state[state.WORKSPACE_NAME] == "empty"
    assert at.query_params[state.WORKSPACE_PARAM] == "empty"


def test_the_address_follows_the_chosen_workspace(app_test: AppTest, home: Path) -> None:
    Workspace.open("second", home=home)
    at = app_test.run()
    assert at.query_params[state.WORKSPACE_PARAM] == "default"
    at.selectbox(key=state.HOME_WORKSPACE_SELECT).set_value("second").run()
    assert not at.exception
    assert at.session_state[state.WORKSPACE_NAME] == "second"
    assert at.query_params[state.WORKSPACE_PARAM] == "second"


def test_an_unknown_workspace_in_the_address_is_not_created(app_test: AppTest, home: Path) -> None:
    app_test.query_params[state.WORKSPACE_PARAM] = "typo"
    at = app_test.run()
    assert not at.exception and not at.error
    assert any("typo" in w.value and "does not exist" in w.value for w in at.warning)
    assert at.session_state[state.WORKSPACE_NAME] == "default"
    assert at.query_params[state.WORKSPACE_PARAM] == "default"
    assert "typo" not in list_workspaces(home)


@pytest.mark.slow
def test_loading_over_a_dataset_with_runs_asks_first(app_test: AppTest, loaded_home: Path) -> None:
    at = app_test.run()
    # No run yet: the sample button loads at once.
    assert not at.button(key=state.HOME_LOAD_SAMPLE).disabled
    assert SAMPLE_CONFIRM not in [checkbox.key for checkbox in at.checkbox]

    ws = Workspace.open(home=loaded_home)
    train_model(ws, "popularity")
    before = ws.dataset_info().loaded_at
    at = AppTest.from_file(app_test._script_path, default_timeout=120).run()
    assert at.button(key=state.HOME_LOAD_SAMPLE).disabled
    assert any("1 model made on" in warning.value for warning in at.warning)
    assert ws.dataset_info().loaded_at == before

    at.checkbox(key=SAMPLE_CONFIRM).check().run()
    assert not at.button(key=state.HOME_LOAD_SAMPLE).disabled
    at.button(key=state.HOME_LOAD_SAMPLE).click().run()
    assert not at.exception and not at.error
    assert ws.dataset_info().loaded_at > before
