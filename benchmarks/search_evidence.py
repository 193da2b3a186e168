"""Search evidence: simple rankers on real Home Depot queries, and the query-product gate on
the sample world.

Parts (``--only`` picks some; every part merges its keys into ``benchmarks/results/search.json``
and keeps the others):

``homedepot``
    Graded NDCG@10 of simple search rankers on real Home Depot queries, in two modes (below).
``sample_world``
    The sample world's search sessions (:func:`core.search.sessions.search_sessions`: the
    latest 20% of searches test, the 10% before validation). One :class:`SearchIndex` with
    BM25 + MiniLM + item-kNN personal scores (item-kNN trained on the events before the
    validation cut). Each search followed by engagement gets the engine's candidates and
    signals (:meth:`SearchIndex.signals`: the lexical best 200 and the semantic best 200),
    and each ranker orders those candidates (no chip boost, no filters): ``lexical``,
    ``semantic``, ``personal`` alone, ``convex`` with alpha and personal weight tuned on the
    validation searches (grid 0..1 by 0.1 x {0, 0.1, 0.2, 0.3, 0.5}), ``rrf`` with the same
    weights, and ``gate``: the query-product gate (:mod:`core.search.gate`) trained on the
    training searches starting from the tuned convex weights. Graded NDCG@10 (click 1, cart 2,
    purchase 3; engaged items outside the candidates count in the ideal) per test search,
    paired bootstrap over searches (1,000 resamples, seed 0) of gate minus the best single
    signal (chosen on validation) and gate minus tuned convex. Key ``sample_world_search``.

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

Run: ``python benchmarks/search_evidence.py [--only homedepot sample_world]``. The load
average is recorded before and after, since MiniLM's encoding time depends on what else the
machine runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bm25s  # noqa: E402
import torch  # noqa: E402

from core.data.clean import clean_dataset  # noqa: E402
from core.data.datasets import (  # noqa: E402
    HOMEDEPOT_MODES,
    HomeDepotSearch,
    homedepot_ndcg,
    load_homedepot,
)
from core.data.ingest.load import load_sample_world  # noqa: E402
from core.data.splits import temporal_split  # noqa: E402
from core.data.workspace import Workspace, atomic_write_json  # noqa: E402
from core.evaluation.stats import (  # noqa: E402
    CI_HIGH,
    CI_LOW,
    DIFF,
    DIFF_CI_HIGH,
    DIFF_CI_LOW,
    MEAN,
    VARIANT,
    paired_bootstrap,
)
from core.fusion.methods import rrf_terms  # noqa: E402
from core.fusion.normalise import minmax  # noqa: E402
from core.metrics import ideal_gains  # noqa: E402
from core.metrics.ranking import top_k  # noqa: E402
from core.models.registry import make_model  # noqa: E402
from core.schema import CATALOG_TABLE  # noqa: E402
from core.search import SearchIndex  # noqa: E402
from core.search.gate import (  # noqa: E402
    GateLists,
    SearchGate,
    convex_scores,
    gate_lists,
    list_ndcg,
    prior_weights,
    tune_convex,
)
from core.search.sessions import PARTS, search_sessions  # noqa: E402
from core.synth.queries import template_queries  # noqa: E402
from core.text.cache import EmbeddingCache  # noqa: E402
from core.text.encoders import minilm_encoder  # noqa: E402
from core.text.finetune import FinetuneConfig, finetune_encoder  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "search.json"
CACHE = ROOT / "benchmarks" / "data" / "embeddings"
K = 10
SAMPLE_TRAIN_SEARCHES = 5000
SAMPLE_GATE = {"hidden_size": 16, "epochs": 30, "learning_rate": 0.003, "batch_size": 128}
HD_SPLIT = (3500, 1400)  # queries to fine-tune on, to tune the fusion on; the rest is test
HD_PAIR_MIN_RELEVANCE = 2.5
HD_CANDIDATES = 200
HD_GATE = {
    "hidden_size": 16,
    "epochs": 40,
    "learning_rate": 0.003,
    "batch_size": 64,
    "weight_decay": 1e-3,
}
HD_FINETUNE = FinetuneConfig(
    epochs=1,
    batch_size=32,
    learning_rate=5e-5,
    max_pairs=3000,
    valid_fraction=0.05,
    max_valid_queries=100,
    eval_corpus_size=1000,
    num_threads=2,
    device="cpu",
)
HD_PROTOCOL = (
    "queries split at random (seed 0) into fine-tuning, fusion-tuning and test parts; the "
    f"encoder fine-tuned on fine-tuning queries' pairs with relevance >= {HD_PAIR_MIN_RELEVANCE} "
    "(query -> product text), alpha and the gate on the tuning queries, every figure on the "
    "test queries: graded NDCG@10 (gain relevance - 1) retrieving from all products; "
    "hybrid_gate and hybrid_convex_candidates rank the lexical best 200 + semantic best 200; "
    "synthetic queries: template queries (title spans; the catalogue has titles only), three "
    "seeds, all accepted, appended to the title for BM25 (doc2query) or used as the only "
    "fine-tuning pairs; bootstrap 1000 resamples over test queries, seed 0"
)


def _minmax(scores: np.ndarray) -> np.ndarray:
    low = scores.min(axis=1, keepdims=True)
    span = scores.max(axis=1, keepdims=True) - low
    return np.divide(scores - low, span, out=np.zeros_like(scores), where=span > 0)


def homedepot_baselines() -> None:
    """The ``homedepot`` part (see the module notes)."""
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
    payload.setdefault("homedepot_ndcg10", {}).update(results)
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


def _ranker_scores(
    lists: GateLists, alpha: float, rho: float, gate: SearchGate | None, vectors: np.ndarray
) -> dict[str, np.ndarray]:
    """Candidate scores of every ranker over ``lists``."""
    prior = prior_weights(alpha, rho, lists.known_user)
    scores = {
        "lexical": lists.terms[..., 0],
        "semantic": lists.terms[..., 1],
        "personal": lists.terms[..., 2],
        "convex": convex_scores(lists, alpha, rho),
        "rrf": np.einsum(
            "ncs,ns->nc", rrf_terms(np.moveaxis(lists.raw, 2, 0)).transpose(1, 2, 0), prior
        ),
    }
    if gate is not None:
        scores["gate"] = gate.scores(lists, vectors)
    return scores


def _interval(row: dict) -> dict[str, float]:
    return {"value": row[MEAN], "ci_low": row[CI_LOW], "ci_high": row[CI_HIGH]}


def _difference(values: dict[str, np.ndarray], treatment: str, control: str) -> dict:
    table = paired_bootstrap(
        {control: values[control], treatment: values[treatment]},
        control=control,
        n_resamples=1000,
        random_state=0,
    )
    row = table.iloc[1]
    return {
        "treatment": treatment,
        "control": control,
        "diff": float(row[DIFF]),
        "diff_ci95": [float(row[DIFF_CI_LOW]), float(row[DIFF_CI_HIGH])],
        "interval_above_zero": bool(row[DIFF_CI_LOW] > 0),
    }


def sample_world() -> None:
    """The ``sample_world`` part (see the module notes)."""
    load_before = os.getloadavg()
    started = time.perf_counter()
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as home:
        tic = time.perf_counter()
        ws = Workspace.open("sample", home=Path(home))
        load_sample_world(ws)
        clean_dataset(ws)
        sessions = search_sessions(ws)
        split = temporal_split(ws, cutoff=sessions.valid_start)
        model = make_model("item_knn").fit(split.train)
        catalog = ws.read_table(CATALOG_TABLE)
        timings["load_sessions_model_s"] = time.perf_counter() - tic
        tic = time.perf_counter()
        encoder = minilm_encoder(num_threads=2)
        index = SearchIndex.build(
            catalog,
            encoder=encoder,
            cache=EmbeddingCache(CACHE),
            personal_model=(model, split.train.user_ids),
        )
        timings["index_s"] = time.perf_counter() - tic
        lists = {}
        for part in PARTS:
            tic = time.perf_counter()
            cap = SAMPLE_TRAIN_SEARCHES if part == "train" else None
            lists[part] = gate_lists(index, sessions, part, max_searches=cap)
            timings[f"candidates_{part}_s"] = time.perf_counter() - tic
            _log(f"{part}: {len(lists[part].rows)} searches")
    alpha, rho, grid = tune_convex(lists["valid"])
    _log(f"tuned convex: alpha {alpha}, personal weight {rho}")
    vectors = index.semantic.vectors
    tic = time.perf_counter()
    gate = SearchGate(alpha=alpha, personal_weight=rho, **SAMPLE_GATE).fit(lists["train"], vectors)
    timings["gate_training_s"] = time.perf_counter() - tic
    valid_scores = _ranker_scores(lists["valid"], alpha, rho, gate, vectors)
    valid = {name: list_ndcg(score, lists["valid"]).mean() for name, score in valid_scores.items()}
    best_single = max(("lexical", "semantic", "personal"), key=lambda name: valid[name])
    test_scores = _ranker_scores(lists["test"], alpha, rho, gate, vectors)
    per_search = {name: list_ndcg(score, lists["test"]) for name, score in test_scores.items()}
    table = paired_bootstrap(per_search, control=None, n_resamples=1000, random_state=0)
    result = {
        "ndcg10_test": {row[VARIANT]: _interval(row) for row in table.to_dict("records")},
        "ndcg10_valid": {name: float(value) for name, value in valid.items()},
        "best_single_signal_on_valid": best_single,
        "gate_vs_best_single": _difference(per_search, "gate", best_single),
        "gate_vs_tuned_convex": _difference(per_search, "gate", "convex"),
        "tuned_convex": {"alpha": alpha, "personal_weight": rho, "valid_grid": grid},
        "gate": {
            "params": gate.get_params(),
            "train_loss_initial": gate.initial_loss_,
            "train_loss_final": gate.final_loss_,
            "valid_loss_zero_gate": _zero_gate_loss(gate, lists["valid"], vectors),
            "valid_loss": gate.loss(lists["valid"], vectors),
        },
        "searches": {part: len(lists[part].rows) for part in PARTS},
        "protocol": "candidates of SearchIndex.signals (lexical best 200 + semantic best 200), "
        "no chip boost; graded NDCG@10 (click 1, cart 2, purchase 3); training searches capped "
        f"at {SAMPLE_TRAIN_SEARCHES} (seeded); bootstrap 1000 resamples over searches, seed 0",
        "timings_s": timings,
        "total_s": time.perf_counter() - started,
        "loadavg_before": list(load_before),
        "loadavg_after": list(os.getloadavg()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    _log(
        json.dumps(
            {k: result[k] for k in ("ndcg10_test", "gate_vs_best_single", "gate_vs_tuned_convex")},
            indent=1,
        )
    )
    _merge({"sample_world_search": result})


def _zero_gate_loss(gate: SearchGate, lists: GateLists, vectors: np.ndarray) -> float:
    """The listwise loss of the gate's convex starting point on ``lists``."""
    zero = SearchGate(**gate.get_params())
    zero._build(vectors.shape[1])
    zero.loss_history_, zero.initial_loss_, zero.final_loss_ = [], 0.0, 0.0
    with torch.no_grad():
        zero.log_sharpness_.copy_(gate.log_sharpness_)
    return zero.loss(lists, vectors)


