"""The workspace's engine setting: the local engine (DuckDB, implicit), or Spark on a master.

Stored as ``engine.json`` in the workspace folder; a workspace without it uses the local engine.
Saving checks the master URL (:func:`core.engines.spark.session.check_master`) but starts
nothing: Spark starts when a step runs on it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.data.workspace import Workspace, atomic_write_json
from core.engines.spark.session import DEFAULT_MASTER, check_master, spark_session
from core.errors import SparkEngineError

LOCAL = "local"
SPARK = "spark"
ENGINES: tuple[str, ...] = (LOCAL, SPARK)
SETTING_FILE = "engine.json"


@dataclass(frozen=True)
class EngineSetting:
    """Which engine a workspace's steps run on, and Spark's master URL."""

    engine: str = LOCAL
    master: str = DEFAULT_MASTER

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise SparkEngineError(
                f"engine must be one of {', '.join(ENGINES)}, not {self.engine!r}"
            )
        object.__setattr__(self, "master", check_master(self.master))

    @property
    def label(self) -> str:
        return "local (DuckDB, implicit)" if self.engine == LOCAL else f"Spark on {self.master}"


def _path(ws: Workspace) -> Path:
    return Path(ws.path) / SETTING_FILE


def read_engine(ws: Workspace) -> EngineSetting:
    """The workspace's setting; the local engine when none was saved (or it is unreadable)."""
    try:
        stored = json.loads(_path(ws).read_text())
        return EngineSetting(
            str(stored.get("engine", LOCAL)), str(stored.get("master", DEFAULT_MASTER))
        )
    except (OSError, ValueError, SparkEngineError):
        return EngineSetting()


def save_engine(ws: Workspace, setting: EngineSetting) -> EngineSetting:
    """Store ``setting`` in the workspace and return it."""
    atomic_write_json(_path(ws), asdict(setting))
    return setting


def start_spark(ws: Workspace) -> Any:
    """The Spark session of the workspace's master (``local[*]`` under the local engine), for
    steps that run only on Spark (the ``als_spark`` model)."""
    setting = read_engine(ws)
    return spark_session(setting.master if setting.engine == SPARK else DEFAULT_MASTER)
