"""Spark engine vs the local engine on a simulated shop: ingest + clean, and ALS per iteration.

The simulated world (``--sizes``, 10M events first) is generated once as Parquet under
``benchmarks/data/`` (git-ignored) and reused. Then, each engine in its own child process so
that peak memory is the engine's own:

* ``local``: DuckDB load + cleaning into a workspace, the weighted CSR, then implicit ALS on
  ``--threads`` threads;
* ``spark``: Spark (``--master``, ``local[2]`` by default) reads the Parquet, cleans it and
  writes the cleaned interactions as Parquet; then, without leaving Spark, the same event
  weights summed per (user, item), ids indexed by MLlib's ``StringIndexer``, and MLlib ALS.

Both fit ``--iterations`` iterations of 64 factors; seconds per iteration are the fit's wall
time divided by them (Spark's ratings are built and cached before the fit starts and timed
apart as ``als_prepare_seconds``). Peak memory is the largest resident set of the child and all
its processes (for Spark: the driver/executor JVM and the Python workers), sampled every 0.2 s;
``jvm_peak_memory_mb`` is the JVM's alone. The load average is recorded before and after each
run. A run that does not finish within ``--timeout`` seconds is stopped and recorded with its
reason, and the next (smaller) size is tried; ``engines`` holds the largest size both finished.
Writes ``benchmarks/results/spark.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "spark.json"
FACTORS = 64


def _sample_rss(stop: threading.Event, peak: dict[str, int]) -> None:
    import psutil

    me = psutil.Process()
    while not stop.wait(0.2):
        total = jvm = 0
        for process in [me, *me.children(recursive=True)]:
            try:
                rss = process.memory_info().rss
                name = process.name()
            except psutil.Error:
                continue
            total += rss
            jvm += rss if name == "java" else 0
        peak["total"] = max(peak["total"], total)
        peak["jvm"] = max(peak["jvm"], jvm)


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
        built = time.perf_counter()
        model = ALS(factors=FACTORS, iterations=iterations, num_threads=threads)
        model.fit(train)
        fitted = time.perf_counter()
    return {
        "ingest_clean_seconds": round(cleaned - start, 3),
        "als_prepare_seconds": round(built - cleaned, 3),
        "als_seconds_per_iteration": round((fitted - built) / iterations, 3),
        "events_after_cleaning": int(report.n_events_after),
        "matrix_shape": list(train.matrix.shape),
        "nnz": int(train.matrix.nnz),
    }


def run_spark(world: Path, iterations: int, master: str, memory: str, out: Path) -> dict:
    from pyspark.ml.feature import StringIndexer
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import functions as sf

    from core.engines.spark.clean import clean_files
    from core.engines.spark.session import spark_session
    from core.schema import DEFAULT_EVENT_WEIGHTS

    started = time.perf_counter()
    spark = spark_session(
        master,
        app_name="ShopSynth benchmark",
        conf={
            "spark.driver.memory": memory,
            "spark.local.dir": str(out / "scratch"),
            "spark.sql.warehouse.dir": str(out / "warehouse"),
        },
    )
    session_seconds = time.perf_counter() - started
    start = time.perf_counter()
    cleaned = clean_files(
        spark,
        world / "events.parquet",
        out / "cleaned",
        catalog_path=world / "catalog.parquet",
        preset="shopsynth",
    )
    done = time.perf_counter()
    # The local engine's matrix, built in Spark: the default event weights summed per pair.
    weights = {event: w for event, w in DEFAULT_EVENT_WEIGHTS.items() if w > 0}
    weight = sf.lit(0.0)
    for event, value in weights.items():
        weight = sf.when(sf.col("event") == event, sf.lit(float(value))).otherwise(weight)
    pairs = (
        spark.read.parquet(str(cleaned.events_path))
        .where(sf.col("item_id").isNotNull() & sf.col("event").isin(list(weights)))
        .groupBy("user_id", "item_id")
        .agg(sf.sum(weight).cast("float").alias("rating"))
    )
    indexers = [
        StringIndexer(inputCol=f"{side}_id", outputCol=side, stringOrderType="alphabetAsc").fit(
            pairs
        )
        for side in ("user", "item")
    ]
    ratings = pairs
    for indexer in indexers:
        ratings = indexer.transform(ratings)
    ratings = (
        ratings.select(sf.col("user").cast("int"), sf.col("item").cast("int"), "rating")
        .repartition(2)
        .cache()
    )
    nnz = ratings.count()
    prepared = time.perf_counter()
    estimator = ALS(
        rank=FACTORS,
        maxIter=iterations,
        implicitPrefs=True,
        alpha=10.0,
        userCol="user",
        itemCol="item",
        ratingCol="rating",
        numUserBlocks=2,
        numItemBlocks=2,
        checkpointInterval=-1,
        seed=0,
    )
    estimator.fit(ratings)  # MLlib materialises both factor tables before it returns
    fitted = time.perf_counter()
    shape = [len(indexer.labelsArray[0]) for indexer in indexers]
    spark.stop()
    return {
        "session_start_seconds": round(session_seconds, 3),
        "ingest_clean_seconds": round(done - start, 3),
        "als_prepare_seconds": round(prepared - done, 3),
        "als_seconds_per_iteration": round((fitted - prepared) / iterations, 3),
        "events_after_cleaning": int(cleaned.report.n_events_after),
        "matrix_shape": shape,
        "nnz": int(nnz),
        "driver_memory": memory,
    }


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    stop, peak = threading.Event(), {"total": 0, "jvm": 0}
    sampler = threading.Thread(target=_sample_rss, args=(stop, peak), daemon=True)
    sampler.start()
    world = Path(args.world)
    with tempfile.TemporaryDirectory() as out:
        if args.engine == "local":
            result = run_local(world, args.iterations, args.threads)
        else:
            result = run_spark(world, args.iterations, args.master, args.driver_memory, Path(out))
    stop.set()
    sampler.join()
    result["peak_memory_mb"] = round(peak["total"] / 2**20, 1)
    if args.engine == "spark":
        result["jvm_peak_memory_mb"] = round(peak["jvm"] / 2**20, 1)
    print(json.dumps(result))


def world_of(n_events: int) -> tuple[Path, dict]:
    """The simulated world of ``n_events`` under benchmarks/data, generated on first use."""
    from core.simulate.world import simulate_world

    folder = DATA / f"spark_world_{n_events}"
    summary = folder / "summary.json"
    if not summary.is_file():
        start = time.perf_counter()
        world = simulate_world(n_events, folder, random_state=7)
        facts = {
            "n_events": world.n_events,
            "n_users": world.n_users,
            "n_items": world.n_items,
            "simulate_seconds": round(time.perf_counter() - start, 1),
        }
        summary.write_text(json.dumps(facts))
    return folder, json.loads(summary.read_text())


def run_engine(engine: str, world: Path, args: argparse.Namespace) -> dict:
    """One engine in a child process (its own process group, stopped whole on timeout)."""
    command = [
        *(sys.executable, __file__, "--engine", engine, "--world", str(world)),
        *("--iterations", str(args.iterations), "--master", args.master),
        *("--threads", str(args.threads), "--driver-memory", args.driver_memory),
    ]
    before = os.getloadavg()
    start = time.perf_counter()
    child_process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = child_process.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child_process.pid, signal.SIGKILL)
        child_process.communicate()
        result = {
            "finished": False,
            "reason": f"stopped after {args.timeout} s (the limit given to one run)",
        }
    else:
        if child_process.returncode == 0:
            result = {"finished": True, **json.loads(stdout.strip().splitlines()[-1])}
        else:
            tail = stderr.strip().splitlines()[-3:]
            result = {"finished": False, "reason": f"exit {child_process.returncode}: {tail}"}
    result["wall_seconds"] = round(time.perf_counter() - start, 1)
    result["loadavg_before"] = [round(x, 2) for x in before]
    result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000000,3000000,1000000")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--engine", choices=["local", "spark"], help=argparse.SUPPRESS)
    parser.add_argument("--world", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        child(args)
        return
    sys.path.insert(0, str(ROOT))
    attempts, chosen = [], None
    for n_events in (int(size) for size in args.sizes.split(",")):
        world, facts = world_of(n_events)
        engines = {engine: run_engine(engine, world, args) for engine in ("local", "spark")}
        print(n_events, json.dumps(engines), flush=True)
        attempts.append({**facts, "engines": engines})
        if all(run["finished"] for run in engines.values()):
            chosen = attempts[-1]
            break
    result: dict = {
        "spark_master": args.master,
        "spark_driver_memory": args.driver_memory,
        "local_threads": args.threads,
        "als_factors": FACTORS,
        "als_iterations": args.iterations,
        "timeout_seconds_per_run": args.timeout,
        "attempts": attempts,
    }
    if chosen is not None:
        local, spark = chosen["engines"]["local"], chosen["engines"]["spark"]
        result |= {
            "n_events": chosen["n_events"],
            "n_users": chosen["n_users"],
            "n_items": chosen["n_items"],
            "engines": chosen["engines"],
            "same_cleaned_events": local["events_after_cleaning"] == spark["events_after_cleaning"],
            # The local item axis also holds catalogue items without events; Spark's does not.
            "same_users_and_entries": local["matrix_shape"][0] == spark["matrix_shape"][0]
            and local["nnz"] == spark["nnz"],
            "local_speedup_ingest_clean": round(
                spark["ingest_clean_seconds"] / local["ingest_clean_seconds"], 2
            ),
            "local_speedup_als_per_iteration": round(
                spark["als_seconds_per_iteration"] / local["als_seconds_per_iteration"], 2
            ),
            "memory_ratio_spark_vs_local": round(
                spark["peak_memory_mb"] / local["peak_memory_mb"], 2
            ),
        }
    result |= {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
