"""Ingest + clean + CSR build: ShopSynth (DuckDB) against the same pipeline written in pandas.

Protocol
--------
1. Generate a 5M-event CSV and its catalogue with the sample-world simulator (kept in
   ``benchmarks/data/``).
2. Run each pipeline in its own fresh Python process, one after the other, on the same files:

   a. ShopSynth: ``load_dataset`` (DuckDB reader, canonical table, user and item ids encoded as
      integer codes), ``clean_dataset`` (default rules: missing ids, duplicates, timestamps,
      returns, bots, unknown items, k-core) and ``build_interactions`` (weighted user x item
      CSR).
   b. pandas: ``read_csv`` and the same default rules with the same semantics (missing ids,
      exact duplicates with the query on searches, missing / pre-gap / future timestamps, bots
      per minute of a session and per session with buyers kept, items not in the catalogue,
      users with fewer than two distinct items), then the default event weights,
      ``groupby(user, item).sum()`` and a scipy CSR over the sorted users of the log and the
      sorted items of the log and the catalogue.
   c. DuckDB copy floor: one ``CREATE TABLE ... AS SELECT * FROM read_csv(...)`` into a
      database file, then ``CHECKPOINT``: no validation, no cleaning, no CSR. Any pipeline that
      keeps the log in a DuckDB workspace pays at least this, so it bounds (a) from below.

3. Each child reports its wall time, peak resident memory (``ru_maxrss``), the events kept, the
   matrix shape, its stored entries and the sum of its weights. The parent refuses to report a
   ratio unless (a) and (b) agree on all four, so that both did the same work; it then writes
   ``benchmarks/results/ingest.json`` with ``speedup_vs_pandas`` (best pandas time / best
   ShopSynth time) and ``memory_ratio_vs_pandas`` (ShopSynth peak RSS / pandas peak RSS), with
   the load average (``os.getloadavg``) before each run beside its time.

Run: ``python benchmarks/bench_ingest.py [--events 5000000] [--repeats 1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "benchmarks" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "ingest.json"
# The default cleaning rules (core.data.cleaning_config.CleaningConfig), spelt out for pandas.
BOT_MAX_EVENTS_PER_MINUTE = 30
BOT_MAX_EVENTS_PER_SESSION = 500
BUYER_PURCHASE_SHARE = 0.5
MIN_USER_ITEMS = 2
MIN_TS_GAP_DAYS = 365
DEFAULT_EVENT_WEIGHTS = {
    "view": 1.0,
    "click": 2.0,
    "add_to_cart": 4.0,
    "purchase": 8.0,
    "rating": 5.0,
    "search": 0.0,
}


def run_shopsynth(csv_path: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    from core.data.clean import clean_dataset
    from core.data.ingest.load import load_dataset
    from core.data.interactions import build_interactions
    from core.data.workspace import Workspace

    with tempfile.TemporaryDirectory() as home:
        start = time.perf_counter()
        workspace = Workspace.open("bench", home=Path(home))
        load_dataset(workspace, csv_path, catalog_path=csv_path.parent / "catalog.csv")
        loaded = time.perf_counter()
        report = clean_dataset(workspace)
        cleaned = time.perf_counter()
        interactions = build_interactions(workspace)
        seconds = time.perf_counter() - start
        weight_sum = float(interactions.matrix.data.sum(dtype="float64"))
    return {
        "seconds": seconds,
        "stage_seconds": {
            "load": round(loaded - start, 3),
            "clean": round(cleaned - loaded, 3),
            "csr": round(start + seconds - cleaned, 3),
        },
        "events_after_cleaning": int(report.n_events_after),
        "shape": list(interactions.matrix.shape),
        "nnz": int(interactions.matrix.nnz),
        "weight_sum": weight_sum,
    }


def run_pandas(csv_path: Path) -> dict:
    """The same rules as ShopSynth's defaults, written the way a pandas user would."""
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    start = time.perf_counter()
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    text = {"user_id": str, "item_id": str, "event": str, "session_id": str, "query": str}
    events = pd.read_csv(csv_path, dtype=text, parse_dates=["ts"])
    catalog = pd.read_csv(csv_path.parent / "catalog.csv", usecols=["item_id"], dtype=str)
    # A blank id is no id.
    for column in ("user_id", "item_id"):
        events[column] = events[column].where(events[column].str.strip() != "")
    catalog_ids = catalog["item_id"][catalog["item_id"].str.strip() != ""].unique()

    # missing_ids: a user always, an item unless the event is a search.
    events = events[
        events["user_id"].notna() & (events["item_id"].notna() | (events["event"] == "search"))
    ]
    # duplicates: the same user, item, event and time (and query, on searches); first kept.
    events = events.assign(_query=events["query"].where(events["event"] == "search"))
    events = events[~events.duplicated(subset=["user_id", "item_id", "event", "_query", "ts"])]
    # timestamps: missing, a minority before a gap of more than a year, more than a day ahead.
    events = events[events["ts"].notna()]
    per_day = events["ts"].dt.normalize().value_counts().sort_index()
    before = per_day.cumsum()
    gap = per_day.index.to_series().diff().shift(-1) > pd.Timedelta(days=MIN_TS_GAP_DAYS)
    cut = gap & (2 * before < per_day.sum())
    if cut.any():
        lowest = per_day.index.to_series().shift(-1)[cut].max()
        events = events[events["ts"] >= lowest]
    events = events[events["ts"] <= now + pd.Timedelta(days=1)]
    # returns: this log has no return flag (no is_return, quantity or invoice column).
    # bots: browsing (not purchases or ratings) > 30 per minute of a session or > 500 per
    # session; users whose purchases are at least half their events are buyers and stay.
    browsing = events[~events["event"].isin(["purchase", "rating"])]
    minute = browsing["ts"].dt.floor("min")
    per_minute = browsing.groupby(["user_id", "session_id", minute], dropna=False).size()
    per_session = browsing[browsing["session_id"].notna()].groupby(["user_id", "session_id"]).size()
    fast = set(per_minute[per_minute > BOT_MAX_EVENTS_PER_MINUTE].index.get_level_values(0))
    fast |= set(per_session[per_session > BOT_MAX_EVENTS_PER_SESSION].index.get_level_values(0))
    rated = events[events["event"] != "rating"]
    share = (rated["event"] == "purchase").groupby(rated["user_id"]).mean()
    bots = fast - set(share[share >= BUYER_PURCHASE_SHARE].index)
    events = events[~events["user_id"].isin(bots)]
    # unknown_items: item events whose item is not in the catalogue.
    events = events[events["item_id"].isna() | events["item_id"].isin(catalog_ids)]
    # k_core: users need two distinct items among non-search events.
    pairs = events[events["item_id"].notna() & (events["event"] != "search")]
    n_items = pairs.groupby("user_id")["item_id"].nunique()
    events = events[events["user_id"].isin(n_items.index[n_items >= MIN_USER_ITEMS])]

    # The matrix: users of the cleaned log, items of the log and the catalogue, both sorted.
    weights = events["event"].map(DEFAULT_EVENT_WEIGHTS).fillna(0.0)
    weighted = events.assign(weight=weights)[events["item_id"].notna() & (weights > 0)]
    summed = weighted.groupby(["user_id", "item_id"], as_index=False)["weight"].sum()
    user_ids = pd.Index(np.sort(events["user_id"].unique()))
    item_ids = pd.Index(np.sort(np.union1d(events["item_id"].dropna().unique(), catalog_ids)))
    matrix = sp.csr_matrix(
        (
            summed["weight"].to_numpy(np.float32),
            (user_ids.get_indexer(summed["user_id"]), item_ids.get_indexer(summed["item_id"])),
        ),
        shape=(len(user_ids), len(item_ids)),
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "events_after_cleaning": len(events),
        "shape": list(matrix.shape),
        "nnz": int(matrix.nnz),
        "weight_sum": float(matrix.data.sum(dtype=np.float64)),
    }


