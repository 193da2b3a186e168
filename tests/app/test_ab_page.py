"""A/B Compare page: guidance without models, a comparison on the sample world, reopening."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data.workspace import Workspace
from core.evaluation.experiment import list_experiments, load_experiment, metric_table
from core.models.training import train_model
from ui import state
from ui.text import plain

AB_PAGE = "pages/5_AB_Compare.py"


def _ab_page(app_test: AppTest) -> AppTest:
    at = app_test.switch_page(AB_PAGE).run()
    assert not at.exception
    return at


def test_without_models_the_page_says_what_to_do(app_test: AppTest, loaded_home: Path) -> None:
    at = _ab_page(app_test)
    assert any("Train at least one model first" in info.value for info in at.info)
    assert not at.error


@pytest.mark.slow
def test_compare_two_models_on_the_sample_world(app_test: AppTest, loaded_home: Path) -> None:
    ws = Workspace.open(home=loaded_home)
    popularity = train_model(ws, "popularity")
    als = train_model(ws, "als", {"iterations": 5, "random_state": 0})

    at = _ab_page(app_test)
    assert at.multiselect(key=state.AB_VARIANTS).value == [als.run_id, popularity.run_id]
    at.selectbox(key=state.AB_CONTROL).set_value(popularity.run_id)
    at.number_input(key=state.AB_RESAMPLES).set_value(200)
    at.button(key=state.AB_COMPARE).click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("Compared 2 variants" in message.value for message in at.success)

    saved = list_experiments(ws)
    assert len(saved) == 1
    result = load_experiment(ws, saved["run_id"].iloc[0])
    assert result.control == "popularity"
    # The metrics table on screen is the saved result.
    tables = [frame.value for frame in at.dataframe]
    expected = metric_table(result)
    shown = next(t for t in tables if t.index.name == "variant" and "ndcg@10" in t.columns)
    assert shown.loc["als", "ndcg@10"] == pytest.approx(expected.loc["als", "ndcg@10"])
    # ALS beats popularity on the sample world, and the lift table marks it.
    lifts = next(t for t in tables if "als" in t.index and t.index.name != "variant")
    assert lifts.loc["als", "ndcg@10"].startswith("+")
    assert lifts.loc["als", "ndcg@10"].endswith("*")
    # The sample world has a ground truth: the simulated online A/B is shown.
    assert result.online is not None
    assert any("Spearman" in caption.value for caption in at.caption)
    assert len(at.get("plotly_chart")) >= 6
    # The differences with their intervals and both p-values, under readable column names.
    comparison = next(t for t in tables if "p (Holm, per metric)" in t.columns)
    assert {"95% interval, low", "95% interval, high", "p (raw)"} <= set(comparison.columns)
    # Fairness of exposure: exposure against relevance share per group of the chosen grouping,
    # kept with the saved result.
    assert any(markdown.value == "##### Fairness of exposure" for markdown in at.markdown)
    assert result.fairness is not None and not result.fairness.empty
    grouping = at.selectbox(key=state.AB_FAIRNESS_GROUPING).value
    shares = next(t for t in tables if "Exposure share" in t.columns)
    saved_rows = result.fairness[result.fairness["grouping"] == grouping]
    assert len(shares) == len(saved_rows)
    for variant in ("als", "popularity"):
        exposure = shares.loc[shares["Variant"] == variant, "Exposure share"]
        assert exposure.sum() == pytest.approx(1.0)
    # A plain-language verdict closes the page: ALS wins on the primary metric NDCG@10.
    assert any(markdown.value.startswith(plain("als wins on ndcg@10")) for markdown in at.markdown)

    # Reopened after a restart of the page (fresh session), the comparison is listed.
    again = AppTest.from_file(app_test._script_path, default_timeout=120)
    again = again.switch_page(AB_PAGE).run()
    assert not again.exception
    assert again.selectbox(key=state.AB_OPEN_RUN).value == result.run_id
