"""Interactions: the weighted user x item matrix built from the cleaned ``events``.

An :class:`Interactions` holds a CSR matrix (users x items, float32), the external ids of its
rows and columns with maps back, and the time of the latest event behind each stored entry.
Weights come from the event types and, optionally, an exponential time decay; the aggregation
runs in DuckDB (``GROUP BY user, item``) and the CSR is assembled from the sorted result
without a Python loop. After a cleaning the aggregation groups the integer codes of the ids
(:mod:`core.data.codes`), and only the axes are read back as ids. The train/test splits built
on it are in :mod:`core.data.splits`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from core.checks import check_half_life
from core.data.codes import cleaned_codes_available, kept_events_sql
from core.data.workspace import Workspace, relation_exists
from core.errors import InteractionsError, WorkspaceError
from core.schema import (
    CATALOG_TABLE,
    CLEAN_ITEM_CODES_TABLE,
    DEFAULT_EVENT_WEIGHTS,
    EVENT_TYPES,
    EVENTS_TABLE,
    USER_CODES_TABLE,
)

# Temporary tables of one build.
_USERS = "_inter_users"
_ITEMS = "_inter_items"
_USER_CODES = "_inter_user_codes"
_ITEM_CODES = "_inter_item_codes"

_MICROSECONDS_PER_DAY = 86_400 * 1_000_000


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


def check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Event weights as floats, the defaults for None; raises on unknown types or no weight."""
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


def require_events(con: duckdb.DuckDBPyConnection, ws: Workspace) -> None:
    """Raise WorkspaceError unless ``ws`` has a cleaned ``events`` table."""
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


def prepare_index(
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


def prepare_coded_index(
    con: duckdb.DuckDBPyConnection,
    user_ids: Sequence[str] | np.ndarray | None,
    item_ids: Sequence[str] | np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`prepare_index` over the coded events of the latest cleaning; also map every
    user code and cleaned item code to its row and column. Return user and item ids."""
    kept = kept_events_sql(con)
    users = _index_table(
        con,
        _USERS,
        user_ids,
        f"SELECT user_id AS id FROM {USER_CODES_TABLE} "
        f"WHERE user_code IN (SELECT user_code FROM ({kept}))",
    )
    item_source = (
        f"SELECT item_id AS id FROM {CLEAN_ITEM_CODES_TABLE} "
        f"WHERE clean_code IN (SELECT item_code FROM ({kept}))"
    )
    if relation_exists(con, CATALOG_TABLE):
        item_source += f" UNION ALL SELECT CAST(item_id AS VARCHAR) FROM {CATALOG_TABLE}"
    items = _index_table(con, _ITEMS, item_ids, item_source)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_USER_CODES} AS SELECT c.user_code AS code, u.idx "
        f"FROM {_USERS} u JOIN {USER_CODES_TABLE} c ON c.user_id = u.id"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_ITEM_CODES} AS SELECT DISTINCT c.clean_code AS code, "
        f"i.idx FROM {_ITEMS} i JOIN {CLEAN_ITEM_CODES_TABLE} c ON c.item_id = i.id"
    )
    return users, items


def aggregate_coded_entries(
    con: duckdb.DuckDBPyConnection, weights: dict[str, float], *, half_life_days: float | None
) -> dict[str, np.ndarray]:
    """:func:`aggregate_entries` (one side) over the coded events of the latest cleaning,
    grouped by user and item code; needs :func:`prepare_coded_index` first."""
    weight_sql, decay, reference = _weight_sql(weights, half_life_days)
    query = con.sql(
        f"""
        WITH e AS (
            SELECT user_code, item_code, ts, CAST(0 AS TINYINT) AS side,
                   CASE event {weight_sql} END AS weight
            FROM ({kept_events_sql(con)})
            WHERE {weighted_events(weights, "item_code")}
        ),
        pairs AS (
            SELECT side, user_code, item_code, sum(e.weight * {decay}) AS weight,
                   CAST(max(e.ts) AS TIMESTAMP_S) AS last_ts
            FROM e {reference}
            GROUP BY side, user_code, item_code
        )
        SELECT side, u.idx AS user_idx, i.idx AS item_idx, CAST(weight AS FLOAT) AS weight,
               last_ts
        FROM pairs
        JOIN {_USER_CODES} u ON u.code = pairs.user_code
        JOIN {_ITEM_CODES} i ON i.code = pairs.item_code
        """
    )
    return _sorted_entries(query.to_arrow_table())


def weighted_events(weights: dict[str, float], item_column: str = "item_id") -> str:
    """SQL condition on ``events`` rows: an item and an event type of positive weight."""
    kinds = ", ".join(f"'{event}'" for event, weight in weights.items() if weight > 0)
    return f"{item_column} IS NOT NULL AND event IN ({kinds})"


def aggregate_entries(
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
    weight_sql, decay, reference = _weight_sql(weights, half_life_days)
    seen = "QUALIFY side = min(side) OVER (PARTITION BY user_idx, item_idx)" if drop_seen else ""
    # Aggregating on the ids first and mapping the (fewer) pairs to indices after is cheaper
    # than mapping every event. The entries come back unordered: sorting them is cheaper in
    # numpy (see _entry_order) than in SQL.
    query = con.sql(
        f"""
        WITH e AS (
            SELECT CAST(user_id AS VARCHAR) AS user_id, CAST(item_id AS VARCHAR) AS item_id, ts,
                   CAST({side_sql} AS TINYINT) AS side,
                   CASE event {weight_sql} END AS weight
            FROM {EVENTS_TABLE} ev
            WHERE {weighted_events(weights)} AND {where_sql}
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
    )
    return _sorted_entries(query.to_arrow_table())


def _weight_sql(weights: dict[str, float], half_life_days: float | None) -> tuple[str, str, str]:
    """The CASE branches of an event's weight, its decay factor and the join the decay needs."""
    # Event names are checked against EVENT_TYPES and weights are floats: safe to inline.
    weight_sql = " ".join(
        f"WHEN '{event}' THEN CAST({weight!r} AS DOUBLE)"
        for event, weight in weights.items()
        if weight > 0
    )
    if half_life_days is None:
        return weight_sql, "1.0", ""
    # Events without a timestamp have no age and are not decayed.
    decay = (
        "CASE WHEN e.ts IS NULL THEN 1.0 ELSE pow(0.5, "
        f"(epoch_us(r.ref_ts) - epoch_us(e.ts)) / {_MICROSECONDS_PER_DAY * half_life_days!r})"
        " END"
    )
    reference = "JOIN (SELECT side, max(ts) AS ref_ts FROM e GROUP BY side) r USING (side)"
    return weight_sql, decay, reference


def _sorted_entries(table: pa.Table) -> dict[str, np.ndarray]:
    """The columns of an aggregated entries table as arrays, sorted by (side, user, item)."""
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


def side_parts(
    entries: dict[str, np.ndarray], users: np.ndarray, items: np.ndarray, n_sides: int
) -> list[Interactions]:
    """One Interactions per side (0 = train, then validation and/or test) on one shared index."""
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
    checked = check_weights(weights)
    half_life = check_half_life(half_life_days, InteractionsError)
    with ws.connect() as con:
        require_events(con, ws)
        if cleaned_codes_available(con):
            users, items = prepare_coded_index(con, user_ids, item_ids)
            entries = aggregate_coded_entries(con, checked, half_life_days=half_life)
        else:
            users, items = prepare_index(con, user_ids, item_ids)
            entries = aggregate_entries(con, checked, half_life_days=half_life)
    return side_parts(entries, users, items, 1)[0]
