"""Fusion benchmark: the slider path (re-weight, top-k, metrics) against a pandas version.

The results go to ``benchmarks/results/fusion.json``; keys of other measurements already in the
file (such as ``page_rerun_seconds``, written by the page benchmark) are kept.

Protocol
--------
A random candidate set of ``--users`` users (10,000) x ``--candidates`` candidates (300) x
``--signals`` signals (4) over 20,000 items: each row holds distinct sorted items, one row in
ten is shorter (padding), scores are normal with 2% NaN (a signal that could not score), 3
relevant items per user among the candidates and 5 relevant in all, 50 item categories.
:class:`core.fusion.PreparedFusion` prepares it once (min-max normalisation; the one-off cost is
``prepare_seconds``). Each repeat then draws new Dirichlet weights (a slider moved) and times
``prepared.evaluate(weights, method, ("ndcg@10", "recall@10", "coverage@10",
"category_diversity@10"))``: fused scores, each user's top 10, the four metrics. The machine's load
average before and after the run is recorded with the environment: on a shared machine the
medians move with it.
``slider_median_ms`` is the median over ``--repeats`` repeats of the weighted sum (target:
at most 50 ms on two cores); ``slider.median_ms`` has every method and the learned gate's
per-user weights (``gate``); ``slider.cpu_median_ms`` the same in CPU time of the process,
which other processes on a shared machine disturb less (the slider path is single-threaded).

The pandas version is what an analyst would write on a long table of the same candidates
(one row per user and candidate, one normalised column per signal): a weighted column sum,
``sort_values`` + ``groupby().head(10)``, a merge with the relevant pairs, NDCG and recall
by ``groupby``, coverage by ``nunique`` and intra-list diversity by ``groupby().apply``. Its
NDCG must equal the fast path's. It runs ``--naive-repeats`` times.

Run: ``python benchmarks/bench_fusion.py [--repeats 30] [--naive-repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.workspace import atomic_write_json  # noqa: E402
from core.fusion import CandidateSet, PreparedFusion  # noqa: E402
from core.metrics import MetricContext  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "fusion.json"
METRICS = ("ndcg@10", "recall@10", "coverage@10", "category_diversity@10")
K = 10
N_ITEMS = 20_000
N_CATEGORIES = 50

Results = dict[str, Any]


def random_world(
    n_users: int, width: int, n_signals: int, seed: int = 0
) -> tuple[CandidateSet, sp.csr_matrix, np.ndarray]:
    """Candidates, relevant items and item categories as the module notes describe."""
    rng = np.random.default_rng(seed)
    keys = rng.random((n_users, N_ITEMS), dtype=np.float32)
    items = np.sort(np.argpartition(keys, width, axis=1)[:, :width], axis=1).astype(np.int64)
    short = np.flatnonzero(rng.random(n_users) < 0.1)
    lengths = rng.integers(width // 2, width, size=len(short))
    for row, length in zip(short, lengths, strict=True):
        items[row, length:] = -1
    scores = rng.normal(size=(n_signals, n_users, width)).astype(np.float32)
    scores[rng.random(scores.shape) < 0.02] = np.nan
    scores[:, items < 0] = np.nan
    retrieved = (rng.random(scores.shape) < 0.3) & (items >= 0)
    candidates = CandidateSet(
        users=np.arange(n_users, dtype=np.int64),
        items=items,
        scores=scores,
        retrieved=retrieved,
        signal_names=tuple(f"signal_{s}" for s in range(n_signals)),
        n_items=N_ITEMS,
        depth=width,
    )
    rows, columns = [], []
    for user in range(n_users):
        listed = items[user][items[user] >= 0]
        inside = rng.choice(listed, 3, replace=False)
        outside = rng.choice(np.setdiff1d(np.arange(N_ITEMS), listed), 2, replace=False)
        rows.extend([user] * 5)
        columns.extend([*inside, *outside])
    relevant = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, columns)), shape=(n_users, N_ITEMS)
    )
    categories = rng.integers(0, N_CATEGORIES, size=N_ITEMS)
    return candidates, relevant, categories


def _timings(call: Any, weights: np.ndarray) -> dict[str, float]:
    """Median and 90th percentile wall milliseconds of ``call(w)`` over the rows of
    ``weights``, and the median CPU milliseconds of the process (the slider path runs on one
    thread, so CPU time is what the call costs whatever else the machine runs)."""
    wall, cpu = [], []
    for row in weights:
        start, start_cpu = time.perf_counter(), time.process_time()
        call(row)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    wall_ms, cpu_ms = np.array(wall) * 1000, np.array(cpu) * 1000
    return {
        "median_ms": float(np.median(wall_ms)),
        "p90_ms": float(np.percentile(wall_ms, 90)),
        "cpu_median_ms": float(np.median(cpu_ms)),
    }


def _long_table(prepared: PreparedFusion) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    candidates = prepared.candidates
    valid = candidates.valid
    terms = prepared.terms("weighted")
    frame = pd.DataFrame(
        {
            "user": np.repeat(candidates.users, candidates.n_candidates)[valid.ravel()],
            "item": candidates.items[valid],
            **{name: terms[s][valid] for s, name in enumerate(candidates.signal_names)},
        }
    )
    relevant = prepared.is_relevant
    pairs = pd.DataFrame(
        {
            "user": np.repeat(candidates.users, candidates.n_candidates)[relevant.ravel()],
            "item": candidates.items[relevant],
            "relevant": True,
        }
    )
    n_relevant = pd.Series(prepared.n_relevant, index=candidates.users)
    return frame, pairs, n_relevant


def naive_pandas(
    frame: pd.DataFrame,
    pairs: pd.DataFrame,
    n_relevant: pd.Series,
    categories: np.ndarray,
    weights: np.ndarray,
    signal_names: tuple[str, ...],
) -> dict[str, float]:
    """The slider step as a pandas user would write it (see the module notes)."""
    scored = frame.assign(
        fused=sum(w * frame[name] for w, name in zip(weights, signal_names, strict=True))
    )
    top = (
        scored.sort_values(["user", "fused"], ascending=[True, False])
        .groupby("user")
        .head(K)
        .copy()
    )
    top["rank"] = top.groupby("user").cumcount() + 1
    top = top.merge(pairs, on=["user", "item"], how="left")
    top["hit"] = top["relevant"].fillna(False).astype(bool)
    top["gain"] = top["hit"] / np.log2(top["rank"] + 1)
    dcg = top.groupby("user")["gain"].sum()
    hits = top.groupby("user")["hit"].sum()
    ideal = n_relevant.clip(upper=K).map(lambda r: sum(1 / np.log2(j + 2) for j in range(r)))
    ndcg = (dcg / ideal).fillna(0)
    recall = (hits / n_relevant).fillna(0)
    top["category"] = categories[top["item"].to_numpy()]

    def diversity(codes: pd.Series) -> float:
        values = codes.to_numpy()
        pairs_total = len(values) * (len(values) - 1) / 2
        same = sum(
            values[i] == values[j] for i in range(len(values)) for j in range(i + 1, len(values))
        )
        return (pairs_total - same) / pairs_total if pairs_total else 0.0

    return {
        "ndcg@10": float(ndcg.mean()),
        "recall@10": float(recall.mean()),
        "coverage@10": top["item"].nunique() / N_ITEMS,
        "category_diversity@10": float(top.groupby("user")["category"].apply(diversity).mean()),
    }


def measure_slider(
    results: Results,
    *,
    n_users: int,
    width: int,
    n_signals: int,
    repeats: int,
    naive_repeats: int,
) -> None:
    candidates, relevant, categories = random_world(n_users, width, n_signals)
    start = time.perf_counter()
    context = MetricContext(item_categories=categories)
    prepared = PreparedFusion(candidates, relevant, context=context)
    for method in ("weighted", "rrf"):
        prepared.terms(method)
    prepared.evaluate(np.full(n_signals, 1.0), "combmnz", METRICS)
    prepare_seconds = time.perf_counter() - start
    rng = np.random.default_rng(1)
    weights = rng.dirichlet(np.ones(n_signals), size=repeats)
    timings = {}
    for method in ("weighted", "rrf", "combmnz"):
        timings[method] = _timings(
            lambda w, method=method: prepared.evaluate(w, method, METRICS), weights
        )
    per_user = rng.dirichlet(np.ones(n_signals), size=n_users).astype(np.float32)
    timings["gate"] = _timings(
        lambda w: prepared.evaluate(per_user * w, "weighted", METRICS), weights
    )
    frame, pairs, n_relevant = _long_table(prepared)
    naive_times = []
    for row in weights[:naive_repeats]:
        begin = time.perf_counter()
        naive = naive_pandas(frame, pairs, n_relevant, categories, row, candidates.signal_names)
        naive_times.append(time.perf_counter() - begin)
        fast = prepared.evaluate(row, "weighted", METRICS)
        for name in METRICS:
            if not np.isclose(naive[name], fast[name], rtol=1e-5, atol=1e-9):
                raise RuntimeError(f"{name}: pandas {naive[name]} != fast path {fast[name]}")
    naive_ms = float(np.median(naive_times) * 1000)
    results["slider_median_ms"] = timings["weighted"]["median_ms"]
    results["slider"] = {
        "shape": {
            "users": n_users,
            "candidates": width,
            "signals": n_signals,
            "items": N_ITEMS,
        },
        "metrics": list(METRICS),
        "repeats": repeats,
        "median_ms": {method: value["median_ms"] for method, value in timings.items()},
        "p90_ms": {method: value["p90_ms"] for method, value in timings.items()},
        "cpu_median_ms": {method: value["cpu_median_ms"] for method, value in timings.items()},
        "prepare_seconds": prepare_seconds,
        "naive_pandas_median_ms": naive_ms,
        "naive_pandas_repeats": naive_repeats,
        "speedup_vs_pandas": naive_ms / timings["weighted"]["median_ms"],
        "target_ms": 50,
    }


def main(argv: list[str] | None = None) -> Results:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--signals", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--naive-repeats", type=int, default=3)
    args = parser.parse_args(argv)
    results: Results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    load_before = os.getloadavg()[0]
    measure_slider(
        results,
        n_users=args.users,
        width=args.candidates,
        n_signals=args.signals,
        repeats=args.repeats,
        naive_repeats=args.naive_repeats,
    )
    results["environment"] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "load_average_1min": [load_before, os.getloadavg()[0]],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(RESULTS, results)
    print(json.dumps({key: results[key] for key in ("slider_median_ms",)}))
    print(json.dumps(results["slider"]["median_ms"]))
    print(json.dumps({"cpu_median_ms": results["slider"]["cpu_median_ms"]}))
    return results


if __name__ == "__main__":
    main()
