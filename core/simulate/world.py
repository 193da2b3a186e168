"""The world: :func:`simulate_world` runs every stage and writes the files; ``main`` is its CLI.

The stages draw from independent random streams (catalogue, users, sessions, events), so
:func:`build_catalog` rebuilds the catalogue of a world alone, cheaply.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from core.progress import ProgressCallback
from core.schema import SESSION_ID
from core.simulate.catalog import make_catalog
from core.simulate.columns import prefixed_ids
from core.simulate.events import EVENT_NAMES, SEARCH_CODE, event_stream
from core.simulate.queries import query_vocab, render_queries
from core.simulate.sessions import plan_world
from core.simulate.size import MIN_EVENTS, PERIOD_DAYS, PERIOD_START, world_size
from core.simulate.tables import (
    CHUNK_EVENTS,
    events_table,
    session_tables,
    users_table,
    write_tables,
)
from core.simulate.users import make_users
from core.simulate.vocabulary import TREE

FORMATS = ("parquet", "csv")


@dataclass(frozen=True)
class WorldSummary:
    """What :func:`simulate_world` wrote."""

    n_events: int
    n_users: int
    n_items: int
    n_sessions: int
    n_bots: int
    n_top_categories: int
    n_subcategories: int
    n_product_types: int
    start: datetime
    end: datetime
    event_counts: dict[str, int]
    files: dict[str, Path]
    seconds: float
    random_state: int | None = None
    fmt: str = "parquet"


def _streams(random_state: int | np.random.Generator | None) -> list[np.random.Generator]:
    """Independent generators for the catalogue, users, sessions and events, in that order.

    Each stage has its own stream, so the catalogue alone can be rebuilt cheaply.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state.spawn(4)
    return [np.random.default_rng(s) for s in np.random.SeedSequence(random_state).spawn(4)]


def build_catalog(n_items: int | None = None, *, random_state: int = 7) -> pa.Table:
    """The catalogue of the world :func:`simulate_world` builds with the same seed.

    Parameters
    ----------
    n_items : int, optional
        Number of products; defaults to the size of the default 300,000-event world.
    random_state : int
        Seed; equal seeds and sizes give the same catalogue as the full simulation.

    Returns
    -------
    pyarrow.Table
        The catalogue columns (``item_id, title, description, category, brand, price,
        first_seen``) and the attributes ``colour, material, size, feature``, sorted by id.
    """
    n_items = world_size().n_items if n_items is None else n_items
    if n_items < len(TREE.types):
        raise ValueError(f"n_items must be at least {len(TREE.types)} (one per product type)")
    return make_catalog(_streams(random_state)[0], n_items).table


