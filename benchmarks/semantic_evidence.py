"""Does behaviour-aligned fine-tuning make the semantic model pay on cold items?

Results go to ``benchmarks/results/semantic_cold.json`` (one key per world).

Protocol, for each world
------------------------
1. A split whose test part holds cold items (test items without any training interaction).
2. Three content models fitted on the training part, all reading the same product texts
   (:func:`core.text.product_text.product_texts`: every field, all-capitals fields in a
   readable case): TF-IDF content (``content_tfidf``), the semantic model with pretrained
   all-MiniLM-L6-v2 (``semantic_bert``), and the semantic model with MiniLM fine-tuned on
   item-item pairs of the training part (:mod:`core.text.item_pairs`: products sharing a
   session, or consecutive in a user's sequence when there are no sessions; in-batch
   negatives, :func:`core.text.finetune.finetune_encoder`, one epoch on at most
   ``--steps`` batches of 32). Default hyperparameters otherwise.
3. NDCG@10 on cold items: each test user with a cold test item gets the model's top 10
   (training items left out) over the whole item index; only the cold test items count as
   relevant (the ``cold_items`` segment of :mod:`core.evaluation.experiment`). Paired
   bootstrap over those users (1,000 resamples, :func:`core.evaluation.stats.
   paired_bootstrap`): each model against TF-IDF, and fine-tuned against pretrained MiniLM.

Worlds
------
``amazon_games_titles``
    ``shared/datasets/amazon_games_titles`` (Amazon Video Games 2018, titled products): a
    random subsample of ``--users`` users (``random_state=0``), each user's whole sequence,
    positions as times, last item held out (leave-last-one). The item index is every item of
    the subsample's sequences; the items only ever last are the cold ones.
``sample_world``
    The committed sample world, loaded and cleaned with the defaults, split as the Models page
    does (temporal: 70% train, 10% validation, 20% test). Fine-tuning pairs come from the
    sessions of the events before the validation cut-off.

Run: ``python benchmarks/semantic_evidence.py [--only amazon_games_titles sample_world]
[--users 800] [--steps 40]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.clean import clean_dataset  # noqa: E402
from core.data.datasets import load_games_titles  # noqa: E402
from core.data.ingest.load import load_sample_world  # noqa: E402
from core.data.splits import DEFAULT_SPLIT, Split, leave_last_n_split, temporal_split  # noqa: E402
from core.data.workspace import Workspace, atomic_write_json  # noqa: E402
from core.evaluation.experiment import segment_masks  # noqa: E402
from core.evaluation.stats import paired_bootstrap  # noqa: E402
from core.metrics import hit_matrix, ndcg_at_k, relevant_counts  # noqa: E402
from core.models.registry import make_model  # noqa: E402
from core.schema import CATALOG_TABLE  # noqa: E402
from core.text.finetune import FinetuneConfig, finetune_encoder  # noqa: E402
from core.text.item_pairs import (  # noqa: E402
    cooccurrence_pairs,
    item_query_pairs,
    workspace_item_pairs,
)

RESULTS = ROOT / "benchmarks" / "results" / "semantic_cold.json"
GAMES = ROOT.parent / "shared" / "datasets" / "amazon_games_titles"
K = 10
BATCH = 32
THREADS = 2
Results = dict[str, Any]


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cold_ndcg(model: Any, split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Users with a cold test item, and each one's NDCG@10 counting only cold items."""
    users = split.test_users
    relevant = split.test.matrix[users]
    keep, cold_relevant = segment_masks(
        split, users, relevant, np.zeros(split.test.n_items, dtype=bool)
    )["cold_items"]
    cold_users = users[keep]
    cold_relevant = cold_relevant[keep]
    lists, _ = model.recommend(cold_users, K)
    hits = hit_matrix(lists, cold_relevant)
    return cold_users, ndcg_at_k(hits, relevant_counts(cold_relevant), K)


