"""Fusion and semantic text on real public logs with product text: what holds up?

Results go to ``benchmarks/results/real_data.json`` (one key per dataset), with the machine
load beside the timings.

Protocol, for each dataset
--------------------------
1. A split with a validation part, built by the project's loaders and splits
   (:mod:`core.data.datasets`, :mod:`core.data.splits`).
2. Models fitted on the training part, default hyperparameters: popularity, item kNN, ALS,
   BPR (``random_state=0``), TF-IDF content, the MiniLM semantic model with the pretrained
   all-MiniLM-L6-v2 and, with ``--steps`` above 0, MiniLM fine-tuned on co-occurring item
   pairs of the training part (:mod:`core.text.item_pairs`, in-batch negatives, one epoch of
   at most ``--steps`` batches of 32). All content models read the same product texts
   (:func:`core.text.product_text.product_texts`, every field).
3. Fusion (:mod:`core.fusion`, public API only) over the CF models, TF-IDF and one semantic
   model (pretrained or fine-tuned, whichever has the higher validation cold-item NDCG@10):
   candidates are every signal's top 200 (training items left out) plus each content
   model's cold items; weighted sums with min-max, z-score and rank normalisation,
   reciprocal rank fusion and CombMNZ with weights searched on validation (the corners, the
   centre and ``--weight-samples`` Dirichlet draws), each with a segment-aware twin
   (``+cold``: a second weight vector for cold candidates, grid step 0.05, the best
   validation NDCG@10 among the points reaching the best content model's validation
   cold-item NDCG@10), and the learned softmax gate trained on validation.
4. Everything is chosen on validation: the best single model by NDCG@10 over the validation
   users; the best fused variant by the same, among the fused variants whose validation
   cold-item NDCG@10 reaches the best content model's (all of them when none does; the
   unconstrained choice is recorded too); the best content model and the semantic variant by
   NDCG@10 on the validation users' cold items. Test then measures, over the same users per
   comparison, with a paired bootstrap over users (:func:`core.evaluation.stats.
   paired_bootstrap`, 1,000 resamples, 95%):

   ``fused_vs_single_ndcg10``
       best fused minus best single model, NDCG@10 over all test users (users whose lists
       miss score 0);
   ``cold_fused_vs_best_content_ndcg10``
       the same best fused variant minus the best content model, NDCG@10 counting only cold
       test items (no training interaction), over the test users with one;
   ``semantic_vs_tfidf_cold_ndcg10``
       the chosen semantic model minus TF-IDF, on the same cold-item cases.

   Each is ``{"diff", "ci_low", "ci_high"}``; every model's and variant's values are kept
   beside them.

Datasets
--------
``amazon_games_titles``
    Amazon Video Games 2018 with titles: ``--users`` users drawn at random
    (``random_state=0``), positions as times, leave-last-one with the second-last item as
    validation (:func:`core.data.splits.leave_last_n_split`, ``n=1, valid_n=1``); fine-tuning
    pairs: consecutive items of the training sequences.
``completejourney_sample``
    Dunnhumby Complete Journey grocery baskets (every household), ingested and cleaned with
    the defaults, temporal split 70/10/20 of the events (repeat purchases stay in train, so
    test items are new to the household); catalogue text: product type, department >
    category, brand, package size (:func:`core.data.datasets.completejourney_catalog`);
    fine-tuning pairs: products sharing a basket before the validation cut.

The other folders of ``shared/datasets`` lack product text (Beauty and Sports sequences,
DIGINETICA) or user logs (ESCI, Home Depot); MovieLens has film titles, not products.

Run: ``python benchmarks/real_data_evidence.py [--only amazon_games_titles
completejourney_sample] [--users 5000] [--steps 40] [--weight-samples 150]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.clean import clean_dataset  # noqa: E402
from core.data.datasets import (  # noqa: E402
    COMPLETEJOURNEY_FOLDER,
    COMPLETEJOURNEY_MAPPING,
    DEFAULT_DATASETS,
    completejourney_catalog,
    load_games_titles,
)
from core.data.ingest.load import load_dataset  # noqa: E402
from core.data.splits import Split, leave_last_n_split, temporal_split  # noqa: E402
from core.data.workspace import Workspace, atomic_write_json  # noqa: E402
from core.evaluation.stats import paired_bootstrap  # noqa: E402
from core.fusion import (  # noqa: E402
    PreparedFusion,
    build_candidates,
    search_cold_weights,
    search_weights,
)
from core.fusion.gate import SoftmaxGate, user_features  # noqa: E402
from core.metrics import hit_matrix, ndcg_at_k, relevant_counts  # noqa: E402
from core.models.base import Recommender  # noqa: E402
from core.models.registry import make_model  # noqa: E402
from core.text.finetune import FinetuneConfig, finetune_encoder  # noqa: E402
from core.text.item_pairs import (  # noqa: E402
    cooccurrence_pairs,
    item_query_pairs,
    workspace_item_pairs,
)

RESULTS = ROOT / "benchmarks" / "results" / "real_data.json"
# Product vectors are cached by encoder and text, so reruns encode only new titles.
EMBEDDINGS = ROOT / "benchmarks" / "data" / "embeddings"
K = 10
DEPTH = 200
N_RESAMPLES = 1000
BATCH = 32
THREADS = 2
CF_MODELS = ("popularity", "item_knn", "als", "bpr")
FIXED = (("weighted", "minmax"), ("weighted", "zscore"), ("weighted", "rank"))
FIXED += (("rrf", "minmax"), ("combmnz", "minmax"))
COLD_STEP = 0.05
GATE_PARAMS = {"epochs": 40, "learning_rate": 0.01, "batch_size": 256, "random_state": 0}
Results = dict[str, Any]


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# Pure helpers ------------------------------------------------------------------------------


def users_with_items(matrix: sp.spmatrix) -> np.ndarray:
    """Indices (ascending) of the rows of ``matrix`` with at least one stored entry."""
    return np.flatnonzero(np.diff(sp.csr_matrix(matrix).indptr) > 0).astype(np.int64)


def cold_relevance(train: sp.spmatrix, part: sp.spmatrix) -> sp.csr_matrix:
    """``part`` keeping only the entries of items without any entry in ``train``."""
    part = sp.csr_matrix(part)
    trained = np.bincount(sp.csr_matrix(train).indices, minlength=part.shape[1]) > 0
    coo = part.tocoo()
    keep = ~trained[coo.col]
    return sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=part.shape)


def list_ndcg(lists: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Per-row binary NDCG@k of ``lists`` (``-1`` padded) against the rows of ``relevant``."""
    hits = hit_matrix(lists, relevant)
    return ndcg_at_k(hits, relevant_counts(relevant), lists.shape[1])