def _merge(keys: dict) -> None:
    payload = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    payload.update(keys)
    atomic_write_json(RESULTS, payload)


def _log(text: str) -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------------------------
# Home Depot: fine-tuned semantic, hybrids and synthetic queries on held-out real queries


def _subset(data: HomeDepotSearch, rows: np.ndarray) -> HomeDepotSearch:
    return HomeDepotSearch(
        [data.queries[q] for q in rows], data.product_ids, data.titles, data.judgements[rows]
    )


def _bm25(documents: list[str], data: HomeDepotSearch):
    """``score(queries)``: bm25s over ``documents`` as the ``homedepot`` part builds it."""
    index = bm25s.BM25()
    index.index(bm25s.tokenize(documents, stopwords="en", show_progress=False), show_progress=False)
    tokens = bm25s.tokenize(data.queries, stopwords="en", return_ids=False, show_progress=False)
    row_of = {query: row for row, query in enumerate(data.queries)}
    empty = np.zeros(len(documents), dtype=np.float32)

    def score(queries: list[str]) -> np.ndarray:
        return np.stack(
            [index.get_scores(t) if (t := tokens[row_of[q]]) else empty for q in queries]
        )

    return score


def _dense(query_vectors: np.ndarray, title_vectors: np.ndarray, data: HomeDepotSearch):
    row_of = {query: row for row, query in enumerate(data.queries)}
    return lambda queries: query_vectors[[row_of[q] for q in queries]] @ title_vectors.T


