"""Trained models as runs of the workspace: recording, listing, reading back and deleting them.

A trained model is a row of the ``runs`` table (kind ``"model"``) and a folder
``runs/<run_id>/`` holding ``model/`` (:meth:`Recommender.save`), ``user_ids.npz`` (the
external ids of the model's user rows) and ``curve.json`` (the training curve: one point per
epoch of an iterative model, see :func:`run_curve`). :func:`record_run` writes the folder
completely in a staging folder, then moves it in place and records the run in one transaction,
so a failure or a crash leaves the earlier runs as they were and no run that cannot load.
:func:`run_split` rebuilds the split of a run from the cut-off times it recorded.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.data.runs import MODEL_KIND
from core.data.splits import Split, temporal_split
from core.data.workspace import Workspace, atomic_write_bytes, atomic_write_json
from core.errors import ModelError
from core.metrics.registry import DEFAULT_NDCG, DEFAULT_NDCG_K, DEFAULT_RECALL, DEFAULT_RECALL_K
from core.models.base import Recommender
from core.models.registry import read_model
from core.progress import EPOCH, TRAIN_PREFIX, ProgressCallback
from core.schema import RUNS_TABLE

RECALL_K = DEFAULT_RECALL_K
NDCG_K = DEFAULT_NDCG_K
RECALL_KEY = DEFAULT_RECALL
NDCG_KEY = DEFAULT_NDCG
_MODEL_FOLDER = "model"
_USER_IDS_FILE = "user_ids.npz"
_CURVE_FILE = "curve.json"


def curve_frame(points: list[dict[str, Any]]) -> pd.DataFrame:
    """Curve points as a frame: ``epoch``, the training measures, the validation measures."""
    frame = pd.DataFrame(points)
    if frame.empty:
        return pd.DataFrame({EPOCH: pd.Series(dtype=float)})
    measures = sorted(set(frame.columns) - {EPOCH})
    training = [column for column in measures if column.startswith(TRAIN_PREFIX)]
    held_out = [column for column in measures if not column.startswith(TRAIN_PREFIX)]
    return frame[[EPOCH, *training, *held_out]].astype(float)


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def record_run(
    ws: Workspace,
    name: str,
    model: Recommender,
    split: Split,
    run_params: dict[str, Any],
    metrics: dict[str, Any],
    curve: list[dict[str, Any]],
    callback: ProgressCallback | None = None,
) -> str:
    """Record the fitted ``model`` as a run; its id.

    The run folder is written in a staging folder, then moved in place and the run recorded in
    one transaction (:meth:`Workspace.record_run`). While another program writes to the
    workspace the save waits for it, telling ``callback(step, total, text)``, rather than
    throw the fit away.
    """

    def write(folder: Path) -> None:
        model.save(folder / _MODEL_FOLDER)
        user_ids = np.asarray(split.train.user_ids, dtype=str)
        atomic_write_bytes(folder / _USER_IDS_FILE, _npz_bytes(user_ids=user_ids))
        atomic_write_json(folder / _CURVE_FILE, curve)

    return ws.record_run(MODEL_KIND, name, run_params, metrics, write, callback=callback)


def short_fingerprint(fingerprint: str) -> str:
    """Eight hex digits standing for a long data fingerprint."""
    return hashlib.sha1(fingerprint.encode()).hexdigest()[:8]


MODEL_COLUMNS = (
    "run_id",
    "name",
    "model",
    "created_at",
    "parameters",
    "data_fingerprint",
    "fit_seconds",
    RECALL_KEY,
    NDCG_KEY,
)


def list_models(ws: Workspace) -> pd.DataFrame:
    """Trained models, newest first: one row per run with :data:`MODEL_COLUMNS`.

    ``parameters`` is the hyperparameters as ``name=value`` text; ``data_fingerprint`` the
    short form (:func:`short_fingerprint`) of the events fingerprint the model was trained on.
    """
    runs = ws.list_runs(kind=MODEL_KIND)
    rows = []
    for run in runs.itertuples(index=False):
        params = json.loads(run.params or "{}")
        metrics = json.loads(run.metrics or "{}")
        hyper = params.get("hyperparameters", {})
        rows.append(
            {
                "run_id": run.run_id,
                "name": run.name,
                "model": params.get("model", ""),
                "created_at": run.created_at,
                "parameters": ", ".join(f"{key}={value}" for key, value in hyper.items()),
                "data_fingerprint": short_fingerprint(params.get("data_fingerprint", "")),
                "fit_seconds": metrics.get("fit_seconds"),
                RECALL_KEY: metrics.get(RECALL_KEY),
                NDCG_KEY: metrics.get(NDCG_KEY),
            }
        )
    return pd.DataFrame(rows, columns=list(MODEL_COLUMNS))


def _run_row(ws: Workspace, run_id: str) -> dict[str, Any]:
    with ws.connect() as con:
        row = con.execute(
            f"SELECT run_id, name, params, metrics FROM {RUNS_TABLE} WHERE run_id = ? AND kind = ?",
            [run_id, MODEL_KIND],
        ).fetchone()
    if row is None or not (ws.runs_dir / run_id).is_dir():
        raise ModelError(f"no trained model {run_id!r} in workspace {ws.name!r}")
    return {
        "run_id": row[0],
        "name": row[1],
        "params": json.loads(row[2] or "{}"),
        "metrics": json.loads(row[3] or "{}"),
    }


def run_info(ws: Workspace, run_id: str) -> dict[str, Any]:
    """``run_id``, ``name``, ``params`` and ``metrics`` recorded for a trained model."""
    return _run_row(ws, run_id)


def run_curve(ws: Workspace, run_id: str) -> pd.DataFrame:
    """The training curve of run ``run_id``: one row per reported epoch.

    Columns: ``epoch``, then the measures the model reported, e.g. ``train_loss`` (ALS) or
    ``train_ranked_right`` (BPR), and, with ``eval_every``, ``recall@20`` and ``ndcg@10`` on
    validation (NaN at epochs where they were not measured). No rows for a model that trains
    in one pass, or a run recorded before curves were kept.
    """
    _run_row(ws, run_id)
    path = ws.runs_dir / run_id / _CURVE_FILE
    if not path.is_file():
        return curve_frame([])
    try:
        points = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ModelError(f"cannot read the training curve of model {run_id!r}: {error}") from error
    return curve_frame(points)


def load_model(ws: Workspace, run_id: str) -> Recommender:
    """The fitted model of run ``run_id``."""
    _run_row(ws, run_id)
    return read_model(ws.runs_dir / run_id / _MODEL_FOLDER)


def run_user_ids(ws: Workspace, run_id: str) -> np.ndarray:
    """External user ids of the rows of run ``run_id``'s model (object array of str)."""
    _run_row(ws, run_id)
    path = ws.runs_dir / run_id / _USER_IDS_FILE
    try:
        with np.load(path, allow_pickle=False) as npz:
            return npz["user_ids"].astype(object)
    except (OSError, ValueError, KeyError) as error:
        raise ModelError(f"cannot read the user ids of model {run_id!r}: {error}") from error


