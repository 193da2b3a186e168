"""Evaluation benchmark: ShopSynth's vectorised top-k metrics against ranx on 100k lists.

Protocol
--------
Data (seeded, ``--seed 0``): 100,000 users x 20,000 items. Item popularity is Zipf-like
(exponent 0.8 over shuffled ranks). Each user's list is the first 100 distinct items of 160
popularity-weighted draws, in draw order (a list with fewer distinct items is padded with
-1). Each user has 1 + Poisson(3) relevant items, each taken from the user's own list with
probability 0.3 (at a position drawn geometrically, so hits sit near the top) and otherwise
drawn by popularity; relevance is binary. Every user has a list and a relevant item, so ranx
(which needs both for every query) and ShopSynth see the same users.

``speed_ratio_vs_ranx``
    Mean NDCG@10, Recall@20 and MRR@100 of all users.

    a. ShopSynth: ``evaluate_lists(recommended, relevant, metrics)`` from the ``(users, 100)``
       list array and the relevance CSR matrix to the three means, hit matrix included.
    b. ranx: ``ranx.evaluate(qrels, run, metrics, save_results_in_run=False)`` with ``Qrels``
       and ``Run`` already built (string ids, list position as score) and its numba code
       compiled first on the first dozen users (numba compiles per id string length).
       ``evaluate`` converts the run to numba typed lists on every call; that is part of its
       time. numba uses every core.

    Each side is timed ``--repeats`` times (ranx at most 3 times, each call takes seconds);
    the ratio is the median ranx time over the median ShopSynth time. Target: at least 10.
    ``ranx_build_seconds`` is ``Qrels.from_dict`` + ``Run.from_dict`` once (the dicts
    themselves are built from the arrays beforehand, in ``ranx_dict_seconds``).
    ``max_abs_difference`` is the largest difference between the two libraries' per-user
    values of the three metrics (ranx's ``return_mean=False``, outside the timed calls).

``full_suite_seconds``
    Every registered metric at k = 10 (Recall at 20) on the same data, with seeded random
    64-dimensional item embeddings, 50 random categories and the relevance matrix's users per
    item as popularity for context, then 1,000 paired bootstrap
    resamples of the per-user means with :func:`core.evaluation.stats.paired_bootstrap`
    (one call; each per-user metric is a column, and all columns share each resample of the
    users). Median of ``--repeats``. Target: at most 3 s on 2 cores.

The machine may be shared: the load average at the start is recorded with the results.

Run: ``python benchmarks/bench_eval.py [--users 100000] [--items 20000] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402
from ranx import Qrels, Run, evaluate  # noqa: E402

from core.data.workspace import atomic_write_json  # noqa: E402
from core.evaluation.stats import paired_bootstrap  # noqa: E402
from core.metrics import METRICS, MetricContext, evaluate_lists  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "eval.json"
WIDTH = 100
DRAWS = 160
COMPARED = ("ndcg@10", "recall@20", "mrr@100")
RANX_REPEATS = 3
BOOTSTRAP_RESAMPLES = 1000


def make_data(n_users: int, n_items: int, seed: int) -> tuple[np.ndarray, sp.csr_matrix]:
    """Lists ``(n_users, 100)`` and binary relevance as CSR (see the module notes)."""
    rng = np.random.default_rng(seed)
    weights = rng.permutation(1.0 / np.arange(1, n_items + 1) ** 0.8)
    weights /= weights.sum()
    draws = rng.choice(n_items, size=(n_users, DRAWS), p=weights)
    # Keep each row's first occurrence of every item, then its first WIDTH such items.
    order = np.argsort(draws, axis=1, kind="stable")
    ranked = np.take_along_axis(draws, order, axis=1)
    repeated_sorted = np.zeros(draws.shape, dtype=bool)
    repeated_sorted[:, 1:] = ranked[:, 1:] == ranked[:, :-1]
    repeated = np.zeros(draws.shape, dtype=bool)
    np.put_along_axis(repeated, order, repeated_sorted, axis=1)
    first_kept = np.argsort(repeated, axis=1, kind="stable")[:, :WIDTH]
    recommended = np.take_along_axis(draws, first_kept, axis=1)
    recommended[np.take_along_axis(repeated, first_kept, axis=1)] = -1

    n_relevant = 1 + rng.poisson(3.0, n_users)
    rows = np.repeat(np.arange(n_users), n_relevant)
    items = rng.choice(n_items, size=len(rows), p=weights)
    from_list = rng.random(len(rows)) < 0.3
    positions = np.minimum(rng.geometric(0.1, from_list.sum()) - 1, WIDTH - 1)
    listed = recommended[rows[from_list], positions]
    items[from_list] = np.where(listed >= 0, listed, items[from_list])
    relevant = sp.csr_matrix(
        (np.ones(len(rows)), (rows, items)), shape=(n_users, n_items), dtype=np.float64
    )
    relevant.data[:] = 1.0  # duplicates were summed by the constructor
    return recommended, relevant


def median_seconds(function: Callable[[], Any], repeats: int) -> tuple[float, list[float], Any]:
    """Median wall time of ``repeats`` calls, every time, and the last call's result."""
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def shopsynth_means(recommended: np.ndarray, relevant: sp.csr_matrix) -> dict[str, float]:
    values = evaluate_lists(recommended, relevant, COMPARED)
    return {name: float(values[name].mean()) for name in COMPARED}