def _convex(lexical, semantic, alpha: float):
    """``(1 - alpha) minmax(lexical) + alpha minmax(semantic)`` over the whole pool."""
    return lambda q: (1 - alpha) * _minmax(lexical(q)) + alpha * _minmax(semantic(q))


def _hd_lists(data: HomeDepotSearch, lexical, semantic, query_vectors: np.ndarray) -> GateLists:
    """Candidate lists (lexical best 200 + semantic best 200) of every query of ``data``."""
    gains = data.judgements.copy()
    gains.data = gains.data - 1.0
    n = len(data.queries)
    raw_blocks, row_blocks = [], []
    for start in range(0, n, 256):
        batch = data.queries[start : start + 256]
        scores = np.stack([lexical(batch), semantic(batch)], axis=-1).astype(np.float32)
        best_lexical, _ = top_k(scores[..., 0], HD_CANDIDATES)
        best_semantic, _ = top_k(scores[..., 1], HD_CANDIDATES)
        for i in range(len(batch)):
            lexical_rows = best_lexical[i][scores[i, best_lexical[i], 0] > 0]  # matched only
            rows = np.unique(np.concatenate([lexical_rows, best_semantic[i]]))
            raw = scores[i, rows].copy()
            raw[raw[:, 0] <= 0, 0] = np.nan  # as the engine: no lexical match, not retrieved
            row_blocks.append(rows)
            raw_blocks.append(raw)
    width = max(len(rows) for rows in row_blocks)
    rows = np.full((n, width), -1, dtype=np.int64)
    raw = np.full((n, width, 3), np.nan, dtype=np.float32)
    relevance = np.zeros((n, width), dtype=np.float32)
    for i, (found, values) in enumerate(zip(row_blocks, raw_blocks, strict=True)):
        rows[i, : len(found)] = found
        raw[i, : len(found), :2] = values
        relevance[i, : len(found)] = gains[i, found].toarray().ravel()
    terms = np.moveaxis(minmax(np.moveaxis(raw, 2, 0)), 0, 2)
    ideal = ideal_gains(gains, K)
    return GateLists(
        query_vectors.astype(np.float32),
        rows,
        terms,
        raw,
        np.zeros((n, 2), dtype=np.float32),
        relevance,
        ideal,
    )


