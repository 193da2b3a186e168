"""The fine-tuned encoders saved in a workspace: where they are, listing, curves, deleting.

:func:`core.text.finetune.finetune_encoder` saves each encoder in
``<workspace>/artifacts/encoders/<name>/`` with an ``encoder.json`` holding its settings, its
retrieval history and its training curve.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.workspace import Workspace, check_name
from core.errors import FinetuneError
from core.progress import EPOCH, TRAIN_LOSS
from core.text.encoders import ENCODER_META_FILE

ENCODERS_FOLDER = "encoders"


def encoders_dir(workspace: Workspace) -> Path:
    """Folder of the fine-tuned encoders of ``workspace``."""
    return workspace.artifacts_dir / ENCODERS_FOLDER


def encoder_path(workspace: Workspace, name: str) -> Path:
    """Folder of the fine-tuned encoder ``name``; raises FinetuneError when there is none."""
    folder = encoders_dir(workspace) / check_name(name)
    if not (folder / ENCODER_META_FILE).is_file():
        raise FinetuneError(f"no fine-tuned encoder {name!r} in workspace {workspace.name!r}")
    return folder


def delete_encoder(workspace: Workspace, name: str) -> None:
    """Delete the fine-tuned encoder ``name`` (its cached embeddings stay until cleared)."""
    shutil.rmtree(encoder_path(workspace, name))


def list_encoders(workspace: Workspace) -> pd.DataFrame:
    """The fine-tuned encoders of ``workspace``, newest first.

    Columns: ``name``, ``path``, ``model_id``, ``base_encoder``, ``created_at`` (UTC
    timestamps), the final retrieval metrics and ``epochs``.
    """
    rows = []
    root = encoders_dir(workspace)
    for meta_path in sorted(root.glob(f"*/{ENCODER_META_FILE}")) if root.is_dir() else []:
        meta = json.loads(meta_path.read_text())
        final = (meta.get("history") or [{}])[-1]
        rows.append(
            {
                "name": meta_path.parent.name,
                "path": str(meta_path.parent),
                "model_id": meta.get("model_id"),
                "base_encoder": meta.get("base_encoder"),
                "created_at": meta.get("created_at"),
                **{key: value for key, value in final.items() if "@" in key},
                "epochs": meta.get("config", {}).get("epochs"),
            }
        )
    columns = ["name", "path", "model_id", "base_encoder", "created_at"]
    frame = pd.DataFrame(rows, columns=None if rows else columns)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame.sort_values("created_at", ascending=False, ignore_index=True)


def load_encoder_meta(folder: Path) -> dict[str, Any]:
    """The ``encoder.json`` of a saved encoder."""
    return json.loads((Path(folder) / ENCODER_META_FILE).read_text())


def encoder_curve(workspace: Workspace, name: str) -> pd.DataFrame:
    """The training curve of the fine-tuned encoder ``name``.

    One row per training step (``epoch`` as a fraction, ``train_loss`` of the step's batch)
    and per evaluation (whole ``epoch``, 0 before training; ``recall@k``, ``mrr@k``,
    ``ndcg@k`` on the held-out queries); NaN where a row has no such value.
    """
    return curve_frame(load_encoder_meta(encoder_path(workspace, name)).get("curve") or [])


def curve_frame(points: list[dict[str, float]]) -> pd.DataFrame:
    """Curve points as a frame: ``epoch``, ``train_loss``, then the retrieval metrics."""
    frame = pd.DataFrame(points)
    if frame.empty:
        return pd.DataFrame({EPOCH: pd.Series(dtype=float), TRAIN_LOSS: pd.Series(dtype=float)})
    metrics = sorted(set(frame.columns) - {EPOCH, TRAIN_LOSS})
    return frame.reindex(columns=[EPOCH, TRAIN_LOSS, *metrics]).astype(float)
