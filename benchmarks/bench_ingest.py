"""Ingest + clean + CSR build: ShopSynth (DuckDB) against the pandas pipeline a user would write.

Protocol
--------
1. Generate a 5M-event CSV with the sample-world simulator (kept in ``benchmarks/data/``).
2. Run each pipeline in its own fresh Python process, one after the other, on the same file:

   a. ShopSynth: ``load_dataset`` (DuckDB reader, canonical table), ``clean_dataset`` (default
      rules: missing ids, duplicates, timestamps, returns, bots, unknown items, k-core) and
      ``build_interactions`` (weighted user x item CSR).
   b. pandas: ``read_csv``, drop rows with missing ids, ``drop_duplicates``, a bot filter by
      events per user per day, event weights, ``groupby(user, item).sum()``, ``factorize`` and a
      scipy CSR. It does less work than (a): no k-core, no catalogue join.
   c. DuckDB copy floor: one ``CREATE TABLE ... AS SELECT * FROM read_csv(...)`` into a
      database file, then ``CHECKPOINT``: no validation, no cleaning, no CSR. Any pipeline that
      keeps the log in a DuckDB workspace pays at least this, so it bounds (a) from below.

3. Each child reports its wall time and peak resident memory (``ru_maxrss``); the parent writes
   ``benchmarks/results/ingest.json`` with ``speedup_vs_pandas`` (pandas time / ShopSynth time)
   and ``memory_ratio_vs_pandas`` (ShopSynth peak RSS / pandas peak RSS).

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
BOT_MAX_EVENTS_PER_DAY = 500


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
    }


def run_pandas(csv_path: Path) -> dict:
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    weights = {"view": 1.0, "click": 2.0, "add_to_cart": 4.0, "purchase": 8.0, "search": 0.0}
    start = time.perf_counter()
    events = pd.read_csv(csv_path, parse_dates=["ts"])
    events = events.dropna(subset=["user_id", "item_id"])
    events = events.drop_duplicates(subset=["user_id", "item_id", "event", "ts"])
    per_day = events.groupby(["user_id", events["ts"].dt.date]).size()
    bots = per_day[per_day > BOT_MAX_EVENTS_PER_DAY].index.get_level_values(0).unique()
    events = events[~events["user_id"].isin(bots)]
    events["weight"] = events["event"].map(weights).fillna(0.0)
    pairs = events.groupby(["user_id", "item_id"], as_index=False)["weight"].sum()
    user_idx, user_ids = pd.factorize(pairs["user_id"])
    item_idx, item_ids = pd.factorize(pairs["item_id"])
    matrix = sp.csr_matrix(
        (pairs["weight"].to_numpy(np.float32), (user_idx, item_idx)),
        shape=(len(user_ids), len(item_ids)),
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "events_after_cleaning": len(events),
        "shape": list(matrix.shape),
        "nnz": int(matrix.nnz),
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
    completed = subprocess.run(
        [sys.executable, __file__, "--child", which, "--csv", str(csv_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


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

    csv_path = ensure_csv(args.events)
    runs: dict[str, list[dict]] = {which: [] for which in PIPELINES}
    for _ in range(args.repeats):
        for which in PIPELINES:
            runs[which].append(measure(which, csv_path))
            print(which, runs[which][-1], flush=True)
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
        "targets": {"speedup_vs_pandas": ">= 3", "memory_ratio_vs_pandas": "<= 0.5"},
        "runs": runs,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps({k: payload[k] for k in ("speedup_vs_pandas", "memory_ratio_vs_pandas")}))


if __name__ == "__main__":
    main()