def best_on_validation(scores: Mapping[str, float], among: Sequence[str]) -> str:
    """The name in ``among`` with the highest validation score; the first listed wins ties."""
    if not among:
        raise ValueError("nothing to choose from")
    return max(among, key=lambda name: (scores[name], -among.index(name)))


def paired_difference(
    treatment: np.ndarray, control: np.ndarray, *, random_state: int = 0
) -> dict[str, float]:
    """Mean of ``treatment - control`` over paired users with its 95% bootstrap interval."""
    table = paired_bootstrap(
        {"control": control, "treatment": treatment},
        control="control",
        n_resamples=N_RESAMPLES,
        random_state=random_state,
    )
    row = table.iloc[1]
    return {
        "diff": round(float(row["diff"]), 6),
        "ci_low": round(float(row["diff_ci_low"]), 6),
        "ci_high": round(float(row["diff_ci_high"]), 6),
    }


# Models and fusion -------------------------------------------------------------------------


def fit_models(
    split: Split, catalog: pd.DataFrame, pairs: pd.DataFrame, steps: int, home: Path
) -> tuple[dict[str, Recommender], Results]:
    """Every model of step 2 fitted on ``split.train``; their fit seconds and tuning record."""
    models: dict[str, Recommender] = {}
    record: Results = {"fit_seconds": {}}
    specs: dict[str, dict[str, Any]] = {
        **{name: {"random_state": 0} if name in ("als", "bpr") else {} for name in CF_MODELS},
        "content_tfidf": {},
        "semantic_minilm": {"encoder": "minilm"},
    }
    if steps > 0:
        started = time.perf_counter()
        config = FinetuneConfig(
            base_encoder="minilm",
            epochs=1,
            batch_size=BATCH,
            max_pairs=steps * BATCH,
            valid_fraction=0.1,
            max_valid_queries=100,
            eval_corpus_size=500,
            num_threads=THREADS,
            device="cpu",
            random_state=0,
        )
        tuned = finetune_encoder(
            Workspace.open("finetune", home=home),
            "cooccurrence",
            config,
            pairs=item_query_pairs(pairs, catalog),
            catalog=catalog,
        )
        record["finetune"] = {
            "item_pairs": len(pairs),
            "train_pairs": tuned.n_train_pairs,
            "steps": int(np.ceil(tuned.n_train_pairs / BATCH)),
            "seconds": round(time.perf_counter() - started, 1),
        }
        specs["semantic_minilm_finetuned"] = {"encoder": str(tuned.path)}
        _log(f"  fine-tuned MiniLM: {record['finetune']}")
    for name, params in specs.items():
        started = time.perf_counter()
        kind = "semantic_bert" if name.startswith("semantic") else name
        extra = (
            {"num_threads": THREADS, "device": "cpu", "cache_dir": str(EMBEDDINGS)}
            if kind == "semantic_bert"
            else {}
        )
        models[name] = make_model(kind, **params, **extra).fit(split.train, catalog=catalog)
        record["fit_seconds"][name] = round(time.perf_counter() - started, 1)
        _log(f"  fitted {name} in {record['fit_seconds'][name]} s")
    return models, record


