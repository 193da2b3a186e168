"""Cleaning: ``raw_events`` -> ``events`` and ``raw_catalog`` -> ``catalog`` through counted rules.

The :mod:`rules <core.data.rules>` run in a fixed order, each over the rows the previous one
kept, and each is recorded in a :class:`CleaningReport` (rows before, after, removed, its
parameter as text).

Everything happens in DuckDB SQL inside one workspace transaction, so no row passes through
pandas and a failure leaves the workspace exactly as it was. Rules never copy the rows they
keep: each flags the raw rows it removes, and ``events`` is a view of the unflagged raw rows.
The raw values themselves are never modified, so cleaning again with other parameters starts
from the log as loaded. The catalogue keeps every item with an id, including items no event
mentions: cold-start items belong to it. With ``normalise_ids`` the item ids of both are read
trimmed and upper-cased, so spellings of one id merge (the report counts the merged ids).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from core.data.rules import (
    CATALOG_STAGE,
    MAX_LISTED_USERS,
    RULE_DESCRIPTIONS,
    RULES,
    CleaningConfig,
    Stages,
    base_events_sql,
    count_rows,
    dataset_preset,
    item_id_sql,
    nonblank,
    run_rule,
)
from core.data.workspace import Workspace, drop_relation, relation_exists
from core.errors import CleaningError, WorkspaceError
from core.schema import (
    CATALOG_TABLE,
    CLEANING_REMOVED_TABLE,
    CLEANING_REPORTS_TABLE,
    EVENTS_TABLE,
    RAW_CATALOG_TABLE,
    RAW_EVENTS_TABLE,
)

Callback = Callable[[int, int, str], None]

# Summary rows stored beside the rule rows of a report (step 0 in ``cleaning_reports``).
_SUMMARY_EVENTS = "total events"
_SUMMARY_USERS = "distinct users"
_SUMMARY_ITEMS = "distinct items"
_SUMMARY_CATALOG = "catalogue items"
_SUMMARY_CONFIG = "config"
_SUMMARY_MERGED = "merged item ids"
_SUMMARY_REMOVED_USERS = "removed users"


@dataclass(frozen=True)
class RuleResult:
    """What one cleaning rule did."""

    step: int
    rule: str
    parameter: str
    rows_before: int
    rows_after: int
    removed: int
    description: str


@dataclass(frozen=True)
class RemovedUsers:
    """The users one rule removed entirely: ``total`` of them, the first
    :data:`MAX_LISTED_USERS` (most rows first) listed as ``(user_id, rows removed)``."""

    rule: str
    total: int
    users: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class CleaningReport:
    """Counts of one cleaning run: per rule, and distinct users/items before and after."""

    report_id: str
    created_at: datetime
    config: CleaningConfig
    rules: tuple[RuleResult, ...]
    n_events_before: int
    n_events_after: int
    n_users_before: int
    n_users_after: int
    n_items_before: int
    n_items_after: int
    n_catalog_before: int
    n_catalog_after: int
    n_ids_merged: int = 0
    removed_users: tuple[RemovedUsers, ...] = ()

    @property
    def removed(self) -> int:
        """Events removed by all rules together."""
        return self.n_events_before - self.n_events_after

    def rule(self, name: str) -> RuleResult:
        """The result of the rule called ``name`` (one of :data:`RULES`)."""
        for result in self.rules:
            if result.rule == name:
                return result
        raise KeyError(f"no rule {name!r} in the report; rules: {', '.join(RULES)}")

    def to_frame(self) -> pd.DataFrame:
        """One row per rule, in the order the rules ran."""
        columns = [f.name for f in fields(RuleResult)]
        return pd.DataFrame([asdict(result) for result in self.rules], columns=columns)

    def summary(self) -> list[tuple[str, int, int]]:
        """(quantity, before, after) for events, distinct users and items, catalogue items."""
        return [
            (_SUMMARY_EVENTS, self.n_events_before, self.n_events_after),
            (_SUMMARY_USERS, self.n_users_before, self.n_users_after),
            (_SUMMARY_ITEMS, self.n_items_before, self.n_items_after),
            (_SUMMARY_CATALOG, self.n_catalog_before, self.n_catalog_after),
        ]

    def removed_users_frame(self) -> pd.DataFrame:
        """One row per user a rule removed entirely: ``rule``, ``user_id``, ``rows_removed``."""
        rows = [(r.rule, user, n) for r in self.removed_users for user, n in r.users]
        return pd.DataFrame(rows, columns=["rule", "user_id", "rows_removed"])

    def summary_frame(self) -> pd.DataFrame:
        """:meth:`summary` as a frame with a ``removed`` column."""
        frame = pd.DataFrame(self.summary(), columns=["quantity", "before", "after"])
        frame["removed"] = frame["before"] - frame["after"]
        return frame


_CATALOG_TYPES: dict[str, str] = {
    "title": "VARCHAR",
    "description": "VARCHAR",
    "category": "VARCHAR",
    "brand": "VARCHAR",
    "price": "DOUBLE",
    "first_seen": "TIMESTAMP",
}


def _start_catalog(con: duckdb.DuckDBPyConnection, normalise_ids: bool) -> int:
    """Stage the catalogue (one row per non-blank id, first row loaded); return raw rows."""
    if not relation_exists(con, RAW_CATALOG_TABLE):
        return 0
    item_id = item_id_sql("item_id", normalise_ids)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {CATALOG_STAGE} AS SELECT rowid AS _row, * "
        f"REPLACE ({item_id} AS item_id) FROM {RAW_CATALOG_TABLE} WHERE {nonblank('item_id')} "
        f"QUALIFY row_number() OVER (PARTITION BY {item_id} ORDER BY rowid) = 1"
    )
    return count_rows(con, RAW_CATALOG_TABLE)


def _merged_ids(con: duckdb.DuckDBPyConnection, has_catalog: bool) -> int:
    """How many item ids of the log and catalogue merge into another when normalised."""
    catalog = f" UNION ALL SELECT item_id FROM {RAW_CATALOG_TABLE}" if has_catalog else ""
    return int(
        con.execute(
            "SELECT count(DISTINCT item_id) - count(DISTINCT upper(trim(item_id))) FROM "
            f"(SELECT item_id FROM {RAW_EVENTS_TABLE}{catalog}) WHERE {nonblank('item_id')}"
        ).fetchall()[0][0]
    )


def _removed_users(rule: str, found: list[tuple[str, int]]) -> RemovedUsers:
    ordered = sorted(found, key=lambda pair: (-pair[1], pair[0]))
    return RemovedUsers(rule, len(ordered), tuple(ordered[:MAX_LISTED_USERS]))


def default_config(ws: Workspace) -> CleaningConfig:
    """The cleaning defaults of the active dataset's layout (:meth:`CleaningConfig.for_preset`)."""
    with ws.connect() as con:
        return CleaningConfig.for_preset(dataset_preset(con))


