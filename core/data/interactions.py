"""Interactions: the weighted user x item matrix built from ``events``, and train/test splits.

An :class:`Interactions` holds a CSR matrix (users x items, float32), the external ids of its
rows and columns with maps back, and the time of the latest event behind each stored entry.
Weights come from the event types and, optionally, an exponential time decay; the aggregation
runs in DuckDB (``GROUP BY user, item``) and the CSR is assembled from the sorted result
without a Python loop.

Splits return a :class:`Split`: train, test and an optional validation part on one shared
user and item index (the whole catalogue: items without any event included), with the users
and items that are cold in the test part marked.

- :func:`temporal_split` (the default protocol) cuts every event at one global time: train
  events all come strictly before test events.
- :func:`leave_last_n_split` holds out each user's ``n`` most recent items.
- :func:`random_split` holds out random (user, item) pairs.

A (user, item) pair never appears in both train and test. Random and leave-last-n splits assign
whole pairs, with all their events, to one side. A temporal split assigns events, so a pair can
have events on both sides of the cut: the pair then stays in train and leaves the test
(and validation) part, because evaluation ranks only items the user has not interacted with
and re-finding a known item would say nothing about the model. Test pairs are removed when
seen in train or validation, validation pairs when seen in train.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from core.data.workspace import Workspace, relation_exists
from core.errors import InteractionsError, WorkspaceError
from core.schema import CATALOG_TABLE, DEFAULT_EVENT_WEIGHTS, EVENT_TYPES, EVENTS_TABLE

RandomState = int | np.random.Generator | None

# Temporary tables of one build.
_USERS = "_inter_users"
_ITEMS = "_inter_items"

_MICROSECONDS_PER_DAY = 86_400 * 1_000_000
# The split of a model run: 70% train, 10% validation, 20% test of the timed events.
DEFAULT_SPLIT: dict[str, Any] = {"test_fraction": 0.2, "valid_fraction": 0.1}


@dataclass(frozen=True, eq=False)
class Interactions:
    """A users x items matrix of interaction weights with its id maps.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix
        float32 weights, shape ``(n_users, n_items)``, canonical (sorted indices, no
        duplicates, no explicit zeros).
    user_ids, item_ids : numpy.ndarray
        External ids (object arrays of str) of the rows and columns.
    user_index, item_index : dict
        External id -> row / column index.
    last_ts : numpy.ndarray
        ``datetime64[s]`` time of the latest event behind each stored entry, aligned with
        ``matrix.data`` (NaT when the events had no timestamp).
    """

    matrix: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray
    user_index: dict[str, int] = field(repr=False)
    item_index: dict[str, int] = field(repr=False)
    last_ts: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        shape = (len(self.user_ids), len(self.item_ids))
        if self.matrix.shape != shape:
            raise InteractionsError(f"matrix shape {self.matrix.shape} != ids shape {shape}")
        if len(self.last_ts) != self.matrix.nnz:
            raise InteractionsError(
                f"last_ts has {len(self.last_ts)} entries for {self.matrix.nnz} interactions"
            )

    @classmethod
    def from_arrays(
        cls,
        user_ids: Sequence[str] | np.ndarray,
        item_ids: Sequence[str] | np.ndarray,
        user_idx: np.ndarray,
        item_idx: np.ndarray,
        weight: np.ndarray,
        last_ts: np.ndarray,
    ) -> Interactions:
        """Build from entries sorted by (user_idx, item_idx) with no repeated pair."""
        users = _id_array(user_ids)
        items = _id_array(item_ids)
        return cls(
            matrix=_csr(user_idx, item_idx, weight, len(users), len(items)),
            user_ids=users,
            item_ids=items,
            user_index=dict(zip(users.tolist(), range(len(users)), strict=True)),
            item_index=dict(zip(items.tolist(), range(len(items)), strict=True)),
            last_ts=np.asarray(last_ts, dtype="datetime64[s]"),
        )

    @property
    def n_users(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)

    @property
    def density(self) -> float:
        """Share of the user x item cells that hold an interaction (0 for an empty matrix)."""
        cells = self.n_users * self.n_items
        return self.nnz / cells if cells else 0.0

    def entries(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column index of every stored entry, in the order of ``matrix.data``."""
        rows = np.repeat(np.arange(self.n_users, dtype=np.int64), np.diff(self.matrix.indptr))
        return rows, self.matrix.indices.astype(np.int64, copy=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per stored entry: user_id, item_id, weight, last_ts."""
        rows, cols = self.entries()
        return pd.DataFrame(
            {
                "user_id": self.user_ids[rows],
                "item_id": self.item_ids[cols],
                "weight": self.matrix.data,
                "last_ts": self.last_ts,
            }
        )

    def select(self, mask: np.ndarray) -> Interactions:
        """The same index with only the entries where ``mask`` (aligned with data) is True."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.nnz,):
            raise InteractionsError(f"mask must have one value per entry ({self.nnz})")
        rows, cols = self.entries()
        return Interactions(
            matrix=_csr(rows[mask], cols[mask], self.matrix.data[mask], *self.matrix.shape),
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            user_index=self.user_index,
            item_index=self.item_index,
            last_ts=self.last_ts[mask],
        )


@dataclass(frozen=True, eq=False)
class Split:
    """Train, test and optional validation interactions over one user and item index.

    Attributes
    ----------
    train, test : Interactions
        Disjoint in (user, item) pairs.
    valid : Interactions or None
        Validation part, disjoint in pairs from train and test.
    cold_users : numpy.ndarray
        bool per user: has test interactions and no train interaction.
    cold_items : numpy.ndarray
        bool per item: has test interactions and no train interaction.
    test_users : numpy.ndarray
        Indices (int64, ascending) of the users with at least one test interaction.
    method : str
        ``"temporal"``, ``"leave_last_n"`` or ``"random"``.
    params : dict
        The split's parameters (cut-off times as ISO strings), for run records.
    """

    train: Interactions
    test: Interactions
    valid: Interactions | None
    cold_users: np.ndarray
    cold_items: np.ndarray
    test_users: np.ndarray
    method: str
    params: dict[str, Any]

    @classmethod
    def from_parts(
        cls,
        train: Interactions,
        test: Interactions,
        valid: Interactions | None,
        method: str,
        params: dict[str, Any],
    ) -> Split:
        """Derive the cold-start marks and test users from the parts."""
        train_users = np.diff(train.matrix.indptr) > 0
        test_users = np.diff(test.matrix.indptr) > 0
        train_items = np.bincount(train.matrix.indices, minlength=train.n_items) > 0
        test_items = np.bincount(test.matrix.indices, minlength=test.n_items) > 0
        return cls(
            train=train,
            test=test,
            valid=valid,
            cold_users=test_users & ~train_users,
            cold_items=test_items & ~train_items,
            test_users=np.flatnonzero(test_users).astype(np.int64),
            method=method,
            params=params,
        )


# --------------------------------------------------------------------------------------------
# Building


def _id_array(ids: Sequence[str] | np.ndarray) -> np.ndarray:
    """Ids as a one-dimensional object array of str."""
    values = np.asarray(ids, dtype=str)
    if values.ndim != 1:
        raise InteractionsError(f"ids must be one-dimensional, not of shape {values.shape}")
    return values.astype(object)


def _csr(
    rows: np.ndarray, cols: np.ndarray, data: np.ndarray, n_rows: int, n_cols: int
) -> sp.csr_matrix:
    """CSR from entries already sorted by (row, col) without repeats."""
    counts = np.bincount(np.asarray(rows, dtype=np.int64), minlength=n_rows)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    index_type = np.int32 if max(len(cols), n_cols) < 2**31 else np.int64
    return sp.csr_matrix(
        (
            np.asarray(data, dtype=np.float32),
            np.asarray(cols, dtype=index_type),
            indptr.astype(index_type, copy=False),
        ),
        shape=(n_rows, n_cols),
    )


def _check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    if weights is None:
        return dict(DEFAULT_EVENT_WEIGHTS)
    unknown = sorted(set(weights) - set(EVENT_TYPES))
    if unknown:
        raise InteractionsError(
            f"unknown event type(s) {', '.join(map(repr, unknown))} in weights; "
            f"use {', '.join(EVENT_TYPES)}"
        )
    checked: dict[str, float] = {}
    for event, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            raise InteractionsError(f"weight of {event!r} must be a number, not {weight!r}")
        if not math.isfinite(weight) or weight < 0:
            raise InteractionsError(f"weight of {event!r} must be finite and >= 0, not {weight}")
        checked[str(event)] = float(weight)
    if not any(weight > 0 for weight in checked.values()):
        raise InteractionsError("every event weight is 0: give at least one event type a weight")
    return checked


def _check_half_life(half_life_days: float | None) -> float | None:
    if half_life_days is None or (not isinstance(half_life_days, bool) and half_life_days == 0):
        return None
    if (
        isinstance(half_life_days, bool)
        or not isinstance(half_life_days, numbers.Real)
        or not math.isfinite(half_life_days)
        or half_life_days < 0
    ):
        raise InteractionsError(
            f"half_life_days must be a number of days > 0 (None or 0: no decay), "
            f"not {half_life_days!r}"
        )
    return float(half_life_days)


def _require_events(con: duckdb.DuckDBPyConnection, ws: Workspace) -> None:
    if not relation_exists(con, EVENTS_TABLE):
        raise WorkspaceError(
            f"no cleaned events in workspace {ws.name!r}: load a dataset and clean it first"
        )


def _index_table(
    con: duckdb.DuckDBPyConnection, name: str, ids: Sequence[str] | np.ndarray | None, default: str
) -> np.ndarray:
    """Create temp table ``name(id, idx)``; return the ids in index order.

    ``ids`` gives the exact index (order kept); None takes the sorted distinct ids of
    ``default`` (a query returning one VARCHAR column ``id``).
    """
    if ids is None:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT id, "
            f"CAST(row_number() OVER (ORDER BY id) - 1 AS INTEGER) AS idx "
            f"FROM ({default}) WHERE id IS NOT NULL GROUP BY id"
        )
        column = con.sql(f"SELECT id FROM {name} ORDER BY idx").to_arrow_table()["id"]
        return _id_array(column.to_numpy(zero_copy_only=False))
    values = _id_array(ids)
    if len(pd.unique(values)) != len(values):
        raise InteractionsError(f"the ids given for the {name.removeprefix('_inter_')} repeat")
    given = pa.table(
        {
            "id": pa.array(values.tolist(), pa.string()),
            "idx": np.arange(len(values), dtype=np.int32),
        }
    )
    con.register("_inter_given", given)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT id, idx FROM _inter_given")
    con.unregister("_inter_given")
    return values