def _finetune(name: str, pairs: pd.DataFrame, catalog: pd.DataFrame, home: Path, timings: dict):
    tic = time.perf_counter()
    ws = Workspace.open(name, home=home)
    result = finetune_encoder(ws, name, HD_FINETUNE, pairs=pairs, catalog=catalog)
    timings[f"finetune_{name}_s"] = time.perf_counter() - tic
    _log(
        f"fine-tuned {name}: {result.n_train_pairs} pairs in {timings[f'finetune_{name}_s']:.0f} s"
    )
    return result


def homedepot_hybrid(which: str = "real") -> None:
    """The ``homedepot_hybrid`` (``which="real"``) or ``homedepot_synthetic`` part."""
    load_before = os.getloadavg()
    started = time.perf_counter()
    timings: dict[str, float] = {}
    data = load_homedepot()
    order = np.random.default_rng(0).permutation(len(data.queries))
    n_finetune, n_tune = HD_SPLIT
    parts = {
        "finetune": np.sort(order[:n_finetune]),
        "tune": np.sort(order[n_finetune : n_finetune + n_tune]),
        "test": np.sort(order[n_finetune + n_tune :]),
    }
    tune, test = _subset(data, parts["tune"]), _subset(data, parts["test"])
    catalog = pd.DataFrame({"item_id": data.product_ids, "title": data.titles})
    judged = data.judgements[parts["finetune"]].tocoo()
    strong = judged.data >= HD_PAIR_MIN_RELEVANCE
    pairs = pd.DataFrame(
        {
            "query": [data.queries[parts["finetune"][r]] for r in judged.row[strong]],
            "item_id": [data.product_ids[c] for c in judged.col[strong]],
        }
    )

    tic = time.perf_counter()
    bm25 = _bm25(data.titles, data)
    pretrained = minilm_encoder(num_threads=2)
    titles = EmbeddingCache(CACHE).encode(pretrained, data.titles, batch_size=128)
    queries = pretrained.encode(data.queries, batch_size=128)
    minilm = _dense(queries, titles, data)
    timings["baselines_s"] = time.perf_counter() - tic

    per_query: dict[str, np.ndarray] = {}
    for name, score in (("bm25", bm25), ("minilm", minilm), ("mix", _convex(bm25, minilm, 0.5))):
        per_query[name] = homedepot_ndcg(score, test, mode="retrieve", k=K)
    # (4a) synthetic queries as document expansion: three template queries per product.
    synthetic_queries = pd.concat(
        [template_queries(catalog, n_per_product=1, random_state=seed) for seed in range(3)]
    ).drop_duplicates(ignore_index=True)
    expansion = synthetic_queries.groupby("item_id")["text"].agg(" ".join)
    expanded = [
        f"{title} {expansion.get(item, '')}"
        for item, title in zip(data.product_ids, data.titles, strict=True)
    ]
    if which == "synthetic":
        per_query["bm25_expanded"] = homedepot_ndcg(
            _bm25(expanded, data), test, mode="retrieve", k=K
        )
    _log("baselines measured")

    results: dict = {}
    with tempfile.TemporaryDirectory() as home:
        if which == "synthetic":
            # (4b) fine-tune on synthetic pairs only (as many pairs as real), test on real.
            synthetic_pairs = synthetic_queries.rename(columns={"text": "query"})
            synthetic_pairs = synthetic_pairs[~synthetic_pairs["query"].isin(set(data.queries))]
            synth = _finetune("homedepot_synthetic", synthetic_pairs, catalog, Path(home), timings)
            tic = time.perf_counter()
            st_titles = synth.encoder.encode(data.titles, batch_size=128)
            st_queries = synth.encoder.encode(test.queries, batch_size=128)
            timings["encode_synthetic_s"] = time.perf_counter() - tic
            per_query["minilm_synthetic_finetuned"] = homedepot_ndcg(
                _dense(st_queries, st_titles, test), test, mode="retrieve", k=K
            )
            results["finetune_synthetic"] = {
                "pairs": synth.n_train_pairs,
                "history": synth.history.to_dict("records"),
            }
            _finish(
                which,
                per_query,
                results,
                parts,
                len(synthetic_queries),
                timings,
                started,
                load_before,
            )
            return
        real = _finetune("homedepot_real", pairs, catalog, Path(home), timings)
        tic = time.perf_counter()
        ft_titles = real.encoder.encode(data.titles, batch_size=128)
        ft_queries = real.encoder.encode(data.queries, batch_size=128)
        timings["encode_finetuned_s"] = time.perf_counter() - tic
        finetuned = _dense(ft_queries, ft_titles, data)
        per_query["minilm_finetuned"] = homedepot_ndcg(finetuned, test, mode="retrieve", k=K)
        # Tuned convex of BM25 + fine-tuned semantic: alpha on the tuning queries.
        # The pool min-max of each signal is computed once; only the mix changes with alpha.
        tune_row = {query: row for row, query in enumerate(tune.queries)}
        tune_bm25 = _minmax(bm25(tune.queries))
        tune_semantic = _minmax(finetuned(tune.queries))
        grid = {}
        for alpha in np.round(np.linspace(0, 1, 11), 2):

            def score(batch: list[str], alpha: float = alpha) -> np.ndarray:
                rows = [tune_row[query] for query in batch]
                return (1 - alpha) * tune_bm25[rows] + alpha * tune_semantic[rows]

            grid[f"{alpha:g}"] = float(homedepot_ndcg(score, tune, mode="retrieve", k=K).mean())
        alpha = float(max(grid, key=grid.get))
        per_query["hybrid_convex"] = homedepot_ndcg(
            _convex(bm25, finetuned, alpha), test, mode="retrieve", k=K
        )
        # The gate over the candidates, trained on the tuning queries from the tuned alpha.
        tic = time.perf_counter()
        row_of = {query: row for row, query in enumerate(data.queries)}
        tune_lists = _hd_lists(tune, bm25, finetuned, ft_queries[[row_of[q] for q in tune.queries]])
        test_lists = _hd_lists(test, bm25, finetuned, ft_queries[[row_of[q] for q in test.queries]])
        gate = SearchGate(alpha=alpha, personal_weight=0.0, **HD_GATE).fit(tune_lists, ft_titles)
        per_query["hybrid_gate"] = list_ndcg(gate.scores(test_lists, ft_titles), test_lists, K)
        per_query["hybrid_convex_candidates"] = list_ndcg(
            convex_scores(test_lists, alpha, 0.0), test_lists, K
        )
        timings["gate_s"] = time.perf_counter() - tic
        results["finetune_real"] = {
            "pairs": real.n_train_pairs,
            "history": real.history.to_dict("records"),
        }
        results["tuned_alpha"] = {"alpha": alpha, "tune_grid": grid}
        results["gate"] = {
            "params": gate.get_params(),
            "train_loss_initial": gate.initial_loss_,
            "train_loss_final": gate.final_loss_,
        }
    _finish(which, per_query, results, parts, len(synthetic_queries), timings, started, load_before)