def run_duckdb_floor(csv_path: Path) -> dict:
    import duckdb

    with tempfile.TemporaryDirectory() as home:
        start = time.perf_counter()
        con = duckdb.connect(str(Path(home) / "floor.duckdb"))
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"CREATE TABLE events AS SELECT * FROM read_csv('{csv_path}')")
        con.execute("CHECKPOINT")
        (n_rows,) = con.execute("SELECT count(*) FROM events").fetchone()
        con.close()
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": int(n_rows)}


PIPELINES = {"shopsynth": run_shopsynth, "pandas": run_pandas, "duckdb_floor": run_duckdb_floor}


def child(which: str, csv_path: Path) -> None:
    result = PIPELINES[which](csv_path)
    # ru_maxrss is in kilobytes on Linux.
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def duckdb_threads() -> int:
    import duckdb

    return int(duckdb.connect().execute("SELECT current_setting('threads')").fetchone()[0])


def ensure_csv(n_events: int) -> Path:
    out_dir = DATA_DIR / f"world_{n_events}"
    csv_path = out_dir / "events.csv"
    if not csv_path.is_file():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "core",
                "simulate",
                "--events",
                str(n_events),
                "--out",
                str(out_dir),
                "--format",
                "csv",
            ],
            cwd=ROOT,
            check=True,
        )
    return csv_path


