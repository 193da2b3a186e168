"""Stored synthetic interactions: the workspace table, its run records and their review."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from core.checks import check_choice
from core.data.runs import SYNTHETIC_INTERACTIONS_KIND
from core.data.splits import Split
from core.data.workspace import Workspace
from core.errors import SyntheticInteractionsError
from core.synth.store import ACCEPTED, PENDING, REJECTED, STATUSES, utc_now

INTERACTIONS_TABLE = "synthetic_interactions"

ROW_COLUMNS: tuple[str, ...] = ("user_id", "item_id", "event", "ts", "weight")
COLUMNS: tuple[str, ...] = (*ROW_COLUMNS, "generator", "run_id", "status", "created_at")
_DDL = f"""CREATE TABLE IF NOT EXISTS {INTERACTIONS_TABLE} (
    user_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, event VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL, weight DOUBLE NOT NULL, generator VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL, status VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL)"""


def train_end(split: Split) -> datetime | None:
    """End of a temporal split's training period (the validation cut-off, else the test
    cut-off); None for other splits, whose parts are not separated in time."""
    if split.method != "temporal":
        return None
    value = split.params.get("valid_cutoff") or split.params.get("cutoff")
    return None if value is None else pd.Timestamp(value).to_pydatetime()


def add_interactions(
    ws: Workspace,
    rows: pd.DataFrame,
    *,
    generator: str,
    params: Mapping[str, Any],
    before: datetime | None = None,
    metrics: Mapping[str, Any] | None = None,
    write_files: Callable[[Path], None] | None = None,
) -> str:
    """Store generated ``rows`` as pending synthetic interactions of a new run; return its id.

    Parameters
    ----------
    ws : Workspace
        Where to store them (table :data:`INTERACTIONS_TABLE`); real tables are not touched.
    rows : pandas.DataFrame
        Columns :data:`ROW_COLUMNS`.
    generator : str
        Name of the generator (:data:`core.synth.interactions.runs.GENERATORS` or another label).
    params : mapping
        Generation parameters for the run record.
    before : datetime, optional
        Every ``ts`` must be earlier (the split's :func:`train_end`).
    metrics : mapping, optional
        Counts and timings for the run record.
    write_files : callable, optional
        ``write_files(folder)`` writes files kept with the run (e.g. its generator); the run
        is recorded only when it succeeds, in the transaction that stores the rows.
    """
    missing = set(ROW_COLUMNS) - set(rows.columns)
    if missing:
        raise SyntheticInteractionsError(
            f"rows need the columns {', '.join(ROW_COLUMNS)} (missing {', '.join(sorted(missing))})"
        )
    if not generator:
        raise SyntheticInteractionsError("name the generator of the rows")
    frame = rows[list(ROW_COLUMNS)].copy()
    frame["ts"] = pd.to_datetime(frame["ts"])
    if frame[["user_id", "item_id", "event", "ts", "weight"]].isna().any().any():
        raise SyntheticInteractionsError("a row has an empty user, item, event, time or weight")
    if before is not None and (frame["ts"] >= pd.Timestamp(before)).any():
        raise SyntheticInteractionsError(
            f"synthetic rows must fall before {before} (the end of the training period)"
        )
    frame = frame.astype({"user_id": str, "item_id": str, "event": str, "weight": float})

    def write_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
        con.execute(_DDL)
        con.register("new_interactions", frame)
        con.execute(
            f"""INSERT INTO {INTERACTIONS_TABLE}
            SELECT user_id, item_id, event, CAST(ts AS TIMESTAMP), weight, ?, ?, ?, ?
            FROM new_interactions""",
            [generator, run_id, PENDING, utc_now()],
        )
        con.unregister("new_interactions")

    return ws.record_run(
        kind=SYNTHETIC_INTERACTIONS_KIND,
        name=generator,
        params={"generator": generator, **dict(params)},
        metrics={"n_rows": len(frame), **dict(metrics or {})},
        write_files=write_files,
        write_rows=write_rows,
    )


def _where(
    run_id: str | None, generator: str | Sequence[str] | None, status: str | None
) -> tuple[str, list[Any]]:
    clauses, args = [], []
    if run_id is not None:
        clauses.append("run_id = ?")
        args.append(run_id)
    if generator is not None:
        names = [generator] if isinstance(generator, str) else list(generator)
        clauses.append(f"generator IN ({', '.join('?' * len(names))})" if names else "false")
        args.extend(names)
    if status is not None:
        check_choice("status", status, STATUSES, SyntheticInteractionsError)
        clauses.append("status = ?")
        args.append(status)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def list_interactions(
    ws: Workspace,
    *,
    run_id: str | None = None,
    generator: str | Sequence[str] | None = None,
    status: str | None = None,
) -> pd.DataFrame:
    """Stored synthetic interactions (columns :data:`COLUMNS`), filtered, in a stable order."""
    where, args = _where(run_id, generator, status)
    with ws.connect() as con:
        con.execute(_DDL)
        return con.execute(
            f"SELECT {', '.join(COLUMNS)} FROM {INTERACTIONS_TABLE}{where} "
            "ORDER BY created_at, run_id, item_id, user_id",
            args,
        ).df()


def set_interaction_status(
    ws: Workspace,
    status: str,
    *,
    run_id: str | None = None,
    generator: str | Sequence[str] | None = None,
    item_ids: Sequence[str] | None = None,
    current_status: str | None = None,
) -> int:
    """Accept, reject or reset every synthetic interaction matching the filters; return how
    many changed. At least one filter is needed, so nothing changes everything by accident."""
    check_choice("status", status, STATUSES, SyntheticInteractionsError)
    where, args = _where(run_id, generator, current_status)
    if item_ids is not None:
        ids = [str(item) for item in item_ids]
        clause = f"item_id IN ({', '.join('?' * len(ids))})" if ids else "false"
        where = f"{where} AND {clause}" if where else f" WHERE {clause}"
        args.extend(ids)
    if not where:
        raise SyntheticInteractionsError("name the rows to change: give a run, generator or items")
    with ws.transaction() as con:
        con.execute(_DDL)
        (count,) = con.execute(
            f"SELECT count(*) FROM {INTERACTIONS_TABLE}{where}", args
        ).fetchall()[0]
        con.execute(f"UPDATE {INTERACTIONS_TABLE} SET status = ?{where}", [status, *args])
    return int(count)


def interaction_summary(ws: Workspace) -> pd.DataFrame:
    """One row per run: run_id, generator, created_at, rows, items, users and status counts."""
    with ws.connect() as con:
        con.execute(_DDL)
        return con.execute(
            f"""SELECT run_id, any_value(generator) AS generator, min(created_at) AS created_at,
                count(*) AS n_rows, count(DISTINCT item_id) AS n_items,
                count(DISTINCT user_id) AS n_users,
                count(*) FILTER (WHERE status = '{PENDING}') AS pending,
                count(*) FILTER (WHERE status = '{ACCEPTED}') AS accepted,
                count(*) FILTER (WHERE status = '{REJECTED}') AS rejected
            FROM {INTERACTIONS_TABLE} GROUP BY run_id ORDER BY created_at DESC, run_id"""
        ).df()


def delete_interaction_run(ws: Workspace, run_id: str) -> int:
    """Delete the synthetic interactions of ``run_id`` and its run record; return the rows."""
    with ws.transaction() as con:
        con.execute(_DDL)
        (count,) = con.execute(
            f"SELECT count(*) FROM {INTERACTIONS_TABLE} WHERE run_id = ?", [run_id]
        ).fetchall()[0]
        con.execute(f"DELETE FROM {INTERACTIONS_TABLE} WHERE run_id = ?", [run_id])
    ws.delete_run(run_id)
    return int(count)
