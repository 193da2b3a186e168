"""The Synthetic Data page offers the warm-started generator first: its trained models lead the
generator list, and the training form's model kind starts on it."""

from __future__ import annotations

import json

from core.data.workspace import Workspace
from core.synth.lm import LM_META_FILE
from core.synth.lm_store import lms_dir
from core.synth.warm import WARM_META_FILE
from ui.forms import synthetic


def _model(workspace: Workspace, name: str, meta_file: str, created_at: str) -> None:
    folder = lms_dir(workspace) / name
    folder.mkdir(parents=True)
    (folder / meta_file).write_text(json.dumps({"task": "query", "created_at": created_at}))


def test_warm_models_come_first_then_gpt2_then_templates(workspace: Workspace) -> None:
    # The GPT-2 model is the newest, yet a warm-started model is the default choice.
    _model(workspace, "older-warm", WARM_META_FILE, "2026-01-01T00:00:00")
    _model(workspace, "newer-gpt2", LM_META_FILE, "2026-01-03T00:00:00")
    _model(workspace, "newer-warm", WARM_META_FILE, "2026-01-02T00:00:00")
    choices = synthetic._generator_choices(workspace, "query")
    assert list(choices) == ["warm:newer-warm", "warm:older-warm", "lm:newer-gpt2", "template"]
    assert choices["warm:newer-warm"] == "Warm-started model 'newer-warm'"
    assert synthetic.ARCHITECTURES[synthetic.WARM].endswith("(default)")


def test_a_model_just_trained_is_preselected(workspace: Workspace, monkeypatch) -> None:
    # After training, the Generator box of its task shows the new model, not the templates
    # or the box's earlier choice.
    _model(workspace, "older-warm", WARM_META_FILE, "2026-01-01T00:00:00")
    _model(workspace, "fresh-gpt2", LM_META_FILE, "2026-01-03T00:00:00")
    session = {synthetic.state.SYNTH_GENERATOR: "template"}
    monkeypatch.setattr(synthetic.st, "session_state", session)
    synthetic._select_new_model(workspace, "query", "fresh-gpt2")
    assert session[synthetic.state.SYNTH_GENERATOR] == "lm:fresh-gpt2"
    synthetic._select_new_model(workspace, "query", "older-warm")
    assert session[synthetic.state.SYNTH_GENERATOR] == "warm:older-warm"
    assert synthetic.state.SYNTH_D_GENERATOR not in session