def simulate_world(
    n_events: int,
    out_dir: Path,
    *,
    random_state: int = 7,
    fmt: str = "parquet",
    callback: ProgressCallback | None = None,
) -> WorldSummary:
    """Generate a seeded e-commerce world and write it to ``out_dir``.

    Parameters
    ----------
    n_events : int
        Exact number of events in the log (at least ``MIN_EVENTS``). Users, products and bots
        scale with it (see :func:`world_size`); the period is always ``PERIOD_DAYS`` days.
    out_dir : Path
        Folder to write into (created if missing). Files: ``events``, ``catalog``,
        ``ground_truth_users`` and ``ground_truth_sessions`` with the extension of ``fmt``.
        Each is written under a temporary name and renamed when complete.
    random_state : int
        Seed; the same seed and size give byte-identical files.
    fmt : {"parquet", "csv"}
        Parquet (zstd) or CSV with a header.
    callback : callable, optional
        ``callback(step, total, info)`` after each stage and each written chunk of events.

    Returns
    -------
    WorldSummary
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    began = time.perf_counter()
    size = world_size(n_events)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_chunks = max(1, math.ceil(size.n_events / CHUNK_EVENTS))
    total = 4 + n_chunks

    def report(step: int, info: str) -> None:
        if callback is not None:
            callback(step, total, info)

    catalog_rng, user_rng, plan_rng, event_rng = _streams(random_state)
    catalog = make_catalog(catalog_rng, size.n_items)
    report(1, f"catalogue: {size.n_items:,} products")
    users, sub_popularity = make_users(user_rng, size, catalog)
    report(2, f"users: {size.n_users:,} ({size.n_bots} bots)")
    plan, caps = plan_world(plan_rng, size, users, catalog, sub_popularity)
    session_ids = prefixed_ids("S", np.arange(1, len(plan) + 1), max(7, len(str(len(plan)))))
    report(3, f"sessions: {len(plan):,}")

    paths = {name: out_dir / f"{name}.{fmt}" for name in (
        "events", "catalog", "ground_truth_users", "ground_truth_sessions")}  # fmt: skip
    words = query_vocab(event_rng, catalog.vocab)
    counts = np.zeros(len(EVENT_NAMES), dtype=np.int64)

    def event_tables() -> Iterator[pa.Table]:
        stream = event_stream(event_rng, plan, caps, catalog, n_chunks)
        for c, events in enumerate(stream, start=1):
            search_items = events["query_item"][events["code"] == SEARCH_CODE]
            queries = render_queries(event_rng, search_items, catalog, words)
            yield events_table(events, queries, users, catalog, session_ids)
            counts[:] += np.bincount(events["code"], minlength=len(EVENT_NAMES))
            report(3 + c, f"events: {int(counts.sum()):,} of {size.n_events:,}")

    write_tables(paths["events"], event_tables(), fmt, plain=(SESSION_ID,))
    write_tables(paths["catalog"], [catalog.table], fmt)
    sessions_per_user = np.bincount(plan["user"], minlength=users.n_users)
    write_tables(paths["ground_truth_users"], [users_table(users, sessions_per_user, catalog)], fmt)
    write_tables(
        paths["ground_truth_sessions"],
        session_tables(plan, caps, users, catalog, session_ids),
        fmt,
        plain=(SESSION_ID,),
    )
    report(total, "ground truth written")
    period_end = datetime.fromordinal(PERIOD_START.toordinal() + PERIOD_DAYS)
    return WorldSummary(
        n_events=int(counts.sum()),
        n_users=size.n_users,
        n_items=size.n_items,
        n_sessions=len(plan),
        n_bots=size.n_bots,
        n_top_categories=len(TREE.tops),
        n_subcategories=len(TREE.subs),
        n_product_types=len(TREE.types),
        start=PERIOD_START,
        end=period_end,
        event_counts={name: int(c) for name, c in zip(EVENT_NAMES, counts, strict=True)},
        files=paths,
        seconds=time.perf_counter() - began,
        random_state=random_state if isinstance(random_state, int) else None,
        fmt=fmt,
    )


def _progress_bar() -> tuple[ProgressCallback, Callable[[], None]]:
    """A tqdm bar on stderr as a ``callback(step, total, info)``, and a function to close it."""
    from tqdm import tqdm

    bar = tqdm(total=1, desc="simulate", unit="step")

    def callback(step: int, total: int, info: str) -> None:
        bar.total = total
        bar.n = step
        bar.set_postfix_str(info)
        bar.refresh()

    return callback, bar.close


def main(argv: list[str] | None = None) -> int:
    """``simulate --events N --out DIR [--seed S] [--format parquet|csv]``."""
    parser = argparse.ArgumentParser(
        prog="python -m core simulate",
        description="Generate a seeded synthetic shop: events, catalogue and ground truth.",
    )
    parser.add_argument("--events", type=int, required=True, help="number of events to generate")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--format", choices=FORMATS, default="parquet", help="file format")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.events < MIN_EVENTS:
        parser.error(f"--events must be at least {MIN_EVENTS:,}")
    callback, close = _progress_bar()
    try:
        summary = simulate_world(
            args.events, args.out, random_state=args.seed, fmt=args.format, callback=callback
        )
    finally:
        close()
    print(
        f"wrote {summary.n_events:,} events, {summary.n_sessions:,} sessions, "
        f"{summary.n_users:,} users ({summary.n_bots} bots), {summary.n_items:,} products "
        f"to {args.out} in {summary.seconds:.1f} s"
    )
    print("events by type: " + ", ".join(f"{k} {v:,}" for k, v in summary.event_counts.items()))
    return 0
