"""Workspace: a folder holding one DuckDB database, artifact folders and a run registry.

A workspace lives at ``<home>/<name>``; ``home`` defaults to ``./workspace`` and is overridden by
the ``SHOPSYNTH_HOME`` environment variable. Every step that changes the database does so inside
:meth:`Workspace.transaction`, so a failed step leaves the workspace exactly as it was, and every
file is written under a temporary name and then renamed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from core.data.runs import RUNS_DDL
from core.errors import WorkspaceError
from core.schema import CLEANING_REPORTS_TABLE, DATASET_TABLE, RUNS_TABLE

HOME_ENV_VAR = "SHOPSYNTH_HOME"
# DuckDB's buffer pool per process; larger work spills to the workspace's tmp/ folder, so a
# multi-GB log loads in bounded memory (measured by benchmarks/bench_ingest.py).
MEMORY_ENV_VAR = "SHOPSYNTH_DUCKDB_MEMORY"
DEFAULT_MEMORY_LIMIT = "256MB"
DEFAULT_HOME = Path("workspace")
DEFAULT_NAME = "default"
DB_FILENAME = "shopsynth.duckdb"
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

# Bookkeeping tables created with every workspace; data tables are created by the steps.
_BOOKKEEPING_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {DATASET_TABLE} (
        name VARCHAR, source VARCHAR, preset VARCHAR, mapping VARCHAR,
        catalog_source VARCHAR, loaded_at TIMESTAMP, n_events BIGINT, n_items BIGINT,
        notes VARCHAR)""",
    f"""CREATE TABLE IF NOT EXISTS {CLEANING_REPORTS_TABLE} (
        report_id VARCHAR, created_at TIMESTAMP, step INTEGER, rule VARCHAR,
        parameter VARCHAR, rows_before BIGINT, rows_after BIGINT, removed BIGINT,
        description VARCHAR)""",
    RUNS_DDL,
)


def workspace_home() -> Path:
    """Folder that holds the named workspaces (``$SHOPSYNTH_HOME`` or ``./workspace``)."""
    return Path(os.environ.get(HOME_ENV_VAR) or DEFAULT_HOME)


