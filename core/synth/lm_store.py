"""Trained language models of a workspace: save, load, list and delete them by name."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.workspace import Workspace, check_name
from core.errors import LMError
from core.synth.lm import LM_META_FILE, TextLM

LMS_FOLDER = "synth_lms"


def lms_dir(workspace: Workspace) -> Path:
    """Folder of the trained language models of ``workspace``."""
    return workspace.artifacts_dir / LMS_FOLDER


def lm_path(workspace: Workspace, name: str) -> Path:
    """Folder of the language model ``name``; raises LMError when there is none."""
    folder = lms_dir(workspace) / check_name(name)
    if not (folder / LM_META_FILE).is_file():
        raise LMError(f"no language model {name!r} in workspace {workspace.name!r}: train one")
    return folder


def save_lm(workspace: Workspace, name: str, lm: TextLM, metadata: dict[str, Any]) -> Path:
    """Save ``lm`` as ``name`` in ``workspace`` (replacing a model of that name)."""
    stamp = {"name": name, "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
    return lm.save(lms_dir(workspace) / check_name(name), {**metadata, **stamp})


def load_lm(workspace: Workspace, name: str) -> TextLM:
    """The language model ``name`` of ``workspace``."""
    return TextLM.load(lm_path(workspace, name))


def delete_lm(workspace: Workspace, name: str) -> None:
    """Delete the language model ``name``."""
    shutil.rmtree(lm_path(workspace, name))


def list_lms(workspace: Workspace, task: str | None = None) -> pd.DataFrame:
    """The language models of ``workspace`` (of one ``task`` when given), newest first.

    Columns: ``name``, ``task``, ``created_at``, ``n_train``, ``n_parameters``, ``epochs``,
    ``train_loss``, ``valid_loss`` (of the last epoch), ``path``.
    """
    columns = ["name", "task", "created_at", "n_train", "n_parameters", "epochs", "train_loss",
               "valid_loss", "path"]  # fmt: skip
    rows = []
    root = lms_dir(workspace)
    for meta_path in sorted(root.glob(f"*/{LM_META_FILE}")) if root.is_dir() else []:
        meta = json.loads(meta_path.read_text())
        if task is not None and meta.get("task") != task:
            continue
        last = (meta.get("history") or [{}])[-1]
        rows.append(
            {
                "name": meta_path.parent.name,
                "task": meta.get("task"),
                "created_at": meta.get("created_at"),
                "n_train": meta.get("n_train"),
                "n_parameters": meta.get("n_parameters"),
                "epochs": last.get("epoch"),
                "train_loss": last.get("train_loss"),
                "valid_loss": last.get("valid_loss"),
                "path": str(meta_path.parent),
            }
        )
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("created_at", ascending=False, ignore_index=True)
