"""Staged uploads: removed when loaded or replaced, and with their process's staging folder."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import streamlit as st

from tests.app.conftest import ROOT
from ui import state, uploads


class FakeUpload(io.BytesIO):
    """What the uploader returns: a readable file with an id and a name."""

    def __init__(self, content: bytes, name: str, file_id: str) -> None:
        super().__init__(content)
        self.name = name
        self.file_id = file_id


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private system temporary folder, and a fresh staging folder for this process."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(uploads, "_process_folder", None)
    monkeypatch.setattr(uploads.atexit, "register", lambda *args, **kwargs: None)
    st.session_state[state.UPLOAD] = None
    return tmp_path


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_replaced_upload_is_removed(temp_root: Path) -> None:
    first = uploads.staged(FakeUpload(b"user_id,item_id\nu,i\n", "../a b.csv", "1"), state.UPLOAD)
    assert first.read_bytes() == b"user_id,item_id\nu,i\n"
    assert first.name == "a_b.csv"
    assert first.parent.parent == temp_root / f"{uploads.PROCESS_PREFIX}{os.getpid()}"
    second = uploads.staged(FakeUpload(b"x,y\n", "b.csv", "2"), state.UPLOAD)
    assert not first.parent.exists()
    assert second.is_file()
    uploads.discard_upload(state.UPLOAD)  # after a load, or when the upload is cleared
    assert not second.parent.exists()
    assert st.session_state[state.UPLOAD] is None


def test_folders_of_dead_processes_are_swept(temp_root: Path) -> None:
    dead = temp_root / f"{uploads.PROCESS_PREFIX}{_dead_pid()}"
    live = temp_root / f"{uploads.PROCESS_PREFIX}{os.getppid()}"
    other = temp_root / f"{uploads.PROCESS_PREFIX}notapid"
    for folder in (dead, live, other):
        (folder / f"{uploads.UPLOAD_PREFIX}x").mkdir(parents=True)
        (folder / f"{uploads.UPLOAD_PREFIX}x" / "events.csv").write_text("secret,data\n")
    uploads.staging_folder()
    assert not dead.exists()
    assert live.exists() and other.exists()


def test_the_staging_folder_is_removed_when_the_process_exits(tmp_path: Path) -> None:
    script = (
        "from ui.uploads import staging_folder\n"
        "folder = staging_folder()\n"
        "(folder / 'upload.csv').write_text('user_id,item_id\\n')\n"
        "print(folder)\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.strip())
    assert folder.parent == tmp_path
    assert folder.name.startswith(uploads.PROCESS_PREFIX)
    assert not folder.exists()
