"""Synthetic samples and their review, kept in the workspace's ``synthetic_samples`` table.

Generators (:mod:`core.synth.queries`, :mod:`core.synth.descriptions`) add each batch of samples
in one transaction, every sample ``pending``. A reviewer then lists them (by kind, generator,
run, status, flag, score or rank), accepts or rejects them one by one or in bulk, and may edit
a sample's text: the edit goes to ``edited_text``, the generated ``text`` is kept. Only accepted
samples leave the table, through :func:`accepted_query_pairs` (bi-encoder fine-tuning) and
:func:`accepted_descriptions`. Real data (``events``, ``catalog``) is never written here.

Columns: ``sample_id`` (``<run_id>-<n>``), ``kind`` (``query``, ``description``), ``generator``
(``template``, ``lm:<name>``...), ``run_id``, ``item_id`` (the source product), ``text``,
``score`` and ``rank`` (round-trip consistency, NULL where not measured), ``flags`` (list of
:data:`FLAGS`), ``status``, ``edited_text``, ``created_at``, ``reviewed_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from core.checks import check_choice
from core.data.workspace import Workspace
from core.errors import SampleStoreError
from core.schema import ITEM_ID

SAMPLES_TABLE = "synthetic_samples"

QUERY_KIND = "query"
DESCRIPTION_KIND = "description"
KINDS: tuple[str, ...] = (QUERY_KIND, DESCRIPTION_KIND)

PENDING = "pending"
ACCEPTED = "accepted"
REJECTED = "rejected"
STATUSES: tuple[str, ...] = (PENDING, ACCEPTED, REJECTED)

# Reviewer flags.
COPY_OF_REAL = "copy_of_real"  # the exact text of a real query or description (memorised)
TOO_SHORT = "too_short"
TOO_LONG = "too_long"
NOT_ROUND_TRIP = "not_round_trip"  # its product is not among the top k retrieved for it
REPETITIVE = "repetitive"  # a word sequence repeats (a degenerate sample)
WRONG_ATTRIBUTE = "wrong_attribute"  # names another product's brand, colour or material
FLAGS: tuple[str, ...] = (
    COPY_OF_REAL, TOO_SHORT, TOO_LONG, NOT_ROUND_TRIP, REPETITIVE, WRONG_ATTRIBUTE,
)  # fmt: skip

_DDL = f"""CREATE TABLE IF NOT EXISTS {SAMPLES_TABLE} (
    sample_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, generator VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL, item_id VARCHAR, text VARCHAR NOT NULL, score DOUBLE,
    rank BIGINT, flags VARCHAR[] NOT NULL, status VARCHAR NOT NULL, edited_text VARCHAR,
    created_at TIMESTAMP NOT NULL, reviewed_at TIMESTAMP)"""
COLUMNS: tuple[str, ...] = (
    "sample_id", "kind", "generator", "run_id", "item_id", "text", "score", "rank", "flags",
    "status", "edited_text", "created_at", "reviewed_at",
)  # fmt: skip


@dataclass(frozen=True)
class SynthesisRun:
    """A batch of generated samples, stored as pending, with its run record.

    Attributes
    ----------
    run_id : str
        Id of the run in the workspace's run registry (and prefix of the sample ids).
    kind : str
        ``query`` or ``description``.
    generator : str
        ``template`` or ``lm:<name>``.
    samples : pandas.DataFrame
        The stored samples: ``sample_id``, ``item_id``, ``text``, ``score``, ``rank``,
        ``flags``.
    metrics : dict
        Counts, rates (keep rate, copy rate, flag shares) and timings of the run.
    """

    run_id: str
    kind: str
    generator: str
    samples: pd.DataFrame = field(repr=False)
    metrics: dict[str, Any]


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_DDL)


def utc_now() -> datetime:
    """The current time in UTC, without a time zone (as the tables store it)."""
    return datetime.now(UTC).replace(tzinfo=None)


def add_samples(
    workspace: Workspace,
    samples: pd.DataFrame,
    *,
    kind: str,
    generator: str,
    run_id: str,
) -> list[str]:
    """Store ``samples`` as pending, in one transaction, and return their ids.

    Parameters
    ----------
    workspace : Workspace
        Where to store them.
    samples : pandas.DataFrame
        Columns ``item_id`` and ``text``; optional ``score``, ``rank`` and ``flags`` (a list
        of :data:`FLAGS` per row).
    kind : str
        One of :data:`KINDS`.
    generator : str
        Name of the generator (``template``, ``lm:<name>``...).
    run_id : str
        The generation run; ids are ``<run_id>-<n>``, numbered after the run's stored samples.

    Returns
    -------
    list of str
        The new sample ids, in the row order of ``samples``.
    """
    if not run_id:
        raise SampleStoreError("samples need a generator name and a run id")
    frame = _sample_frame(samples, kind, generator)
    with workspace.transaction() as con:
        return _insert_samples(con, frame, kind, generator, run_id)


def record_samples(
    workspace: Workspace,
    samples: pd.DataFrame,
    *,
    kind: str,
    run_kind: str,
    generator: str,
    params: dict[str, Any],
    metrics: dict[str, Any],
) -> tuple[str, list[str]]:
    """Record a generation run of kind ``run_kind`` and store its ``samples`` as pending, in
    one transaction (a crash leaves both or neither); the run id and the sample ids.

    ``samples``, ``kind`` and ``generator`` as in :func:`add_samples`.
    """
    frame = _sample_frame(samples, kind, generator)
    ids: list[str] = []

    def write_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
        ids[:] = _insert_samples(con, frame, kind, generator, run_id)

    run_id = workspace.record_run(run_kind, generator, params, metrics, write_rows=write_rows)
    return run_id, ids


def _sample_frame(samples: pd.DataFrame, kind: str, generator: str) -> pd.DataFrame:
    """The checked rows of ``samples`` as the frame :func:`_insert_samples` stores."""
    check_choice("kind", kind, KINDS, SampleStoreError)
    missing = {ITEM_ID, "text"} - set(samples.columns)
    if missing:
        raise SampleStoreError(f"samples need the columns item_id and text (missing {missing})")
    if not generator:
        raise SampleStoreError("samples need a generator name and a run id")
    texts = samples["text"]
    if texts.isna().any() or (texts.astype(str).str.strip() == "").any():
        raise SampleStoreError("a sample has no text: drop empty samples before storing them")
    flags = samples["flags"] if "flags" in samples.columns else pd.Series([[]] * len(samples))
    unknown = sorted({flag for row in flags for flag in row} - set(FLAGS))
    if unknown:
        raise SampleStoreError(f"unknown flags {unknown}: use {', '.join(FLAGS)}")
    n = len(samples)
    return pd.DataFrame(
        {
            "item_id": samples[ITEM_ID].astype(object).where(samples[ITEM_ID].notna(), None),
            "text": texts.astype(str).to_numpy(),
            "score": (
                samples["score"].astype(float).to_numpy()
                if "score" in samples.columns
                else np.full(n, np.nan)
            ),
            "rank": (
                samples["rank"].astype("Int64").to_numpy()
                if "rank" in samples.columns
                else pd.array([None] * n, dtype="Int64")
            ),
            # One string per row: DuckDB cannot tell the type of a column of empty lists.
            "flags": [",".join(row) for row in flags],
            "position": np.arange(n, dtype=np.int64),
        }
    ).astype({"item_id": "string", "text": "string"})


def _insert_samples(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, kind: str, generator: str, run_id: str
) -> list[str]:
    _ensure_table(con)
    (offset,) = con.execute(
        f"SELECT count(*) FROM {SAMPLES_TABLE} WHERE run_id = ?", [run_id]
    ).fetchall()[0]
    con.register("new_samples", frame)
    con.execute(
        f"""INSERT INTO {SAMPLES_TABLE}
        SELECT ? || '-' || lpad(CAST(position + ? AS VARCHAR), 6, '0'), ?, ?, ?,
               CAST(item_id AS VARCHAR), CAST(text AS VARCHAR),
               CASE WHEN isnan(score) THEN NULL ELSE score END, rank,
               CASE WHEN flags = '' THEN []::VARCHAR[] ELSE string_split(flags, ',') END,
               '{PENDING}', NULL, ?, NULL
        FROM new_samples ORDER BY position""",
        [run_id, int(offset), kind, generator, run_id, utc_now()],
    )
    con.unregister("new_samples")
    return [f"{run_id}-{int(offset) + i:06d}" for i in range(len(frame))]


def _where(sample_ids: Sequence[str] | None = None, **filters: Any) -> tuple[str, list[Any]]:
    """SQL ``WHERE`` clause and its arguments for ``sample_ids`` and the filters of
    :func:`list_samples` (a filter that is None sets no condition)."""
    clauses: list[str] = []
    args: list[Any] = []
    if sample_ids is not None:
        clauses.append("list_contains(?, sample_id)")
        args.append([str(sample_id) for sample_id in sample_ids])
    for column in ("kind", "generator", "run_id", "status", "item_id"):
        if filters.get(column) is not None:
            clauses.append(f"{column} = ?")
            args.append(filters[column])
    if filters.get("status") is not None:
        check_choice("status", filters["status"], STATUSES, SampleStoreError)
    flag, flagged = filters.get("flag"), filters.get("flagged")
    min_score, max_rank = filters.get("min_score"), filters.get("max_rank")
    if flag is not None:
        check_choice("flag", flag, FLAGS, SampleStoreError)
        clauses.append("list_contains(flags, ?)")
        args.append(flag)
    if flagged is not None:
        clauses.append("len(flags) > 0" if flagged else "len(flags) = 0")
    if min_score is not None:
        clauses.append("score >= ?")
        args.append(float(min_score))
    if max_rank is not None:
        clauses.append("rank <= ?")
        args.append(int(max_rank))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def list_samples(
    workspace: Workspace,
    *,
    kind: str | None = None,
    generator: str | None = None,
    run_id: str | None = None,
    status: str | None = None,
    item_id: str | None = None,
    flag: str | None = None,
    flagged: bool | None = None,
    min_score: float | None = None,
    max_rank: int | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Stored samples matching every given filter, oldest run first, in generation order.

    Parameters
    ----------
    workspace : Workspace
        The workspace.
    kind, generator, run_id, status, item_id : str, optional
        Exact matches.
    flag : str, optional
        Samples carrying this flag.
    flagged : bool, optional
        True: samples with any flag; False: samples without flags.
    min_score : float, optional
        Samples whose round-trip score is at least this (unscored samples are left out).
    max_rank : int, optional
        Samples whose product ranks at most this (unranked samples are left out).
    limit : int, optional
        At most this many rows.

    Returns
    -------
    pandas.DataFrame
        The :data:`COLUMNS`; ``flags`` as lists of str.
    """
    where, args = _where(
        kind=kind, generator=generator, run_id=run_id, status=status, item_id=item_id,
        flag=flag, flagged=flagged, min_score=min_score, max_rank=max_rank,
    )  # fmt: skip
    sql = f"SELECT {', '.join(COLUMNS)} FROM {SAMPLES_TABLE}{where} ORDER BY created_at, sample_id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with workspace.connect() as con:
        _ensure_table(con)
        frame = con.execute(sql, args).df()
    frame["flags"] = [list(row) for row in frame["flags"]]
    return frame


