"""Fusion on a workspace: signals from trained models, validation candidates, saved variants.

A fused variant is a run of kind ``"fusion"``: the model runs it fuses, the rule
(``weighted``, ``rrf``, ``combmnz`` or the learned ``gate``), the normalisation, the fixed
weights and the candidate depth, plus the gate's weights when it has one. It ranks any users
of the models' split, so the A/B page compares it with the models themselves.

Weights are tuned on the validation part (the models were fitted on the training part), and
compared on the test part.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.data.runs import FUSION_KIND
from core.data.splits import Split
from core.data.workspace import Workspace, atomic_write_json
from core.errors import FusionError, ModelError
from core.fusion.candidates import DEFAULT_DEPTH, CandidateSet, build_candidates
from core.fusion.methods import METHODS, fuse
from core.fusion.normalise import NORMALISATIONS
from core.models.base import Recommender, ServedLists, popularity_lists
from core.models.runs import trained_models
from core.progress import ProgressCallback

if TYPE_CHECKING:
    from core.fusion.gate import SoftmaxGate

GATE = "gate"
FUSION_METHODS: tuple[str, ...] = (*METHODS, GATE)
_CONFIG_FILE = "fusion.json"
_GATE_FOLDER = "gate"


@dataclass(frozen=True)
class FusionSignals:
    """Trained models fused as signals, and the split they share."""

    split: Split
    models: dict[str, Recommender]
    run_ids: dict[str, str]


def fusion_signals(ws: Workspace, run_ids: Sequence[str]) -> FusionSignals:
    """The models of ``run_ids`` by signal name (their run names) and their shared split."""
    try:
        split, models = trained_models(ws, list(run_ids))
    except ModelError as error:
        raise FusionError(str(error)) from error
    return FusionSignals(split, models, dict(zip(models, run_ids, strict=True)))


def validation_users(split: Split) -> np.ndarray:
    """Users with at least one validation interaction, ascending."""
    if split.valid is None:
        raise FusionError("the models' split has no validation part to tune the fusion on")
    users = np.flatnonzero(np.diff(split.valid.matrix.tocsr().indptr) > 0).astype(np.int64)
    if users.size == 0:
        raise FusionError("no user has validation interactions; choose a larger validation part")
    return users


def validation_candidates(
    signals: FusionSignals, depth: int = DEFAULT_DEPTH, callback: ProgressCallback | None = None
) -> CandidateSet:
    """Candidates of every validation user from every signal."""
    return build_candidates(
        signals.models,
        validation_users(signals.split),
        depth,
        callback=callback,
        exclude_seen=signals.split.exclude_seen,
    )


def gate_features(
    split: Split, users: np.ndarray, names: Sequence[str] | None = None
) -> np.ndarray:
    """The learned gate's features of ``users`` from the training part.

    ``names`` picks the columns a gate was trained on (its ``feature_names_``; gates saved
    before a feature was added have fewer); every column of ``FEATURE_NAMES`` by default.
    """
    from core.fusion.gate import FEATURE_NAMES, user_features

    features = user_features(split.train, users)
    if names is None:
        return features
    unknown = [name for name in names if name not in FEATURE_NAMES]
    if unknown:
        raise FusionError(f"the gate uses features this version does not have: {unknown}")
    return features[:, [FEATURE_NAMES.index(name) for name in names]]


@dataclass(frozen=True)
class FusionConfig:
    """What a fused variant is: its signals' runs, rule, normalisation, weights, depth.

    ``cold_weights`` (optional, one per signal) fuse the cold candidates on their own
    (segment-aware weights, see :mod:`core.fusion.methods`); None fuses them like the others.
    """

    run_ids: tuple[str, ...]
    signal_names: tuple[str, ...]
    method: str
    normalisation: str
    weights: tuple[float, ...]
    depth: int = DEFAULT_DEPTH
    cold_weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.method not in FUSION_METHODS:
            raise FusionError(f"unknown method {self.method!r}; use {', '.join(FUSION_METHODS)}")
        if self.normalisation not in NORMALISATIONS:
            raise FusionError(
                f"unknown normalisation {self.normalisation!r}; use {', '.join(NORMALISATIONS)}"
            )
        if not len(self.run_ids) == len(self.signal_names) == len(self.weights) > 0:
            raise FusionError("a fusion needs one run id, signal name and weight per signal")
        if self.cold_weights is not None and len(self.cold_weights) != len(self.weights):
            raise FusionError("cold_weights needs one weight per signal")

    def describe(self) -> str:
        """Short text such as ``weighted (minmax): als 0.60, content 0.40``."""
        if self.method == GATE:
            return f"learned gate ({self.normalisation}) over {', '.join(self.signal_names)}"
        parts = ", ".join(
            f"{name} {weight:.2f}"
            for name, weight in zip(self.signal_names, self.weights, strict=True)
        )
        if self.cold_weights is not None:
            cold = ", ".join(
                f"{name} {weight:.2f}"
                for name, weight in zip(self.signal_names, self.cold_weights, strict=True)
            )
            parts = f"{parts}; cold items: {cold}"
        return f"{self.method} ({self.normalisation}): {parts}"


def save_fusion(
    ws: Workspace,
    name: str,
    config: FusionConfig,
    *,
    gate: SoftmaxGate | None = None,
    metrics: dict[str, Any] | None = None,
) -> str:
    """Keep ``config`` (and its gate) as a fusion run; returns the run id."""
    if config.method == GATE and gate is None:
        raise FusionError("train the learned gate before saving a gate fusion")

    def write(folder: Path) -> None:
        atomic_write_json(folder / _CONFIG_FILE, asdict(config))
        if config.method == GATE:
            gate.save(folder / _GATE_FOLDER)

    return ws.record_run(FUSION_KIND, name, asdict(config), metrics, write)


def list_fusions(ws: Workspace) -> pd.DataFrame:
    """Saved fused variants, newest first: run_id, name, created_at, description."""
    rows = []
    for run in ws.list_runs(kind=FUSION_KIND).itertuples(index=False):
        config = _config(json.loads(run.params or "{}"))
        rows.append(
            {
                "run_id": run.run_id,
                "name": run.name,
                "created_at": run.created_at,
                "description": config.describe(),
            }
        )
    return pd.DataFrame(rows, columns=["run_id", "name", "created_at", "description"])


def _config(params: dict[str, Any]) -> FusionConfig:
    return FusionConfig(
        run_ids=tuple(params["run_ids"]),
        signal_names=tuple(params["signal_names"]),
        method=params["method"],
        normalisation=params["normalisation"],
        weights=tuple(float(w) for w in params["weights"]),
        depth=int(params.get("depth", DEFAULT_DEPTH)),
        cold_weights=(
            None
            if params.get("cold_weights") is None
            else tuple(float(w) for w in params["cold_weights"])
        ),
    )


def load_fusion(ws: Workspace, run_id: str) -> tuple[str, FusionConfig, SoftmaxGate | None]:
    """The name, configuration and gate (None unless the rule is the gate) of a fusion run."""
    row = ws.run_row(run_id, kind=FUSION_KIND)
    if row is None:
        raise FusionError(f"no saved fusion {run_id!r} in workspace {ws.name!r}")
    config = _config(row["params"])
    gate = None
    if config.method == GATE:
        from core.fusion.gate import SoftmaxGate

        gate = SoftmaxGate.load(ws.runs_dir / run_id / _GATE_FOLDER)
    return row["name"], config, gate


def delete_fusion(ws: Workspace, run_id: str) -> None:
    """Remove a saved fusion."""
    if ws.run_row(run_id, kind=FUSION_KIND) is None:
        raise FusionError(f"no saved fusion {run_id!r} in workspace {ws.name!r}")
    ws.delete_run(run_id)


def serve_fused(
    models: dict[str, Recommender],
    config: FusionConfig,
    gate: SoftmaxGate | None,
    split: Split,
    user_idx: np.ndarray,
    k: int,
) -> ServedLists:
    """The fused top ``k`` of ``user_idx``, and which users got the cold-user fallback.

    A user without training history has nothing for the history-based signals to rank from,
    so the fused list would silently be whatever signal ranks without history. Such a user
    gets the popularity fallback (:func:`core.models.base.popularity_lists`) instead, marked
    in :attr:`ServedLists.fallback`.
    """
    missing = [name for name in config.signal_names if name not in models]
    if missing:
        raise FusionError(f"the fusion needs the models {', '.join(missing)}")
    users = np.atleast_1d(np.asarray(user_idx, dtype=np.int64))
    train = split.train.matrix.tocsr()
    fallback = np.diff(train.indptr)[users] == 0
    items, scores = popularity_lists(train, users, k)
    fused = ~fallback
    if fused.any():
        chosen = {name: models[name] for name in config.signal_names}
        candidates = build_candidates(
            chosen, users[fused], config.depth, exclude_seen=split.exclude_seen
        )
        cold_weights: Any = None
        if config.method == GATE:
            features = gate_features(split, candidates.users, gate.feature_names_)
            weights: Any = gate.weights(features)
            cold_weights = gate.cold_weights(features)
            method = "weighted"
        else:
            weights, method = np.asarray(config.weights, dtype=np.float32), config.method
            if config.cold_weights is not None:
                cold_weights = np.asarray(config.cold_weights, dtype=np.float32)
        ranking = fuse(
            candidates,
            weights,
            method=method,
            normalisation=config.normalisation,
            k=k,
            cold_weights=cold_weights,
        )
        items[fused], scores[fused] = ranking.items, ranking.scores
    return ServedLists(items, scores, fallback)
