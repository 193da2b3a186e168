"""Synthetic Data page: generate queries and interactions, review them, train with them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.data.runs import SYNTHETIC_INTERACTIONS_KIND
from core.data.splits import make_split
from core.data.workspace import Workspace
from core.models.runs import list_models, run_info
from core.synth import store
from core.synth.interactions.gru import GRU
from core.synth.interactions.inputs import product_vectors
from core.synth.interactions.runs import synthesize_interactions
from core.synth.interactions.store import list_interactions
from core.synth.store import ACCEPTED
from ui import state

SYNTH_PAGE = "pages/3_Synthetic_Data.py"
MODELS_PAGE = "pages/2_Models.py"


def _open_tab(at: AppTest, tab: str) -> AppTest:
    at.session_state[state.SYNTH_TABS] = tab
    return at.run()


def test_without_data_the_page_says_what_to_do(app_test: AppTest) -> None:
    at = app_test.switch_page(SYNTH_PAGE).run()
    assert not at.exception
    assert any("Load and clean a dataset first" in info.value for info in at.info)


@pytest.mark.slow
def test_generate_review_and_train_with_synthetic_data(
    app_test: AppTest, loaded_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPSYNTH_ENCODER", "tiny")
    ws = Workspace.open(home=loaded_home)
    at = app_test.switch_page(SYNTH_PAGE).run()
    assert not at.exception and not at.error

    # Template queries for a sample of 20 products.
    at.number_input(key=state.SYNTH_SAMPLE).set_value(20)
    at.number_input(key=state.SYNTH_N).set_value(2)
    at.button(key=f"FormSubmitter:{state.SYNTH_QUERY_FORM}-Generate queries").click().run()
    assert not at.exception and not at.error
    samples = store.list_samples(ws, kind=store.QUERY_KIND)
    assert 20 <= len(samples) <= 40
    assert set(samples["status"]) == {store.PENDING}
    assert any("query samples stored as pending" in s.value for s in at.success)

    # Review: accept the unflagged ones shown, reject the flagged ones.
    at = _open_tab(at, "Review")
    at.button(key=state.SYNTH_ACCEPT_CLEAN).click().run()
    at.button(key=state.SYNTH_REJECT_FLAGGED).click().run()
    assert not at.exception
    after = store.list_samples(ws, kind=store.QUERY_KIND)
    unflagged = after["flags"].map(len) == 0
    assert (after.loc[unflagged, "status"] == store.ACCEPTED).all()
    assert (after.loc[~unflagged, "status"] == store.REJECTED).all()

    # Interactions for the cold-start products with the content-neighbour baseline.
    at = _open_tab(at, "Interactions")
    at.number_input(key=state.SYNTH_I_N).set_value(5)
    at.button(key=f"FormSubmitter:{state.SYNTH_I_FORM}-Generate interactions").click().run()
    assert not at.exception and not at.error
    rows = list_interactions(ws)
    assert len(rows) > 0 and set(rows["generator"]) == {"neighbours"}
    at.button(key=state.SYNTH_I_ACCEPT).click().run()
    assert (list_interactions(ws)["status"] == ACCEPTED).all()

    # The interactions tab stays open after the action; the quality tab reads the real and
    # synthetic data without error.
    assert at.session_state[state.SYNTH_TABS] == "Interactions"
    assert not any("Measures" in m.value for m in at.markdown)
    at = _open_tab(at, "Quality")
    assert not at.exception
    assert any("Measures" in m.value for m in at.markdown)

    # The Models page trains item-kNN with the accepted interactions.
    models = AppTest.from_file(app_test._script_path, default_timeout=180)
    models = models.switch_page(MODELS_PAGE).run()
    models.selectbox(key=state.MODELS_CHOICE).set_value("item_knn").run()
    models.checkbox(key=state.MODELS_SYNTHETIC).check()
    models.button(key=state.MODELS_TRAIN).click().run()
    assert not models.exception and not models.error
    trained = list_models(ws)
    assert trained["name"].tolist() == ["item_knn+synthetic"]
    used = run_info(ws, trained["run_id"].iloc[0])["params"]["synthetic"]
    assert used["n_pairs"] > 0


@pytest.mark.slow
def test_a_saved_session_model_generates_again(
    app_test: AppTest, loaded_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPSYNTH_ENCODER", "tiny")
    ws = Workspace.open(home=loaded_home)
    split = make_split(ws)
    vectors = product_vectors(ws.read_table("catalog"), split.train.item_ids)
    first = synthesize_interactions(
        ws, split, vectors, generator=GRU, n_per_item=2, gru_params={"epochs": 1, "hidden_size": 8}
    )
    at = _open_tab(app_test.switch_page(SYNTH_PAGE).run(), "Interactions")
    at.selectbox(key=state.SYNTH_I_GENERATOR).set_value(GRU)
    at.selectbox(key=state.SYNTH_I_REUSE).set_value(first.run_id)
    at.number_input(key=state.SYNTH_I_N).set_value(2)
    at.button(key=f"FormSubmitter:{state.SYNTH_I_FORM}-Generate interactions").click().run()
    assert not at.exception and not at.error
    runs = ws.list_runs(kind=SYNTHETIC_INTERACTIONS_KIND)
    assert len(runs) == 2
    again = runs.loc[runs["run_id"] != first.run_id, "run_id"].iloc[0]
    assert ws.run_row(again)["params"]["reused_generator"] == first.run_id
    rows = list_interactions(ws)
    # The same generator and seed draw the same users for the same cold-start products.
    pairs = {
        run_id: set(zip(part["user_id"], part["item_id"], strict=True))
        for run_id, part in rows.groupby("run_id")
    }
    assert pairs[again] == pairs[first.run_id] and len(pairs[again]) > 0


def _many_samples(ws: Workspace, n_clean: int, n_flagged: int) -> None:
    items = ws.read_table("catalog")["item_id"].astype(str).tolist()
    clean = pd.DataFrame(
        {
            "item_id": [items[i % len(items)] for i in range(n_clean)],
            "text": [f"query number {i}" for i in range(n_clean)],
            "flags": [[] for _ in range(n_clean)],
        }
    )
    flagged = pd.DataFrame(
        {
            "item_id": items[:n_flagged],
            "text": [f"q{i}" for i in range(n_flagged)],
            "flags": [[store.TOO_SHORT] for _ in range(n_flagged)],
        }
    )
    store.add_samples(ws, clean, kind=store.QUERY_KIND, generator="template", run_id="r1")
    store.add_samples(ws, flagged, kind=store.QUERY_KIND, generator="template", run_id="r2")


def _review_grid(at: AppTest) -> dict:
    grids = [frame for frame in at.dataframe if frame.proto.editing_mode]
    assert len(grids) == 1
    proto = grids[0].proto
    return {"order": list(proto.column_order), "columns": json.loads(proto.columns)}


def test_the_review_grid_leads_with_the_status(app_test: AppTest, loaded_home: Path) -> None:
    ws = Workspace.open(home=loaded_home)
    description = "A long description that runs well past one line of the grid. " * 4
    store.add_samples(
        ws,
        pd.DataFrame({"item_id": ["x"], "text": [description.strip()], "flags": [[]]}),
        kind=store.DESCRIPTION_KIND,
        generator="template",
        run_id="d1",
    )
    at = _open_tab(app_test.switch_page(SYNTH_PAGE).run(), "Review")
    assert not at.exception and not at.error
    summary = json.loads(at.dataframe[0].proto.columns)
    assert summary["run_id"]["label"] == "Run"
    assert summary["created_at"]["label"] == "Created (UTC)"
    grid = _review_grid(at)
    assert grid["order"][0] == "status"
    assert grid["columns"]["status"]["label"] == "Status"
    assert grid["columns"]["status"]["pinned"] is True
    # Rows taller than 4rem let the text wrap instead of cutting it at one line.
    grids = [frame for frame in at.dataframe if frame.proto.editing_mode]
    assert grids[0].proto.row_height > 64
    assert grids[0].value["text"].tolist() == [description.strip()]


def test_bulk_decisions_apply_to_every_matching_sample(
    app_test: AppTest, loaded_home: Path
) -> None:
    ws = Workspace.open(home=loaded_home)
    _many_samples(ws, n_clean=620, n_flagged=3)
    at = _open_tab(app_test.switch_page(SYNTH_PAGE).run(), "Review")
    assert not at.exception and not at.error
    assert any("623 samples match these filters" in c.value for c in at.caption)
    at.button(key=state.SYNTH_ACCEPT_CLEAN).click().run()
    at.button(key=state.SYNTH_REJECT_FLAGGED).click().run()
    assert not at.exception and not at.error
    after = store.list_samples(ws)
    assert (after.loc[after["run_id"] == "r1", "status"] == store.ACCEPTED).sum() == 620
    assert (after.loc[after["run_id"] == "r2", "status"] == store.REJECTED).sum() == 3


def test_bulk_decisions_keep_to_the_filters(app_test: AppTest, loaded_home: Path) -> None:
    ws = Workspace.open(home=loaded_home)
    _many_samples(ws, n_clean=4, n_flagged=2)
    at = _open_tab(app_test.switch_page(SYNTH_PAGE).run(), "Review")
    at.selectbox(key=state.SYNTH_REVIEW_FLAG).set_value("any").run()
    at.button(key=state.SYNTH_ACCEPT_CLEAN).click().run()
    assert not at.exception and not at.error
    # Only flagged samples match: accepting the unflagged ones among them changes nothing.
    assert set(store.list_samples(ws)["status"]) == {store.PENDING}