def _finish(
    which: str,
    per_query: dict,
    results: dict,
    parts: dict,
    n_synthetic: int,
    timings: dict,
    started: float,
    load_before: tuple,
) -> None:
    """Intervals, comparisons and the keys of one Home Depot held-out part."""
    _log(json.dumps({name: float(v.mean()) for name, v in per_query.items()}))
    table = paired_bootstrap(per_query, control=None, n_resamples=1000, random_state=0)
    heldout = {row[VARIANT]: _interval(row) for row in table.to_dict("records")}
    if which == "synthetic":
        comparisons = {
            "expansion_lift": _difference(per_query, "bm25_expanded", "bm25"),
            "synthetic_finetune_lift": _difference(
                per_query, "minilm_synthetic_finetuned", "minilm"
            ),
        }
    else:
        comparisons = {
            f"{name}_vs_mix": _difference(per_query, name, "mix")
            for name in ("hybrid_convex", "hybrid_gate", "minilm_finetuned")
        }
        comparisons["hybrid_gate_vs_hybrid_convex_candidates"] = _difference(
            per_query, "hybrid_gate", "hybrid_convex_candidates"
        )
    payload = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    payload.setdefault("homedepot_ndcg10", {}).setdefault("retrieve_heldout", {}).update(heldout)
    payload[f"homedepot_heldout_{which}_run"] = {
        **results,
        "comparisons": comparisons,
        "queries": {name: len(rows) for name, rows in parts.items()},
        "protocol": HD_PROTOCOL,
        "synthetic_queries": n_synthetic,
        "finetune_config": asdict(HD_FINETUNE),
        "timings_s": timings,
        "total_s": time.perf_counter() - started,
        "loadavg_before": list(load_before),
        "loadavg_after": list(os.getloadavg()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    atomic_write_json(RESULTS, payload)
    _log(json.dumps({"heldout": heldout, "comparisons": comparisons}, indent=1))


PARTS_RUN = {
    "homedepot": homedepot_baselines,
    "sample_world": sample_world,
    "homedepot_hybrid": homedepot_hybrid,
    "homedepot_synthetic": lambda: homedepot_hybrid("synthetic"),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    everything = ["homedepot", "sample_world", "homedepot_hybrid", "homedepot_synthetic"]
    parser.add_argument("--only", nargs="+", choices=sorted(PARTS_RUN), default=everything)
    for name in parser.parse_args(argv).only:
        PARTS_RUN[name]()


if __name__ == "__main__":
    main()
