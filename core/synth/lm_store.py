"""Trained text generators of a workspace: save, load, list and delete them by name.

A generator is a from-scratch GPT-2 (:class:`core.synth.lm.TextLM`, folder with ``lm.json``,
named ``lm:<name>`` as a generator) or a warm-started encoder-decoder
(:class:`core.synth.warm.WarmGenerator`, folder with ``warm.json``, named ``warm:<name>``).
"""

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
from core.synth.warm import WARM_META_FILE, WarmGenerator

LMS_FOLDER = "synth_lms"
LM_PREFIX = "lm:"
WARM_PREFIX = "warm:"
Generator = TextLM | WarmGenerator


def lms_dir(workspace: Workspace) -> Path:
    """Folder of the trained language models of ``workspace``."""
    return workspace.artifacts_dir / LMS_FOLDER


def lm_path(workspace: Workspace, name: str) -> Path:
    """Folder of the text generator ``name``; raises LMError when there is none."""
    folder = lms_dir(workspace) / check_name(name)
    if not (folder / LM_META_FILE).is_file() and not (folder / WARM_META_FILE).is_file():
        raise LMError(f"no language model {name!r} in workspace {workspace.name!r}: train one")
    return folder


def save_lm(workspace: Workspace, name: str, lm: Generator, metadata: dict[str, Any]) -> Path:
    """Save ``lm`` as ``name`` in ``workspace`` (replacing a model of that name)."""
    stamp = {"name": name, "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
    return lm.save(lms_dir(workspace) / check_name(name), {**metadata, **stamp})


def load_lm(workspace: Workspace, name: str) -> Generator:
    """The text generator ``name`` of ``workspace`` (either kind)."""
    folder = lm_path(workspace, name)
    if (folder / WARM_META_FILE).is_file():
        return WarmGenerator.load(folder)
    return TextLM.load(folder)


def delete_lm(workspace: Workspace, name: str) -> None:
    """Delete the language model ``name``."""
    shutil.rmtree(lm_path(workspace, name))


def list_lms(workspace: Workspace, task: str | None = None) -> pd.DataFrame:
    """The language models of ``workspace`` (of one ``task`` when given), newest first.

    Columns: ``name``, ``generator`` (``lm:<name>`` or ``warm:<name>``), ``architecture``
    (``gpt2`` or ``warm``), ``task``, ``created_at``, ``n_train``, ``n_parameters``,
    ``epochs``, ``train_loss``, ``valid_loss`` (of the last epoch), ``path``.
    """
    columns = ["name", "generator", "architecture", "task", "created_at", "n_train",
               "n_parameters", "epochs", "train_loss", "valid_loss", "path"]  # fmt: skip
    rows = []
    root = lms_dir(workspace)
    paths = [*root.glob(f"*/{LM_META_FILE}"), *root.glob(f"*/{WARM_META_FILE}")]
    for meta_path in sorted(paths) if root.is_dir() else []:
        meta = json.loads(meta_path.read_text())
        warm = meta_path.name == WARM_META_FILE
        if task is not None and meta.get("task") != task:
            continue
        last = (meta.get("history") or [{}])[-1]
        rows.append(
            {
                "name": meta_path.parent.name,
                "generator": (WARM_PREFIX if warm else LM_PREFIX) + meta_path.parent.name,
                "architecture": "warm" if warm else "gpt2",
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
