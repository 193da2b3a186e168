"""Models page: empty workspace, training Popularity on the sample, exploring, deleting."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.training import list_models
from core.workspace import Workspace
from ui import state

MODELS_PAGE = "pages/2_Models.py"


def _models_page(app_test: AppTest) -> AppTest:
    at = app_test.switch_page(MODELS_PAGE).run()
    assert not at.exception
    return at


def test_models_page_without_data_says_what_to_do(app_test: AppTest) -> None:
    at = _models_page(app_test)
    assert not at.error
    assert any("Load and clean a dataset first" in info.value for info in at.info)
    assert not at.dataframe


def test_train_explore_and_delete_popularity(app_test: AppTest, loaded_home: Path) -> None:
    at = _models_page(app_test)
    assert at.selectbox(key=state.MODELS_CHOICE).value == "als"
    assert any("No trained model yet" in info.value for info in at.info)

    at.selectbox(key=state.MODELS_CHOICE).set_value("popularity").run()
    assert not at.exception
    at.button(key=state.MODELS_TRAIN).click().run()
    assert not at.exception
    assert not at.error
    assert any("Trained Popularity" in message.value for message in at.success)

    ws = Workspace.open(home=loaded_home)
    runs = list_models(ws)
    assert runs["model"].tolist() == ["popularity"]
    table = at.dataframe[0].value
    assert table["model"].tolist() == ["Popularity"]
    assert table["recall@20"].iloc[0] == runs["recall@20"].iloc[0]

    # Explorer: ten neighbours of a product, a user's history beside ten recommendations.
    frames = at.dataframe
    assert len(frames) == 4
    assert len(frames[1].value) == 10
    assert frames[1].value["title"].str.len().gt(0).all()
    assert len(frames[3].value) == 10
    assert len(frames[2].value) > 0

    at.button(key=state.MODELS_DELETE).click().run()
    assert not at.exception
    assert list_models(ws).empty
    assert any("No trained model yet" in info.value for info in at.info)
    assert not (ws.runs_dir / runs["run_id"].iloc[0]).exists()


def test_home_checklist_counts_trained_models(app_test: AppTest, loaded_home: Path) -> None:
    from core.training import train_model

    train_model(Workspace.open(home=loaded_home), "popularity")
    at = app_test.run()
    assert not at.exception
    text = "\n".join(element.value for element in at.markdown)
    assert "**Models trained** — 1 trained" in text


def test_bad_hyperparameter_shows_an_error_and_keeps_models(
    app_test: AppTest, loaded_home: Path
) -> None:
    from core.training import train_model

    ws = Workspace.open(home=loaded_home)
    kept = train_model(ws, "popularity")
    at = _models_page(app_test)
    # Form values are sent with the submit, in one run.
    at.number_input(key=f"{state.MODELS_PARAM_PREFIX}als__factors").set_value(0)
    at.button(key=state.MODELS_TRAIN).click().run()
    assert not at.exception
    assert any("factors" in error.value for error in at.error)
    assert list_models(ws)["run_id"].tolist() == [kept.run_id]
