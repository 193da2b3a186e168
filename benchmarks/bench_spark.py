"""Spark engine vs the local engine on a simulated shop: ingest + clean, and ALS per iteration.

One simulated world (``--events``, 10M by default) is written as Parquet; then, each in its own
child process so that peak memory is the engine's own,

* ``local``: DuckDB load + cleaning into a workspace, the CSR, then implicit ALS on
  ``--threads`` threads;
* ``spark``: Spark (``--master``, ``local[2]`` by default) reads the Parquet, cleans it and
  writes the cleaned interactions as Parquet; then MLlib ALS on the same matrix.

Both fit ``--iterations`` iterations of 64 factors; the seconds per iteration are the fit's
wall time divided by them. Peak memory is the largest resident set of the child and its
processes (Spark's JVM included), sampled every 0.2 s. The load average of the machine is
recorded before and after each run. Writes ``benchmarks/results/spark.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "spark.json"
FACTORS = 64


def _peak_rss(stop: threading.Event, peak: list[int]) -> None:
    import psutil

    me = psutil.Process()
    while not stop.wait(0.2):
        total = 0
        for process in [me, *me.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                continue
        peak[0] = max(peak[0], total)


def run_local(world: Path, iterations: int, threads: int) -> dict:
    from core.data.clean import clean_dataset
    from core.data.ingest.load import load_dataset
    from core.data.interactions import build_interactions
    from core.data.workspace import Workspace
    from core.models.als import ALS

    with tempfile.TemporaryDirectory() as home:
        start = time.perf_counter()
        workspace = Workspace.open("bench", home=Path(home))
        load_dataset(workspace, world / "events.parquet", catalog_path=world / "catalog.parquet")
        report = clean_dataset(workspace)
        cleaned = time.perf_counter()
        train = build_interactions(workspace)
        model = ALS(factors=FACTORS, iterations=iterations, num_threads=threads)
        fit_start = time.perf_counter()
        model.fit(train)
        fitted = time.perf_counter()
    return {
        "ingest_clean_seconds": round(cleaned - start, 3),
        "als_seconds_per_iteration": round((fitted - fit_start) / iterations, 3),
        "events_after_cleaning": int(report.n_events_after),
        "matrix_shape": list(train.matrix.shape),
        "nnz": int(train.matrix.nnz),
    }


def run_spark(world: Path, iterations: int, master: str, out: Path) -> dict:
    import numpy as np
    import pyarrow.parquet as pq
    import scipy.sparse as sp

    from core.engines.spark.clean import clean_files
    from core.engines.spark.session import spark_session
    from core.models.als_spark import SparkALS

    started = time.perf_counter()
    spark = spark_session(master)
    session_seconds = time.perf_counter() - started
    start = time.perf_counter()
    cleaned = clean_files(
        spark,
        world / "events.parquet",
        out,
        catalog_path=world / "catalog.parquet",
        preset="shopsynth",
    )
    done = time.perf_counter()
    # The same matrix as the local run: one weight per (user, item) from the event weights.
    table = pq.read_table(cleaned.events_path, columns=["user_id", "item_id", "event"])
    frame = table.to_pandas()
    frame = frame[frame["item_id"].notna() & (frame["event"] != "search")]
    users, user_idx = np.unique(frame["user_id"].to_numpy(), return_inverse=True)
    items, item_idx = np.unique(frame["item_id"].to_numpy(), return_inverse=True)
    matrix = sp.csr_matrix(
        (np.ones(len(frame), dtype=np.float32), (user_idx, item_idx)),
        shape=(len(users), len(items)),
    )
    from core.data.interactions import Interactions

    coo = matrix.tocoo()
    train = Interactions.from_arrays(
        users.astype(str),
        items.astype(str),
        coo.row,
        coo.col,
        coo.data,
        np.full(coo.nnz, np.datetime64("2025-01-01T00:00:00", "s")),
    )
    model = SparkALS(factors=FACTORS, iterations=iterations, blocks=2)
    fit_start = time.perf_counter()
    model.fit(train)
    fitted = time.perf_counter()
    spark.stop()
    return {
        "session_start_seconds": round(session_seconds, 3),
        "ingest_clean_seconds": round(done - start, 3),
        "als_seconds_per_iteration": round((fitted - fit_start) / iterations, 3),
        "events_after_cleaning": int(cleaned.report.n_events_after),
        "matrix_shape": list(matrix.shape),
        "nnz": int(matrix.nnz),
    }


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    stop, peak = threading.Event(), [0]
    sampler = threading.Thread(target=_peak_rss, args=(stop, peak), daemon=True)
    sampler.start()
    world = Path(args.world)
    with tempfile.TemporaryDirectory() as out:
        if args.engine == "local":
            result = run_local(world, args.iterations, args.threads)
        else:
            result = run_spark(world, args.iterations, args.master, Path(out))
    stop.set()
    sampler.join()
    result["peak_memory_mb"] = round(peak[0] / 2**20, 1)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--engine", choices=["local", "spark"], help=argparse.SUPPRESS)
    parser.add_argument("--world", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        child(args)
        return
    sys.path.insert(0, str(ROOT))
    from core.simulate.world import simulate_world

    with tempfile.TemporaryDirectory() as folder:
        world = Path(folder) / "world"
        simulated = simulate_world(args.events, world, random_state=7)
        engines = {}
        for engine in ("local", "spark"):
            before = os.getloadavg()
            found = subprocess.run(
                [
                    *(sys.executable, __file__, "--engine", engine, "--world", str(world)),
                    *("--iterations", str(args.iterations), "--master", args.master),
                    *("--threads", str(args.threads)),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            engines[engine] = json.loads(found.stdout.strip().splitlines()[-1])
            engines[engine]["loadavg_before"] = [round(x, 2) for x in before]
            engines[engine]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
            print(engine, engines[engine], flush=True)
    result = {
        "n_events": simulated.n_events,
        "n_users": simulated.n_users,
        "n_items": simulated.n_items,
        "spark_master": args.master,
        "local_threads": args.threads,
        "als_factors": FACTORS,
        "als_iterations": args.iterations,
        "engines": engines,
        "spark_speedup_ingest_clean": round(
            engines["local"]["ingest_clean_seconds"] / engines["spark"]["ingest_clean_seconds"], 3
        ),
        "spark_speedup_als_per_iteration": round(
            engines["local"]["als_seconds_per_iteration"]
            / engines["spark"]["als_seconds_per_iteration"],
            3,
        ),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
