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
    weights, and ``gate``: the query-product gate (:mod:`core.search.gate`) starting from the
    tuned convex weights, fitted on two thirds of the validation searches and stopped early on
    the others (the training searches' clicks are in the personal model's data, so a gate
    fitted there learns to over-trust the personal signal; that fit is recorded too). Graded
    NDCG@10 (click 1, cart 2, purchase 3; engaged items outside the candidates count in the
    ideal) per test search, paired bootstrap over searches (1,000 resamples, seed 0) of gate
    minus the best single signal (chosen on validation) and gate minus tuned convex. Key
    ``sample_world_search``.

``homedepot_hybrid`` / ``homedepot_synthetic`` (one run)
    Held-out real queries (:data:`HD_PROTOCOL`, :data:`HD_SYNTHETIC_PROTOCOL`): MiniLM
    fine-tuned on the judged pairs of a seeded half of the queries, every ranker measured on
    the other half (``homedepot_ndcg10.retrieve_heldout``): ``bm25``, ``minilm``, ``mix``,
    ``minilm_finetuned``, ``hybrid_convex`` (tuned alpha), ``rrf``, ``hybrid_gate``,
    ``hybrid_convex_candidates`` (the gate's starting point), and with accepted synthetic
    queries ``bm25_expanded``, ``hybrid_convex_expanded``, ``minilm_finetuned_synthetic``,
    ``hybrid_convex_synthetic``. Paired differences in ``homedepot_heldout_run.comparisons``
    and ``homedepot_synthetic``. Fine-tuned encoders are kept in ``benchmarks/data`` and read
    back by a rerun with the same pairs and settings; every encoding goes through the
    embedding cache.

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

Run: ``python benchmarks/search_evidence.py [--only homedepot sample_world homedepot_hybrid]``
(the sample world's candidate lists are kept in ``benchmarks/data`` for reruns). The load
average is recorded before and after, since MiniLM's encoding time depends on what else the
machine runs.
"""

from __future__ import annotations

import argparse
import hashlib
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
from core.synth.queries import query_flags, template_queries  # noqa: E402
from core.synth.review import round_trip  # noqa: E402
from core.text.cache import EmbeddingCache  # noqa: E402
from core.text.encoders import load_encoder, minilm_encoder  # noqa: E402
from core.text.finetune import FinetuneConfig, finetune_encoder  # noqa: E402
from core.text.saved_encoders import encoders_dir, load_encoder_meta  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "search.json"
CACHE = ROOT / "benchmarks" / "data" / "embeddings"
K = 10
SAMPLE_TRAIN_SEARCHES = 5000
SAMPLE_GATE = {
    "hidden_size": 16,
    "epochs": 60,
    "learning_rate": 0.003,
    "batch_size": 128,
    "weight_decay": 1e-3,
    "dropout": 0.1,
    "patience": 10,
}
SAMPLE_GATE_FIT_SHARE = 2 / 3
LISTS_CACHE = ROOT / "benchmarks" / "data" / "sample_world_gate_lists.npz"
HD_FUSION_QUERIES = 1200  # of the training half: alpha, and the gate (fit / early stopping)
HD_GATE_FIT_SHARE = 2 / 3
HD_SYNTHETIC_PER_PRODUCT = 1
HD_HOME = ROOT / "benchmarks" / "data" / "search_evidence"
HD_PAIR_MIN_RELEVANCE = 2.5
HD_CANDIDATES = 200
HD_GATE = {
    "hidden_size": 16,
    "epochs": 40,
    "learning_rate": 0.003,
    "batch_size": 64,
    "weight_decay": 1e-3,
    "dropout": 0.1,
    "patience": 5,
}
HD_FINETUNE = FinetuneConfig(
    epochs=1,
    batch_size=64,
    learning_rate=5e-5,
    valid_fraction=0.05,
    max_valid_queries=100,
    eval_corpus_size=1000,
    num_threads=2,
    device="cpu",
    max_length=32,
)
HD_PROTOCOL = (
    "queries split at random (seed 0) into halves: test, and training; the training half split "
    f"into fine-tuning queries and {HD_FUSION_QUERIES} fusion queries. MiniLM fine-tuned (1 "
    "epoch, in-batch negatives, batch 64, max length 32) on the fine-tuning queries' pairs "
    f"judged >= {HD_PAIR_MIN_RELEVANCE} (query -> title); alpha of the convex mix (min-max over "
    "the whole pool, grid 0..1 by 0.1) tuned on the fusion queries; the gate (from the tuned "
    "alpha) fitted on 2/3 of the fusion queries and stopped early on the other 1/3. Every "
    "figure on the test half: graded NDCG@10 (gain relevance - 1) retrieving from all 39,456 "
    "products; hybrid_gate, hybrid_convex_candidates and rrf (unweighted, k 60) rank the "
    "lexical best 200 (matched only) + fine-tuned semantic best 200; mix = 0.5 minmax(bm25) + "
    "0.5 minmax(pretrained minilm). Bootstrap 1000 resamples over test queries, seed 0"
)
HD_SYNTHETIC_PROTOCOL = (
    f"template queries ({HD_SYNTHETIC_PER_PRODUCT} per product, seed 0; title spans, the "
    "catalogue has titles only) accepted when unflagged: round trip (own product in the "
    "pretrained MiniLM top 10 of all products), not a copy of a training query, 3+ characters, "
    "at most 8 words. (a) expansion: accepted queries appended to the title for BM25; "
    "hybrid_convex_expanded = tuned convex of expanded BM25 + the real fine-tuned encoder. "
    "(b) fine-tuning: as many accepted pairs as real pairs (seeded sample) added to the real "
    "pairs, same settings; alpha retuned on the fusion queries. Lifts are paired differences "
    "on the real test half"
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
    if LISTS_CACHE.is_file():
        lists, vectors = _load_lists()
        _log(f"candidate lists read from {LISTS_CACHE}")
    else:
        lists, vectors = _sample_lists(timings)
    alpha, rho, grid = tune_convex(lists["valid"])
    _log(f"tuned convex: alpha {alpha}, personal weight {rho}")
    # The personal model learned from every event before the validation cut, the training
    # searches' own clicks included: on those searches the personal signal already knows the
    # answer, and a gate fitted there learns to trust it. The gate is fitted on validation
    # searches (after the cut, as test searches are) and stops early on others.
    order = np.random.default_rng(0).permutation(len(lists["valid"].rows))
    n_fit = round(SAMPLE_GATE_FIT_SHARE * len(order))
    fit, stop = _take(lists["valid"], order[:n_fit]), _take(lists["valid"], order[n_fit:])
    tic = time.perf_counter()
    gate = SearchGate(alpha=alpha, personal_weight=rho, **SAMPLE_GATE)
    gate.fit(fit, vectors, valid=stop)
    timings["gate_training_s"] = time.perf_counter() - tic
    tic = time.perf_counter()
    on_train = SearchGate(alpha=alpha, personal_weight=rho, **SAMPLE_GATE)
    on_train.fit(lists["train"], vectors, valid=stop)
    timings["gate_on_train_searches_s"] = time.perf_counter() - tic
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
            "train_loss_history": gate.loss_history_,
            "valid_ndcg10_history": gate.valid_ndcg_history_,
            "best_epoch": gate.best_epoch_,
            "valid_loss_zero_gate": _zero_gate_loss(gate, stop, vectors),
            "valid_loss": gate.loss(stop, vectors),
            "fitted_on": f"{len(fit.rows)} validation searches, stopped on {len(stop.rows)}",
        },
        "gate_fitted_on_training_searches": {
            "best_epoch": on_train.best_epoch_,
            "valid_ndcg10_history": on_train.valid_ndcg_history_,
            "train_loss_history": on_train.loss_history_,
            "note": "the same gate fitted on the training searches, stopped on the same "
            "validation searches: their engagement is in the personal model's training data",
        },
        "searches": {part: len(lists[part].rows) for part in PARTS},
        "protocol": "candidates of SearchIndex.signals (lexical best 200 + semantic best 200), "
        "no chip boost; graded NDCG@10 (click 1, cart 2, purchase 3); training searches capped "
        f"at {SAMPLE_TRAIN_SEARCHES} (seeded); the gate starts at the tuned convex weights and "
        f"is fitted on {SAMPLE_GATE_FIT_SHARE:.0%} of the validation searches (seeded) and "
        "stops early on the others' NDCG@10, keeping its best epoch (0 = the convex "
        "combination); bootstrap 1000 resamples over searches, seed 0",
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


def _sample_lists(timings: dict) -> tuple[dict[str, GateLists], np.ndarray]:
    """Candidate lists of every part of the sample world's searches, and the product vectors
    (written to :data:`LISTS_CACHE` so that reruns skip the index)."""
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
    vectors = index.semantic.vectors
    arrays = {f"{part}.{name}": value for part, part_lists in lists.items()
              for name, value in asdict(part_lists).items()}  # fmt: skip
    LISTS_CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(LISTS_CACHE, vectors=vectors, **arrays)
    return lists, vectors


LIST_FIELDS = tuple(GateLists.__dataclass_fields__)


def _take(lists: GateLists, rows: np.ndarray) -> GateLists:
    rows = np.sort(rows)
    return GateLists(**{name: getattr(lists, name)[rows] for name in LIST_FIELDS})


def _load_lists() -> tuple[dict[str, GateLists], np.ndarray]:
    with np.load(LISTS_CACHE) as stored:
        lists = {
            part: GateLists(**{name: stored[f"{part}.{name}"] for name in LIST_FIELDS})
            for part in PARTS
        }
        return lists, stored["vectors"]


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


def _judged_pairs(data: HomeDepotSearch, rows: np.ndarray) -> pd.DataFrame:
    """(query, product) pairs of the queries ``rows`` judged at least
    :data:`HD_PAIR_MIN_RELEVANCE`."""
    judged = data.judgements[rows].tocoo()
    strong = judged.data >= HD_PAIR_MIN_RELEVANCE
    return pd.DataFrame(
        {
            "query": [data.queries[rows[r]] for r in judged.row[strong]],
            "item_id": [data.product_ids[c] for c in judged.col[strong]],
        }
    )


class _CachedEncoder:
    """An encoder whose ``encode`` goes through the embedding cache (for the round trip)."""

    def __init__(self, encoder, cache: EmbeddingCache) -> None:
        self.encoder, self.cache = encoder, cache
        self.model_id, self.dim = encoder.model_id, encoder.dim

    def encode(self, texts, batch_size: int = 128, callback=None) -> np.ndarray:
        return self.cache.encode(self.encoder, texts, batch_size=batch_size, callback=callback)


def _finetuned(name: str, pairs: pd.DataFrame, extra: pd.DataFrame | None, catalog, timings):
    """The encoder fine-tuned on ``pairs`` (+ ``extra``), read back when the same data and
    settings were fine-tuned before (``benchmarks/data/search_evidence``)."""
    digest = hashlib.sha256(
        json.dumps(asdict(HD_FINETUNE)).encode()
        + pairs.to_csv(index=False).encode()
        + (b"" if extra is None else extra.to_csv(index=False).encode())
    ).hexdigest()[:12]
    ws = Workspace.open("homedepot", home=HD_HOME)
    folder = encoders_dir(ws) / f"{name}_{digest}"
    tic = time.perf_counter()
    if (folder / "config.json").is_file():
        encoder = load_encoder(str(folder), num_threads=2)
        meta = load_encoder_meta(folder)
        info = {"pairs": meta["n_train_pairs"], "history": meta["history"], "reused": True}
    else:
        result = finetune_encoder(
            ws, folder.name, HD_FINETUNE, pairs=pairs, catalog=catalog, extra_pairs=extra
        )
        encoder = result.encoder
        info = {"pairs": result.n_train_pairs, "history": json.loads(
            result.history.to_json(orient="records")), "reused": False}  # fmt: skip
    timings[f"finetune_{name}_s"] = time.perf_counter() - tic
    _log(f"fine-tuned {name}: {info['pairs']} pairs, {timings[f'finetune_{name}_s']:.0f} s")
    return encoder, info


def _tune_alpha(lexical, semantic, tune: HomeDepotSearch) -> tuple[float, dict[str, float]]:
    """The alpha of 0, 0.1, .., 1 with the best mean NDCG@10 of the convex mix on ``tune``
    (ties to the smaller alpha), and every grid value."""
    row_of = {query: row for row, query in enumerate(tune.queries)}
    lexical_terms = _minmax(lexical(tune.queries))
    semantic_terms = _minmax(semantic(tune.queries))
    grid = {}
    for alpha in np.round(np.linspace(0, 1, 11), 2):

        def score(batch: list[str], alpha: float = alpha) -> np.ndarray:
            rows = [row_of[query] for query in batch]
            return (1 - alpha) * lexical_terms[rows] + alpha * semantic_terms[rows]

        grid[f"{alpha:g}"] = float(homedepot_ndcg(score, tune, mode="retrieve", k=K).mean())
    return float(max(grid, key=grid.get)), grid


def _accepted_synthetic(
    catalog: pd.DataFrame, encoder, cache: EmbeddingCache, real: set[str]
) -> tuple[pd.DataFrame, dict]:
    """Template queries of every product that pass review: round trip (the product in the
    pretrained encoder's top 10 of the whole pool), not a copy of a training query, 3+
    characters, at most 8 words."""
    tic = time.perf_counter()
    generated = template_queries(catalog, n_per_product=HD_SYNTHETIC_PER_PRODUCT, random_state=0)
    checked = round_trip(
        generated["text"].tolist(),
        generated["item_id"].tolist(),
        catalog,
        _CachedEncoder(encoder, cache),
        k=10,
        cache=cache,
    )
    flags = query_flags(generated["text"].tolist(), copies=real, consistent=checked["consistent"])
    accepted = generated[[not row for row in flags]].reset_index(drop=True)
    review = {
        "generator": "template (title spans: the catalogue has titles only)",
        "generated": len(generated),
        "accepted": len(accepted),
        "round_trip_keep_rate": float(checked["consistent"].mean()),
        "products_with_accepted_query": int(accepted["item_id"].nunique()),
        "seconds": time.perf_counter() - tic,
    }
    _log(f"synthetic queries: {json.dumps(review)}")
    return accepted, review


def _hd_parts(n_queries: int) -> dict[str, np.ndarray]:
    """Seeded halves: test, and training split into fine-tuning and fusion queries; the
    fusion queries split again into the gate's fitting and early-stopping queries."""
    order = np.random.default_rng(0).permutation(n_queries)
    test, train = order[: n_queries // 2], order[n_queries // 2 :]
    fusion, finetune = train[:HD_FUSION_QUERIES], train[HD_FUSION_QUERIES:]
    n_fit = round(HD_GATE_FIT_SHARE * len(fusion))
    parts = {"test": test, "finetune": finetune, "fusion": fusion}
    parts |= {"gate_fit": fusion[:n_fit], "gate_valid": fusion[n_fit:]}
    return {name: np.sort(rows) for name, rows in parts.items()}


def _rrf(lists: GateLists) -> np.ndarray:
    """Unweighted RRF (k = 60) of the lexical and semantic ranks over each list's candidates."""
    return rrf_terms(np.moveaxis(lists.raw[..., :2], 2, 0)).sum(axis=0)


def homedepot_heldout() -> None:
    """The ``homedepot_hybrid`` / ``homedepot_synthetic`` part (one run: see HD_PROTOCOL)."""
    load_before = os.getloadavg()
    started = time.perf_counter()
    timings: dict[str, float] = {}
    data = load_homedepot()
    parts = _hd_parts(len(data.queries))
    sub = {name: _subset(data, rows) for name, rows in parts.items()}
    test = sub["test"]
    catalog = pd.DataFrame({"item_id": data.product_ids, "title": data.titles})
    pairs = _judged_pairs(data, parts["finetune"])
    cache = EmbeddingCache(CACHE)
    row_of = {query: row for row, query in enumerate(data.queries)}

    tic = time.perf_counter()
    bm25 = _bm25(data.titles, data)
    pretrained = minilm_encoder(num_threads=2)
    titles = cache.encode(pretrained, data.titles, batch_size=128)
    minilm = _dense(cache.encode(pretrained, data.queries, batch_size=128), titles, data)
    timings["baselines_s"] = time.perf_counter() - tic

    def encoded(encoder) -> tuple[np.ndarray, np.ndarray]:
        tic = time.perf_counter()
        vectors = (cache.encode(encoder, data.titles, batch_size=128),
                   cache.encode(encoder, data.queries, batch_size=128))  # fmt: skip
        timings[f"encode_{encoder.model_id.split('/')[0]}_s"] = time.perf_counter() - tic
        return vectors

    real_encoder, finetune_real = _finetuned("real", pairs, None, catalog, timings)
    ft_titles, ft_queries = encoded(real_encoder)
    finetuned = _dense(ft_queries, ft_titles, data)
    alpha, grid = _tune_alpha(bm25, finetuned, sub["fusion"])
    _log(f"tuned alpha {alpha}")

    per_query: dict[str, np.ndarray] = {}
    for name, score in (
        ("bm25", bm25),
        ("minilm", minilm),
        ("mix", _convex(bm25, minilm, 0.5)),
        ("minilm_finetuned", finetuned),
        ("hybrid_convex", _convex(bm25, finetuned, alpha)),
    ):
        per_query[name] = homedepot_ndcg(score, test, mode="retrieve", k=K)
    _log(json.dumps({name: float(v.mean()) for name, v in per_query.items()}))

    tic = time.perf_counter()
    lists = {
        name: _hd_lists(
            sub[name], bm25, finetuned, ft_queries[[row_of[q] for q in sub[name].queries]]
        )
        for name in ("gate_fit", "gate_valid", "test")
    }
    gate = SearchGate(alpha=alpha, personal_weight=0.0, **HD_GATE)
    gate.fit(lists["gate_fit"], ft_titles, valid=lists["gate_valid"])
    per_query["hybrid_gate"] = list_ndcg(gate.scores(lists["test"], ft_titles), lists["test"], K)
    per_query["hybrid_convex_candidates"] = list_ndcg(
        convex_scores(lists["test"], alpha, 0.0), lists["test"], K
    )
    per_query["rrf"] = list_ndcg(_rrf(lists["test"]), lists["test"], K)
    timings["gate_s"] = time.perf_counter() - tic
    _log(f"gate: best epoch {gate.best_epoch_}, valid {gate.valid_ndcg_history_}")

    def write(synthetic: dict | None) -> None:
        run = {
            "tuned_alpha": {"alpha": alpha, "tune_grid": grid},
            "finetune": finetune_real,
            "finetune_config": asdict(HD_FINETUNE),
            "gate": {
                "params": gate.get_params(),
                "best_epoch": gate.best_epoch_,
                "valid_ndcg10_history": gate.valid_ndcg_history_,
                "train_loss_history": gate.loss_history_,
            },
            "queries": {name: len(rows) for name, rows in parts.items()},
            "finetune_pairs": len(pairs),
            "protocol": HD_PROTOCOL,
            "timings_s": timings,
            "total_s": time.perf_counter() - started,
            "loadavg_before": list(load_before),
            "loadavg_after": list(os.getloadavg()),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        }
        _write_heldout(per_query, run, synthetic)

    write(None)

    # Synthetic queries: (a) document expansion, (b) more fine-tuning pairs.
    training_queries = {" ".join(data.queries[r].lower().split()) for r in parts["finetune"]}
    training_queries |= {" ".join(data.queries[r].lower().split()) for r in parts["fusion"]}
    accepted, review = _accepted_synthetic(catalog, pretrained, cache, training_queries)
    expansion = accepted.groupby("item_id")["text"].agg(" ".join)
    expanded = [
        f"{title} {expansion.get(item, '')}".strip()
        for item, title in zip(data.product_ids, data.titles, strict=True)
    ]
    bm25_expanded = _bm25(expanded, data)
    alpha_expanded, grid_expanded = _tune_alpha(bm25_expanded, finetuned, sub["fusion"])
    for name, score in (
        ("bm25_expanded", bm25_expanded),
        ("hybrid_convex_expanded", _convex(bm25_expanded, finetuned, alpha_expanded)),
    ):
        per_query[name] = homedepot_ndcg(score, test, mode="retrieve", k=K)
    synthetic = {
        "review": review,
        "tuned_alpha": {"expanded": alpha_expanded},
        "tune_grids": {"expanded": grid_expanded},
        "protocol": HD_SYNTHETIC_PROTOCOL,
    }
    write(synthetic)  # (a) is kept even if (b) is stopped

    extra = accepted.rename(columns={"text": "query"}).sample(
        n=min(len(accepted), len(pairs)), random_state=0
    )[["query", "item_id"]]
    synth_encoder, finetune_synthetic = _finetuned("real_synthetic", pairs, extra, catalog, timings)
    st_titles, st_queries = encoded(synth_encoder)
    synth_finetuned = _dense(st_queries, st_titles, data)
    alpha_synthetic, grid_synthetic = _tune_alpha(bm25, synth_finetuned, sub["fusion"])
    for name, score in (
        ("minilm_finetuned_synthetic", synth_finetuned),
        ("hybrid_convex_synthetic", _convex(bm25, synth_finetuned, alpha_synthetic)),
    ):
        per_query[name] = homedepot_ndcg(score, test, mode="retrieve", k=K)
    synthetic["synthetic_finetune_pairs"] = len(extra)
    synthetic["tuned_alpha"]["synthetic"] = alpha_synthetic
    synthetic["tune_grids"]["synthetic"] = grid_synthetic
    synthetic["finetune"] = finetune_synthetic
    write(synthetic)


def _write_heldout(per_query: dict[str, np.ndarray], run: dict, synthetic: dict | None) -> None:
    """Intervals and paired differences of the held-out rankers into search.json."""
    _log(json.dumps({name: float(v.mean()) for name, v in per_query.items()}))
    table = paired_bootstrap(per_query, control=None, n_resamples=1000, random_state=0)
    heldout = {row[VARIANT]: _interval(row) for row in table.to_dict("records")}
    comparisons = {
        f"{name}_vs_mix": _difference(per_query, name, "mix")
        for name in ("hybrid_gate", "hybrid_convex", "rrf", "minilm_finetuned")
    }
    comparisons["minilm_finetuned_vs_minilm"] = _difference(per_query, "minilm_finetuned", "minilm")
    comparisons["hybrid_gate_vs_hybrid_convex_candidates"] = _difference(
        per_query, "hybrid_gate", "hybrid_convex_candidates"
    )
    payload = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    payload.setdefault("homedepot_ndcg10", {})["retrieve_heldout"] = heldout
    payload["homedepot_heldout_run"] = {"comparisons": comparisons, **run}
    if synthetic is not None:
        lifts = {
            "expansion_lift_bm25": ("bm25_expanded", "bm25"),
            "expansion_lift_hybrid": ("hybrid_convex_expanded", "hybrid_convex"),
            "finetune_lift_semantic": ("minilm_finetuned_synthetic", "minilm_finetuned"),
            "finetune_lift_hybrid": ("hybrid_convex_synthetic", "hybrid_convex"),
        }
        synthetic = {
            **{key: _difference(per_query, *pair) for key, pair in lifts.items()
               if pair[0] in per_query},
            **synthetic,
        }  # fmt: skip
        payload["homedepot_synthetic"] = synthetic
        _log(json.dumps({k: v for k, v in synthetic.items() if "lift" in k}, indent=1))
    atomic_write_json(RESULTS, payload)
    _log(json.dumps({"heldout": heldout, "comparisons": comparisons}, indent=1))


def homedepot_pretrained_hybrid() -> None:
    """The ``homedepot_pretrained`` part: the held-out protocol of :data:`HD_PROTOCOL` with
    the pretrained encoder as the semantic signal (no fine-tuning): tuned convex, RRF and the
    gate against the 50/50 mix on the same test half."""
    load_before = os.getloadavg()
    started = time.perf_counter()
    data = load_homedepot()
    parts = _hd_parts(len(data.queries))
    sub = {name: _subset(data, rows) for name, rows in parts.items()}
    cache = EmbeddingCache(CACHE)
    row_of = {query: row for row, query in enumerate(data.queries)}
    bm25 = _bm25(data.titles, data)
    pretrained = minilm_encoder(num_threads=2)
    titles = cache.encode(pretrained, data.titles, batch_size=128)
    queries = cache.encode(pretrained, data.queries, batch_size=128)
    minilm = _dense(queries, titles, data)
    alpha, grid = _tune_alpha(bm25, minilm, sub["fusion"])
    _log(f"tuned alpha {alpha}: {grid}")
    per_query = {
        name: homedepot_ndcg(score, sub["test"], mode="retrieve", k=K)
        for name, score in (("bm25", bm25), ("minilm", minilm),
                            ("mix", _convex(bm25, minilm, 0.5)),
                            ("hybrid_convex", _convex(bm25, minilm, alpha)))
    }  # fmt: skip
    lists = {
        name: _hd_lists(sub[name], bm25, minilm, queries[[row_of[q] for q in sub[name].queries]])
        for name in ("gate_fit", "gate_valid", "test")
    }
    gate = SearchGate(alpha=alpha, personal_weight=0.0, **HD_GATE)
    gate.fit(lists["gate_fit"], titles, valid=lists["gate_valid"])
    test = lists["test"]
    per_query["hybrid_gate"] = list_ndcg(gate.scores(test, titles), test, K)
    per_query["hybrid_convex_candidates"] = list_ndcg(convex_scores(test, alpha, 0.0), test, K)
    per_query["rrf"] = list_ndcg(_rrf(test), test, K)
    _log(json.dumps({name: float(v.mean()) for name, v in per_query.items()}))
    table = paired_bootstrap(per_query, control=None, n_resamples=1000, random_state=0)
    comparisons = {
        f"{name}_vs_mix": _difference(per_query, name, "mix")
        for name in ("hybrid_gate", "hybrid_convex", "rrf")
    }
    comparisons["hybrid_gate_vs_hybrid_convex_candidates"] = _difference(
        per_query, "hybrid_gate", "hybrid_convex_candidates"
    )
    payload = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    payload.setdefault("homedepot_ndcg10", {})["retrieve_heldout_pretrained"] = {
        row[VARIANT]: _interval(row) for row in table.to_dict("records")
    }
    payload["homedepot_heldout_pretrained_run"] = {
        "comparisons": comparisons,
        "tuned_alpha": {"alpha": alpha, "tune_grid": grid},
        "gate": {
            "params": gate.get_params(),
            "best_epoch": gate.best_epoch_,
            "valid_ndcg10_history": gate.valid_ndcg_history_,
        },
        "queries": {name: len(rows) for name, rows in parts.items()},
        "protocol": HD_PROTOCOL + "; here the semantic signal is the pretrained MiniLM",
        "total_s": time.perf_counter() - started,
        "loadavg_before": list(load_before),
        "loadavg_after": list(os.getloadavg()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    atomic_write_json(RESULTS, payload)
    _log(json.dumps(comparisons, indent=1))


PARTS_RUN = {
    "homedepot": homedepot_baselines,
    "sample_world": sample_world,
    "homedepot_hybrid": homedepot_heldout,
    "homedepot_synthetic": homedepot_heldout,
    "homedepot_pretrained": homedepot_pretrained_hybrid,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(PARTS_RUN), default=sorted(PARTS_RUN))
    # homedepot_hybrid and homedepot_synthetic are one run: each part runs once.
    for part in dict.fromkeys(PARTS_RUN[name] for name in parser.parse_args(argv).only):
        part()


if __name__ == "__main__":
    main()
