"""Uploaded files staged on disk, outside any workspace, and removed when no longer needed.

Each upload is copied once to its own folder inside one staging folder per server process
(``<tmp>/shopsynth-uploads-<pid>``). The copy is removed after a successful load, and when the
upload is replaced or cleared. Streamlit has no hook for the end of a session, so the copies of
sessions that simply went away are removed with the whole staging folder when the process
exits (``atexit``); the folders of processes that died without exiting (killed) are swept when
the next process first stages an upload.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from ui.text import code

# Folder of one server process's uploads, under the system's temporary folder; + process id.
PROCESS_PREFIX = "shopsynth-uploads-"
# Folder of one staged upload, inside the process's folder.
UPLOAD_PREFIX = "shopsynth-upload-"
# Characters kept in the temporary copy of an uploaded file's name.
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")

_process_folder: Path | None = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sweep_stale(root: Path) -> list[Path]:
    """Remove the staging folders under ``root`` whose process no longer runs; returns them.

    Only folders owned by the current user are touched.
    """
    removed = []
    for folder in root.glob(f"{PROCESS_PREFIX}*"):
        pid = folder.name.removeprefix(PROCESS_PREFIX)
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        try:
            if folder.is_symlink() or folder.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def staging_folder() -> Path:
    """This process's staging folder: created (private) on first use, after sweeping the
    folders of dead processes, and removed when the process exits."""
    global _process_folder
    if _process_folder is None or not _process_folder.is_dir():
        root = Path(tempfile.gettempdir())
        sweep_stale(root)
        folder = root / f"{PROCESS_PREFIX}{os.getpid()}"
        folder.mkdir(mode=0o700, exist_ok=True)
        if _process_folder is None:
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _process_folder = folder
    return _process_folder


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
    folder = Path(tempfile.mkdtemp(prefix=UPLOAD_PREFIX, dir=staging_folder()))
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