def list_workspaces(home: Path | None = None) -> list[str]:
    """Names of the workspaces under ``home``, sorted."""
    root = Path(home) if home is not None else workspace_home()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / DB_FILENAME).is_file())


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid workspace or artifact name, else raise WorkspaceError."""
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        raise WorkspaceError(
            f"invalid name {name!r}: use 1-64 letters, digits, '-' or '_', starting with a "
            "letter or digit"
        )
    return name


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: Path, payload: Any) -> Path:
    """Write ``payload`` as indented UTF-8 JSON, atomically."""
    text = json.dumps(payload, indent=2, sort_keys=True, default=str)
    return atomic_write_bytes(path, text.encode("utf-8"))


@dataclass(frozen=True)
class DatasetInfo:
    """What the active dataset is and where it came from."""

    name: str
    source: str
    preset: str
    mapping: dict[str, str]
    catalog_source: str | None
    loaded_at: datetime
    n_events: int
    n_items: int
    notes: str = ""


def replace_folder(source: Path, target: Path) -> None:
    """Move ``source`` to ``target``, removing an existing ``target`` only once ``source`` is in."""
    if not target.exists():
        os.replace(source, target)
        return
    retired = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.old"
    os.replace(target, retired)
    try:
        os.replace(source, target)
    except BaseException:
        os.replace(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


class Workspace:
    """A named folder with ``shopsynth.duckdb``, ``artifacts/`` and ``runs/``.

    Parameters
    ----------
    path : Path
        Folder of the workspace. Use :meth:`open` to create it and its tables.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def open(cls, name: str = DEFAULT_NAME, home: Path | None = None) -> Workspace:
        """Open (creating if needed) the workspace ``name`` under ``home``."""
        root = Path(home) if home is not None else workspace_home()
        workspace = cls(root / check_name(name))
        try:
            workspace.artifacts_dir.mkdir(parents=True, exist_ok=True)
            workspace.runs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise WorkspaceError(
                f"cannot create workspace folder {workspace.path}: {error}"
            ) from error
        with workspace.connect() as con:
            for ddl in _BOOKKEEPING_DDL:
                con.execute(ddl)
        return workspace

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def db_path(self) -> Path:
        return self.path / DB_FILENAME

    @property
    def artifacts_dir(self) -> Path:
        return self.path / "artifacts"

    @property
    def runs_dir(self) -> Path:
        return self.path / "runs"

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh DuckDB connection to the workspace database, closed on exit.

        Connections in one process share the database, so each thread may hold its own.
        """
        try:
            con = duckdb.connect(str(self.db_path))
        except duckdb.Error as error:
            raise WorkspaceError(
                f"cannot open {self.db_path}: {error}. Close other programs using this "
                "workspace, or choose another one."
            ) from error
        # Row order of a table is never relied on (queries say ORDER BY): letting DuckDB write
        # in any order makes large CREATE TABLE ... AS SELECT about twice as fast.
        con.execute("SET preserve_insertion_order = false")
        try:
            con.execute(
                "SET memory_limit = ?", [os.environ.get(MEMORY_ENV_VAR) or DEFAULT_MEMORY_LIMIT]
            )
        except duckdb.Error as error:
            con.close()
            raise WorkspaceError(
                f"invalid {MEMORY_ENV_VAR}: {error}; use a size such as 512MB or 2GB"
            ) from error
        con.execute("SET temp_directory = ?", [str(self.path / "tmp")])
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside BEGIN ... COMMIT; any exception rolls every change back."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def table_exists(self, table: str) -> bool:
        with self.connect() as con:
            return relation_exists(con, table)

    def row_count(self, table: str) -> int:
        """Rows in ``table``, 0 if it does not exist."""
        with self.connect() as con:
            if not relation_exists(con, table):
                return 0
            return int(con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])

    def read_table(self, table: str, limit: int | None = None) -> pd.DataFrame:
        """``table`` as a DataFrame (optionally its first ``limit`` rows)."""
        with self.connect() as con:
            if not relation_exists(con, table):
                raise WorkspaceError(f"table {table!r} not found in workspace {self.name!r}")
            sql = f'SELECT * FROM "{table}"' + (f" LIMIT {int(limit)}" if limit else "")
            return con.execute(sql).df()

    def fingerprint(self, *tables: str) -> str:
        """A content hash of ``tables`` (row count and order-independent row hashes).

        Used as a cache key and to prove a failed step changed nothing.
        """
        parts = []
        with self.connect() as con:
            for table in tables:
                if not relation_exists(con, table):
                    parts.append(f"{table}:absent")
                    continue
                count, digest = con.execute(
                    f'SELECT count(*), coalesce(bit_xor(hash(t)), 0) FROM "{table}" t'
                ).fetchone()
                parts.append(f"{table}:{count}:{digest}")
        return "|".join(parts)

    # Dataset metadata -------------------------------------------------------------------------

    def dataset_info(self) -> DatasetInfo | None:
        """The active dataset, or None when nothing has been loaded."""
        with self.connect() as con:
            row = con.execute(
                f"SELECT name, source, preset, mapping, catalog_source, loaded_at, n_events, "
                f"n_items, notes FROM {DATASET_TABLE} ORDER BY loaded_at DESC LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        return DatasetInfo(
            name=row[0],
            source=row[1],
            preset=row[2],
            mapping=json.loads(row[3] or "{}"),
            catalog_source=row[4],
            loaded_at=row[5],
            n_events=int(row[6]),
            n_items=int(row[7]),
            notes=row[8] or "",
        )

    @staticmethod
    def write_dataset_info(con: duckdb.DuckDBPyConnection, info: DatasetInfo) -> None:
        """Replace the dataset record; call inside the transaction that loads the data."""
        con.execute(f"DELETE FROM {DATASET_TABLE}")
        con.execute(
            f"INSERT INTO {DATASET_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                info.name,
                info.source,
                info.preset,
                json.dumps(info.mapping, sort_keys=True),
                info.catalog_source,
                info.loaded_at,
                info.n_events,
                info.n_items,
                info.notes,
            ],
        )

    # Runs -------------------------------------------------------------------------------------

    def add_run(
        self,
        kind: str,
        name: str,
        params: dict[str, Any],
        metrics: dict[str, Any] | None = None,
        status: str = "finished",
    ) -> str:
        """Record a run (training, generation, evaluation...) and return its id.

        The run's files go in ``runs/<run_id>/``, created here.
        """
        run_id = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
        artifact_dir = self.runs_dir / run_id
        artifact_dir.mkdir(parents=True, exist_ok=True)
        with self.connect() as con:
            con.execute(
                f"INSERT INTO {RUNS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run_id,
                    kind,
                    name,
                    datetime.now(UTC).replace(tzinfo=None),
                    status,
                    json.dumps(params, sort_keys=True, default=str),
                    json.dumps(metrics or {}, sort_keys=True, default=str),
                    str(artifact_dir),
                ],
            )
        return run_id

    def record_run(
        self,
        kind: str,
        name: str,
        params: dict[str, Any],
        metrics: dict[str, Any] | None,
        write_files: Callable[[Path], None],
    ) -> str:
        """Write a run's files with ``write_files(folder)``, then record the run.

        The files go to a staging folder first; the run is recorded and the folder moved to
        ``runs/<run_id>/`` only when ``write_files`` returns, so a failure leaves no run and no
        folder behind.
        """
        staging = self.runs_dir / f".staging-{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        try:
            write_files(staging)
            run_id = self.add_run(kind=kind, name=name, params=params, metrics=metrics)
            target = self.runs_dir / run_id
            try:
                target.rmdir()  # add_run creates it empty
                os.replace(staging, target)
            except OSError:
                self.delete_run(run_id)
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return run_id

    def delete_run(self, run_id: str) -> None:
        """Remove run ``run_id`` from ``runs`` and delete its folder (if it is one of ours)."""
        with self.connect() as con:
            con.execute(f"DELETE FROM {RUNS_TABLE} WHERE run_id = ?", [run_id])
        folder = self.runs_dir / run_id
        if run_id and folder.resolve().parent == self.runs_dir.resolve():
            shutil.rmtree(folder, ignore_errors=True)

    def run_row(self, run_id: str, kind: str | None = None) -> dict[str, Any] | None:
        """The ``runs`` row of ``run_id`` (params and metrics parsed), or None."""
        sql = f"SELECT run_id, kind, name, created_at, params, metrics FROM {RUNS_TABLE}"
        sql += " WHERE run_id = ?" + (" AND kind = ?" if kind is not None else "")
        with self.connect() as con:
            row = con.execute(sql, [run_id] + ([kind] if kind is not None else [])).fetchone()
        if row is None:
            return None
        return {
            "run_id": row[0],
            "kind": row[1],
            "name": row[2],
            "created_at": row[3],
            "params": json.loads(row[4] or "{}"),
            "metrics": json.loads(row[5] or "{}"),
        }

    def list_runs(self, kind: str | None = None) -> pd.DataFrame:
        """Runs, newest first, optionally of one ``kind``."""
        with self.connect() as con:
            sql = f"SELECT * FROM {RUNS_TABLE}"
            args: list[Any] = []
            if kind is not None:
                sql += " WHERE kind = ?"
                args.append(kind)
            return con.execute(sql + " ORDER BY created_at DESC", args).df()


def drop_relation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the table or view ``name`` if there is one."""
    rows = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()
    if rows:
        kind = "VIEW" if rows[0][0] == "VIEW" else "TABLE"
        con.execute(f'DROP {kind} "{name}"')


def relation_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the workspace database has a (non-temporary) table or view called ``name``."""
    row = con.execute(
        "SELECT count(*) FROM (SELECT table_name AS name FROM duckdb_tables() WHERE NOT temporary "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT temporary AND NOT internal) "
        "WHERE name = ?",
        [name],
    ).fetchall()[0]
    return bool(row[0])
