"""Train a model on the workspace's data, score it on validation, keep it as a run.

A trained model is a row of the ``runs`` table (kind ``"model"``) and a folder
``runs/<run_id>/`` holding ``model/`` (:meth:`Recommender.save`), ``user_ids.npz`` (the
external ids of the model's user rows) and ``curve.json`` (the training curve: one point per
epoch of an iterative model, see :func:`run_curve`). Nothing is written until the model is
fitted and scored; the folder is then written completely in a staging folder before the run is
recorded, so a failed or cancelled training (a callback raising
:class:`core.errors.TrainingCancelled`) leaves the earlier runs as they were and no trace.

The split is a :func:`core.data.splits.temporal_split` (by default 70% train, 10% validation,
20% test of the timed interaction events). It is deterministic: the same parameters on the
same data give the same split, and :func:`run_split` rebuilds the split of a run from the
cut-off times it recorded.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.interactions import Interactions
from core.data.runs import MODEL_KIND
from core.data.splits import Split, split_kwargs, temporal_split
from core.data.workspace import Workspace, atomic_write_bytes, atomic_write_json, relation_exists
from core.errors import ModelError
from core.metrics import hit_matrix, ndcg_at_k, recall_at_k, relevant_counts
from core.models.base import Recommender
from core.models.registry import make_model
from core.progress import EPOCH, TRAIN_PREFIX, ProgressCallback, ProgressInfo, point_of, retext
from core.schema import CATALOG_TABLE, EVENTS_TABLE, RUNS_TABLE

RECALL_K = 20
NDCG_K = 10
RECALL_KEY = f"recall@{RECALL_K}"
NDCG_KEY = f"ndcg@{NDCG_K}"
# Models whose fit reads the catalogue.
CATALOG_MODELS = frozenset({"content_tfidf", "semantic_bert"})
_MODEL_FOLDER = "model"
_USER_IDS_FILE = "user_ids.npz"
_CURVE_FILE = "curve.json"
_STAGING_PREFIX = ".staging-"
# Progress units of one training: split, fit, evaluation, saving.
_PROGRESS_TOTAL = 100
# Training interactions to fit on instead of a split's train part, and what to record of them.
Augment = Callable[[Split], tuple[Interactions, dict[str, int]]]
_STAGES = {"split": (0, 10), "fit": (10, 80), "evaluate": (80, 95), "save": (95, 100)}


@dataclass(frozen=True)
class TrainedModel:
    """A fitted model recorded as a run.

    Attributes
    ----------
    run_id : str
        Id of the run in the ``runs`` table.
    name : str
        Display name of the run.
    model : Recommender
        The fitted model (users and items indexed as in ``split``).
    split : Split
        The split it was trained (``split.train``) and validated (``split.valid``) on.
    metrics : dict
        ``recall@20``, ``ndcg@10`` (None when no user has validation items) and
        ``fit_seconds``, the time of the fit less the time spent in its progress reports
        (validation during training, the caller's callback).
    params : dict
        What the run recorded: model, hyperparameters, split, data fingerprint, eval_every.
    curve : pandas.DataFrame
        The training curve (see :func:`run_curve`).
    """

    run_id: str
    name: str
    model: Recommender
    split: Split
    metrics: dict[str, Any]
    params: dict[str, Any]
    curve: pd.DataFrame


# Validation ---------------------------------------------------------------------------------


def evaluate(model: Recommender, split: Split, batch_size: int = 2048) -> dict[str, float | None]:
    """Recall@20 and NDCG@10 on ``split.valid``, averaged over users with validation items.

    Items seen in training are excluded from the lists; a user the model cannot rank
    anything for scores 0.
    """
    valid = split.valid
    if valid is None:
        return {RECALL_KEY: None, NDCG_KEY: None}
    matrix = valid.matrix.tocsr()
    users = np.flatnonzero(np.diff(matrix.indptr) > 0)
    if users.size == 0:
        return {RECALL_KEY: None, NDCG_KEY: None}
    recall = np.zeros(users.size)
    ndcg = np.zeros(users.size)
    k = max(RECALL_K, NDCG_K)
    for start in range(0, users.size, batch_size):
        chunk = users[start : start + batch_size]
        recommended, _ = model.recommend(chunk, k, exclude_seen=True)
        relevant = matrix[chunk]
        hits = hit_matrix(recommended, relevant)
        n_relevant = relevant_counts(relevant)
        recall[start : start + chunk.size] = recall_at_k(hits, n_relevant, RECALL_K)
        ndcg[start : start + chunk.size] = ndcg_at_k(hits, n_relevant, NDCG_K)
    return {RECALL_KEY: float(recall.mean()), NDCG_KEY: float(ndcg.mean())}


# Training -------------------------------------------------------------------------------------


def _stage(callback: ProgressCallback | None, stage: str) -> ProgressCallback:
    low, high = _STAGES[stage]

    def report(step: int, total: int, info: str) -> None:
        if callback is None:
            return
        done = min(max(step / total, 0.0), 1.0) if total else 0.0
        callback(
            low + round(done * (high - low)), _PROGRESS_TOTAL, retext(info, f"{stage}: {info}")
        )

    return report


def _catalog(ws: Workspace) -> pd.DataFrame | None:
    return ws.read_table(CATALOG_TABLE) if ws.table_exists(CATALOG_TABLE) else None


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _check_eval_every(eval_every: Any) -> int:
    if eval_every is None:
        return 0
    if (
        isinstance(eval_every, bool)
        or not isinstance(eval_every, int | np.integer)
        or eval_every < 0
    ):
        raise ModelError(f"eval_every must be a whole number >= 0 or None, not {eval_every!r}")
    return int(eval_every)


def train_model(
    ws: Workspace,
    model_name: str,
    params: Mapping[str, Any] | None = None,
    *,
    split_params: Mapping[str, Any] | None = None,
    name: str | None = None,
    eval_every: int | None = None,
    augment: Augment | None = None,
    callback: ProgressCallback | None = None,
) -> TrainedModel:
    """Fit ``model_name`` on the training part of the workspace's events and record it.

    With ``augment``, the model is fitted on the training part it returns (real interactions
    plus synthetic ones, see :func:`core.pipeline.train_with_synthetic`); the model still ranks
    from, and excludes, each user's real history, and it is validated on real interactions
    only.

    Parameters
    ----------
    ws : Workspace
        Workspace with cleaned ``events`` (and a ``catalog`` for content models).
    model_name : str
        A name of :func:`core.models.registry.available_models`.
    params : mapping, optional
        Hyperparameters; defaults for the rest. For ``semantic_bert`` an ``encoder`` left
        out or None is recorded as the encoder it stands for
        (:func:`core.text.encoders.default_encoder_spec`).
    split_params : mapping, optional
        Keyword arguments of :func:`core.data.splits.temporal_split`; default
        ``test_fraction=0.2, valid_fraction=0.1``. A validation part is required.
    name : str, optional
        Display name of the run; the model name by default.
    eval_every : int, optional
        For a model that can be scored while it trains (ALS, BPR: ``scores_during_fit``),
        measure Recall@20 and NDCG@10 on validation every ``eval_every`` epochs and after the
        last one, as points of the training curve. None or 0: only the final scores.
    augment : callable, optional
        ``augment(split) -> (train, record)``: the training interactions to fit on instead of
        ``split.train`` (same users and items), and what to record about them in the run's
        parameters under ``"synthetic"``.
    callback : callable, optional
        ``callback(step, total, info)``; during the fit of an iterative model ``info`` is a
        :class:`core.progress.ProgressInfo` whose point is the curve point of the epoch
        (with the validation scores when measured). It may raise
        :class:`core.errors.TrainingCancelled` to stop: nothing is then recorded.

    Returns
    -------
    TrainedModel

    Raises
    ------
    ModelError
        Unknown model or hyperparameter, or a value the model rejects. Nothing is recorded
        and no file is left behind when training fails or is cancelled.
    """
    hyperparameters = dict(params or {})
    if model_name == "semantic_bert":
        if hyperparameters.get("cache_dir") is None:
            hyperparameters["cache_dir"] = str(ws.artifacts_dir / "embeddings")
        if hyperparameters.get("encoder") is None:
            # Imported here: the encoders module loads torch.
            from core.text.encoders import default_encoder_spec

            hyperparameters["encoder"] = default_encoder_spec()
    model = make_model(model_name, **hyperparameters)
    every = _check_eval_every(eval_every)
    kwargs = split_kwargs(split_params)
    _stage(callback, "split")(0, 1, "building the interactions")
    data_fingerprint = ws.fingerprint(EVENTS_TABLE)
    split = temporal_split(ws, **kwargs)
    _stage(callback, "split")(1, 1, "done")
    catalog = _catalog(ws) if model_name in CATALOG_MODELS else None
    validate = every > 0 and model.scores_during_fit
    curve: list[dict[str, float]] = []
    # Time the fit spends in on_fit (validation, the caller's drawing) is not training time.
    outside_seconds = 0.0
    fit_report = _stage(callback, "fit")

    def on_fit(step: int, total: int, info: str) -> None:
        nonlocal outside_seconds
        began = time.perf_counter()
        point = point_of(info)
        if EPOCH in point:
            epoch = point[EPOCH]
            # The last epoch is scored once the fit is over.
            if validate and step < total and epoch % every == 0:
                point.update(evaluate(model, split))
                info = ProgressInfo(
                    f"{info}, validation NDCG@{NDCG_K} {_text(point[NDCG_KEY])}", point
                )
            curve.append(point)
        fit_report(step, total, info)
        outside_seconds += time.perf_counter() - began

    train = split.train
    augmentation: dict[str, int] | None = None
    if augment is not None:
        train, augmentation = augment(split)
    model.fit(train, catalog=catalog, callback=on_fit)
    if augment is not None:
        # Rank from, and exclude, the users' real histories.
        model.train_ = split.train.matrix.tocsr()
    _stage(callback, "evaluate")(0, 1, "scoring the validation users")
    scores = evaluate(model, split)
    if validate and curve:
        curve[-1].update(scores)
        _stage(callback, "evaluate")(1, 1, ProgressInfo("done", curve[-1]))
    metrics: dict[str, Any] = {**scores, "fit_seconds": model.fit_seconds_ - outside_seconds}
    _stage(callback, "save")(0, 1, "writing the model")
    run_params = {
        "model": model_name,
        "hyperparameters": model.get_params(),
        "split": {"method": split.method, "requested": kwargs, **split.params},
        "data_fingerprint": data_fingerprint,
        "eval_every": every,
        "synthetic": augmentation,
    }
    run_id = _record(ws, name or model_name, model, split, run_params, metrics, curve)
    _stage(callback, "save")(1, 1, "done")
    return TrainedModel(
        run_id, name or model_name, model, split, metrics, run_params, _curve_frame(curve)
    )


def _text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _curve_frame(points: list[dict[str, Any]]) -> pd.DataFrame:
    """Curve points as a frame: ``epoch``, the training measures, the validation measures."""
    frame = pd.DataFrame(points)
    if frame.empty:
        return pd.DataFrame({EPOCH: pd.Series(dtype=float)})
    measures = sorted(set(frame.columns) - {EPOCH})
    training = [column for column in measures if column.startswith(TRAIN_PREFIX)]
    held_out = [column for column in measures if not column.startswith(TRAIN_PREFIX)]
    return frame[[EPOCH, *training, *held_out]].astype(float)


def _record(
    ws: Workspace,
    name: str,
    model: Recommender,
    split: Split,
    run_params: dict[str, Any],
    metrics: dict[str, Any],
    curve: list[dict[str, Any]],
) -> str:
    """Write the run folder in a staging folder, record the run, move the folder in place."""
    staging = ws.runs_dir / f"{_STAGING_PREFIX}{uuid.uuid4().hex}"
    try:
        model.save(staging / _MODEL_FOLDER)
        user_ids = np.asarray(split.train.user_ids, dtype=str)
        atomic_write_bytes(staging / _USER_IDS_FILE, _npz_bytes(user_ids=user_ids))
        atomic_write_json(staging / _CURVE_FILE, curve)
        run_id = ws.add_run(kind=MODEL_KIND, name=name, params=run_params, metrics=metrics)
        target = ws.runs_dir / run_id
        try:
            target.rmdir()  # add_run creates it empty
            os.replace(staging, target)
        except BaseException:
            _delete_row(ws, run_id)
            if target.is_dir() and not any(target.iterdir()):
                target.rmdir()
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return run_id


# Listing, loading, deleting -------------------------------------------------------------------


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
    if row is None:
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
        return _curve_frame([])
    try:
        points = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ModelError(f"cannot read the training curve of model {run_id!r}: {error}") from error
    return _curve_frame(points)


def load_model(ws: Workspace, run_id: str) -> Recommender:
    """The fitted model of run ``run_id``."""
    _run_row(ws, run_id)
    return Recommender.load(ws.runs_dir / run_id / _MODEL_FOLDER)


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
    )


_SPLIT_KEYS = ("cutoff", "valid_cutoff", "weights", "half_life_days")


def split_signature(ws: Workspace, run_id: str) -> tuple:
    """What must be equal for two models to rank over the same split: the data
    fingerprint and the split's cut-offs, weights and decay."""
    params = _run_row(ws, run_id)["params"]
    split = params.get("split", {})
    return (params.get("data_fingerprint"), *(str(split.get(key)) for key in _SPLIT_KEYS))


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


# Exploring ------------------------------------------------------------------------------------


def item_titles(ws: Workspace) -> dict[str, str]:
    """Item id -> title (empty when unknown) from the workspace's ``catalog``."""
    with ws.connect() as con:
        if not relation_exists(con, CATALOG_TABLE):
            return {}
        columns = {row[0] for row in con.execute(f"DESCRIBE {CATALOG_TABLE}").fetchall()}
        title = "coalesce(CAST(title AS VARCHAR), '')" if "title" in columns else "''"
        rows = con.execute(f"SELECT item_id, {title} FROM {CATALOG_TABLE}").fetchall()
    return {str(item): text for item, text in rows}


def _ranked_frame(
    model: Recommender, idx: np.ndarray, scores: np.ndarray, titles: Mapping[str, str]
) -> pd.DataFrame:
    keep = idx >= 0
    item_ids = [str(model.item_ids_[i]) for i in idx[keep]]
    return pd.DataFrame(
        {
            "rank": np.arange(1, int(keep.sum()) + 1),
            "item_id": item_ids,
            "title": [titles.get(item, "") for item in item_ids],
            "score": scores[keep].astype(float),
        }
    )


def similar_items(
    model: Recommender, item_idx: int, titles: Mapping[str, str], k: int = 10
) -> pd.DataFrame:
    """The ``k`` items the model ranks highest for a history of the one item ``item_idx``.

    Returns a frame with rank, item_id, title and score; the item itself is left out.
    """
    if not 0 <= item_idx < model.n_items:
        raise ModelError(f"item index {item_idx} out of range 0..{model.n_items - 1}")
    history = sp.csr_matrix(
        (np.ones(1, dtype=np.float32), ([0], [item_idx])), shape=(1, model.n_items)
    )
    idx, scores = model.recommend(
        np.zeros(1, dtype=np.int64), k, exclude_seen=True, history=history
    )
    return _ranked_frame(model, idx[0], scores[0], titles)


def user_history(model: Recommender, user_idx: int, titles: Mapping[str, str]) -> pd.DataFrame:
    """The training interactions of user row ``user_idx``: item_id, title, weight (largest
    first)."""
    row = model.train_[int(user_idx)].tocsr()
    order = np.lexsort((row.indices, -row.data))
    item_ids = [str(model.item_ids_[i]) for i in row.indices[order]]
    return pd.DataFrame(
        {
            "item_id": item_ids,
            "title": [titles.get(item, "") for item in item_ids],
            "weight": row.data[order].astype(float),
        }
    )


def user_recommendations(
    model: Recommender, user_idx: int, titles: Mapping[str, str], k: int = 10
) -> pd.DataFrame:
    """The model's top ``k`` for user row ``user_idx``, items of the history left out."""
    idx, scores = model.recommend(np.array([int(user_idx)]), k, exclude_seen=True)
    return _ranked_frame(model, idx[0], scores[0], titles)
