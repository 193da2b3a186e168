"""Workspace: a folder holding one DuckDB database, artifact folders and a run registry.

A workspace lives at ``<home>/<name>``; ``home`` defaults to ``./workspace`` and is overridden by
the ``SHOPSYNTH_HOME`` environment variable. Every step that changes the database does so inside
:meth:`Workspace.transaction`, so a failed step leaves the workspace exactly as it was, and every
file is written under a temporary name and then renamed.

A run's files are written in ``runs/.staging-<pid>-<hex>/``, moved to ``runs/<run_id>/`` and
recorded in one transaction, so a crash at any moment leaves either the complete run or a
folder without a row, which :meth:`Workspace.open` removes (with staging folders of processes
that are gone). A full disk rolls the step back, reclaims what it wrote and raises
:class:`~core.errors.DiskFullError`; saving a run waits (bounded) for a workspace another
program is writing to.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from core.data.runs import RUNS_DDL
from core.errors import DiskFullError, WorkspaceError
from core.faults import kill_point
from core.progress import ProgressCallback
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
STAGING_PREFIX = ".staging-"
_RUN_ID_PATTERN = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{8}$")
_STAGING_PID = re.compile(rf"^{re.escape(STAGING_PREFIX)}(\d+)-[0-9a-f]+$")
# How long saving a run waits for another program to release the workspace: a fit of minutes
# is worth waiting for, and an ingest of a large log takes about that long.
SAVE_WAIT_SECONDS = 600.0
_LOCK_POLL_SECONDS = 1.0
# Text of DuckDB and OS errors that mean the disk (or the user's quota) is full.
_DISK_FULL_TEXT = ("no space left", "disk full", "disk is full", "not enough space", "quota")
# Staging folders and run folders that a save of this process is writing or moving: opening
# the workspace from another thread must not take them for leftovers of a crash.
_IN_FLIGHT: set[str] = set()
_IN_FLIGHT_LOCK = threading.Lock()

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


def disk_full_cause(error: BaseException) -> BaseException | None:
    """The error in ``error``'s chain (causes and contexts) saying the disk is full, or None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return current
        if isinstance(current, (OSError, duckdb.Error)) and any(
            text in str(current).lower() for text in _DISK_FULL_TEXT
        ):
            return current
        current = current.__cause__ or current.__context__
    return None