def _prepare_index(
    con: duckdb.DuckDBPyConnection,
    user_ids: Sequence[str] | np.ndarray | None,
    item_ids: Sequence[str] | np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Create the user and item index tables of a build; return user and item ids."""
    users = _index_table(
        con, _USERS, user_ids, f"SELECT CAST(user_id AS VARCHAR) AS id FROM {EVENTS_TABLE}"
    )
    has_catalog = relation_exists(con, CATALOG_TABLE)
    item_source = f"SELECT CAST(item_id AS VARCHAR) AS id FROM {EVENTS_TABLE}"
    if has_catalog:
        item_source += f" UNION ALL SELECT CAST(item_id AS VARCHAR) FROM {CATALOG_TABLE}"
    items = _index_table(con, _ITEMS, item_ids, item_source)
    return users, items


def _weighted_events(weights: dict[str, float]) -> str:
    """SQL condition on ``events`` rows: an item and an event type of positive weight."""
    kinds = ", ".join(f"'{event}'" for event, weight in weights.items() if weight > 0)
    return f"item_id IS NOT NULL AND event IN ({kinds})"


def _aggregate(
    con: duckdb.DuckDBPyConnection,
    weights: dict[str, float],
    *,
    half_life_days: float | None,
    side_sql: str = "0",
    where_sql: str = "true",
    drop_seen: bool = False,
) -> dict[str, np.ndarray]:
    """Weighted (side, user_idx, item_idx) entries, sorted, with the latest event time.

    Each event of type e and age a days (before the latest event of its side) adds
    ``w_e * 0.5 ** (a / half_life_days)``; without a half-life it adds ``w_e``.
    ``drop_seen`` keeps a pair only on the lowest side it occurs on.
    """
    # Event names are checked against EVENT_TYPES and weights are floats: safe to inline.
    weight_sql = " ".join(
        f"WHEN '{event}' THEN CAST({weight!r} AS DOUBLE)"
        for event, weight in weights.items()
        if weight > 0
    )
    if half_life_days is None:
        decay, reference = "1.0", ""
    else:
        # Events without a timestamp have no age and are not decayed.
        decay = (
            "CASE WHEN e.ts IS NULL THEN 1.0 ELSE pow(0.5, "
            f"(epoch_us(r.ref_ts) - epoch_us(e.ts)) / {_MICROSECONDS_PER_DAY * half_life_days!r})"
            " END"
        )
        reference = "JOIN (SELECT side, max(ts) AS ref_ts FROM e GROUP BY side) r USING (side)"
    seen = "QUALIFY side = min(side) OVER (PARTITION BY user_idx, item_idx)" if drop_seen else ""
    # Aggregating on the ids first and mapping the (fewer) pairs to indices after is cheaper
    # than mapping every event. The entries come back unordered: sorting them is cheaper in
    # numpy (see _entry_order) than in SQL.
    table = con.sql(
        f"""
        WITH e AS (
            SELECT CAST(user_id AS VARCHAR) AS user_id, CAST(item_id AS VARCHAR) AS item_id, ts,
                   CAST({side_sql} AS TINYINT) AS side,
                   CASE event {weight_sql} END AS weight
            FROM {EVENTS_TABLE} ev
            WHERE {_weighted_events(weights)} AND {where_sql}
        ),
        pairs AS (
            SELECT side, user_id, item_id, sum(e.weight * {decay}) AS weight,
                   CAST(max(e.ts) AS TIMESTAMP_S) AS last_ts
            FROM e {reference}
            GROUP BY side, user_id, item_id
        )
        SELECT side, u.idx AS user_idx, i.idx AS item_idx, CAST(weight AS FLOAT) AS weight,
               last_ts
        FROM pairs
        JOIN {_USERS} u ON u.id = pairs.user_id
        JOIN {_ITEMS} i ON i.id = pairs.item_id
        {seen}
        """
    ).to_arrow_table()
    entries = {
        "side": table["side"].to_numpy(),
        "user_idx": table["user_idx"].to_numpy(),
        "item_idx": table["item_idx"].to_numpy(),
        "weight": table["weight"].to_numpy(),
        "last_ts": table["last_ts"].to_numpy(zero_copy_only=False).astype("datetime64[s]"),
    }
    del table
    order = _entry_order(entries["side"], entries["user_idx"], entries["item_idx"])
    return {name: values[order] for name, values in entries.items()}


def _entry_order(side: np.ndarray, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
    """The permutation sorting distinct (side, user, item) entries.

    A CSR conversion does it in linear time: rows (side, user) are placed by a counting sort,
    and scipy sorts the few columns of each row, carrying each entry's position (plus one, so
    that no stored value is zero) as its value.
    """
    if len(side) == 0:
        return np.zeros(0, dtype=np.int64)
    n_users = int(user_idx.max()) + 1
    rows = side.astype(np.int64) * n_users + user_idx
    positions = sp.csr_matrix(
        (np.arange(1, len(side) + 1, dtype=np.int64), (rows, item_idx)),
        shape=(int(rows.max()) + 1, int(item_idx.max()) + 1),
    )
    positions.sort_indices()
    return positions.data - 1


def _side_parts(
    entries: dict[str, np.ndarray], users: np.ndarray, items: np.ndarray, n_sides: int
) -> list[Interactions]:
    side = entries["side"]
    bounds = np.searchsorted(side, np.arange(n_sides + 1), side="left")
    user_idx = entries["user_idx"]
    item_idx = entries["item_idx"]
    weight = entries["weight"]
    last_ts = entries["last_ts"]
    first = Interactions.from_arrays(
        users,
        items,
        user_idx[bounds[0] : bounds[1]],
        item_idx[bounds[0] : bounds[1]],
        weight[bounds[0] : bounds[1]],
        last_ts[bounds[0] : bounds[1]],
    )
    parts = [first]
    for index in range(1, n_sides):
        start, stop = bounds[index], bounds[index + 1]
        parts.append(
            Interactions(
                matrix=_csr(
                    user_idx[start:stop],
                    item_idx[start:stop],
                    weight[start:stop],
                    first.n_users,
                    first.n_items,
                ),
                user_ids=first.user_ids,
                item_ids=first.item_ids,
                user_index=first.user_index,
                item_index=first.item_index,
                last_ts=last_ts[start:stop],
            )
        )
    return parts


def build_interactions(
    ws: Workspace,
    *,
    weights: Mapping[str, float] | None = None,
    half_life_days: float | None = None,
    item_ids: Sequence[str] | np.ndarray | None = None,
    user_ids: Sequence[str] | np.ndarray | None = None,
) -> Interactions:
    r"""Aggregate the cleaned ``events`` of ``ws`` into a user x item weight matrix.

    The weight of user :math:`u` and item :math:`i` is

    .. math:: w_{ui} = \sum_{e \in E_{ui}} w_{\mathrm{type}(e)} \,
              0.5^{\,(t_{\max} - t_e) / h}

    over the events :math:`E_{ui}` of the pair, with :math:`t_{\max}` the latest event in the
    table and :math:`h` the half-life in days (no decay factor without a half-life).

    Parameters
    ----------
    ws : Workspace
        Workspace with a cleaned ``events`` table.
    weights : mapping, optional
        Weight of one event of each type; types left out weigh 0 (they add no interaction).
        Defaults to :data:`core.schema.DEFAULT_EVENT_WEIGHTS` (view < click < cart < purchase).
    half_life_days : float, optional
        Half-life of the exponential time decay; None or 0 for no decay. Events without a
        timestamp are not decayed.
    item_ids : sequence of str, optional
        The item axis, in this order; events on other items are left out. Default: every item
        of ``catalog`` and ``events``, sorted, so items without events are columns too.
    user_ids : sequence of str, optional
        The user axis, in this order. Default: every user of ``events``, sorted.

    Returns
    -------
    Interactions
    """
    checked = _check_weights(weights)
    half_life = _check_half_life(half_life_days)
    with ws.connect() as con:
        _require_events(con, ws)
        users, items = _prepare_index(con, user_ids, item_ids)
        entries = _aggregate(con, checked, half_life_days=half_life)
    return _side_parts(entries, users, items, 1)[0]


# --------------------------------------------------------------------------------------------
# Splits


def _check_fraction(value: float, name: str, *, allow_zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InteractionsError(f"{name} must be a number between 0 and 1, not {value!r}")
    if not (0 <= value < 1) or (value == 0 and not allow_zero):
        low = "0 <=" if allow_zero else "0 <"
        raise InteractionsError(f"{name} must satisfy {low} {name} < 1, not {value}")
    return float(value)


def _as_timestamp(
    value: datetime | date | str | np.datetime64 | None, name: str
) -> datetime | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as error:
        raise InteractionsError(
            f"{name}={value!r} is not a time; write it as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"
        ) from error
    if stamp is pd.NaT:
        raise InteractionsError(f"{name} must be a time, not NaT")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


def _from_source(
    data: Workspace | Interactions,
    weights: Mapping[str, float] | None,
    half_life_days: float | None,
) -> Interactions:
    if isinstance(data, Interactions):
        if weights is not None or half_life_days is not None:
            raise InteractionsError(
                "weights and half_life_days apply when splitting a workspace; the given "
                "Interactions already carry their weights"
            )
        return data
    if isinstance(data, Workspace):
        return build_interactions(data, weights=weights, half_life_days=half_life_days)
    raise InteractionsError(f"split a Workspace or an Interactions, not {type(data).__name__}")


def _random_generator(random_state: RandomState) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


def temporal_split(
    ws: Workspace,
    *,
    test_fraction: float = 0.2,
    valid_fraction: float = 0.0,
    cutoff: datetime | date | str | None = None,
    valid_cutoff: datetime | date | str | None = None,
    weights: Mapping[str, float] | None = None,
    half_life_days: float | None = None,
) -> Split:
    """Split the events of ``ws`` at one global time: train before, test from the cut-off on.

    Parameters
    ----------
    ws : Workspace
        Workspace with a cleaned ``events`` table.
    test_fraction : float
        Share of the interaction events (events with a positive weight and a timestamp) that
        fall at or after the cut-off. With ``n`` such events in time order, the cut-off is the
        time of event number ``n - round(test_fraction * n)`` (0-based), so ties at that time
        all go to test. Ignored when ``cutoff`` is given.
    valid_fraction : float
        Share of the interaction events held out for validation just before the test part;
        0 for no validation part. Ignored when ``valid_cutoff`` is given.
    cutoff : datetime or str, optional
        Explicit test cut-off: events at or after it are test events.
    valid_cutoff : datetime or str, optional
        Explicit validation cut-off (before ``cutoff``): events in ``[valid_cutoff, cutoff)``
        are validation events.
    weights, half_life_days
        As in :func:`build_interactions`. Each part is decayed from its own latest event, so
        train weights never depend on later events.

    Returns
    -------
    Split
        Every train event is strictly earlier than every validation event, and those than
        every test event. Pairs with events on both sides stay on the earlier side only (see
        the module notes); events without a timestamp are left out of every part.
    """
    checked = _check_weights(weights)
    half_life = _check_half_life(half_life_days)
    test_cut = _as_timestamp(cutoff, "cutoff")
    valid_cut = _as_timestamp(valid_cutoff, "valid_cutoff")
    if test_cut is None:
        test_fraction = _check_fraction(test_fraction, "test_fraction", allow_zero=False)
    valid_fraction = _check_fraction(valid_fraction, "valid_fraction", allow_zero=True)
    with ws.connect() as con:
        _require_events(con, ws)
        users, items = _prepare_index(con, None, None)
        timed = (
            f"SELECT ts FROM {EVENTS_TABLE} WHERE ts IS NOT NULL AND {_weighted_events(checked)}"
        )
        n_events = int(con.execute(f"SELECT count(*) FROM ({timed})").fetchall()[0][0])
        if n_events == 0:
            raise InteractionsError(
                "no weighted event has a timestamp: a temporal split needs times; use "
                "random_split or leave_last_n_split"
            )
        if test_cut is None:
            n_test = round(test_fraction * n_events)
            test_cut = _time_at(con, timed, n_events - n_test, n_events)
        if valid_cut is None and valid_fraction > 0:
            before = con.execute(f"SELECT count(*) FROM ({timed}) WHERE ts < ?", [test_cut])
            n_before = int(before.fetchall()[0][0])
            position = n_before - round(valid_fraction * n_events)
            if position <= 0:
                raise InteractionsError(
                    f"valid_fraction {valid_fraction} leaves no training events before the "
                    "cut-off; lower it or the test fraction"
                )
            valid_cut = _time_at(con, timed, position, n_events)
        if valid_cut is not None and test_cut is not None and valid_cut > test_cut:
            raise InteractionsError(
                f"valid_cutoff {valid_cut} is after cutoff {test_cut}; it must come before"
            )
        if valid_cut is None:
            side = f"CASE WHEN ev.ts >= {_literal(test_cut)} THEN 1 ELSE 0 END"
        else:
            side = (
                f"CASE WHEN ev.ts >= {_literal(test_cut)} THEN 2 "
                f"WHEN ev.ts >= {_literal(valid_cut)} THEN 1 ELSE 0 END"
            )
        entries = _aggregate(
            con,
            checked,
            half_life_days=half_life,
            side_sql=side,
            where_sql="ev.ts IS NOT NULL",
            drop_seen=True,
        )
    n_sides = 2 if valid_cut is None else 3
    parts = _side_parts(entries, users, items, n_sides)
    params = {
        "test_fraction": None if cutoff is not None else test_fraction,
        "valid_fraction": valid_fraction,
        "cutoff": test_cut.isoformat(),
        "valid_cutoff": None if valid_cut is None else valid_cut.isoformat(),
        "weights": checked,
        "half_life_days": half_life,
    }
    valid = parts[1] if n_sides == 3 else None
    return Split.from_parts(parts[0], parts[-1], valid, "temporal", params)


def split_kwargs(split_params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Keyword arguments of :func:`temporal_split` for a model run, checked.

    A validation part is required: models are scored on it.
    """
    kwargs = dict(DEFAULT_SPLIT if split_params is None else split_params)
    allowed = {
        "test_fraction",
        "valid_fraction",
        "cutoff",
        "valid_cutoff",
        "weights",
        "half_life_days",
    }
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise InteractionsError(
            f"unknown split parameter {', '.join(map(repr, unknown))}; use {', '.join(allowed)}"
        )
    if not kwargs.get("valid_fraction") and kwargs.get("valid_cutoff") is None:
        raise InteractionsError(
            "models are scored on a validation part: set valid_fraction above 0"
        )
    return kwargs


