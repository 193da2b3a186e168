"""Synthetic Data page: the Privacy and Feedback rounds tabs on the sample world."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data.splits import make_split
from core.data.workspace import Workspace
from core.synth.interactions.inputs import product_vectors
from core.synth.interactions.runs import synthesize_interactions
from ui import state

SYNTH_PAGE = "pages/3_Synthetic_Data.py"


def _open_tab(at: AppTest, tab: str) -> AppTest:
    at.session_state[state.SYNTH_TABS] = tab
    return at.run()


@pytest.mark.slow
def test_privacy_tab_measures_a_batch(app_test: AppTest, loaded_home: Path) -> None:
    at = _open_tab(app_test.switch_page(SYNTH_PAGE), "Privacy")
    assert not at.exception and not at.error
    assert any("Generate synthetic queries or interactions first" in i.value for i in at.info)
    ws = Workspace.open(home=loaded_home)
    split = make_split(ws)
    vectors = product_vectors(ws.read_table("catalog"), split.train.item_ids, method="tfidf")
    synthesize_interactions(ws, split, vectors, n_per_item=5)
    at = _open_tab(app_test.switch_page(SYNTH_PAGE), "Privacy")
    at.button(key=state.SYNTH_PRIVACY_RUN).click().run()
    assert not at.exception and not at.error
    measures = at.dataframe[0].value
    assert "membership attack AUC" in measures["measure"].tolist()
    assert "interactions · neighbours" in measures.columns
    assert len(at.get("plotly_chart")) == 1


@pytest.mark.slow
def test_feedback_rounds_tab_charts_two_models(app_test: AppTest, loaded_home: Path) -> None:
    at = _open_tab(app_test.switch_page(SYNTH_PAGE), "Feedback rounds")
    assert not at.exception and not at.error
    at.number_input(key=state.SYNTH_FEEDBACK_ROUNDS).set_value(2)
    at.number_input(key=state.SYNTH_FEEDBACK_USERS).set_value(200)
    at.button(key=f"FormSubmitter:{state.SYNTH_FEEDBACK_FORM}-Run feedback rounds").click().run()
    assert not at.exception and not at.error
    table = at.session_state[state.SYNTH_FEEDBACK_RESULT]
    assert table[["round", "variant"]].values.tolist() == [
        [0, "popularity"], [0, "als"], [1, "popularity"], [1, "als"],
    ]  # fmt: skip
    assert len(at.get("plotly_chart")) == 1
