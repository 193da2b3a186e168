"""Model benchmarks: ShopSynth's ALS wrapper against raw implicit, and accuracy on public data.

Each measurement is a function that adds its keys to one results dict; :func:`main` runs the
chosen ones and merges their keys into ``benchmarks/results/models.json`` (keys of other
measurements already in the file are kept).

Protocols
---------
``als_overhead`` (keys ``als_overhead_ratio``, ``als_overhead``)
    A random but realistic implicit-feedback matrix: 50,000 users x 20,000 items with exactly
    1,000,000 stored entries, user activity and item popularity both power-law (Zipf
    exponents 0.6 and 1.0 over shuffled ranks), every user with at least one item, weights
    1-8 as event weights would give. The same work is timed both ways, in one process:

    a. ShopSynth: ``ALS(factors=64, iterations=15, regularization=1, alpha=10, num_threads=0)
       .fit(interactions)`` then ``recommend(all users, k=10)`` (exclude seen).
    b. raw implicit: ``implicit.cpu.als.AlternatingLeastSquares`` with the same parameters,
       ``fit`` under ``threadpool_limits(1, "blas")`` (as implicit advises) and
       ``recommend(all users, matrix, N=10, filter_already_liked_items=True)``.

    ``--repeats`` pairs of runs, b then a, then a then b, and so on; ``als_overhead_ratio`` is
    the median over the pairs of (a time / b time): the two runs of a pair are adjacent, so
    they see about the same load from other processes on a shared machine. Target: at most
    1.10. ``als_overhead.in_run_ratio`` divides each ShopSynth run by the time spent inside
    implicit's ``fit`` and ``recommend`` during that same run (the wrapper's own share,
    immune to load changes between runs).

``als_overhead_cpu`` (keys ``als_overhead_cpu_ratio``, ``als_overhead_cpu``)
    The same comparison with one thread everywhere (implicit's and BLAS's), timed in CPU
    seconds of the process (``time.process_time``), which other processes on the machine
    disturb less than wall time; the median of the pair ratios as above.

``movielens`` (key ``movielens_ndcg10``)
    ALS and BPR on MovieLens 100K with the protocol and hyperparameters of
    ``tests/core/models/test_public_accuracy.py`` (75/25 random split per user, all items not
    seen in train ranked, binary NDCG@10).

``beauty`` (key ``beauty_leave_last_out``)
    Every collaborative-filtering model on Amazon Beauty 5-core, leave-last-out, full ranking:
    HR@10 and NDCG@10, with the hyperparameters of the same test module (item kNN with each of
    its three similarities).

Run: ``python benchmarks/bench_models.py [--only als_overhead als_overhead_cpu movielens beauty]
[--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import implicit  # noqa: E402
import implicit.cpu.als  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from core.data import datasets as protocol  # noqa: E402
from core.data.interactions import Interactions  # noqa: E402
from core.data.workspace import atomic_write_json  # noqa: E402
from core.models.als import ALS  # noqa: E402
from core.models.registry import make_model  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "models.json"
DATASETS = ROOT.parent / "shared" / "datasets"

Results = dict[str, Any]

ALS_PARAMS = {"factors": 64, "iterations": 15, "regularization": 1.0, "alpha": 10.0}


def power_law_matrix(
    n_users: int = 50_000, n_items: int = 20_000, nnz: int = 1_000_000, seed: int = 0
) -> Interactions:
    """Interactions with power-law user activity and item popularity (see the module notes)."""
    rng = np.random.default_rng(seed)
    user_weight = 1.0 / np.arange(1, n_users + 1) ** 0.6
    item_weight = 1.0 / np.arange(1, n_items + 1) ** 1.0
    user_weight = rng.permutation(user_weight / user_weight.sum())
    item_weight = rng.permutation(item_weight / item_weight.sum())
    # One item per user first, then power-law pairs until nnz distinct pairs exist.
    keys = np.arange(n_users, dtype=np.int64) * n_items + rng.choice(
        n_items, n_users, p=item_weight
    )
    while len(keys) < nnz:
        draw = int((nnz - len(keys)) * 1.3) + 1000
        users = rng.choice(n_users, draw, p=user_weight)
        items = rng.choice(n_items, draw, p=item_weight)
        fresh = np.setdiff1d(users.astype(np.int64) * n_items + items, keys)
        fresh = rng.permutation(fresh)[: nnz - len(keys)]
        keys = np.concatenate([keys, fresh])
    keys.sort()
    weights = rng.choice(
        np.array([1, 2, 4, 8], dtype=np.float32), len(keys), p=[0.6, 0.25, 0.1, 0.05]
    )
    return Interactions.from_arrays(
        [f"u{u}" for u in range(n_users)],
        [f"i{i}" for i in range(n_items)],
        keys // n_items,
        keys % n_items,
        weights,
        np.full(len(keys), np.datetime64("2024-01-01T00:00:00", "s")),
    )


@contextmanager
def _time_implicit_calls(spent: list[float]) -> Iterator[None]:
    """Add the wall time of every implicit ALS ``fit`` and ``recommend`` call to ``spent``."""
    model_class = implicit.cpu.als.AlternatingLeastSquares
    own = {name: model_class.__dict__.get(name) for name in ("fit", "recommend")}

    def timed(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                spent.append(time.perf_counter() - start)

        return wrapper

    for name in own:
        setattr(model_class, name, timed(getattr(model_class, name)))
    try:
        yield
    finally:
        for name, method in own.items():
            if method is None:
                delattr(model_class, name)
            else:
                setattr(model_class, name, method)


def _time_shopsynth(interactions: Interactions, k: int) -> dict[str, float]:
    spent: list[float] = []
    with _time_implicit_calls(spent):
        start = time.perf_counter()
        model = ALS(**ALS_PARAMS, random_state=0, num_threads=0).fit(interactions)
        fitted = time.perf_counter()
        model.recommend(np.arange(interactions.n_users), k)
        done = time.perf_counter()
    return {
        "fit": fitted - start,
        "recommend": done - fitted,
        "total": done - start,
        "inside_implicit": sum(spent),
    }


def _time_raw(interactions: Interactions, k: int) -> dict[str, float]:
    matrix = interactions.matrix
    start = time.perf_counter()
    with threadpool_limits(1, "blas"):
        model = implicit.cpu.als.AlternatingLeastSquares(
            **ALS_PARAMS, random_state=0, num_threads=0
        )
        model.fit(matrix, show_progress=False)
    fitted = time.perf_counter()
    model.recommend(np.arange(matrix.shape[0]), matrix, N=k, filter_already_liked_items=True)
    done = time.perf_counter()
    return {"fit": fitted - start, "recommend": done - fitted, "total": done - start}


def measure_als_overhead(results: Results, *, repeats: int = 3, k: int = 10) -> None:
    """ShopSynth ALS fit + recommend-all against raw implicit (``als_overhead_ratio``)."""
    interactions = power_law_matrix()
    pairs: list[dict[str, dict[str, float]]] = []
    for repeat in range(repeats):
        sides = ["implicit", "shopsynth"] if repeat % 2 == 0 else ["shopsynth", "implicit"]
        pair = {}
        for side in sides:
            timer = _time_shopsynth if side == "shopsynth" else _time_raw
            pair[side] = timer(interactions, k)
            print(f"  {side:9s} {pair[side]}", flush=True)
        pairs.append(pair)
    ratios = [pair["shopsynth"]["total"] / pair["implicit"]["total"] for pair in pairs]
    in_run = [pair["shopsynth"]["total"] / pair["shopsynth"]["inside_implicit"] for pair in pairs]
    results["als_overhead_ratio"] = round(float(np.median(ratios)), 4)
    results["als_overhead"] = {
        "matrix": {
            "users": interactions.n_users,
            "items": interactions.n_items,
            "nnz": interactions.nnz,
        },
        "params": {**ALS_PARAMS, "num_threads": 0, "k": k},
        "pair_ratios": [round(ratio, 4) for ratio in ratios],
        "ratio_of_fastest_runs": round(
            min(pair["shopsynth"]["total"] for pair in pairs)
            / min(pair["implicit"]["total"] for pair in pairs),
            4,
        ),
        "in_run_ratio": round(float(np.median(in_run)), 4),
        "pairs": pairs,
        "target": "<= 1.10",
    }


def _cpu_seconds_shopsynth(interactions: Interactions, k: int) -> float:
    start = time.process_time()
    model = ALS(**ALS_PARAMS, random_state=0, num_threads=1).fit(interactions)
    with threadpool_limits(1, "blas"):
        model.recommend(np.arange(interactions.n_users), k)
    return time.process_time() - start


def _cpu_seconds_raw(interactions: Interactions, k: int) -> float:
    matrix = interactions.matrix
    start = time.process_time()
    with threadpool_limits(1, "blas"):
        model = implicit.cpu.als.AlternatingLeastSquares(
            **ALS_PARAMS, random_state=0, num_threads=1
        )
        model.fit(matrix, show_progress=False)
        model.recommend(np.arange(matrix.shape[0]), matrix, N=k, filter_already_liked_items=True)
    return time.process_time() - start


def measure_als_overhead_cpu(results: Results, *, repeats: int = 3, k: int = 10) -> None:
    """The same comparison on one thread, in CPU seconds (``als_overhead_cpu_ratio``)."""
    interactions = power_law_matrix()
    pairs: list[dict[str, float]] = []
    for repeat in range(repeats):
        sides = ["implicit", "shopsynth"] if repeat % 2 == 0 else ["shopsynth", "implicit"]
        pair = {}
        for side in sides:
            timer = _cpu_seconds_shopsynth if side == "shopsynth" else _cpu_seconds_raw
            pair[side] = timer(interactions, k)
            print(f"  {side:9s} {pair[side]:.2f} CPU s", flush=True)
        pairs.append(pair)
    ratios = [pair["shopsynth"] / pair["implicit"] for pair in pairs]
    results["als_overhead_cpu_ratio"] = round(float(np.median(ratios)), 4)
    results["als_overhead_cpu"] = {
        "params": {**ALS_PARAMS, "num_threads": 1, "k": k},
        "pair_ratios": [round(ratio, 4) for ratio in ratios],
        "pairs": pairs,
    }


def measure_movielens(results: Results) -> None:
    """ALS and BPR NDCG@10 on MovieLens 100K (``movielens_ndcg10``)."""
    split = protocol.load_movielens(DATASETS)
    scores: dict[str, float] = {}
    for name, params in protocol.MOVIELENS_PARAMS.items():
        model = make_model(name, **params).fit(split.train)
        scores[name] = round(protocol.evaluate(model, split)["ndcg@10"], 4)
        print(f"  MovieLens 100K {name}: NDCG@10 {scores[name]}", flush=True)
    results["movielens_ndcg10"] = scores
    results["movielens_params"] = protocol.MOVIELENS_PARAMS


def measure_beauty(results: Results) -> None:
    """HR@10 and NDCG@10 of every CF model on Amazon Beauty (``beauty_leave_last_out``)."""
    split = protocol.load_beauty(DATASETS)
    runs = {name: (name, params) for name, params in protocol.BEAUTY_PARAMS.items()}
    knn = protocol.BEAUTY_PARAMS["item_knn"]
    for similarity in ("bm25", "tfidf"):
        runs[f"item_knn_{similarity}"] = ("item_knn", {**knn, "similarity": similarity})
    scores: dict[str, dict[str, float]] = {}
    for label, (name, params) in runs.items():
        start = time.perf_counter()
        model = make_model(name, **params).fit(split.train)
        result = protocol.evaluate(model, split)
        scores[label] = {key: round(value, 4) for key, value in result.items()}
        scores[label]["seconds"] = round(time.perf_counter() - start, 2)
        print(f"  Amazon Beauty {label}: {scores[label]}", flush=True)
    results["beauty_leave_last_out"] = scores
    results["beauty_params"] = {
        label: {"model": name, **params} for label, (name, params) in runs.items()
    }


MEASUREMENTS: dict[str, Callable[..., None]] = {
    "als_overhead": measure_als_overhead,
    "als_overhead_cpu": measure_als_overhead_cpu,
    "movielens": measure_movielens,
    "beauty": measure_beauty,
}


def main(argv: list[str] | None = None) -> Results:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(MEASUREMENTS), default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    results: Results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    for name in args.only or list(MEASUREMENTS):
        if name in ("movielens", "beauty") and not DATASETS.is_dir():
            print(f"{name}: skipped, {DATASETS} not present")
            continue
        print(f"{name}:", flush=True)
        if name in ("als_overhead", "als_overhead_cpu"):
            MEASUREMENTS[name](results, repeats=args.repeats)
        else:
            MEASUREMENTS[name](results)
    results["environment"] = {
        "python": platform.python_version(),
        "implicit": implicit.__version__,
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(RESULTS, results)
    print(json.dumps({key: results[key] for key in results if key.endswith(("ratio", "ndcg10"))}))
    return results


if __name__ == "__main__":
    main()