def _single_values(
    models: Mapping[str, Recommender], users: np.ndarray, relevant: sp.csr_matrix
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each model's own top-10 lists for ``users`` and their NDCG@10."""
    lists = {
        name: model.recommend(users, K, exclude_seen=True)[0] for name, model in models.items()
    }
    return lists, {name: list_ndcg(found, relevant[users]) for name, found in lists.items()}


def _fused_lists(
    signals: Mapping[str, Recommender],
    split: Split,
    valid_users: np.ndarray,
    test_users: np.ndarray,
    weight_samples: int,
    cold_floor: float | None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], Results]:
    """Validation and test top-10 lists of every fused variant, weights found on validation.

    Each fixed-weight variant also gets a segment-aware twin (``<label>+cold``): the same warm
    weights and a second weight vector for cold candidates, chosen on validation as the best
    NDCG@10 among the points whose cold-item NDCG@10 reaches ``cold_floor`` (the best content
    model's), or the best cold-item point when none does
    (:func:`core.fusion.search.search_cold_weights`).
    """
    cold_items = np.bincount(split.train.matrix.tocsr().indices, minlength=split.train.n_items)
    cold_items = cold_items == 0
    valid_candidates = build_candidates(signals, valid_users, DEPTH)
    test_candidates = build_candidates(signals, test_users, DEPTH)
    names = valid_candidates.signal_names
    valid_lists: dict[str, np.ndarray] = {}
    test_lists: dict[str, np.ndarray] = {}
    settings: Results = {}
    prepared = {}
    for normalisation in ("minmax", "zscore", "rank"):
        prepared[normalisation] = (
            PreparedFusion(valid_candidates, split.valid.matrix, normalisation=normalisation),
            PreparedFusion(test_candidates, split.test.matrix, normalisation=normalisation),
        )
    for method, normalisation in FIXED:
        valid_prepared, test_prepared = prepared[normalisation]
        search = search_weights(
            valid_prepared, method=method, strategy="random", n_samples=weight_samples,
            metric="ndcg@10", metrics=(), random_state=0,
        )  # fmt: skip
        weights = np.array([search.best_weights[name] for name in names])
        label = "rrf" if method == "rrf" else f"{method}:{normalisation}"
        valid_lists[label] = valid_prepared.top_items(weights, method, K)[0]
        test_lists[label] = test_prepared.top_items(weights, method, K)[0]
        settings[label] = {name: round(float(w), 3) for name, w in zip(names, weights, strict=True)}
        if cold_items.any():
            cold = search_cold_weights(
                valid_prepared, weights, cold_items, method=method, step=COLD_STEP,
                metric="ndcg@10", cold_floor=cold_floor,
            )  # fmt: skip
            chosen = cold.best_cold_weights
            if chosen is None:
                best = int(np.argmax(cold.sweep["cold:ndcg@10"].to_numpy()))
                chosen = {name: float(cold.sweep.at[best, f"cold_weight_{name}"]) for name in names}
            cold_weights = np.array([chosen[name] for name in names])
            valid_lists[f"{label}+cold"] = valid_prepared.top_items(
                weights, method, K, cold_weights
            )[0]
            test_lists[f"{label}+cold"] = test_prepared.top_items(weights, method, K, cold_weights)[
                0
            ]
            settings[f"{label}+cold"] = {
                "cold_weights": {name: round(w, 3) for name, w in chosen.items()},
                "reached_floor": cold.best_cold_weights is not None,
            }
    valid_prepared, test_prepared = prepared["minmax"]
    valid_features = user_features(split.train, valid_candidates.users)
    test_features = user_features(split.train, test_candidates.users)
    gate = SoftmaxGate(**GATE_PARAMS).fit(valid_prepared, valid_features)
    valid_lists["gate:minmax"] = valid_prepared.top_items(
        gate.weights(valid_features), "weighted", K
    )[0]
    test_weights = gate.weights(test_features)
    test_lists["gate:minmax"] = test_prepared.top_items(test_weights, "weighted", K)[0]
    settings["gate:minmax"] = {
        "mean_weights": dict(
            zip(names, np.round(test_weights.mean(axis=0), 3).tolist(), strict=True)
        ),
        **GATE_PARAMS,
    }
    return valid_lists, test_lists, settings


