"""Uploaded files staged on disk: each upload is copied once to a private temporary folder
outside any workspace, which is removed after a successful load or when the upload is
replaced or cleared."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from ui.text import code

# Temporary folders holding uploads, outside any workspace.
UPLOAD_PREFIX = "shopsynth-upload-"
# Characters kept in the temporary copy of an uploaded file's name.
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def staged(uploaded: Any, slot: str) -> Path | None:
    """The path of the staged copy of ``uploaded`` (a Streamlit ``UploadedFile`` or None),
    kept in session slot ``slot``; copied again only when the upload changes."""
    current = st.session_state[slot]
    if current is not None and uploaded is not None and current["file_id"] == uploaded.file_id:
        path = Path(current["path"])
        if path.is_file():
            return path
    discard_upload(slot)
    if uploaded is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix=UPLOAD_PREFIX))
    path = folder / (_SAFE_NAME.sub("_", Path(uploaded.name).name) or "upload")
    with path.open("wb") as handle:
        shutil.copyfileobj(uploaded, handle, length=16 * 1024 * 1024)
    st.session_state[slot] = {"file_id": uploaded.file_id, "path": str(path)}
    return path


def discard_upload(slot: str) -> None:
    """Delete the temporary copy of an upload, if any."""
    current = st.session_state.get(slot)
    if current is not None:
        shutil.rmtree(Path(current["path"]).parent, ignore_errors=True)
    st.session_state[slot] = None


def display_source(source: str) -> str:
    """A dataset source as Markdown: uploads show their file name, not the temporary path."""
    path = Path(source)
    if path.parent.name.startswith(UPLOAD_PREFIX):
        return f"upload {code(path.name)}"
    return code(source)