def measure(which: str, csv_path: Path) -> dict:
    load_before = os.getloadavg()
    completed = subprocess.run(
        [sys.executable, __file__, "--child", which, "--csv", str(csv_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["load_average_before"] = [round(value, 2) for value in load_before]
    return result


def check_same_rules() -> None:
    """The pandas reference spells out the default rules: fail if the defaults changed."""
    sys.path.insert(0, str(ROOT))
    from core.data.cleaning_config import CleaningConfig
    from core.data.rules import MIN_TS_GAP_DAYS as CORE_GAP_DAYS
    from core.schema import DEFAULT_EVENT_WEIGHTS as CORE_WEIGHTS

    config = CleaningConfig()
    spelt_out = (
        BOT_MAX_EVENTS_PER_MINUTE,
        BOT_MAX_EVENTS_PER_SESSION,
        BUYER_PURCHASE_SHARE,
        MIN_USER_ITEMS,
        MIN_TS_GAP_DAYS,
        DEFAULT_EVENT_WEIGHTS,
    )
    defaults = (
        config.max_events_per_minute,
        config.max_events_per_session,
        config.buyer_purchase_share,
        config.min_user_interactions,
        CORE_GAP_DAYS,
        CORE_WEIGHTS,
    )
    if spelt_out != defaults or config.max_events_per_user_day or config.min_item_interactions:
        raise SystemExit("the pandas reference no longer matches the default cleaning rules")


def check_same_output(shopsynth: dict, pandas: dict) -> None:
    """Refuse a ratio unless both pipelines kept the same events and built the same matrix."""
    for key in ("events_after_cleaning", "shape", "nnz"):
        if shopsynth[key] != pandas[key]:
            raise SystemExit(f"{key} differs: ShopSynth {shopsynth[key]}, pandas {pandas[key]}")
    if abs(shopsynth["weight_sum"] - pandas["weight_sum"]) > 1e-6 * pandas["weight_sum"]:
        ours, theirs = shopsynth["weight_sum"], pandas["weight_sum"]
        raise SystemExit(f"weight sums differ: ShopSynth {ours}, pandas {theirs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--child", choices=sorted(PIPELINES))
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.csv)
        return

    check_same_rules()
    csv_path = ensure_csv(args.events)
    runs: dict[str, list[dict]] = {which: [] for which in PIPELINES}
    for _ in range(args.repeats):
        for which in PIPELINES:
            runs[which].append(measure(which, csv_path))
            print(which, runs[which][-1], flush=True)
        check_same_output(runs["shopsynth"][-1], runs["pandas"][-1])
    best = {which: min(results, key=lambda r: r["seconds"]) for which, results in runs.items()}
    peak = {which: max(r["peak_rss_mb"] for r in results) for which, results in runs.items()}
    payload = {
        "benchmark": "ingest_clean_csr",
        "events_in_file": args.events,
        "csv_mb": round(csv_path.stat().st_size / 2**20, 1),
        "shopsynth_seconds": round(best["shopsynth"]["seconds"], 3),
        "pandas_seconds": round(best["pandas"]["seconds"], 3),
        "shopsynth_peak_rss_mb": round(peak["shopsynth"], 1),
        "pandas_peak_rss_mb": round(peak["pandas"], 1),
        "duckdb_floor_seconds": round(best["duckdb_floor"]["seconds"], 3),
        "speedup_vs_pandas": round(best["pandas"]["seconds"] / best["shopsynth"]["seconds"], 3),
        "floor_speedup_vs_pandas": round(
            best["pandas"]["seconds"] / best["duckdb_floor"]["seconds"], 3
        ),
        "memory_ratio_vs_pandas": round(peak["shopsynth"] / peak["pandas"], 3),
        "same_output": {
            key: best["shopsynth"][key] for key in ("events_after_cleaning", "shape", "nnz")
        },
        "targets": {
            "speedup_vs_pandas": ">= 1.5 on 2 cores",
            "speedup_vs_pandas_16_cores": ">= 3",
            "memory_ratio_vs_pandas": "<= 0.5",
        },
        "note": (
            "speedup_vs_pandas_16_cores is absent: no 16-core machine was available for this run"
        ),
        "runs": runs,
        "machine": {
            "cpus": os.cpu_count(),
            "duckdb_threads": duckdb_threads(),
            "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps({k: payload[k] for k in ("speedup_vs_pandas", "memory_ratio_vs_pandas")}))


if __name__ == "__main__":
    main()
