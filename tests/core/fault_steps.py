"""One write step of the crash tests, run in its own process so that a kill point can end it.

``python -m tests.core.fault_steps <step> <home>`` runs ``<step>`` on the workspace ``test``
under ``<home>``, whose data were prepared by ``tests/core/test_faults.py``; the environment
variable ``SHOPSYNTH_KILL_AT`` names the kill point (:mod:`core.faults`). The step's run id, if
any, is printed on the last line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from core.data.clean import clean_dataset
from core.data.ingest.load import load_sample_world
from core.data.rules import CleaningConfig
from core.data.runs import MODEL_KIND
from core.data.workspace import Workspace
from core.evaluation.compare import compare_models
from core.fusion.runs import FusionConfig, save_fusion
from core.models.training import train_model
from core.synth.descriptions import synthesize_descriptions

WORLD_FOLDER = "world"


def _model_run(ws: Workspace) -> str:
    return str(ws.list_runs(MODEL_KIND)["run_id"].iloc[-1])


def _ingest(ws: Workspace) -> str:
    load_sample_world(ws, ws.path.parent / WORLD_FOLDER)
    return ""


def _clean(ws: Workspace) -> str:
    clean_dataset(ws, CleaningConfig())
    return ""


def _model(ws: Workspace) -> str:
    return train_model(ws, "popularity", name="popular").run_id


def _synthetic(ws: Workspace) -> str:
    return synthesize_descriptions(ws, "template").run_id


def _fusion(ws: Workspace) -> str:
    config = FusionConfig(
        run_ids=(_model_run(ws),),
        signal_names=("popular",),
        method="weighted",
        normalisation="minmax",
        weights=(1.0,),
    )
    return save_fusion(ws, "fused", config)


def _comparison(ws: Workspace) -> str:
    return compare_models(ws, [_model_run(ws)], name="compared", n_resamples=20).run_id


STEPS: dict[str, Callable[[Workspace], str]] = {
    "ingest": _ingest,
    "clean": _clean,
    "model": _model,
    "synthetic": _synthetic,
    "fusion": _fusion,
    "comparison": _comparison,
}


if __name__ == "__main__":
    step, home = sys.argv[1], Path(sys.argv[2])
    print(STEPS[step](Workspace.open("test", home=home)), flush=True)