def evaluate_split(
    split: Split,
    catalog: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    steps: int,
    weight_samples: int,
    home: Path,
) -> Results:
    """Steps 2-4 of the protocol on ``split``; the dataset's results."""
    if split.valid is None:
        raise ValueError("the split has no validation part to choose on")
    models, out = fit_models(split, catalog, pairs, steps, home)
    content = [name for name, model in models.items() if model.scores_cold_items]
    semantic = [name for name in content if name.startswith("semantic")]
    valid_users = users_with_items(split.valid.matrix)
    test_users = users_with_items(split.test.matrix)
    valid_cold = cold_relevance(split.train.matrix, split.valid.matrix)[valid_users]
    test_cold = cold_relevance(split.train.matrix, split.test.matrix)[test_users]
    valid_cold_rows = np.diff(valid_cold.indptr) > 0
    test_cold_rows = np.diff(test_cold.indptr) > 0

    started = time.perf_counter()
    valid_lists, valid_all = _single_values(models, valid_users, split.valid.matrix)
    test_lists, test_all = _single_values(models, test_users, split.test.matrix)
    valid_cold_scores = {
        name: float(list_ndcg(lists[valid_cold_rows], valid_cold[valid_cold_rows]).mean())
        for name, lists in valid_lists.items()
    }
    chosen_semantic = best_on_validation(valid_cold_scores, semantic)
    signals = {
        name: model
        for name, model in models.items()
        if not name.startswith("semantic") or name == chosen_semantic
    }
    cold_floor = max(valid_cold_scores[name] for name in content) if content else None
    fused_valid, fused_test, settings = _fused_lists(
        signals, split, valid_users, test_users, weight_samples, cold_floor
    )
    for label, lists in fused_valid.items():
        valid_lists[label] = lists
        valid_all[label] = list_ndcg(lists, split.valid.matrix[valid_users])
        valid_cold_scores[label] = float(
            list_ndcg(lists[valid_cold_rows], valid_cold[valid_cold_rows]).mean()
        )
    for label, lists in fused_test.items():
        test_lists[label] = lists
        test_all[label] = list_ndcg(lists, split.test.matrix[test_users])
    test_cold_values = {
        name: list_ndcg(lists[test_cold_rows], test_cold[test_cold_rows])
        for name, lists in test_lists.items()
    }
    valid_scores = {name: float(values.mean()) for name, values in valid_all.items()}
    singles = list(models)
    fused = list(fused_valid)
    best_single = best_on_validation(valid_scores, singles)
    # The best fused variant among those that reach the best content model on validation cold
    # items (all of them when none does); the unconstrained choice is recorded beside it.
    best_fused_any = best_on_validation(valid_scores, fused)
    reaching = [
        name for name in fused if cold_floor is None or valid_cold_scores[name] >= cold_floor
    ]
    best_fused = best_on_validation(valid_scores, reaching or fused)
    best_content = best_on_validation(valid_cold_scores, content)
    out["ranking_seconds"] = round(time.perf_counter() - started, 1)
    out["n_users"] = int(split.train.n_users)
    out["n_items"] = int(split.train.n_items)
    out["n_train_pairs"] = int(split.train.nnz)
    out["valid_users"] = len(valid_users)
    out["test_users"] = len(test_users)
    out["valid_cold_item_users"] = int(valid_cold_rows.sum())
    out["test_cold_item_users"] = int(test_cold_rows.sum())
    out["test_cold_items"] = int(np.unique(test_cold.indices).size)
    out["signals"] = list(signals)
    out["fusion_settings"] = settings
    out["chosen_on_validation"] = {
        "best_single": best_single,
        "best_fused": best_fused,
        "best_fused_unconstrained": best_fused_any,
        "validation_cold_floor": None if cold_floor is None else round(cold_floor, 5),
        "fused_reaching_cold_floor": reaching,
        "best_content_cold": best_content,
        "semantic_cold": chosen_semantic,
    }
    out["ndcg10"] = {
        name: {
            "valid": round(valid_scores[name], 5),
            "valid_cold": round(valid_cold_scores[name], 5),
            "test": round(float(test_all[name].mean()), 5),
            "test_cold": round(float(test_cold_values[name].mean()), 5),
        }
        for name in [*singles, *fused]
    }
    out["fused_vs_single_ndcg10"] = {
        **paired_difference(test_all[best_fused], test_all[best_single]),
        "treatment": best_fused,
        "control": best_single,
        "n_users": len(test_users),
    }
    if test_cold_rows.any():
        out["cold_fused_vs_best_content_ndcg10"] = {
            **paired_difference(test_cold_values[best_fused], test_cold_values[best_content]),
            "treatment": best_fused,
            "control": best_content,
            "n_users": int(test_cold_rows.sum()),
        }
        out["semantic_vs_tfidf_cold_ndcg10"] = {
            **paired_difference(
                test_cold_values[chosen_semantic], test_cold_values["content_tfidf"]
            ),
            "treatment": chosen_semantic,
            "control": "content_tfidf",
            "n_users": int(test_cold_rows.sum()),
        }
    return out


