"""The written tables: the event log, the users' and sessions' ground truth, and the file writer."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from core.schema import EVENT, ITEM_ID, QUERY, SESSION_ID, TS, USER_ID, VALUE
from core.simulate.catalog import Catalog
from core.simulate.columns import timestamps
from core.simulate.events import EVENT_NAMES, SEARCH_CODE
from core.simulate.sessions import Plan
from core.simulate.users import Users, sub_membership
from core.simulate.vocabulary import TREE, slug

CHUNK_EVENTS = 500_000  # rows per written row group

EVENTS_SCHEMA = pa.schema(
    [
        (USER_ID, pa.string()),
        (ITEM_ID, pa.string()),
        (EVENT, pa.string()),
        (TS, pa.timestamp("s")),
        (SESSION_ID, pa.string()),
        (QUERY, pa.string()),
        (VALUE, pa.float64()),
    ]
)


def write_tables(
    path: Path, tables: Iterable[pa.Table], fmt: str, plain: tuple[str, ...] = ()
) -> None:
    """Write ``tables`` one after another into one Parquet (zstd) or CSV file.

    The file is written under a temporary name and renamed when complete. ``plain`` names
    Parquet columns written without dictionary encoding (ids that rarely repeat).
    """
    partial = path.with_name(path.name + ".partial")
    writer = None
    try:
        for table in tables:
            if writer is None:
                if fmt == "parquet":
                    dictionary = [name for name in table.schema.names if name not in plain]
                    writer = pq.ParquetWriter(
                        partial, table.schema, compression="zstd", use_dictionary=dictionary
                    )
                else:
                    writer = pa_csv.CSVWriter(partial, table.schema)
            writer.write_table(table)
    except BaseException:
        if writer is not None:
            writer.close()
        partial.unlink(missing_ok=True)
        raise
    writer.close()
    os.replace(partial, path)


def events_table(
    events: dict[str, np.ndarray],
    queries: pa.Array,
    users: Users,
    catalog: Catalog,
    session_ids: pa.Array,
) -> pa.Table:
    """One chunk of events in the canonical event columns; ``queries`` holds its search rows'."""
    item = events["item"]
    search_rows = np.flatnonzero(events["code"] == SEARCH_CODE)
    query_index = np.full(len(item), len(queries), dtype=np.int64)
    query_index[search_rows] = np.arange(len(search_rows))
    query_column = pa.concat_arrays([queries, pa.nulls(1, pa.string())]).take(pa.array(query_index))
    return pa.table(
        [
            users.user_ids.take(pa.array(events["user"])),
            catalog.item_ids.take(pa.array(item, mask=item < 0)),
            pa.array(EVENT_NAMES).take(pa.array(events["code"])),
            timestamps(events["ts"]),
            session_ids.take(pa.array(events["session"])),
            query_column,
            pa.array(events["value"], mask=np.isnan(events["value"])),
        ],
        schema=EVENTS_SCHEMA,
    )


def users_table(users: Users, sessions_per_user: np.ndarray, catalog: Catalog) -> pa.Table:
    """Ground truth of every user: tastes, activity, favourite brands, bot flag."""
    n, h = users.n_users, users.n_humans
    bot_nan = np.full(n - h, np.nan)

    def human_floats(values: np.ndarray) -> pa.Array:
        full = np.concatenate([values, bot_nan])
        return pa.array(full, mask=np.isnan(full))

    def human_strings(names: list[str], idx: np.ndarray) -> pa.Array:
        return pa.array([*names, None], type=pa.string()).take(
            pa.array(np.concatenate([idx, np.full(n - h, len(names))]))
        )

    top_affinity = users.sub_affinity @ sub_membership()
    columns = {
        USER_ID: users.user_ids,
        "is_bot": pa.array(np.arange(n) >= h),
        "joined": timestamps(np.concatenate([users.joined, np.zeros(n - h, dtype=np.int64)])),
        "n_sessions": pa.array(sessions_per_user.astype(np.int64)),
        "activity": human_floats(users.activity),
        "price_sensitivity": human_floats(users.price_sensitivity),
        "brand_loyalty": human_floats(users.brand_loyalty),
        "favourite_category": human_strings(
            [t.name for t in TREE.tops], np.argmax(top_affinity, axis=1)
        ),
        "favourite_subcategory": human_strings(
            list(TREE.sub_path), np.argmax(users.sub_affinity, axis=1)
        ),
    }
    for t, top in enumerate(TREE.tops):
        columns[f"affinity_{slug(top.name)}"] = human_floats(top_affinity[:, t])
    for t, top in enumerate(TREE.tops):
        columns[f"favourite_brand_{slug(top.name)}"] = human_strings(
            catalog.vocab.brands, users.favourite_brand[:, t]
        )
    table = pa.table(columns)
    return table.take(pc.sort_indices(table, [(USER_ID, "ascending")]))


def session_tables(
    plan: Plan, caps: np.ndarray, users: Users, catalog: Catalog, session_ids: pa.Array
) -> Iterator[pa.Table]:
    """Ground truth of every session, in slices: user, start, target product, what happened."""
    paths = pa.array([*TREE.type_path, None], type=pa.string())
    lengths = plan.lengths
    for first in range(0, len(plan), CHUNK_EVENTS):
        rows = slice(first, first + CHUNK_EVENTS)
        target, cap = plan["target"][rows], caps[rows]
        target_type = np.where(target >= 0, catalog.type_idx[np.maximum(target, 0)], len(paths) - 1)
        yield pa.table(
            {
                SESSION_ID: session_ids[rows],
                USER_ID: users.user_ids.take(pa.array(plan["user"][rows])),
                "start": timestamps(plan["start"][rows]),
                "target_item_id": catalog.item_ids.take(pa.array(target, mask=target < 0)),
                "target_category": paths.take(pa.array(target_type)),
                "n_events": pa.array(cap.astype(np.int64)),
                "n_searches": pa.array(np.minimum(plan["n_searches"][rows], cap).astype(np.int64)),
                "purchased": pa.array((plan["purchase"][rows] > 0) & (cap == lengths[rows])),
                "is_revisit": pa.array(plan["revisit"][rows]),
                "is_exploration": pa.array(plan["explore"][rows]),
                "is_bot": pa.array(plan["is_bot"][rows]),
                "is_rebuy": pa.array(plan["rebuy"][rows]),
            }
        )
