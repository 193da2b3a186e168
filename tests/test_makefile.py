"""`make run` prints the address Streamlit really serves on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _served_at(tmp_path: Path, **env: str) -> str:
    """What the Makefile's SERVER_URL snippet prints, from the project root."""
    makefile = (ROOT / "Makefile").read_text()
    snippet = re.search(r"^define SERVER_URL\n(.*?)^endef", makefile, re.S | re.M).group(1)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_SERVER_")}
    result = subprocess.run(
        [sys.executable, "-c", snippet],
        cwd=ROOT,
        env=clean | {"HOME": str(tmp_path)} | env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_run_prints_the_configured_port(tmp_path: Path) -> None:
    assert _served_at(tmp_path) == "127.0.0.1:8501"  # .streamlit/config.toml
    assert _served_at(tmp_path, STREAMLIT_SERVER_PORT="9123") == "127.0.0.1:9123"
    recipe = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "SERVER_URL" in recipe and ":8501" not in recipe
