"""Does fusing signals beat the best single signal? Tuned on validation, judged on test.

Results go to ``benchmarks/results/fusion_evidence.json`` (one key per world).

Protocol, for each world
------------------------
1. Models are trained on the training part. Candidates (the union of every model's top 200,
   items seen in training left out) are built for the users with validation items and,
   separately, for the users with test items.
2. On validation: every single signal; for each fusion variant (weighted sum with min-max,
   z-score and rank normalisation, reciprocal rank fusion, CombMNZ) a grid search over the
   simplex (step 0.05; 0.1 with five signals) maximising NDCG@10; the learned softmax gate
   (trained on validation with the user features of :func:`core.fusion.gate.user_features`
   and each candidate's cold flag). Segment-aware variants: each fixed-weight variant keeps
   its weights for warm candidates and gets a second weight vector for cold candidates
   (:func:`core.fusion.search.search_cold_weights`, grid step 0.05), the one with the best
   validation NDCG@10 among those whose validation NDCG@10 on cold items reaches the best
   content model's (its own lists, same validation users).
3. The best single signal is chosen by validation NDCG@10. The best fused variant (gate and
   segment-aware variants included) is chosen by validation NDCG@10 among the fused variants
   whose validation cold-item NDCG@10 reaches the best content model's (all of them when none
   does; the unconstrained choice is recorded too). Both are measured once on test: NDCG@10
   over every test user (users whose lists miss score 0). A single signal is the model's own
   top-k (its ``recommend``, the lists the Models page scores). The difference gets a paired
   bootstrap interval over test users (1,000 resamples,
   :func:`core.evaluation.stats.paired_bootstrap`).
4. Cold items: only the test items without a training interaction count as relevant, over
   the test users with at least one. The best fused variant (chosen in step 3) is compared
   with the best content model on cold items (the content model, ``scores_cold_items``, with
   the highest cold-item NDCG@10 on test: the harder bar) by a paired bootstrap interval, and
   every variant's cold-item NDCG@10 is recorded. The machine load (1-minute load average)
   is recorded before and after each world.

The models never see validation interactions: test lists are made from the training history,
as the validation lists are (a deployed system would refit on train + validation first).

Worlds
------
``sample_world``
    The committed ShopSynth sample world, loaded and cleaned with the defaults into a
    temporary workspace, split as the Models page does (temporal: 70% train, 10% validation,
    20% test). Models: popularity, ALS, TF-IDF content (and the MiniLM semantic model with
    ``--semantic``), default hyperparameters. Diversity uses the catalogue category.
``movielens_100k``
    ``shared/datasets/movielens_100k``: every rating a positive, random split per user
    (20% test, 10% validation, ``random_state=42``). Models: popularity, item kNN, ALS and
    BPR with the hyperparameters of ``tests/core/models/test_public_accuracy.py``, and the
    TF-IDF content model over each film's title, year and genres. Diversity uses each
    film's first genre.

Run: ``python benchmarks/fusion_evidence.py [--only sample_world movielens_100k]
[--semantic]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.clean import clean_dataset  # noqa: E402
from core.data.datasets import (  # noqa: E402
    MOVIELENS_FILE,
    MOVIELENS_PARAMS,
    movielens_interactions,
)
from core.data.ingest.load import load_sample_world  # noqa: E402
from core.data.interactions import Interactions  # noqa: E402
from core.data.splits import Split, random_split  # noqa: E402
from core.data.workspace import Workspace, atomic_write_json  # noqa: E402
from core.evaluation.stats import paired_bootstrap  # noqa: E402
from core.fusion import (  # noqa: E402
    PreparedFusion,
    build_candidates,
    search_cold_weights,
    search_weights,
)
from core.fusion.gate import SoftmaxGate, user_features  # noqa: E402
from core.metrics import MetricContext, evaluate_lists  # noqa: E402
from core.models.base import Recommender  # noqa: E402
from core.models.registry import make_model  # noqa: E402
from core.models.training import train_model  # noqa: E402
from core.schema import CATALOG_TABLE  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "fusion_evidence.json"
DATASETS = ROOT.parent / "shared" / "datasets"
METRIC = "ndcg@10"
RECORDED = ("recall@20", "coverage@10", "category_diversity@10")
DEPTH = 200
COLD_STEP = 0.05
# (method, normalisation) of the fixed-weight variants.
VARIANTS = (
    ("weighted", "minmax"),
    ("weighted", "zscore"),
    ("weighted", "rank"),
    ("rrf", "minmax"),
    ("combmnz", "minmax"),
)
GATE_PARAMS = {"epochs": 40, "learning_rate": 0.01, "batch_size": 256, "random_state": 0}

Results = dict[str, Any]


def _log(text: str) -> None:
    print(text, flush=True)


def _users_with_items(part: Interactions) -> np.ndarray:
    return np.flatnonzero(np.diff(part.matrix.tocsr().indptr) > 0).astype(np.int64)


def _round(values: Mapping[str, float]) -> dict[str, float]:
    return {key: round(float(value), 5) for key, value in values.items()}


def _own_lists(
    model: Recommender,
    users: np.ndarray,
    relevant: sp.csr_matrix,
    metrics: tuple[str, ...],
    context: MetricContext,
) -> dict[str, np.ndarray | float]:
    """Metrics of ``model``'s own top lists (seen items excluded) for ``users``."""
    k = max(int(metric.split("@")[1]) for metric in metrics)
    lists, _ = model.recommend(users, k, exclude_seen=True)
    return evaluate_lists(lists, relevant[users], metrics, context)


