"""Synthetic-query benchmark: the warm-started generator against the GPT-2 baseline, 10,000
queries each, generated and round-trip filtered on two cores.

Protocol
--------
Setup (timed, not part of the keys)
    ``sample_data`` is loaded into a temporary workspace and cleaned. all-MiniLM-L6-v2 is loaded
    and the catalogue's product embeddings are written to the workspace's embedding cache (key
    ``catalog_embedding_seconds``), as the first generation in a workspace would do once.

Warm-started generator (the default; keys ``warm_*``)
    :func:`core.synth.queries.train_warm_query_model` with
    :data:`core.synth.queries.WARM_QUERY_CONFIG` on ``--threads`` torch threads: the pairs whose
    real query finds its product in the top 10 are selected (round trip, cached product
    embeddings), at most 4,800 drawn, MiniLM warm-starts encoder and a three-layer decoder with
    copy attention, one epoch (150 steps) trains the decoder and copy head; generation writes
    three candidates per wanted query and prefers those that copy no real or training query.
    ``warm_train_seconds`` is the wall time of all of it (selection included),
    ``warm_train_cpu_seconds`` the process CPU time (less sensitive to other load on the
    machine). Then the same generation call as the baseline's below, with ``warm:bench``.
    ``warm_keep_rate``: share of the stored queries whose product ranks in the top 10;
    ``warm_copy_rate``: share that equal a real query of the log or a training query.
    ``real_keep_rate``: share of the log's real (query, product) pairs that pass the same
    round-trip filter, the ceiling of a generator that wrote queries like the shoppers'.

Baseline GPT-2 (keys ``baseline_*``)
    A query LM is trained on the search-then-click pairs with
    :data:`core.synth.queries.QUERY_LM_CONFIG` (``--epochs`` overrides the epochs) by
    :func:`core.synth.queries.train_query_lm` (``baseline_train_seconds``, also kept as
    ``lm_training_seconds``).

``queries_10k_seconds`` (target: at most 120)
    Wall time of one :func:`core.synth.queries.synthesize_queries` call with the trained LM:
    ``n_per_product=4`` queries for the first 2,500 catalogue products (10,000 sampled queries;
    temperature 1.0, top-p 0.9), repeated ones of a product dropped, every remaining query
    embedded by MiniLM and ranked against the whole catalogue (cached product embeddings),
    flagged and stored as pending samples. ``generation_seconds`` and ``filter_seconds`` split
    it (the rest is flagging and storing). MiniLM encodes with ``--threads`` workers (default
    2); the LM trains and samples on one thread (its configuration's default).
    ``keep_rate`` is the share of queries whose product ranks in the top 10.

``load_average`` (1, 5 and 15 minutes, :func:`os.getloadavg`)
    Taken before and after each timed step: the machine is shared, and its load explains the
    wall times.

``template`` (for comparison)
    The same call with the template generator: its time, keep rate and copy rate.

``examples``
    Twelve LM samples drawn at random (seed 0), with their product's title, rank, score and
    flags, and four template samples.

Run: ``python benchmarks/bench_synth.py [--threads 2] [--epochs N] [--skip-template]
[--skip-baseline] [--skip-warm] [--products 2500] [--warm-max-pairs N] [--embedding-cache DIR]
[--results PATH]``. The
results file is written after each part; with ``--products`` other than 2500 the generation
time is ``*_queries_seconds``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from core.data.clean import clean_dataset  # noqa: E402
from core.data.ingest.load import load_sample_world  # noqa: E402
from core.data.workspace import Workspace, atomic_write_json  # noqa: E402
from core.synth.catalog_fields import read_catalog  # noqa: E402
from core.synth.queries import (  # noqa: E402
    QUERY_LM_CONFIG,
    WARM_QUERY_CONFIG,
    synthesize_queries,
    train_query_lm,
    train_warm_query_model,
)
from core.synth.store import SynthesisRun  # noqa: E402
from core.text.cache import EmbeddingCache  # noqa: E402
from core.text.encoders import load_encoder  # noqa: E402
from core.text.product_text import product_texts  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "synth.json"
SAMPLE_DIR = ROOT / "sample_data"
N_PRODUCTS = 2500
N_PER_PRODUCT = 4
TARGET_SECONDS = 120.0

Results = dict[str, Any]


def _progress(label: str, every: int) -> Any:
    def report(step: int, total: int, info: str) -> None:
        if step % every == 0 or step == total:
            print(f"  {label} {step}/{total} {info}", flush=True)

    return report


def _examples(run: SynthesisRun, catalog: pd.DataFrame, n: int) -> list[dict[str, Any]]:
    titles = catalog.set_index("item_id")["title"]
    chosen = run.samples.sample(n=min(n, len(run.samples)), random_state=0)
    return [
        {
            "item_id": row.item_id,
            "title": titles.get(row.item_id),
            "query": row.text,
            "rank": int(row.rank),
            "score": round(float(row.score), 4),
            "flags": list(row.flags),
        }
        for row in chosen.itertuples(index=False)
    ]


def _load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def _generate(workspace: Workspace, generator: str, item_ids: list[str], encoder: Any) -> Any:
    return synthesize_queries(
        workspace, generator, n_per_product=N_PER_PRODUCT, item_ids=item_ids, k=10,
        encoder=encoder, temperature=1.0, top_p=0.9, batch_size=64, random_state=0,
        callback=_progress(f"synthesize {generator}", 1000),
    )  # fmt: skip


def _run_figures(run: SynthesisRun, seconds: float, catalog: pd.DataFrame) -> Results:
    metrics = run.metrics
    timing = "queries_10k_seconds" if metrics["n_generated"] == 10_000 else "queries_seconds"
    return {
        timing: seconds,
        "generation_seconds": metrics["generation_seconds"],
        "filter_seconds": metrics["filter_seconds"],
        "n_generated": metrics["n_generated"],
        "n_samples": metrics["n_samples"],
        "keep_rate": metrics["keep_rate"],
        "copy_rate": metrics["copy_rate"],
        "mean_score": metrics["mean_score"],
        "too_short_rate": metrics["too_short_rate"],
        "too_long_rate": metrics["too_long_rate"],
        "wrong_attribute_rate": metrics["wrong_attribute_rate"],
        "examples": _examples(run, catalog, 12),
    }


def _write(results: Results, threads: int, path: Path = RESULTS) -> None:
    results["environment"] = {
        "threads": threads,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg()[0],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, results)
    print(f"wrote {path}", flush=True)


def main(argv: list[str] | None = None) -> Results:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=QUERY_LM_CONFIG.epochs)
    parser.add_argument("--skip-template", action="store_true")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-warm", action="store_true")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the JSON to write")
    parser.add_argument("--products", type=int, default=N_PRODUCTS)
    parser.add_argument("--warm-max-pairs", type=int, default=WARM_QUERY_CONFIG.max_pairs)
    parser.add_argument(
        "--embedding-cache",
        type=Path,
        help="an embedding-cache folder of an earlier run on the same catalogue: copied into "
        "the workspace so the catalogue is not embedded again",
    )
    args = parser.parse_args(argv)
    config = replace(QUERY_LM_CONFIG, epochs=args.epochs)
    warm_config = replace(
        WARM_QUERY_CONFIG, num_threads=args.threads, max_pairs=args.warm_max_pairs
    )
    results: Results = {"queries_10k_target_seconds": TARGET_SECONDS, "k": 10}
    with tempfile.TemporaryDirectory() as home:
        workspace = Workspace.open("bench", home=Path(home))
        start = time.perf_counter()
        load_sample_world(workspace, SAMPLE_DIR)
        clean_dataset(workspace)
        results["setup_seconds"] = time.perf_counter() - start
        catalog = read_catalog(workspace)
        print(f"sample world loaded in {results['setup_seconds']:.1f} s", flush=True)

        encoder = load_encoder("minilm", device="cpu", num_threads=args.threads)
        if args.embedding_cache is not None:
            shutil.copytree(args.embedding_cache, workspace.artifacts_dir / "embeddings")
            results["catalog_embeddings_copied_from_an_earlier_run"] = True
        start = time.perf_counter()
        ids = catalog["item_id"].tolist()
        EmbeddingCache.for_workspace(workspace).encode(encoder, product_texts(catalog, ids))
        results["catalog_embedding_seconds"] = time.perf_counter() - start
        print(f"catalogue embedded in {results['catalog_embedding_seconds']:.1f} s", flush=True)
        item_ids = ids[: args.products]
        results["n_products"] = len(item_ids)
        results["n_per_product"] = N_PER_PRODUCT

        if not args.skip_warm:
            load_before = _load()
            start, cpu = time.perf_counter(), time.process_time()
            warm = train_warm_query_model(
                workspace, "bench", warm_config, encoder=encoder, callback=_progress("warm", 20)
            )
            results["warm_train_seconds"] = time.perf_counter() - start
            results["warm_train_cpu_seconds"] = time.process_time() - cpu
            results["warm_train_load_average"] = {"before": load_before, "after": _load()}
            # The ceiling: the share of the real (query, product) pairs of the log that pass the
            # same round-trip filter (computed while selecting the training pairs).
            meta = warm.metadata
            results["real_keep_rate"] = meta["n_consistent_pairs"] / meta["n_pairs"]
            results["warm_model"] = {
                "config": asdict(warm_config),
                "parameters": warm.n_parameters,
                "decoder_vocabulary": len(warm.vocabulary),
                "pairs": warm.metadata["n_pairs"],
                "consistent_pairs": warm.metadata["n_consistent_pairs"],
                "train_pairs": warm.metadata["n_train"],
                "valid_pairs": warm.metadata["n_valid"],
                "encode_seconds": warm.metadata["encode_seconds"],
                "history": warm.metadata["history"],
            }
            print(f"warm generator trained in {results['warm_train_seconds']:.1f} s", flush=True)
            load_before = _load()
            start = time.perf_counter()
            run = _generate(workspace, "warm:bench", item_ids, encoder)
            figures = _run_figures(run, time.perf_counter() - start, catalog)
            results.update({f"warm_{name}": value for name, value in figures.items()})
            results["warm_generation_load_average"] = {"before": load_before, "after": _load()}
            print(f"warm: keep {figures['keep_rate']:.3f}, copies {figures['copy_rate']:.3f}")
            _write(results, args.threads, args.results)

        if not args.skip_baseline:
            load_before = _load()
            start, cpu = time.perf_counter(), time.process_time()
            lm = train_query_lm(workspace, "baseline", config, callback=_progress("train", 100))
            results["baseline_train_seconds"] = time.perf_counter() - start
            results["baseline_train_cpu_seconds"] = time.process_time() - cpu
            results["lm_training_seconds"] = results["baseline_train_seconds"]
            results["baseline_epochs"] = config.epochs
            results["baseline_train_load_average"] = {"before": load_before, "after": _load()}
            results["lm"] = {
                "config": asdict(config),
                "parameters": lm.n_parameters,
                "train_pairs": lm.metadata["n_train"],
                "valid_pairs": lm.metadata["n_valid"],
                "history": lm.metadata["history"],
            }
            load_before = _load()
            start = time.perf_counter()
            run = _generate(workspace, "lm:baseline", item_ids, encoder)
            figures = _run_figures(run, time.perf_counter() - start, catalog)
            results.update({f"baseline_{name}": value for name, value in figures.items()})
            results["baseline_generation_load_average"] = {"before": load_before, "after": _load()}
            print(f"baseline: keep {figures['keep_rate']:.3f}, copies {figures['copy_rate']:.3f}")
            _write(results, args.threads, args.results)

        if not args.skip_template:
            start = time.perf_counter()
            baseline = synthesize_queries(
                workspace, "template", n_per_product=N_PER_PRODUCT, item_ids=item_ids, k=10,
                encoder=encoder, random_state=0,
            )  # fmt: skip
            results["template"] = {
                "seconds": time.perf_counter() - start,
                "n_samples": baseline.metrics["n_samples"],
                "keep_rate": baseline.metrics["keep_rate"],
                "copy_rate": baseline.metrics["copy_rate"],
                "wrong_attribute_rate": baseline.metrics["wrong_attribute_rate"],
                "mean_score": baseline.metrics["mean_score"],
                "examples": _examples(baseline, catalog, 4),
            }
    _write(results, args.threads, args.results)
    return results


if __name__ == "__main__":
    main()
