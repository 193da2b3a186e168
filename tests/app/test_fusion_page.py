"""Fusion page: guidance, live re-weighting on the sample world, saving a variant for A/B."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.data.workspace import Workspace
from core.evaluation.compare import workspace_variants
from core.fusion import PreparedFusion
from core.fusion.runs import fusion_signals, list_fusions, load_fusion, validation_candidates
from core.models.training import train_model
from ui import state

FUSION_PAGE = "pages/4_Fusion.py"
AB_PAGE = "pages/5_AB_Compare.py"


def test_without_two_models_the_page_says_what_to_do(app_test: AppTest, loaded_home: Path) -> None:
    at = app_test.switch_page(FUSION_PAGE).run()
    assert not at.exception
    assert any("Train at least two models first" in info.value for info in at.info)


def _metric(at: AppTest, label: str) -> float:
    return float(next(m for m in at.metric if m.label == label).value)


@pytest.mark.slow
def test_sliders_move_the_figures_and_a_saved_fusion_reaches_ab(
    app_test: AppTest, loaded_home: Path
) -> None:
    ws = Workspace.open(home=loaded_home)
    popularity = train_model(ws, "popularity")
    als = train_model(ws, "als", {"iterations": 5, "random_state": 0})

    at = app_test.switch_page(FUSION_PAGE).run()
    assert not at.exception and not at.error
    assert at.multiselect(key=state.FUSION_MODELS).value == [als.run_id, popularity.run_id]
    equal = _metric(at, "NDCG@10")

    # The figures on screen are core's for the same weights.
    signals = fusion_signals(ws, [als.run_id, popularity.run_id])
    prepared = PreparedFusion(validation_candidates(signals), signals.split.valid.matrix)
    assert equal == pytest.approx(prepared.evaluate([0.5, 0.5])["ndcg@10"], abs=1e-4)

    # Popularity alone: the slider path reruns fast and the figure is popularity's own.
    at.slider(key=f"{state.FUSION_WEIGHT_PREFIX}als").set_value(0.0)
    start = time.perf_counter()
    at.run()
    rerun_seconds = time.perf_counter() - start
    assert not at.exception
    only_popularity = _metric(at, "NDCG@10")
    assert only_popularity == pytest.approx(prepared.evaluate([0.0, 1.0])["ndcg@10"], abs=1e-4)
    assert only_popularity != equal
    # A generous bound: the benchmark measures the rerun on a quiet machine.
    assert rerun_seconds < 10

    at.slider(key=f"{state.FUSION_WEIGHT_PREFIX}als").set_value(0.75)
    at.text_input(key=state.FUSION_SAVE_NAME).set_value("als-heavy")
    at.button(key=state.FUSION_SAVE).click().run()
    assert not at.exception and not at.error
    saved = list_fusions(ws)
    assert saved["name"].tolist() == ["als-heavy"]
    name, config, gate = load_fusion(ws, saved["run_id"].iloc[0])
    assert config.weights == pytest.approx((0.75 / 1.75, 1 / 1.75))
    assert name == "als-heavy" and config.method == "weighted" and gate is None

    # The saved fusion ranks test users like the page's rule does.
    split, variants = workspace_variants(ws, [], [saved["run_id"].iloc[0]])
    lists = variants[0].recommend(split.test_users[:50], 10)
    assert lists.shape == (50, 10) and (lists[:, 0] >= 0).any()
    assert not np.isin(lists, -2).any()

    ab = AppTest.from_file(app_test._script_path, default_timeout=120)
    ab = ab.switch_page(AB_PAGE).run()
    assert not ab.exception
    assert saved["run_id"].iloc[0] in ab.multiselect(key=state.AB_VARIANTS).value


@pytest.mark.slow
def test_the_sweep_shows_accuracy_against_the_exposure_gap(
    app_test: AppTest, loaded_home: Path
) -> None:
    ws = Workspace.open(home=loaded_home)
    train_model(ws, "popularity")
    train_model(ws, "als", {"iterations": 5, "random_state": 0})
    at = app_test.switch_page(FUSION_PAGE).run()
    at.button(key=state.FUSION_SWEEP).click().run()
    assert not at.exception and not at.error
    # The sample world's catalogue has brands, categories, prices and first-seen dates.
    gap = at.selectbox(key=state.FUSION_GAP_GROUPING)
    assert gap.value == "exposure_gap_brand@10"
    assert set(gap.options) >= {"Exposure gap by brand@10 (lower is fairer)"}
    titles = [chart.proto.spec for chart in at.get("plotly_chart")]
    assert any("NDCG@10 against Exposure gap by brand@10" in spec for spec in titles)
