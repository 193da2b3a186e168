"""Enter in a field of a form that starts a long training or generation does not submit it:
only the button does (an unnoticed start would be restarted by the click that follows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from core.synth.queries import QUERY_LM_TASK
from ui import state

MODELS_PAGE = "pages/2_Models.py"
SYNTH_PAGE = "pages/3_Synthetic_Data.py"


def _forms(node: Any) -> dict[str, bool]:
    """Form id -> whether Enter submits it, over the element tree under ``node``."""
    found = {}
    if getattr(node, "type", None) == "form":
        found[node.proto.form.form_id] = node.proto.form.enter_to_submit
    for child in getattr(node, "children", {}).values():
        found |= _forms(child)
    return found


def test_enter_starts_no_training_or_generation(app_test: AppTest, loaded_home: Path) -> None:
    at = app_test.switch_page(SYNTH_PAGE).run()
    assert not at.exception
    forms = _forms(at._tree)
    assert forms[f"synth_lm_form_{QUERY_LM_TASK}"] is False
    assert forms[state.SYNTH_QUERY_FORM] is False
    at.session_state[state.SYNTH_TABS] = "Interactions"
    assert _forms(at.run()._tree)[state.SYNTH_I_FORM] is False

    at.switch_page(MODELS_PAGE).run()
    assert not at.exception
    assert _forms(at._tree)[state.MODELS_TRAIN_FORM] is False