def count_samples(
    workspace: Workspace,
    *,
    kind: str | None = None,
    generator: str | None = None,
    run_id: str | None = None,
    status: str | None = None,
    item_id: str | None = None,
    flag: str | None = None,
    flagged: bool | None = None,
    min_score: float | None = None,
    max_rank: int | None = None,
) -> int:
    """How many stored samples match every given filter (those of :func:`list_samples`)."""
    where, args = _where(
        kind=kind, generator=generator, run_id=run_id, status=status, item_id=item_id,
        flag=flag, flagged=flagged, min_score=min_score, max_rank=max_rank,
    )  # fmt: skip
    with workspace.connect() as con:
        _ensure_table(con)
        (count,) = con.execute(f"SELECT count(*) FROM {SAMPLES_TABLE}{where}", args).fetchall()[0]
    return int(count)


def set_status(
    workspace: Workspace,
    status: str,
    sample_ids: Sequence[str] | None = None,
    *,
    kind: str | None = None,
    generator: str | None = None,
    run_id: str | None = None,
    current_status: str | None = None,
    flag: str | None = None,
    flagged: bool | None = None,
    min_score: float | None = None,
    max_rank: int | None = None,
) -> int:
    """Accept, reject or reset samples: the given ids, or every sample matching the filters.

    The filters are those of :func:`list_samples` (``current_status`` filters by the status
    before the change). At least one id or filter is needed, so that nothing changes every
    sample by accident; e.g. accept every unflagged sample of a run with
    ``set_status(ws, "accepted", run_id=run, flagged=False)``.

    Returns
    -------
    int
        Samples changed.
    """
    check_choice("status", status, STATUSES, SampleStoreError)
    where, args = _where(
        sample_ids, kind=kind, generator=generator, run_id=run_id, status=current_status,
        flag=flag, flagged=flagged, min_score=min_score, max_rank=max_rank,
    )  # fmt: skip
    if not where:
        raise SampleStoreError("name the samples to change: give sample ids or a filter")
    with workspace.transaction() as con:
        _ensure_table(con)
        (count,) = con.execute(f"SELECT count(*) FROM {SAMPLES_TABLE}{where}", args).fetchall()[0]
        if count:
            reviewed = None if status == PENDING else utc_now()
            con.execute(
                f"UPDATE {SAMPLES_TABLE} SET status = ?, reviewed_at = ?{where}",
                [status, reviewed, *args],
            )
    if sample_ids is not None and count < len(set(sample_ids)):
        # Ids that match nothing are reported, after the others were changed.
        raise SampleStoreError(
            f"{len(set(sample_ids)) - count} of the sample ids were not found (or did not match "
            "the filters); the others were changed"
        )
    return int(count)