def run_split(ws: Workspace, run_id: str) -> Split:
    """The split of run ``run_id``, rebuilt from the cut-off times it recorded."""
    split = _run_row(ws, run_id)["params"].get("split", {})
    return temporal_split(
        ws,
        cutoff=split.get("cutoff"),
        valid_cutoff=split.get("valid_cutoff"),
        weights=split.get("weights"),
        half_life_days=split.get("half_life_days"),
        keep_repeats=bool(split.get("keep_repeats", False)),
    )


_SPLIT_KEYS = ("cutoff", "valid_cutoff", "weights", "half_life_days")


def split_signature(ws: Workspace, run_id: str) -> tuple:
    """What must be equal for two models to rank over the same split: the data
    fingerprint and the split's cut-offs, weights, decay and whether it kept repeats."""
    params = _run_row(ws, run_id)["params"]
    split = params.get("split", {})
    keys = (str(split.get(key)) for key in _SPLIT_KEYS)
    return (params.get("data_fingerprint"), *keys, bool(split.get("keep_repeats", False)))


def trained_models(ws: Workspace, run_ids: Sequence[str]) -> tuple[Split, dict[str, Recommender]]:
    """The shared split of trained models ``run_ids`` and the models by display name.

    Names are the runs' names, made unique with the end of the run id where two runs share
    one; the dict keeps the order of ``run_ids``.

    Raises
    ------
    ModelError
        No run given, an unknown run, or runs trained on different data or splits.
    """
    if not run_ids:
        raise ModelError("choose at least one trained model")
    rows = [_run_row(ws, run_id) for run_id in run_ids]
    if len({split_signature(ws, run_id) for run_id in run_ids}) > 1:
        raise ModelError(
            "the chosen models were trained on different data or splits; retrain them on the "
            "current data with the same split settings, or use them separately"
        )
    names = [row["name"] for row in rows]
    models = {}
    for row in rows:
        name = row["name"]
        if names.count(name) > 1:
            name = f"{name} ({row['run_id'][-8:]})"
        models[name] = load_model(ws, row["run_id"])
    return run_split(ws, run_ids[0]), models


def _delete_row(ws: Workspace, run_id: str) -> None:
    with ws.connect() as con:
        con.execute(f"DELETE FROM {RUNS_TABLE} WHERE run_id = ? AND kind = ?", [run_id, MODEL_KIND])


def delete_model(ws: Workspace, run_id: str) -> None:
    """Remove run ``run_id`` from ``runs`` and delete its folder."""
    _run_row(ws, run_id)
    _delete_row(ws, run_id)
    folder = ws.runs_dir / run_id
    if folder.resolve().parent == Path(ws.runs_dir).resolve():
        shutil.rmtree(folder, ignore_errors=True)
