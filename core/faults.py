"""Named kill points in the write paths, for the crash-consistency tests.

A write path calls :func:`kill_point` at the moments where a crash would be most harmful (files
staged but not recorded, a transaction not yet committed). When the environment variable
:data:`KILL_ENV_VAR` names that point, the process kills itself with SIGKILL on the spot, as a
power cut or an out-of-memory kill would; otherwise the call only reads the environment.
"""

from __future__ import annotations

import os
import signal

KILL_ENV_VAR = "SHOPSYNTH_KILL_AT"


def kill_point(name: str) -> None:
    """Kill this process with SIGKILL if ``$SHOPSYNTH_KILL_AT`` equals ``name``."""
    if os.environ.get(KILL_ENV_VAR) == name:
        os.kill(os.getpid(), signal.SIGKILL)
