"""Train a model on the workspace's data, score it on validation, keep it as a run.

The run is recorded by :func:`core.models.runs.record_run`. Nothing is written until the model
is fitted and scored, so a failed or cancelled training (a callback raising
:class:`core.errors.TrainingCancelled`) leaves the earlier runs as they were and no trace.

The split is a :func:`core.data.splits.temporal_split` (by default 70% train, 10% validation,
20% test of the timed interaction events). It is deterministic: the same parameters on the
same data give the same split, and :func:`core.models.runs.run_split` rebuilds the split of a
run from the cut-off times it recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.checks import check_whole
from core.data.interactions import Interactions
from core.data.splits import Split, split_kwargs, temporal_split
from core.data.workspace import Workspace
from core.errors import ModelError
from core.metrics import hit_matrix, ndcg_at_k, recall_at_k, relevant_counts
from core.models.base import Recommender
from core.models.registry import make_model
from core.models.runs import NDCG_K, NDCG_KEY, RECALL_K, RECALL_KEY, curve_frame, record_run
from core.progress import EPOCH, ProgressCallback, ProgressInfo, point_of, retext
from core.schema import CATALOG_TABLE, EVENTS_TABLE

# Models whose fit reads the catalogue.
CATALOG_MODELS = frozenset({"content_tfidf", "semantic_bert"})
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

    Items seen in training are excluded from the lists unless the split kept repeats
    (:attr:`Split.exclude_seen`); a user the model cannot rank anything for scores 0.
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
        recommended, _ = model.recommend(chunk, k, exclude_seen=split.exclude_seen)
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


def workspace_params(
    ws: Workspace, model_name: str, params: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``params`` with what the workspace decides filled in: for ``semantic_bert`` the
    embedding cache folder and, left out or None, the encoder the default stands for."""
    hyperparameters = dict(params or {})
    if model_name == "semantic_bert":
        if hyperparameters.get("cache_dir") is None:
            hyperparameters["cache_dir"] = str(ws.artifacts_dir / "embeddings")
        if hyperparameters.get("encoder") is None:
            # Imported here: the encoders module loads torch.
            from core.text.encoders import default_encoder_spec

            hyperparameters["encoder"] = default_encoder_spec()
    return hyperparameters


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
    model = make_model(model_name, **workspace_params(ws, model_name, params))
    every = 0 if eval_every is None else check_whole("eval_every", eval_every, 0, ModelError)
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
    run_id = record_run(
        ws, name or model_name, model, split, run_params, metrics, curve, _stage(callback, "save")
    )
    _stage(callback, "save")(1, 1, "done")
    return TrainedModel(
        run_id, name or model_name, model, split, metrics, run_params, curve_frame(curve)
    )


def _text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
