"""Fusion page: the best weights of the sweep reach the sliders, the page's choices survive a
visit to another page, the sweep reports its progress once, and the gate trains."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data.workspace import Workspace
from core.figures.fusion import sweep_metrics
from core.fusion import PreparedFusion, search_weights
from core.fusion.runs import fusion_signals, validation_candidates
from core.models.training import train_model
from ui import cache, state
from ui.fusion_cache import fusion_key, weight_sweep

FUSION_PAGE = "pages/4_Fusion.py"
DATA_PAGE = "pages/1_Data.py"


@pytest.mark.slow
def test_best_weights_reach_the_sliders_and_choices_survive_navigation(
    app_test: AppTest, loaded_home: Path
) -> None:
    ws = Workspace.open(home=loaded_home)
    popularity = train_model(ws, "popularity")
    als = train_model(ws, "als", {"iterations": 5, "random_state": 0})
    at = app_test.switch_page(FUSION_PAGE).run()
    assert not at.exception and not at.error

    at.button(key=state.FUSION_SWEEP).click().run()
    at.button(key=state.FUSION_APPLY_BEST).click().run()
    assert not at.exception and not at.error
    # The best weights of core's own sweep on the same candidates (min-max normalisation).
    signals = fusion_signals(ws, [als.run_id, popularity.run_id])
    prepared = PreparedFusion(validation_candidates(signals), signals.split.valid.matrix)
    best = search_weights(prepared, step=0.1).best_weights
    for name, weight in best.items():
        assert at.slider(key=f"{state.FUSION_WEIGHT_PREFIX}{name}").value == pytest.approx(weight)

    at.slider(key=f"{state.FUSION_WEIGHT_PREFIX}als").set_value(0.35)
    at.radio(key=state.FUSION_METHOD).set_value("rrf")
    at.number_input(key=state.FUSION_DEPTH).set_value(150)
    at.run()
    at.switch_page(DATA_PAGE).run()
    at.switch_page(FUSION_PAGE).run()
    assert not at.exception and not at.error
    assert at.slider(key=f"{state.FUSION_WEIGHT_PREFIX}als").value == pytest.approx(0.35)
    assert at.radio(key=state.FUSION_METHOD).value == "rrf"
    assert at.number_input(key=state.FUSION_DEPTH).value == 150
    assert at.multiselect(key=state.FUSION_MODELS).value == [als.run_id, popularity.run_id]

    # The gate trains from the page (its features are computed inside the training run).
    at.number_input(key=state.FUSION_GATE_EPOCHS).set_value(5)
    at.button(key=state.FUSION_GATE_TRAIN).click().run()
    assert not at.exception and not at.error
    assert any("Trained the learned gate" in message.value for message in at.success)


@pytest.mark.slow
def test_the_sweep_reports_progress_until_cached(loaded_home: Path) -> None:
    ws = Workspace.open(home=loaded_home)
    run_ids = (
        train_model(ws, "popularity").run_id,
        train_model(ws, "item_knn").run_id,
    )
    prepared = cache.prepared_fusion(ws, run_ids, 50, "minmax")
    key = fusion_key(ws, run_ids, 50, "minmax")
    calls: list[tuple[int, int, str]] = []
    sweep = weight_sweep(prepared, key, "weighted", 0.25, lambda *call: calls.append(call))
    # Step 0.25 over two signals: five weight vectors, each reported.
    assert [(step, total) for step, total, _ in calls] == [(i, 5) for i in range(1, 6)]
    assert calls[-1][2] == "weights 5 of 5"
    expected = search_weights(prepared, step=0.25, metrics=sweep_metrics(prepared.context)).sweep
    assert sweep.equals(expected)
    calls.clear()
    again = weight_sweep(prepared, key, "weighted", 0.25, lambda *call: calls.append(call))
    assert calls == [] and again.equals(expected)
