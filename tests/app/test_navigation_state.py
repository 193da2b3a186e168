"""Each page's choices survive a visit to another page: the open tab of the Data and Synthetic
Data pages, and the model, product and user of the Models explorer."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.data.workspace import Workspace
from core.models.training import train_model
from ui import state

DATA_PAGE = "pages/1_Data.py"
MODELS_PAGE = "pages/2_Models.py"
SYNTHETIC_PAGE = "pages/3_Synthetic_Data.py"
FUSION_PAGE = "pages/4_Fusion.py"


def _away_and_back(at: AppTest, page: str) -> AppTest:
    at.switch_page(FUSION_PAGE).run()
    at.switch_page(page).run()
    assert not at.exception and not at.error
    return at


def test_the_open_tab_survives_navigation(app_test: AppTest, loaded_home: Path) -> None:
    at = app_test.switch_page(DATA_PAGE).run()
    at.session_state[state.DATA_TABS] = "Explore"
    at.run()
    assert at.session_state[state.DATA_TABS] == "Explore"
    at.button_group(key=state.EXPLORE_FREQ).set_value("week").run()
    at = _away_and_back(at, DATA_PAGE)
    assert at.session_state[state.DATA_TABS] == "Explore"
    # The Explore tab ran (its charts are drawn), the Load tab did not (no sample button).
    assert at.get("plotly_chart")
    assert state.DATA_LOAD_SAMPLE not in [button.key for button in at.button]
    assert at.button_group(key=state.EXPLORE_FREQ).value == "week"

    at.switch_page(SYNTHETIC_PAGE).run()
    at.session_state[state.SYNTH_TABS] = "Interactions"
    at.run()
    at = _away_and_back(at, SYNTHETIC_PAGE)
    assert at.session_state[state.SYNTH_TABS] == "Interactions"


def test_the_models_explorer_keeps_its_choices(app_test: AppTest, loaded_home: Path) -> None:
    ws = Workspace.open(home=loaded_home)
    first = train_model(ws, "popularity")
    train_model(ws, "item_knn")
    at = app_test.switch_page(MODELS_PAGE).run()
    assert not at.exception
    at.selectbox(key=state.MODELS_CHOICE).set_value("bpr")
    at.selectbox(key=state.MODELS_EXPLORE_RUN).set_value(first.run_id).run()
    at.selectbox(key=state.MODELS_ITEM).set_value(7)
    users = at.selectbox(key=state.MODELS_USER).options
    at.selectbox(key=state.MODELS_USER).select_index(3).run()
    assert not at.exception
    chosen_user = at.selectbox(key=state.MODELS_USER).value

    at = _away_and_back(at, MODELS_PAGE)
    assert at.selectbox(key=state.MODELS_CHOICE).value == "bpr"
    assert at.selectbox(key=state.MODELS_EXPLORE_RUN).value == first.run_id
    assert at.selectbox(key=state.MODELS_ITEM).value == 7
    assert at.selectbox(key=state.MODELS_USER).value == chosen_user
    assert len(users) > 3