# Datasets ----------------------------------------------------------------------------------


def _training_sequences(split: Split) -> pd.DataFrame:
    """The training part as ``user_id`` / ``item_id`` events in time order per user."""
    rows, cols = split.train.entries()
    order = np.lexsort((split.train.last_ts.view(np.int64), rows))
    return pd.DataFrame(
        {"user_id": split.train.user_ids[rows[order]], "item_id": split.train.item_ids[cols[order]]}
    )


def games(datasets: Path, args: argparse.Namespace, home: Path) -> Results:
    interactions, catalog = load_games_titles(datasets, n_users=args.users, random_state=0)
    split = leave_last_n_split(interactions, 1, valid_n=1)
    pairs = cooccurrence_pairs(_training_sequences(split))
    out = evaluate_split(
        split, catalog, pairs, steps=args.steps, weight_samples=args.weight_samples, home=home
    )
    out["sample"] = f"{interactions.n_users:,} users drawn at random (random_state=0) of 50,546"
    out["split"] = "leave-last-one: last item test, second-last validation, positions as times"
    return out


def completejourney(datasets: Path, args: argparse.Namespace, home: Path) -> Results:
    folder = datasets / COMPLETEJOURNEY_FOLDER
    ws = Workspace.open("completejourney", home=home)
    load_dataset(
        ws,
        folder / "transactions_sample.parquet",
        mapping=COMPLETEJOURNEY_MAPPING,
        preset="generic",
        default_event="purchase",
        name="completejourney_sample",
    )
    clean_dataset(ws)
    split = temporal_split(ws, test_fraction=0.2, valid_fraction=0.1)
    before = split.params["valid_cutoff"] or split.params["cutoff"]
    pairs = workspace_item_pairs(ws, before=before)
    catalog = completejourney_catalog(datasets)
    catalog = catalog[catalog["item_id"].isin(set(split.train.item_ids))]
    out = evaluate_split(
        split, catalog, pairs, steps=args.steps, weight_samples=args.weight_samples, home=home
    )
    out["sample"] = "every household of the 75,000-transaction sample (cleaned with the defaults)"
    out["split"] = (
        f"temporal 70/10/20 of the events (validation from {split.params['valid_cutoff']}, test "
        f"from {split.params['cutoff']}); repeats stay in train; pairs: products sharing a basket "
        "before the validation cut"
    )
    return out


