"""Synthetic Data page: after a generation, the runs' list preselects the new pending run."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data.workspace import Workspace
from core.synth.interactions.store import interaction_summary
from ui import state

SYNTH_PAGE = "pages/3_Synthetic_Data.py"
GENERATE = f"FormSubmitter:{state.SYNTH_I_FORM}-Generate interactions"


@pytest.mark.slow
def test_the_new_pending_run_is_preselected(
    app_test: AppTest, loaded_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPSYNTH_ENCODER", "tiny")
    ws = Workspace.open(home=loaded_home)
    at = app_test.switch_page(SYNTH_PAGE).run()
    at.session_state[state.SYNTH_TABS] = "Interactions"
    at.run()
    at.number_input(key=state.SYNTH_I_N).set_value(3)
    at.button(key=GENERATE).click().run()
    (first,) = interaction_summary(ws)["run_id"]
    assert at.selectbox(key=state.SYNTH_I_RUN).value == first
    at.button(key=state.SYNTH_I_ACCEPT).click().run()

    at.number_input(key=state.SYNTH_I_N).set_value(2)
    at.button(key=GENERATE).click().run()
    assert not at.exception and not at.error
    summary = interaction_summary(ws).set_index("run_id")
    (second,) = summary.index[summary.index != first]
    assert summary.loc[first, "accepted"] > 0 and summary.loc[second, "pending"] > 0
    assert at.selectbox(key=state.SYNTH_I_RUN).value == second