def edit_text(workspace: Workspace, sample_id: str, text: str | None) -> None:
    """Set the reviewer's text of a sample (None: back to the generated text).

    The generated text stays in ``text``; accepted samples are used with their edited text.
    """
    if text is not None:
        text = " ".join(str(text).split())
        if not text:
            raise SampleStoreError("an edited text cannot be empty: reject the sample instead")
    with workspace.transaction() as con:
        _ensure_table(con)
        found = con.execute(
            f"SELECT count(*) FROM {SAMPLES_TABLE} WHERE sample_id = ?", [sample_id]
        ).fetchall()[0][0]
        if not found:
            raise SampleStoreError(f"no synthetic sample {sample_id!r}")
        con.execute(
            f"UPDATE {SAMPLES_TABLE} SET edited_text = ? WHERE sample_id = ?", [text, sample_id]
        )


def delete_run_samples(workspace: Workspace, run_id: str) -> int:
    """Delete every sample of the run ``run_id``; returns how many there were."""
    with workspace.transaction() as con:
        _ensure_table(con)
        (count,) = con.execute(
            f"SELECT count(*) FROM {SAMPLES_TABLE} WHERE run_id = ?", [run_id]
        ).fetchall()[0]
        con.execute(f"DELETE FROM {SAMPLES_TABLE} WHERE run_id = ?", [run_id])
    return int(count)