DATASETS = {"amazon_games_titles": games, "completejourney_sample": completejourney}


def main(argv: list[str] | None = None) -> Results:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(DATASETS), default=None)
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--users", type=int, default=5000, help="games users sampled")
    parser.add_argument("--steps", type=int, default=40, help="fine-tuning batches (0: none)")
    parser.add_argument("--weight-samples", type=int, default=150)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results: Results = {}
    for name in args.only or list(DATASETS):
        if not (args.datasets / name).is_dir():
            _log(f"{name}: skipped, {args.datasets / name} not present")
            continue
        _log(f"{name} (load average {os.getloadavg()[0]:.1f})")
        load_before = os.getloadavg()
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as home:
            out = DATASETS[name](args.datasets, args, Path(home))
        out["settings"] = {
            "k": K,
            "candidate_depth": DEPTH,
            "weight_search": f"corners, centre and {args.weight_samples} Dirichlet draws",
            "finetune_steps": args.steps,
            "finetune_batch": BATCH,
            "bootstrap_resamples": N_RESAMPLES,
            "hyperparameters": "defaults (ALS and BPR random_state=0)",
        }
        out["wall_seconds"] = round(time.perf_counter() - started, 1)
        out["loadavg_before"] = [round(value, 2) for value in load_before]
        out["loadavg_after"] = [round(value, 2) for value in os.getloadavg()]
        out["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, {THREADS} torch threads"
        results[name] = out
        # Read again just before writing: another run may have added a dataset meanwhile.
        saved = json.loads(args.output.read_text()) if args.output.is_file() else {}
        args.output.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(args.output, {**saved, name: out})
        _log(json.dumps({key: out.get(key) for key in (
            "fused_vs_single_ndcg10", "cold_fused_vs_best_content_ndcg10",
            "semantic_vs_tfidf_cold_ndcg10", "wall_seconds")}))  # fmt: skip
    return results


if __name__ == "__main__":
    main()