def _write_catalog(con: duckdb.DuckDBPyConnection, has_raw: bool) -> int:
    if has_raw:
        con.execute(
            f"CREATE OR REPLACE TABLE {CATALOG_TABLE} AS "
            f"SELECT * EXCLUDE (_row) FROM {CATALOG_STAGE} ORDER BY _row"
        )
        con.execute(f"DROP TABLE {CATALOG_STAGE}")
    else:
        nulls = ", ".join(
            f"CAST(NULL AS {kind}) AS {name}" for name, kind in _CATALOG_TYPES.items()
        )
        con.execute(
            f"CREATE OR REPLACE TABLE {CATALOG_TABLE} AS SELECT item_id, {nulls} FROM "
            f"(SELECT DISTINCT item_id FROM {EVENTS_TABLE} WHERE item_id IS NOT NULL) "
            "ORDER BY item_id"
        )
    return count_rows(con, CATALOG_TABLE)


def store_report(con: duckdb.DuckDBPyConnection, report: CleaningReport) -> None:
    """Write ``report`` into the workspace's cleaning tables (either engine's cleaning)."""
    rows: list[Sequence[Any]] = [
        (0, _SUMMARY_CONFIG, json.dumps(report.config.to_dict(), sort_keys=True), 0, 0, 0, ""),
        (0, _SUMMARY_MERGED, "", report.n_ids_merged, 0, report.n_ids_merged, ""),
    ]
    removed_users = {r.rule: {"total": r.total, "users": r.users} for r in report.removed_users}
    rows.append((0, _SUMMARY_REMOVED_USERS, json.dumps(removed_users), 0, 0, 0, ""))
    for name, before, after in report.summary():
        rows.append((0, name, "", before, after, before - after, ""))
    rows.extend(
        (r.step, r.rule, r.parameter, r.rows_before, r.rows_after, r.removed, r.description)
        for r in report.rules
    )
    placeholders = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
    values = [value for row in rows for value in (report.report_id, report.created_at, *row)]
    con.execute(f"INSERT INTO {CLEANING_REPORTS_TABLE} VALUES {placeholders}", values)


