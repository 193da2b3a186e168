"""Parameter inputs built from code: help texts read from numpydoc docstrings, and the choice
of a text encoder."""

from __future__ import annotations

import inspect
import re

import pandas as pd
import streamlit as st

from core.data.workspace import Workspace
from ui import cache

# ``literal`` and :role:`target` markup, shown as Markdown code.
_RST_ROLE = re.compile(r"(?::\w+:)?``?([^`]+)``?")
# A section ("Parameters", "Attributes") of a numpydoc docstring, up to the next one or the end.
_DOC_SECTION = r"{}\n-+\n(.*?)(?=\n\S[^\n]*\n-+\n|\Z)"


def parameter_help(cls: type, section: str = "Parameters") -> dict[str, str]:
    """Text of each entry of the numpydoc ``section`` of ``cls``'s docstring."""
    match = re.search(_DOC_SECTION.format(section), inspect.getdoc(cls) or "", re.S)
    if match is None:
        return {}
    parts: dict[str, list[str]] = {}
    names: list[str] = []
    for line in match.group(1).splitlines():
        if line and not line[0].isspace():
            names = [name.strip() for name in line.split(":")[0].split(",")]
            for name in names:
                parts[name] = []
        elif line.strip():
            for name in names:
                parts[name].append(line.strip())
    return {name: _RST_ROLE.sub(r"`\1`", " ".join(words)) for name, words in parts.items()}


_ENCODER_LABELS = {
    "minilm": "Pretrained all-MiniLM-L6-v2",
    "tiny": "Tiny test encoder (random weights)",
}


def encoder_choice(ws: Workspace, label: str, key: str, help_text: str) -> str:
    """A select of the text encoders: the pretrained default and the workspace's fine-tuned
    ones. Returns the chosen encoder as :func:`core.text.encoders.load_encoder` takes it.

    Imports torch on first use (through :func:`ui.cache.encoders`).
    """
    from core.text.encoders import default_encoder_spec

    default = default_encoder_spec()
    labels = {default: _ENCODER_LABELS.get(default, default)}
    listed = cache.encoders(ws)
    ndcg = next((column for column in listed.columns if column.startswith("ndcg@")), None)
    for row in listed.to_dict("records"):
        scored = ndcg is not None and pd.notna(row[ndcg])
        score = f" · {ndcg.upper()} {row[ndcg]:.3f}" if scored else ""
        labels[row["path"]] = f"Fine-tuned {row['name']}{score}"
    return st.selectbox(label, list(labels), format_func=labels.get, key=key, help=help_text)
