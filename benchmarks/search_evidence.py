"""Graded NDCG@10 of simple search rankers on real Home Depot queries, in two modes.

Results go to ``benchmarks/results/search.json`` under ``homedepot_ndcg10``: for each mode
(``rerank``: order each query's judged products; ``retrieve``: top 10 of all 39,456 products)
and each ranker, the mean over the 7,907 queries with a 95% percentile bootstrap interval over
queries (:func:`core.evaluation.stats.paired_bootstrap`, 1,000 resamples, seed 0). Other keys of
the file are kept.

Rankers (references, defined here only):

``random``
    A seeded random score per product (re-ranking mode only: the floor of that mode).
``bm25``
    bm25s (Lucene BM25, ``k1=1.5``, ``b=0.75``) over the titles, English stopwords, no stemming.
``minilm``
    Cosine of all-MiniLM-L6-v2 embeddings of query and title (titles cached with
    :class:`core.text.cache.EmbeddingCache` in ``benchmarks/data/embeddings``).
``mix``
    ``0.5 * minmax(bm25) + 0.5 * minmax(minilm)``, each min-max scaled over the whole pool per
    query.

Run: ``python benchmarks/search_evidence.py``. The load average is recorded before and after,
since MiniLM's encoding time depends on what else the machine runs.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bm25s  # noqa: E402

from core.data.datasets import HOMEDEPOT_MODES, homedepot_ndcg, load_homedepot  # noqa: E402
from core.data.workspace import atomic_write_json  # noqa: E402
from core.evaluation.stats import CI_HIGH, CI_LOW, MEAN, VARIANT, paired_bootstrap  # noqa: E402
from core.text.cache import EmbeddingCache  # noqa: E402
from core.text.encoders import minilm_encoder  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "search.json"
CACHE = ROOT / "benchmarks" / "data" / "embeddings"
K = 10


def _minmax(scores: np.ndarray) -> np.ndarray:
    low = scores.min(axis=1, keepdims=True)
    span = scores.max(axis=1, keepdims=True) - low
    return np.divide(scores - low, span, out=np.zeros_like(scores), where=span > 0)


def main() -> None:
    load_before = os.getloadavg()
    started = time.perf_counter()
    data = load_homedepot()
    n_products = len(data.product_ids)
    timings: dict[str, float] = {}

    tic = time.perf_counter()
    bm25 = bm25s.BM25()
    bm25.index(
        bm25s.tokenize(data.titles, stopwords="en", show_progress=False), show_progress=False
    )
    query_tokens = bm25s.tokenize(
        data.queries, stopwords="en", return_ids=False, show_progress=False
    )
    row_of = {query: row for row, query in enumerate(data.queries)}
    empty = np.zeros(n_products, dtype=np.float32)

    def bm25_scores(queries: list[str]) -> np.ndarray:
        # A query of stopwords only has no tokens: it matches nothing.
        return np.stack(
            [
                bm25.get_scores(tokens) if (tokens := query_tokens[row_of[q]]) else empty
                for q in queries
            ]
        )

    timings["bm25_index_s"] = time.perf_counter() - tic

    tic = time.perf_counter()
    encoder = minilm_encoder(num_threads=2)
    titles = EmbeddingCache(CACHE).encode(encoder, data.titles, batch_size=128)
    queries = encoder.encode(data.queries, batch_size=128)
    timings["minilm_encode_s"] = time.perf_counter() - tic

    def minilm_scores(batch: list[str]) -> np.ndarray:
        return queries[[row_of[q] for q in batch]] @ titles.T

    def mix_scores(batch: list[str]) -> np.ndarray:
        return 0.5 * _minmax(bm25_scores(batch)) + 0.5 * _minmax(minilm_scores(batch))

    rng = np.random.default_rng(0)

    def random_scores(batch: list[str]) -> np.ndarray:
        return rng.random((len(batch), n_products))

    rankers = {"bm25": bm25_scores, "minilm": minilm_scores, "mix": mix_scores}
    results: dict[str, dict[str, dict[str, float]]] = {}
    for mode in HOMEDEPOT_MODES:
        chosen = {"random": random_scores, **rankers} if mode == "rerank" else rankers
        per_query = {}
        for name, score in chosen.items():
            tic = time.perf_counter()
            per_query[name] = homedepot_ndcg(score, data, mode=mode, k=K)
            timings[f"{mode}_{name}_s"] = time.perf_counter() - tic
        table = paired_bootstrap(per_query, control=None, n_resamples=1000, random_state=0)
        results[mode] = {
            row[VARIANT]: {"value": row[MEAN], "ci_low": row[CI_LOW], "ci_high": row[CI_HIGH]}
            for row in table.to_dict("records")
        }
        print(mode, json.dumps(results[mode], indent=1), flush=True)

    payload = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    payload["homedepot_ndcg10"] = results
    payload["homedepot_ndcg10_run"] = {
        "queries": len(data.queries),
        "products": n_products,
        "judgements": int(data.judgements.nnz),
        "gain": "relevance - 1 (1 = irrelevant gains 0)",
        "bootstrap": "percentile, 1000 resamples over queries, seed 0, 95%",
        "timings_s": timings,
        "total_s": time.perf_counter() - started,
        "loadavg_before": list(load_before),
        "loadavg_after": list(os.getloadavg()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    atomic_write_json(RESULTS, payload)


if __name__ == "__main__":
    main()