def compare(
    split: Split, catalog: pd.DataFrame, pairs: pd.DataFrame, steps: int, home: Path
) -> Results:
    """Fit the three models, fine-tune on ``pairs`` and compare them on cold items."""
    ws = Workspace.open("semantic-evidence", home=home)
    queries = item_query_pairs(pairs, catalog)
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
    tuned = finetune_encoder(ws, "cooccurrence", config, pairs=queries, catalog=catalog)
    finetune_seconds = time.perf_counter() - started
    _log(f"  fine-tuned on {tuned.n_train_pairs:,} pairs in {finetune_seconds:.0f} s")
    variants = {
        "tfidf": make_model("content_tfidf"),
        "minilm": make_model("semantic_bert", encoder="minilm", num_threads=THREADS, device="cpu"),
        "minilm_cooccurrence": make_model(
            "semantic_bert", encoder=str(tuned.path), num_threads=THREADS, device="cpu"
        ),
    }
    values: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    users = None
    for name, model in variants.items():
        started = time.perf_counter()
        model.fit(split.train, catalog=catalog)
        users, values[name] = cold_ndcg(model, split)
        seconds[name] = round(time.perf_counter() - started, 1)
        _log(f"  {name}: cold NDCG@10 {values[name].mean():.4f} ({seconds[name]} s)")
    table = paired_bootstrap(values, control="tfidf", n_resamples=1000, random_state=0)
    tuned_vs_pretrained = paired_bootstrap(
        {name: values[name] for name in ("minilm", "minilm_cooccurrence")},
        control="minilm",
        n_resamples=1000,
        random_state=0,
    )
    history = tuned.history.drop(columns="seconds")
    return {
        "n_users": int(split.test.n_users),
        "n_items": int(split.test.n_items),
        "n_train_interactions": int(split.train.nnz),
        "n_cold_items": int(split.cold_items.sum()),
        "n_cold_item_users": len(users),
        "n_item_pairs": len(pairs),
        "finetune": {
            "n_train_pairs": tuned.n_train_pairs,
            "steps": int(np.ceil(tuned.n_train_pairs / BATCH)),
            "seconds": round(finetune_seconds, 1),
            "held_out_anchor_retrieval": json.loads(history.to_json(orient="records")),
        },
        "cold_ndcg@10_vs_tfidf": json.loads(table.to_json(orient="records")),
        "cold_ndcg@10_finetuned_vs_pretrained": json.loads(
            tuned_vs_pretrained.to_json(orient="records")
        ),
        "fit_and_score_seconds": seconds,
    }


def games(n_users: int, steps: int) -> Results:
    interactions, catalog = load_games_titles(GAMES.parent, n_users=n_users)
    split = leave_last_n_split(interactions, 1)
    # Training sequences: every item but the held-out one, in order.
    rows, cols = split.train.entries()
    order = np.lexsort((split.train.last_ts.view(np.int64), rows))
    train_events = pd.DataFrame(
        {
            "user_id": split.train.user_ids[rows[order]],
            "item_id": split.train.item_ids[cols[order]],
        }
    )
    pairs = cooccurrence_pairs(train_events)
    with tempfile.TemporaryDirectory() as home:
        out = compare(split, catalog, pairs, steps, Path(home))
    out["split"] = (
        f"{interactions.n_users:,} random users (random_state=0) of {GAMES.name}; leave-last-one; "
        "fine-tuning pairs: consecutive items of the training sequences"
    )
    return out


def sample_world(steps: int) -> Results:
    with tempfile.TemporaryDirectory() as home:
        ws = Workspace.open("sample", home=Path(home))
        load_sample_world(ws)
        clean_dataset(ws)
        split = temporal_split(ws, **DEFAULT_SPLIT)
        before = split.params["valid_cutoff"] or split.params["cutoff"]
        pairs = workspace_item_pairs(ws, before=before)
        catalog = ws.read_table(CATALOG_TABLE)
        out = compare(split, catalog, pairs, steps, Path(home) / "tuning")
    out["split"] = (
        "temporal: 70% train, 10% validation, 20% test of the timed events; fine-tuning pairs: "
        "products sharing a session (click, add to cart, purchase) before the validation cut"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=["amazon_games_titles", "sample_world"])
    parser.add_argument("--users", type=int, default=800)
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    worlds = args.only or ["amazon_games_titles", "sample_world"]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results: Results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for world in worlds:
        _log(f"{world} (load average {os.getloadavg()[0]:.1f})")
        load_before = os.getloadavg()
        started = time.perf_counter()
        out = (
            games(args.users, args.steps)
            if world == "amazon_games_titles"
            else (sample_world(args.steps))
        )
        out["seconds"] = round(time.perf_counter() - started, 1)
        out["load_average_before"] = [round(value, 2) for value in load_before]
        out["load_average_after"] = [round(value, 2) for value in os.getloadavg()]
        out["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, {THREADS} torch threads"
        out["run_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
        results[world] = out
        atomic_write_json(RESULTS, results)
        _log(f"  done in {out['seconds']:.0f} s")


if __name__ == "__main__":
    main()
