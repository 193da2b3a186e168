"""Models page: empty workspace, training on the sample with live and saved curves, exploring,
deleting, interrupted training, fine-tuning an encoder and choosing it for the semantic model."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.data.workspace import Workspace
from core.models.runs import NDCG_KEY, RECALL_KEY, list_models, load_model, run_curve, run_info
from ui import state
from ui.text import plain

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
    from core.models.training import train_model

    train_model(Workspace.open(home=loaded_home), "popularity")
    at = app_test.run()
    assert not at.exception
    text = "\n".join(element.value for element in at.markdown)
    assert "**Models trained** — 1 model trained" in text


def test_bad_hyperparameter_shows_an_error_and_keeps_models(
    app_test: AppTest, loaded_home: Path
) -> None:
    from core.models.training import train_model

    ws = Workspace.open(home=loaded_home)
    kept = train_model(ws, "popularity")
    at = _models_page(app_test)
    # Form values are sent with the submit, in one run.
    at.number_input(key=f"{state.MODELS_PARAM_PREFIX}als__factors").set_value(0)
    at.button(key=state.MODELS_TRAIN).click().run()
    assert not at.exception
    assert any("factors" in error.value for error in at.error)
    assert list_models(ws)["run_id"].tolist() == [kept.run_id]


def _values(data: list | dict) -> list[float]:
    """A plotly JSON array: a list, or a typed array ``{"dtype", "bdata"}`` (base64)."""
    if isinstance(data, dict):
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return list(data)


def _traces(chart) -> dict[str, list[float]]:
    """Trace name -> y values of an ``st.plotly_chart`` element."""
    spec = json.loads(chart.proto.spec)
    return {trace["name"]: _values(trace["y"]) for trace in spec["data"]}


def test_trained_als_shows_its_training_curve(app_test: AppTest, loaded_home: Path) -> None:
    at = _models_page(app_test)
    for name, value in {"factors": 8, "iterations": 4}.items():
        at.number_input(key=f"{state.MODELS_PARAM_PREFIX}als__{name}").set_value(value)
    at.number_input(key=f"{state.MODELS_EVAL_EVERY}als").set_value(2)
    at.button(key=state.MODELS_TRAIN).click().run()
    assert not at.exception
    assert not at.error
    assert any("Trained ALS" in message.value for message in at.success)

    ws = Workspace.open(home=loaded_home)
    run_id = list_models(ws)["run_id"].iloc[0]
    curve = run_curve(ws, run_id)
    assert curve["epoch"].tolist() == [1, 2, 3, 4]
    # The new model is the one explored, its curve on the first tab.
    assert at.selectbox(key=state.MODELS_EXPLORE_RUN).value == run_id
    assert [tab.label for tab in at.tabs] == ["Training curve", "Similar items", "User explorer"]
    (chart,) = at.get("plotly_chart")
    traces = _traces(chart)
    assert traces["training loss"] == pytest.approx(curve["train_loss"].tolist())
    assert traces["NDCG@10"] == pytest.approx(curve[NDCG_KEY].dropna().tolist())
    assert len(traces["Recall@20"]) == 2  # epochs 2 and 4


def test_one_pass_model_has_no_curve_tab(app_test: AppTest, loaded_home: Path) -> None:
    from core.models.training import train_model

    train_model(Workspace.open(home=loaded_home), "popularity")
    at = _models_page(app_test)
    assert [tab.label for tab in at.tabs] == ["Similar items", "User explorer"]
    assert not at.get("plotly_chart")


def _live_training_script() -> None:
    from core.progress import ProgressInfo
    from ui import feedback, state

    state.init()
    with feedback.training_run(
        "Training test…", "Trained", stop_key="stop", curve_key="curve", curve_title="Test"
    ) as callback:
        callback(0, 3, "starting")
        for epoch in (1, 2, 3):
            point = {"epoch": epoch, "train_loss": 1 / epoch}
            callback(epoch, 3, ProgressInfo(f"epoch {epoch}", point))
        callback(3, 3, ProgressInfo("scored", {"epoch": 3, "ndcg@10": 0.25}))


def test_training_run_draws_the_live_curve_and_a_stop_button() -> None:
    at = AppTest.from_function(_live_training_script).run()
    assert not at.exception
    assert at.button(key="stop").label == "Stop"
    # The last drawing holds every point, the validation one merged into epoch 3.
    (chart,) = at.get("plotly_chart")
    traces = _traces(chart)
    assert traces["training loss"] == pytest.approx([1, 1 / 2, 1 / 3])
    assert traces["NDCG@10"] == pytest.approx([0.25])
    assert at.session_state[state.TRAINING_INTERRUPTED] is None


def test_interrupted_training_is_reported_once(app_test: AppTest, loaded_home: Path) -> None:
    app_test.session_state[state.TRAINING_INTERRUPTED] = "Training ALS stopped before it finished"
    at = _models_page(app_test)
    assert [info.value for info in at.info if "stopped" in info.value] == [
        "Training ALS stopped before it finished"
    ]
    at.run()
    assert not any("stopped" in info.value for info in at.info)


def test_finetuned_encoder_trains_the_semantic_model(
    app_test: AppTest, loaded_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.text.saved_encoders import encoder_path, list_encoders, load_encoder_meta

    monkeypatch.setenv("SHOPSYNTH_ENCODER", "tiny")
    app_test.session_state[state.FINETUNE_OPEN] = True
    at = _models_page(app_test)
    assert any("No fine-tuned encoder yet" in info.value for info in at.info)
    at.text_input(key=state.FINETUNE_NAME).set_value("tiny-ft")
    settings = {"epochs": 1, "batch_size": 16, "max_pairs": 64, "learning_rate": 1e-3}
    for field, value in settings.items():
        at.number_input(key=f"{state.FINETUNE_PARAM_PREFIX}{field}").set_value(value)
    at.button(key=state.FINETUNE_RUN).click().run()
    assert not at.exception
    assert not at.error
    expected = f"Fine-tuned “{plain('tiny-ft')}” on 64 pairs"  # the name escaped for Markdown
    assert any(expected in message.value for message in at.success)

    ws = Workspace.open(home=loaded_home)
    assert list_encoders(ws)["name"].tolist() == ["tiny-ft"]
    folder = str(encoder_path(ws, "tiny-ft"))
    # Its curve: the loss of each of the 4 steps, retrieval before and after the epoch.
    (chart,) = at.get("plotly_chart")
    traces = _traces(chart)
    assert len(traces["training loss"]) == 4
    assert len(traces["NDCG@10"]) == 2

    at.selectbox(key=state.MODELS_CHOICE).set_value("semantic_bert").run()
    encoder = at.selectbox(key=f"{state.MODELS_PARAM_PREFIX}semantic_bert__encoder")
    assert encoder.options == ["Tiny test encoder (random weights)", encoder.options[1]]
    assert encoder.options[1].startswith("Fine-tuned tiny-ft · NDCG@10 ")
    encoder.set_value(folder)
    at.button(key=state.MODELS_TRAIN).click().run()
    assert not at.exception
    assert not at.error
    run_id = list_models(ws)["run_id"].iloc[0]
    assert run_info(ws, run_id)["params"]["hyperparameters"]["encoder"] == folder
    model = load_model(ws, run_id)
    assert model.get_params()["encoder"] == folder
    assert model.encoder_id_ == load_encoder_meta(Path(folder))["model_id"]
    assert run_info(ws, run_id)["metrics"][RECALL_KEY] is not None


def test_tune_on_validation_then_train_the_best(app_test: AppTest, loaded_home: Path) -> None:
    at = _models_page(app_test)
    at.selectbox(key=state.MODELS_CHOICE).set_value("popularity").run()
    at.number_input(key=state.MODELS_TUNE_TRIALS).set_value(2)
    at.button(key=state.MODELS_TUNE_RUN).click().run()
    assert not at.exception
    assert not at.error
    result = at.session_state[state.MODELS_TUNE_RESULT]
    trials = at.dataframe[0].value
    assert len(trials) == 2 and trials["trial"].tolist() == [0, 1]
    # Trial 0 is the default, all-time popularity.
    assert np.isnan(trials["window_days"].iloc[0])
    assert trials["ndcg@10"].tolist() == result.trials["ndcg@10"].tolist()
    at.button(key=state.MODELS_TUNE_TRAIN).click().run()
    assert not at.exception
    assert not at.error
    runs = list_models(Workspace.open(home=loaded_home))
    assert runs["name"].tolist() == ["popularity (tuned)"]
    recorded = run_info(Workspace.open(home=loaded_home), runs["run_id"].iloc[0])["params"]
    assert recorded["hyperparameters"]["window_days"] == result.best_params["window_days"]
