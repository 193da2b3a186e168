"""Which server paths the dashboard may read: files under the allowed roots only.

The dashboard runs with the rights of the server process, not of the person typing a path, so a
path typed there must lie, once every symlink is resolved, under one of the allowed roots: the
workspace home and the folders named in ``SHOPSYNTH_DATA_ROOTS`` (``os.pathsep``-separated;
default: the directory the app was started from and the user's home). The command line does not
call this: it reads what its user names, with that user's rights.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.data.workspace import workspace_home
from core.errors import PathNotAllowedError

ROOTS_ENV_VAR = "SHOPSYNTH_DATA_ROOTS"


def allowed_roots() -> list[Path]:
    """The resolved folders under which the dashboard may read files.

    The workspace home, then the folders of ``$SHOPSYNTH_DATA_ROOTS`` (relative ones are taken
    from the current directory), or by default the current directory and the user's home. A
    default that is the filesystem root (an app started from ``/``) is left out, since it would
    allow every file; naming ``/`` in the setting allows it on purpose.
    """
    setting = os.environ.get(ROOTS_ENV_VAR, "")
    named = [Path(entry).expanduser() for entry in setting.split(os.pathsep) if entry.strip()]
    if named:
        folders = named
    else:
        folders = [folder for folder in (Path.cwd(), Path.home()) if folder.resolve() != Path("/")]
    roots: list[Path] = []
    for folder in (workspace_home(), *folders):
        resolved = folder.resolve()
        if resolved not in roots:
            roots.append(resolved)
    return roots


def check_allowed(path: str | Path) -> Path:
    """``path`` resolved (``~`` expanded, symlinks followed), if it lies under an allowed root.

    Returns the resolved path, so that what is read later is what was checked.

    Raises
    ------
    PathNotAllowedError
        The resolved path is outside every root of :func:`allowed_roots`; the message names the
        setting that widens them.
    """
    resolved = Path(path).expanduser().resolve()
    roots = allowed_roots()
    if any(resolved.is_relative_to(root) for root in roots):
        return resolved
    listed = ", ".join(str(root) for root in roots)
    raise PathNotAllowedError(
        f"{path} is outside the folders the dashboard may read ({listed}); move the file into "
        f"one of them, or add its folder to the {ROOTS_ENV_VAR} setting (folders separated by "
        f"'{os.pathsep}') and restart the dashboard"
    )