def sample_summary(workspace: Workspace) -> pd.DataFrame:
    """Counts per kind, generator and run: ``n``, ``pending``, ``accepted``, ``rejected``,
    ``flagged``, and the mean ``score``; newest run first."""
    with workspace.connect() as con:
        _ensure_table(con)
        return con.execute(
            f"""SELECT kind, generator, run_id, min(created_at) AS created_at, count(*) AS n,
                   count(*) FILTER (status = '{PENDING}') AS pending,
                   count(*) FILTER (status = '{ACCEPTED}') AS accepted,
                   count(*) FILTER (status = '{REJECTED}') AS rejected,
                   count(*) FILTER (len(flags) > 0) AS flagged, avg(score) AS score
            FROM {SAMPLES_TABLE} GROUP BY ALL ORDER BY created_at DESC, run_id"""
        ).df()


def _accepted(workspace: Workspace, kind: str) -> pd.DataFrame:
    with workspace.connect() as con:
        _ensure_table(con)
        return con.execute(
            f"""SELECT item_id, coalesce(edited_text, text) AS text, sample_id
            FROM {SAMPLES_TABLE}
            WHERE kind = ? AND status = '{ACCEPTED}' AND item_id IS NOT NULL
            ORDER BY created_at, sample_id""",
            [kind],
        ).df()


def accepted_query_pairs(workspace: Workspace) -> pd.DataFrame:
    """Accepted synthetic queries as (query, item_id) pairs for bi-encoder fine-tuning.

    Returns
    -------
    pandas.DataFrame
        Columns ``query`` (lower-cased, single-spaced, the edited text where there is one)
        and ``item_id``, one row per distinct pair, in review order; the shape of
        :func:`core.text.finetune.search_click_pairs` without its counts.
    """
    frame = _accepted(workspace, QUERY_KIND)
    pairs = pd.DataFrame(
        {"query": [" ".join(text.lower().split()) for text in frame["text"]],
         ITEM_ID: frame[ITEM_ID].astype(str)}
    )  # fmt: skip
    return pairs.drop_duplicates(ignore_index=True)


def accepted_descriptions(workspace: Workspace) -> pd.DataFrame:
    """Accepted synthetic descriptions: columns ``item_id``, ``description``, ``sample_id``.

    One row per product (the latest accepted sample of a product wins).
    """
    frame = _accepted(workspace, DESCRIPTION_KIND).rename(columns={"text": "description"})
    frame = frame.drop_duplicates(ITEM_ID, keep="last")
    return frame[[ITEM_ID, "description", "sample_id"]].reset_index(drop=True)