def clean_dataset(
    ws: Workspace,
    config: CleaningConfig | None = None,
    callback: Callback | None = None,
) -> CleaningReport:
    """Apply the cleaning rules to ``raw_events``/``raw_catalog`` and write ``events``/``catalog``.

    Parameters
    ----------
    ws : Workspace
        Workspace holding the loaded raw tables.
    config : CleaningConfig, optional
        Rule parameters; the defaults of the dataset's preset when omitted
        (:func:`default_config`).
    callback : callable, optional
        ``callback(step, total, info)`` after each rule and after the final write.

    Returns
    -------
    CleaningReport
        Also stored in ``cleaning_reports`` (see :func:`latest_report`).

    Raises
    ------
    WorkspaceError
        No raw events have been loaded.
    CleaningError
        A rule would remove every event left; nothing is written then.
    """
    config = default_config(ws) if config is None else config
    if not isinstance(config, CleaningConfig):
        raise CleaningError(f"config must be a CleaningConfig, not {type(config).__name__}")
    total = len(RULES) + 1
    created_at = datetime.now(UTC).replace(tzinfo=None)
    with ws.transaction("clean") as con:
        if not relation_exists(con, RAW_EVENTS_TABLE):
            raise WorkspaceError(
                f"no raw events in workspace {ws.name!r}: load a dataset before cleaning"
            )
        stages = Stages(con, config.normalise_ids, config.keep_users)
        n_before = stages.rows
        if n_before == 0:
            raise CleaningError(f"{RAW_EVENTS_TABLE} is empty: load a dataset with events")
        users_before, items_before = stages.distinct_counts(kept=False)
        has_catalog = relation_exists(con, RAW_CATALOG_TABLE)
        merged = _merged_ids(con, has_catalog) if config.normalise_ids else 0
        n_catalog_before = _start_catalog(con, config.normalise_ids)
        removed_users: list[RemovedUsers] = []

        results: list[RuleResult] = []
        for step, name in enumerate(RULES, start=1):
            rows_before = stages.rows
            stages.removed_users = []
            parameter, removed = run_rule(name, stages, config, created_at)
            if stages.rows == 0:
                raise CleaningError(
                    f"refused: rule {name} ({parameter}) would remove all {removed:,} events "
                    f"left, leaving an empty dataset; loosen or turn off {name}"
                    + (" or keep some users" if name in ("bots", "k_core") else "")
                )
            if stages.removed_users:
                removed_users.append(_removed_users(name, stages.removed_users))
            results.append(
                RuleResult(
                    step=step,
                    rule=name,
                    parameter=parameter,
                    rows_before=rows_before,
                    rows_after=stages.rows,
                    removed=removed,
                    description=RULE_DESCRIPTIONS[name],
                )
            )
            if callback is not None:
                callback(step, total, f"{name}: {removed:,} rows removed")

        users_after, items_after = stages.distinct_counts(kept=True)
        # Only the removal flags are written; events is a view of the raw rows not flagged, so
        # a clean never copies the whole log.
        stages.drop()
        drop_relation(con, EVENTS_TABLE)
        drop_relation(con, CLEANING_REMOVED_TABLE)
        con.execute(
            f"CREATE VIEW {EVENTS_TABLE} AS SELECT * EXCLUDE (_row) "
            f"FROM ({base_events_sql(con, config.normalise_ids)})"
        )
        n_catalog_after = _write_catalog(con, has_catalog)
        report = CleaningReport(
            report_id=uuid.uuid4().hex,
            created_at=created_at,
            config=config,
            rules=tuple(results),
            n_events_before=n_before,
            n_events_after=stages.rows,
            n_users_before=users_before,
            n_users_after=users_after,
            n_items_before=items_before,
            n_items_after=items_after,
            n_catalog_before=n_catalog_before,
            n_catalog_after=n_catalog_after,
            n_ids_merged=merged,
            removed_users=tuple(removed_users),
        )
        store_report(con, report)
    if callback is not None:
        callback(
            total,
            total,
            f"{report.n_events_after:,} events and "
            f"{report.n_catalog_after:,} catalogue items written",
        )
    return report