def make_split(ws: Workspace, split_params: Mapping[str, Any] | None = None) -> Split:
    """The temporal split a model run uses for ``split_params`` (:func:`split_kwargs`)."""
    return temporal_split(ws, **split_kwargs(split_params))


def _literal(value: datetime) -> str:
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"


def _time_at(con: duckdb.DuckDBPyConnection, timed_sql: str, position: int, n: int) -> datetime:
    """Time of the event at 0-based ``position`` in time order among ``n`` events."""
    position = min(max(position, 0), n - 1)
    # quantile_disc(q) is the element at index ceil(q * n) - 1 (the smallest value whose
    # cumulative share reaches q); aiming at the middle of the interval of q values that select
    # ``position`` keeps float rounding from moving it.
    quantile = (position + 0.5) / n
    rows = con.execute(f"SELECT quantile_disc(ts, {quantile!r}) FROM ({timed_sql})").fetchall()
    return rows[0][0]


def leave_last_n_split(
    data: Workspace | Interactions,
    n: int = 1,
    *,
    valid_n: int = 0,
    weights: Mapping[str, float] | None = None,
    half_life_days: float | None = None,
) -> Split:
    """Hold out, per user, the ``n`` items interacted with most recently.

    Items are ordered by the time of their latest event for the user (ties: the larger item
    index counts as later). The ``n`` most recent go to test with all their events, the
    ``valid_n`` before them to validation, the rest to train. Users with at most
    ``n + valid_n`` items stay entirely in train, so every test user has a training history.

    Parameters
    ----------
    data : Workspace or Interactions
        Cleaned events to aggregate, or interactions already built.
    n : int
        Items per user in the test part (>= 1).
    valid_n : int
        Items per user in the validation part (>= 0; 0 for none).
    weights, half_life_days
        As in :func:`build_interactions`, when ``data`` is a workspace.
    """
    for name, value, low in (("n", n, 1), ("valid_n", valid_n, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise InteractionsError(f"{name} must be a whole number >= {low}, not {value!r}")
    full = _from_source(data, weights, half_life_days)
    rows, cols = full.entries()
    # NaT (no timestamp) is the smallest int64, so undated items count as the oldest.
    order = np.lexsort((cols, full.last_ts.view(np.int64), rows))
    counts = np.diff(full.matrix.indptr)
    position = np.empty(full.nnz, dtype=np.int64)
    position[order] = np.arange(full.nnz) - full.matrix.indptr[rows[order]]
    from_end = counts[rows] - 1 - position
    eligible = counts[rows] > n + valid_n
    test = eligible & (from_end < n)
    valid = eligible & (from_end >= n) & (from_end < n + valid_n)
    params = {"n": int(n), "valid_n": int(valid_n), "weights": _weights_param(data, weights)}
    params["half_life_days"] = half_life_days
    return Split.from_parts(
        full.select(~(test | valid)),
        full.select(test),
        full.select(valid) if valid_n else None,
        "leave_last_n",
        params,
    )


def random_split(
    data: Workspace | Interactions,
    test_fraction: float = 0.2,
    *,
    valid_fraction: float = 0.0,
    by_user: bool = False,
    random_state: RandomState = 0,
    weights: Mapping[str, float] | None = None,
    half_life_days: float | None = None,
) -> Split:
    """Hold out random (user, item) pairs, each with all its events.

    Parameters
    ----------
    data : Workspace or Interactions
        Cleaned events to aggregate, or interactions already built.
    test_fraction : float
        Share of the pairs in the test part: exactly ``round(test_fraction * nnz)`` pairs.
    valid_fraction : float
        Share of the pairs in the validation part (0 for none).
    by_user : bool
        Split each user's pairs separately (the "stratified" protocol): a user with ``m``
        pairs gets ``floor(test_fraction * m + 0.5)`` test pairs and likewise validation
        pairs, always leaving at least one pair in train.
    random_state : int, numpy.random.Generator or None
        Seed or generator; the same seed gives the same split.
    weights, half_life_days
        As in :func:`build_interactions`, when ``data`` is a workspace.
    """
    test_fraction = _check_fraction(test_fraction, "test_fraction", allow_zero=False)
    valid_fraction = _check_fraction(valid_fraction, "valid_fraction", allow_zero=True)
    if test_fraction + valid_fraction >= 1:
        raise InteractionsError("test_fraction + valid_fraction must be below 1")
    full = _from_source(data, weights, half_life_days)
    rng = _random_generator(random_state)
    if by_user:
        rows, _ = full.entries()
        keys = rng.random(full.nnz)
        order = np.lexsort((keys, rows))
        rank = np.empty(full.nnz, dtype=np.int64)
        rank[order] = np.arange(full.nnz) - full.matrix.indptr[rows[order]]
        counts = np.diff(full.matrix.indptr)
        n_test = np.floor(test_fraction * counts + 0.5).astype(np.int64)
        n_valid = np.floor(valid_fraction * counts + 0.5).astype(np.int64)
        n_test = np.minimum(n_test, np.maximum(counts - 1, 0))
        n_valid = np.minimum(n_valid, np.maximum(counts - 1 - n_test, 0))
        test = rank < n_test[rows]
        valid = (rank >= n_test[rows]) & (rank < (n_test + n_valid)[rows])
    else:
        permutation = rng.permutation(full.nnz)
        n_test = round(test_fraction * full.nnz)
        n_valid = round(valid_fraction * full.nnz)
        test = np.zeros(full.nnz, dtype=bool)
        valid = np.zeros(full.nnz, dtype=bool)
        test[permutation[:n_test]] = True
        valid[permutation[n_test : n_test + n_valid]] = True
    params = {
        "test_fraction": test_fraction,
        "valid_fraction": valid_fraction,
        "by_user": by_user,
        "random_state": (int(random_state) if isinstance(random_state, numbers.Integral) else None),
        "weights": _weights_param(data, weights),
        "half_life_days": half_life_days,
    }
    return Split.from_parts(
        full.select(~(test | valid)),
        full.select(test),
        full.select(valid) if valid_fraction > 0 else None,
        "random",
        params,
    )


def _weights_param(
    data: Workspace | Interactions, weights: Mapping[str, float] | None
) -> dict[str, float] | None:
    """Weights to record: the defaults when a workspace was aggregated without any."""
    if isinstance(data, Interactions):
        return None
    return _check_weights(weights)