def _cold_items(split: Split) -> np.ndarray:
    """Bool per item: no training interaction."""
    return np.bincount(split.train.matrix.tocsr().indices, minlength=split.train.n_items) == 0


def _cold_values(lists: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Per-user NDCG@10 of ``lists`` on ``relevant`` (cold entries only), users with some."""
    users = np.diff(relevant.indptr) > 0
    return evaluate_lists(lists[users][:, :10], relevant[users], (METRIC,))[METRIC]


def _cold_relevance(split: Split, part: Interactions) -> sp.csr_matrix:
    """``part``'s matrix with only the cold items' entries (no training interaction)."""
    coo = part.matrix.tocoo()
    trained = np.bincount(split.train.matrix.tocsr().indices, minlength=part.n_items) > 0
    keep = ~trained[coo.col]
    return sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=part.matrix.shape)


def cold_item_comparison(
    models: Mapping[str, Recommender],
    split: Split,
    test_users: np.ndarray,
    test_lists: Mapping[str, np.ndarray],
    best_fused: str,
    *,
    random_state: int = 0,
) -> Results:
    """Step 4: NDCG@10 on cold test items of every variant; best fused vs best content model."""
    relevant = _cold_relevance(split, split.test)[test_users]
    users = np.diff(relevant.indptr) > 0
    out: Results = {
        "cold_items_in_test": int(
            (np.bincount(relevant.indices, minlength=split.test.n_items) > 0).sum()
        ),
        "users_with_cold_test_items": int(users.sum()),
    }
    if not users.any():
        out["note"] = "no test user has a cold item: nothing to compare"
        return out
    values = {
        name: evaluate_lists(lists[users][:, :10], relevant[users], (METRIC,))[METRIC]
        for name, lists in test_lists.items()
    }
    out["ndcg@10"] = _round({name: np.mean(value) for name, value in values.items()})
    content = [f"single:{name}" for name, model in models.items() if model.scores_cold_items]
    if not content:
        out["note"] = "no content model among the signals"
        return out
    best_content = max(content, key=lambda name: float(np.mean(values[name])))
    table = paired_bootstrap(
        {best_content: values[best_content], best_fused: values[best_fused]},
        control=best_content,
        n_resamples=1000,
        random_state=random_state,
    )
    treated = table.iloc[1]
    out["comparison"] = {
        "best_content": best_content,
        "best_content_cold": float(np.mean(values[best_content])),
        "best_fused": best_fused,
        "best_fused_cold": float(np.mean(values[best_fused])),
        "diff": float(treated["diff"]),
        "diff_ci95": [float(treated["diff_ci_low"]), float(treated["diff_ci_high"])],
        "fused_at_least_as_good": bool(treated["diff_ci_high"] >= 0),
        "fused_better": bool(treated["diff_ci_low"] > 0),
    }
    return out


def fuse_and_compare(
    models: Mapping[str, Recommender],
    split: Split,
    item_categories: np.ndarray,
    *,
    random_state: int = 0,
) -> Results:
    """Steps 1-3 of the protocol for trained ``models`` on ``split``; the results dict."""
    if split.valid is None:
        raise ValueError("the split has no validation part to tune the fusion on")
    start = time.perf_counter()
    valid_users = _users_with_items(split.valid)
    test_users = _users_with_items(split.test)
    valid_candidates = build_candidates(models, valid_users, DEPTH)
    test_candidates = build_candidates(models, test_users, DEPTH)
    candidate_seconds = time.perf_counter() - start
    names = valid_candidates.signal_names
    metrics = (METRIC, *RECORDED)
    out: Results = {
        "signals": list(names),
        "valid_users": len(valid_users),
        "test_users": len(test_users),
        "candidates_per_user_mean": float(test_candidates.valid.sum(axis=1).mean()),
        "candidate_seconds": candidate_seconds,
    }
    context = MetricContext(item_categories=item_categories)
    prepared: dict[str, tuple[PreparedFusion, PreparedFusion]] = {}
    for normalisation in ("minmax", "zscore", "rank"):
        prepared[normalisation] = (
            PreparedFusion(
                valid_candidates,
                split.valid.matrix,
                normalisation=normalisation,
                context=context,
            ),
            PreparedFusion(
                test_candidates,
                split.test.matrix,
                normalisation=normalisation,
                context=context,
            ),
        )
    test_minmax = prepared["minmax"][1]
    # Share of the test items inside the candidates: the ceiling of every fused list.
    out["test_candidate_recall"] = float(
        test_minmax.is_relevant.sum() / max(test_minmax.n_relevant.sum(), 1)
    )
    rows = []
    test_values: dict[str, np.ndarray] = {}
    test_lists: dict[str, np.ndarray] = {}
    cold_items = _cold_items(split)
    valid_cold = _cold_relevance(split, split.valid)
    cold_key = f"cold:{METRIC}"
    for name, model in models.items():
        # A single signal is the model's own lists, not its scores over the shared candidates:
        # where a model ties (all 0 for a user without history), the candidates' order would
        # otherwise break the tie with the other models' items.
        valid_scores = _own_lists(model, valid_users, split.valid.matrix, metrics, context)
        test_scores = _own_lists(model, test_users, split.test.matrix, metrics, context)
        test_values[f"single:{name}"] = test_scores[METRIC]
        test_lists[f"single:{name}"] = model.recommend(test_users, 10, exclude_seen=True)[0]
        valid_lists = model.recommend(valid_users, 10, exclude_seen=True)[0]
        valid_scores[cold_key] = _cold_values(valid_lists, valid_cold[valid_users])
        rows.append(
            {
                "variant": f"single:{name}",
                "kind": "single",
                "scores_cold_items": bool(model.scores_cold_items),
                "weights": {name: 1.0},
                "valid": _round({key: np.mean(value) for key, value in valid_scores.items()}),
                "test": _round({key: np.mean(value) for key, value in test_scores.items()}),
            }
        )
    content_rows = [row for row in rows if row["scores_cold_items"]]
    cold_floor = max((row["valid"][cold_key] for row in content_rows), default=None)
    out["validation_cold_floor"] = cold_floor
    # Step 0.05 over up to four signals (1,771 points); 0.1 over five (1,001 points).
    step = 0.05 if len(names) <= 4 else 0.1
    for method, normalisation in VARIANTS:
        valid_prepared, test_prepared = prepared[normalisation]
        started = time.perf_counter()
        search = search_weights(
            valid_prepared, method=method, step=step, metric=METRIC, metrics=RECORDED
        )
        weights = np.array([search.best_weights[name] for name in names])
        test_scores = test_prepared.user_values(weights, method, metrics)
        label = f"{method}:{normalisation}" if method != "rrf" else "rrf"
        test_values[label] = test_scores[METRIC]
        test_lists[label] = test_prepared.top_items(weights, method, 10)[0]
        valid_metrics = dict(search.best_metrics)
        valid_metrics[cold_key] = np.mean(
            valid_prepared.cold_item_values(weights, method, METRIC, cold_items)
        )
        rows.append(
            {
                "variant": label,
                "kind": "fixed",
                "weights": _round(search.best_weights),
                "grid_points": len(search.sweep),
                "grid_step": step,
                "search_seconds": time.perf_counter() - started,
                "valid": _round(valid_metrics),
                "test": _round({key: np.mean(value) for key, value in test_scores.items()}),
            }
        )
        if content_rows:
            rows.append(
                _segment_aware(
                    label, method, weights, valid_prepared, test_prepared, cold_items, cold_floor
                )
            )
            test_values[rows[-1]["variant"]] = rows[-1].pop("test_values")
            test_lists[rows[-1]["variant"]] = rows[-1].pop("test_lists")
    for normalisation in ("minmax", "rank"):
        valid_prepared, test_prepared = prepared[normalisation]
        valid_features = user_features(split.train, valid_candidates.users)
        test_features = user_features(split.train, test_candidates.users)
        started = time.perf_counter()
        gate = SoftmaxGate(**GATE_PARAMS).fit(valid_prepared, valid_features)
        valid_weights = gate.weights(valid_features)
        valid_cold_weights = gate.cold_weights(valid_features)
        test_weights = gate.weights(test_features)
        test_cold_weights = gate.cold_weights(test_features)
        test_scores = test_prepared.user_values(
            test_weights, "weighted", metrics, test_cold_weights
        )
        label = f"gate:{normalisation}"
        test_values[label] = test_scores[METRIC]
        test_lists[label] = test_prepared.top_items(
            test_weights, "weighted", 10, test_cold_weights
        )[0]
        valid_metrics = valid_prepared.evaluate(
            valid_weights, "weighted", metrics, valid_cold_weights
        )
        valid_metrics[cold_key] = np.mean(
            valid_prepared.cold_item_values(
                valid_weights, "weighted", METRIC, cold_items, valid_cold_weights
            )
        )
        rows.append(
            {
                "variant": label,
                "kind": "gate",
                "weights": _round(dict(zip(names, test_weights.mean(axis=0), strict=True))),
                "weights_std": _round(dict(zip(names, test_weights.std(axis=0), strict=True))),
                "cold_weights": _round(
                    dict(zip(names, test_cold_weights.mean(axis=0), strict=True))
                ),
                "fit_seconds": time.perf_counter() - started,
                "loss": {"initial": gate.initial_loss_, "final": gate.final_loss_},
                "valid": _round(valid_metrics),
                "test": _round({key: np.mean(value) for key, value in test_scores.items()}),
            }
        )
    out["variants"] = rows
    singles = [row for row in rows if row["kind"] == "single"]
    fused = [row for row in rows if row["kind"] != "single"]
    best_single = max(singles, key=lambda row: row["valid"][METRIC])
    eligible = [
        row for row in fused if cold_floor is not None and row["valid"][cold_key] >= cold_floor
    ]
    best_fused = max(eligible or fused, key=lambda row: row["valid"][METRIC])
    unconstrained = max(fused, key=lambda row: row["valid"][METRIC])
    table = paired_bootstrap(
        {
            best_single["variant"]: test_values[best_single["variant"]],
            best_fused["variant"]: test_values[best_fused["variant"]],
        },
        control=best_single["variant"],
        n_resamples=1000,
        random_state=random_state,
    )
    treated = table.iloc[1]
    out["comparison"] = {
        "metric": METRIC,
        "chosen_on": "validation",
        "best_single": best_single["variant"],
        "best_single_test": best_single["test"][METRIC],
        "best_fused": best_fused["variant"],
        "best_fused_test": best_fused["test"][METRIC],
        "diff": float(treated["diff"]),
        "diff_ci95": [float(treated["diff_ci_low"]), float(treated["diff_ci_high"])],
        "lift": float(treated["lift"]),
        "p_value": float(treated["p_value"]),
        "fused_beats_single": bool(treated["diff_ci_low"] > 0),
        "best_single_on_test": max(singles, key=lambda row: row["test"][METRIC])["variant"],
        "best_fused_on_test": max(fused, key=lambda row: row["test"][METRIC])["variant"],
        "best_fused_rule": (
            "best validation NDCG@10 among fused variants whose validation cold-item NDCG@10 "
            "reaches the best content model's"
            if eligible
            else "best validation NDCG@10 (no fused variant reached the cold-item floor)"
        ),
        "best_fused_without_cold_floor": unconstrained["variant"],
    }
    out["cold_items"] = cold_item_comparison(
        models, split, test_users, test_lists, best_fused["variant"], random_state=random_state
    )
    return out


def _segment_aware(
    label: str,
    method: str,
    weights: np.ndarray,
    valid_prepared: PreparedFusion,
    test_prepared: PreparedFusion,
    cold_items: np.ndarray,
    cold_floor: float | None,
) -> Results:
    """The segment-aware variant of ``label``: cold candidates' weights chosen on validation."""
    started = time.perf_counter()
    search = search_cold_weights(
        valid_prepared,
        weights,
        cold_items,
        method=method,
        step=COLD_STEP,
        metric=METRIC,
        cold_floor=cold_floor,
    )
    chosen = search.best_cold_weights
    rule = "best validation NDCG@10 with validation cold-item NDCG@10 >= the content floor"
    if chosen is None:
        # No point reaches the floor: the one closest to it.
        best = int(np.argmax(search.sweep[f"cold:{METRIC}"].to_numpy()))
        names = valid_prepared.candidates.signal_names
        chosen = {name: float(search.sweep.at[best, f"cold_weight_{name}"]) for name in names}
        rule = "best validation cold-item NDCG@10 (no point reached the content floor)"
    cold_weights = np.array([chosen[name] for name in valid_prepared.candidates.signal_names])
    metrics = (METRIC, *RECORDED)
    valid_metrics = valid_prepared.evaluate(weights, method, metrics, cold_weights)
    valid_metrics[f"cold:{METRIC}"] = np.mean(
        valid_prepared.cold_item_values(weights, method, METRIC, cold_items, cold_weights)
    )
    test_scores = test_prepared.user_values(weights, method, metrics, cold_weights)
    return {
        "variant": f"{label}+cold",
        "kind": "segment-aware",
        "weights": _round(search.weights),
        "cold_weights": _round(chosen),
        "cold_grid_points": len(search.sweep),
        "cold_rule": rule,
        "search_seconds": time.perf_counter() - started,
        "valid": _round(valid_metrics),
        "test": _round({key: np.mean(value) for key, value in test_scores.items()}),
        "test_values": test_scores[METRIC],
        "test_lists": test_prepared.top_items(weights, method, 10, cold_weights)[0],
    }


def _category_codes(item_ids: np.ndarray, catalog: pd.DataFrame, column: str) -> np.ndarray:
    by_id = dict(zip(catalog["item_id"].astype(str), catalog[column].astype(str), strict=False))
    labels = [by_id.get(str(item), "") for item in item_ids]
    return pd.factorize(pd.Series(labels))[0].astype(np.int64)


def sample_world(semantic: bool) -> Results:
    models = ["popularity", "als", "content_tfidf", *(["semantic_bert"] if semantic else [])]
    with tempfile.TemporaryDirectory() as home:
        ws = Workspace.open("evidence", home=Path(home))
        load_sample_world(ws)
        clean_dataset(ws)
        trained = {}
        for name in models:
            started = time.perf_counter()
            trained[name] = train_model(ws, name)
            _log(f"  trained {name} in {time.perf_counter() - started:.1f} s")
        split = trained["popularity"].split
        catalog = ws.read_table(CATALOG_TABLE)
        categories = _category_codes(split.train.item_ids, catalog, "category")
        out = fuse_and_compare(
            {name: run.model for name, run in trained.items()}, split, categories
        )
        out["validation_metrics_of_the_runs"] = {
            name: run.metrics.get("ndcg@10") for name, run in trained.items()
        }
    out["split"] = "temporal: 70% train, 10% validation, 20% test of the timed events"
    return out


def movielens() -> Results:
    folder = DATASETS / MOVIELENS_FILE.parent
    interactions = movielens_interactions(DATASETS)
    split = random_split(interactions, 0.2, valid_fraction=0.1, by_user=True, random_state=42)
    items = pd.read_csv(folder / "ml-100k.item", sep="\t")
    items.columns = ["item_id", "title", "year", "genres"]
    items["genre"] = items["genres"].astype(str).str.split().str[0]
    catalog = pd.DataFrame(
        {
            "item_id": items["item_id"].astype(str),
            "title": items["title"].astype(str) + " " + items["year"].astype(str),
            "category": items["genres"].astype(str),
        }
    )
    params = {"popularity": {}, "item_knn": {}, **MOVIELENS_PARAMS, "content_tfidf": {}}
    models = {}
    for name, hyper in params.items():
        started = time.perf_counter()
        extra = {"random_state": 0} if name in ("als", "bpr") else {}
        models[name] = make_model(name, **hyper, **extra).fit(split.train, catalog=catalog)
        _log(f"  trained {name} in {time.perf_counter() - started:.1f} s")
    categories = _category_codes(split.train.item_ids, items, "genre")
    out = fuse_and_compare(models, split, categories)
    out["split"] = "random per user: 70% train, 10% validation, 20% test (random_state=42)"
    return out


WORLDS = {"sample_world": sample_world, "movielens_100k": movielens}


def main(argv: list[str] | None = None) -> Results:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(WORLDS), default=None)
    parser.add_argument("--semantic", action="store_true", help="add the MiniLM semantic model")
    args = parser.parse_args(argv)
    results: Results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    for name in args.only or list(WORLDS):
        if name == "movielens_100k" and not DATASETS.is_dir():
            _log(f"{name}: skipped, {DATASETS} not present")
            continue
        _log(f"{name}:")
        started = time.perf_counter()
        load_before = os.getloadavg()[0]
        results[name] = sample_world(args.semantic) if name == "sample_world" else movielens()
        results[name]["seconds"] = time.perf_counter() - started
        results[name]["load_average_1min"] = {
            "before": load_before,
            "after": os.getloadavg()[0],
        }
        _log(json.dumps(results[name]["comparison"], indent=1))
        _log(json.dumps(results[name]["cold_items"].get("comparison"), indent=1))
    results["environment"] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(RESULTS, results)
    return results


if __name__ == "__main__":
    main()