def disk_full_error(path: Path) -> DiskFullError:
    """The error to raise when the disk holding ``path`` filled up: its free space in MB."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free_mb = shutil.disk_usage(probe).free // 2**20
    return DiskFullError(
        f"no space left on {path}: {free_mb} MB free. The step was undone; free some disk "
        "space (or move the workspace to a larger disk) and run it again"
    )


def _is_lock_error(error: duckdb.Error) -> bool:
    return "lock" in str(error).lower()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def _in_flight(*names: str) -> Iterator[None]:
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT.update(names)
    try:
        yield
    finally:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.difference_update(names)


def new_run_id() -> str:
    """A fresh run id: UTC time to the second and eight random hex digits."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"


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
            workspace._remove_leftovers(con)
        return workspace

    def _remove_leftovers(self, con: duckdb.DuckDBPyConnection) -> None:
        """Remove what a crashed save left: staging folders of processes that are gone (or of
        this one, not being written) and run folders without a ``runs`` row.

        Runs only while ``con`` is open, so no other process is between moving a run folder
        in and committing its row (it would hold the database).
        """
        recorded = {row[0] for row in con.execute(f"SELECT run_id FROM {RUNS_TABLE}").fetchall()}
        with _IN_FLIGHT_LOCK:
            busy = set(_IN_FLIGHT)
        for folder in self.runs_dir.iterdir():
            if folder.name in busy or not folder.is_dir() or folder.is_symlink():
                continue
            if folder.name.startswith(STAGING_PREFIX):
                match = _STAGING_PID.match(folder.name)
                pid = int(match.group(1)) if match else None
                if pid is not None and pid != os.getpid() and _process_alive(pid):
                    continue
            elif not _RUN_ID_PATTERN.match(folder.name) or folder.name in recorded:
                continue
            shutil.rmtree(folder, ignore_errors=True)

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
    def connect(
        self, *, wait_s: float = 0.0, callback: ProgressCallback | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh DuckDB connection to the workspace database, closed on exit.

        Connections in one process share the database, so each thread may hold its own. One
        process at a time may open it: while another holds it, retry for up to ``wait_s``
        seconds, telling ``callback(waited, wait_s, text)`` about every try.
        """
        started = time.monotonic()
        while True:
            try:
                con = duckdb.connect(str(self.db_path))
                break
            except duckdb.Error as error:
                waited = time.monotonic() - started
                if _is_lock_error(error) and waited < wait_s:
                    if callback is not None:
                        callback(
                            int(waited),
                            int(wait_s),
                            f"another program is writing to workspace {self.name!r}; waiting "
                            f"to save ({waited:.0f} s of at most {wait_s:.0f} s)",
                        )
                    time.sleep(min(_LOCK_POLL_SECONDS, wait_s - waited))
                    continue
                waiting = f" (waited {waited:.0f} s)" if wait_s else ""
                raise WorkspaceError(
                    f"cannot open {self.db_path}{waiting}: {error}. Close other programs using "
                    "this workspace (or wait until their step ends), or choose another one."
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
    def transaction(
        self,
        step: str = "",
        *,
        wait_s: float = 0.0,
        callback: ProgressCallback | None = None,
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside BEGIN ... COMMIT; any exception rolls every change back.

        ``step`` names the kill point ``<step>:commit`` just before COMMIT (see
        :mod:`core.faults`). A full disk raises :class:`DiskFullError` once the changes are
        rolled back and the space they took is reclaimed. ``wait_s`` and ``callback``: see
        :meth:`connect`.
        """
        with self.connect(wait_s=wait_s, callback=callback) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
                if step:
                    kill_point(f"{step}:commit")
                con.execute("COMMIT")
            except BaseException as error:
                with suppress(duckdb.Error):  # a failed COMMIT has ended the transaction
                    con.execute("ROLLBACK")
                if disk_full_cause(error) is None:
                    raise
                _reclaim(con)
                raise disk_full_error(self.path) from error

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
        """Record a run (training, generation, evaluation...) with no files; return its id.

        Its folder ``runs/<run_id>/`` is created empty. A run with files, or with rows in other
        tables, is recorded by :meth:`record_run`.
        """
        return self.record_run(kind, name, params, metrics, status=status)

    def record_run(
        self,
        kind: str,
        name: str,
        params: dict[str, Any],
        metrics: dict[str, Any] | None,
        write_files: Callable[[Path], None] | None = None,
        write_rows: Callable[[duckdb.DuckDBPyConnection, str], None] | None = None,
        *,
        status: str = "finished",
        wait_s: float = SAVE_WAIT_SECONDS,
        callback: ProgressCallback | None = None,
    ) -> str:
        """Write a run's files and rows and record it, all or nothing; return its id.

        ``write_files(folder)`` writes the files in a staging folder. Then, in one transaction,
        the folder is moved to ``runs/<run_id>/``, the ``runs`` row inserted and
        ``write_rows(con, run_id)`` stores the run's rows (e.g. its samples). A failure or a
        crash at any point leaves no run listed; a crash leaves at most folders that the next
        :meth:`open` removes. While another program writes to the workspace, the save waits up
        to ``wait_s`` seconds, reporting to ``callback(waited, wait_s, text)``.

        Kill points (:mod:`core.faults`): ``<kind>:staged`` once the files are written,
        ``<kind>:commit`` with the folder moved, before COMMIT.
        """
        run_id = new_run_id()
        staging = self.runs_dir / f"{STAGING_PREFIX}{os.getpid()}-{uuid.uuid4().hex}"
        target = self.runs_dir / run_id
        with _in_flight(staging.name, run_id):
            try:
                staging.mkdir(parents=True)
                if write_files is not None:
                    write_files(staging)
                kill_point(f"{kind}:staged")
                with self.transaction(kind, wait_s=wait_s, callback=callback) as con:
                    os.replace(staging, target)
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
                            str(target),
                        ],
                    )
                    if write_rows is not None:
                        write_rows(con, run_id)
            except BaseException as error:
                shutil.rmtree(staging, ignore_errors=True)
                shutil.rmtree(target, ignore_errors=True)
                if isinstance(error, DiskFullError) or disk_full_cause(error) is None:
                    raise
                raise disk_full_error(self.path) from error
        return run_id

    def delete_run(self, run_id: str) -> None:
        """Remove run ``run_id`` from ``runs`` and delete its folder (if it is one of ours)."""
        with self.connect() as con:
            con.execute(f"DELETE FROM {RUNS_TABLE} WHERE run_id = ?", [run_id])
        folder = self.runs_dir / run_id
        if run_id and folder.resolve().parent == self.runs_dir.resolve():
            shutil.rmtree(folder, ignore_errors=True)

    def run_row(self, run_id: str, kind: str | None = None) -> dict[str, Any] | None:
        """The ``runs`` row of ``run_id`` (params and metrics parsed), or None (also when
        the run's folder is gone)."""
        sql = f"SELECT run_id, kind, name, created_at, params, metrics FROM {RUNS_TABLE}"
        sql += " WHERE run_id = ?" + (" AND kind = ?" if kind is not None else "")
        with self.connect() as con:
            row = con.execute(sql, [run_id] + ([kind] if kind is not None else [])).fetchone()
        if row is None or not (self.runs_dir / row[0]).is_dir():
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
        """Runs, newest first, optionally of one ``kind``; a run whose folder is gone is not
        listed (it cannot be loaded)."""
        with self.connect() as con:
            sql = f"SELECT * FROM {RUNS_TABLE}"
            args: list[Any] = []
            if kind is not None:
                sql += " WHERE kind = ?"
                args.append(kind)
            runs = con.execute(sql + " ORDER BY created_at DESC", args).df()
        present = [(self.runs_dir / run_id).is_dir() for run_id in runs["run_id"]]
        # A boolean Series: an empty list would select no columns instead of no rows.
        return runs[pd.Series(present, index=runs.index, dtype=bool)].reset_index(drop=True)


def _reclaim(con: duckdb.DuckDBPyConnection) -> None:
    """Give the disk back the blocks a rolled-back step wrote (best effort on a full disk).

    A CHECKPOINT alone keeps them; one after a small committed change truncates the file.
    """
    # Still no room: the next successful step's checkpoint frees them.
    with suppress(duckdb.Error):
        con.execute("CREATE TABLE _shopsynth_reclaim (x INTEGER)")
        con.execute("DROP TABLE _shopsynth_reclaim")
        con.execute("CHECKPOINT")


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