def latest_report(ws: Workspace) -> CleaningReport | None:
    """The newest stored :class:`CleaningReport` of ``ws``, or None if it was never cleaned."""
    with ws.connect() as con:
        if not relation_exists(con, CLEANING_REPORTS_TABLE):
            return None
        newest = con.execute(
            f"SELECT report_id, created_at FROM {CLEANING_REPORTS_TABLE} "
            "ORDER BY created_at DESC, report_id DESC LIMIT 1"
        ).fetchall()
        if not newest:
            return None
        report_id, created_at = newest[0]
        stored = con.execute(
            "SELECT step, rule, parameter, rows_before, rows_after, removed, description "
            f"FROM {CLEANING_REPORTS_TABLE} WHERE report_id = ? ORDER BY step, rule",
            [report_id],
        ).fetchall()
    summary: dict[str, tuple[int, int]] = {}
    config = CleaningConfig()
    rules: list[RuleResult] = []
    removed_users: list[RemovedUsers] = []
    for step, rule, parameter, before, after, removed, description in stored:
        if step == 0 and rule == _SUMMARY_CONFIG:
            config = CleaningConfig.from_dict(json.loads(parameter))
        elif step == 0 and rule == _SUMMARY_REMOVED_USERS:
            removed_users = [
                RemovedUsers(name, int(r["total"]), tuple((str(u), int(n)) for u, n in r["users"]))
                for name, r in json.loads(parameter).items()
            ]
        elif step == 0:
            summary[rule] = (int(before), int(after))
        else:
            rules.append(
                RuleResult(
                    step=int(step),
                    rule=rule,
                    parameter=parameter,
                    rows_before=int(before),
                    rows_after=int(after),
                    removed=int(removed),
                    description=description,
                )
            )
    rules.sort(key=lambda result: result.step)
    zero = (0, 0)
    return CleaningReport(
        report_id=report_id,
        created_at=created_at,
        config=config,
        rules=tuple(rules),
        n_events_before=summary.get(_SUMMARY_EVENTS, zero)[0],
        n_events_after=summary.get(_SUMMARY_EVENTS, zero)[1],
        n_users_before=summary.get(_SUMMARY_USERS, zero)[0],
        n_users_after=summary.get(_SUMMARY_USERS, zero)[1],
        n_items_before=summary.get(_SUMMARY_ITEMS, zero)[0],
        n_items_after=summary.get(_SUMMARY_ITEMS, zero)[1],
        n_catalog_before=summary.get(_SUMMARY_CATALOG, zero)[0],
        n_catalog_after=summary.get(_SUMMARY_CATALOG, zero)[1],
        n_ids_merged=summary.get(_SUMMARY_MERGED, zero)[0],
        removed_users=tuple(removed_users),
    )