def ranx_dicts(
    recommended: np.ndarray, relevant: sp.csr_matrix
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, float]]]:
    """Qrels and run dicts with string ids; a list's item at position j scores WIDTH - j."""
    scores = [float(WIDTH - position) for position in range(WIDTH)]
    qrels, run = {}, {}
    indptr, indices = relevant.indptr, relevant.indices
    for user, row in enumerate(recommended.tolist()):
        qrels[str(user)] = {str(item): 1 for item in indices[indptr[user] : indptr[user + 1]]}
        run[str(user)] = {
            str(item): score for item, score in zip(row, scores, strict=True) if item >= 0
        }
    return qrels, run


def warm_ranx(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> None:
    """Compile ranx's numba code on the first dozen users of the real dicts.

    numba compiles for each string length of the ids; a subset of the same data has the same.
    """
    queries = list(qrels)[:12]
    small_qrels = Qrels.from_dict({query: qrels[query] for query in queries})
    small_run = Run.from_dict({query: run[query] for query in queries})
    evaluate(small_qrels, small_run, list(COMPARED), save_results_in_run=False)
    evaluate(small_qrels, small_run, list(COMPARED), return_mean=False, save_results_in_run=False)


def measure_ranx(recommended: np.ndarray, relevant: sp.csr_matrix, repeats: int) -> dict[str, Any]:
    """ShopSynth against ranx on the three compared metrics (``speed_ratio_vs_ranx``)."""
    ours_seconds, ours_times, ours = median_seconds(
        lambda: shopsynth_means(recommended, relevant), repeats
    )
    print(f"  shopsynth {ours_seconds:.3f} s {ours}", flush=True)

    start = time.perf_counter()
    qrels_dict, run_dict = ranx_dicts(recommended, relevant)
    dict_seconds = time.perf_counter() - start
    warm_ranx(qrels_dict, run_dict)
    start = time.perf_counter()
    qrels = Qrels.from_dict(qrels_dict)
    run = Run.from_dict(run_dict)
    build_seconds = time.perf_counter() - start
    del qrels_dict, run_dict
    print(f"  ranx dicts {dict_seconds:.1f} s, Qrels/Run {build_seconds:.1f} s", flush=True)

    ranx_seconds, ranx_times, theirs = median_seconds(
        lambda: evaluate(qrels, run, list(COMPARED), save_results_in_run=False),
        min(repeats, RANX_REPEATS),
    )
    theirs = {name: float(value) for name, value in theirs.items()}
    print(f"  ranx      {ranx_seconds:.3f} s {theirs}", flush=True)

    # Per-user values, outside the timing: ranx keeps queries in qrels order.
    per_query = evaluate(qrels, run, list(COMPARED), return_mean=False, save_results_in_run=False)
    users = np.array([int(query) for query in qrels.get_query_ids()])
    ours_per_user = evaluate_lists(recommended, relevant, COMPARED)
    difference = max(
        float(np.max(np.abs(ours_per_user[name][users] - np.asarray(per_query[name]))))
        for name in COMPARED
    )
    return {
        "speed_ratio_vs_ranx": round(ranx_seconds / ours_seconds, 2),
        "shopsynth_seconds": round(ours_seconds, 4),
        "shopsynth_times": [round(value, 4) for value in ours_times],
        "ranx_evaluate_seconds": round(ranx_seconds, 4),
        "ranx_evaluate_times": [round(value, 4) for value in ranx_times],
        "ranx_build_seconds": round(build_seconds, 2),
        "ranx_dict_seconds": round(dict_seconds, 2),
        "ranx_threads": numba.get_num_threads(),
        "means": {"shopsynth": ours, "ranx": theirs},
        "max_abs_difference": difference,
        "metrics": list(COMPARED),
        "target": ">= 10",
    }


def measure_full_suite(
    recommended: np.ndarray, relevant: sp.csr_matrix, repeats: int, seed: int
) -> dict[str, Any]:
    """Every registered metric plus a 1,000-resample paired bootstrap (``full_suite_seconds``)."""
    rng = np.random.default_rng(seed + 1)
    n_items = relevant.shape[1]
    context = MetricContext(
        item_popularity=np.bincount(relevant.indices, minlength=n_items),
        n_users=relevant.shape[0],
        item_embeddings=rng.normal(size=(n_items, 64)).astype(np.float32),
        item_categories=rng.integers(0, 50, n_items),
    )
    names = [f"{base}@{20 if base == 'recall' else 10}" for base in METRICS]
    split: dict[str, list[float]] = {"metrics": [], "bootstrap": []}

    def suite() -> None:
        start = time.perf_counter()
        values = evaluate_lists(recommended, relevant, names, context)
        split["metrics"].append(time.perf_counter() - start)
        per_user = {name: value for name, value in values.items() if isinstance(value, np.ndarray)}
        start = time.perf_counter()
        paired_bootstrap(per_user, control=None, n_resamples=BOOTSTRAP_RESAMPLES, random_state=seed)
        split["bootstrap"].append(time.perf_counter() - start)

    seconds, times, _ = median_seconds(suite, repeats)
    print(f"  full suite {seconds:.3f} s", flush=True)
    return {
        "full_suite_seconds": round(seconds, 4),
        "full_suite": {
            "times": [round(value, 4) for value in times],
            "metrics_seconds_median": round(statistics.median(split["metrics"]), 4),
            "bootstrap_seconds_median": round(statistics.median(split["bootstrap"]), 4),
            "metrics": names,
            "bootstrap_resamples": BOOTSTRAP_RESAMPLES,
            "per_user_columns": sum(METRICS[name.split("@")[0]].per_user for name in names),
            "target": "<= 3",
        },
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    load_at_start = os.getloadavg()
    recommended, relevant = make_data(args.users, args.items, args.seed)
    print(
        f"data: {recommended.shape} lists, {int((recommended >= 0).sum())} listed items, "
        f"{relevant.nnz} relevant",
        flush=True,
    )
    results: dict[str, Any] = {
        "benchmark": "evaluation_metrics",
        "data": {
            "users": args.users,
            "items": args.items,
            "width": WIDTH,
            "listed": int((recommended >= 0).sum()),
            "relevant": int(relevant.nnz),
            "seed": args.seed,
        },
    }
    print("ranx comparison:", flush=True)
    results.update(measure_ranx(recommended, relevant, args.repeats))
    print("full suite:", flush=True)
    results.update(measure_full_suite(recommended, relevant, args.repeats, args.seed))
    results["machine"] = {
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(value, 2) for value in load_at_start],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "scipy": importlib.metadata.version("scipy"),
        "ranx": importlib.metadata.version("ranx"),
        "numba": numba.__version__,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(RESULTS, results)
    print(
        f"speed_ratio_vs_ranx {results['speed_ratio_vs_ranx']}, "
        f"full_suite_seconds {results['full_suite_seconds']}, "
        f"max_abs_difference {results['max_abs_difference']:.2e}"
    )
    return results


if __name__ == "__main__":
    main()
