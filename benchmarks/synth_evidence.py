"""Do synthetic interactions for cold-start items help a model rank them on real test data?

Results go to ``benchmarks/results/synth_evidence.json``.

Protocol
--------
1. The committed sample world is loaded and cleaned with the defaults into a temporary
   workspace and split as the Models page does (temporal: 70% train, 10% validation, 20%
   test). The targets are the items without any training interaction
   (:func:`core.synth.interactions.inputs.sparse_items`), chosen from the training data alone.
2. Product vectors: all-MiniLM-L6-v2 embeddings of the product texts.
3. Two generators draw ``n_per_item`` users per target, with timestamps inside the training
   period: the content-neighbour baseline (``k`` nearest warm items) and the GRU session
   generator (trained on the users' training sequences). Every row is accepted.
4. For ALS and item kNN: trained on real training data, on real + each generator's rows, and
   on each generator's rows alone; served to every real test user (each variant scores from
   what it was trained on and leaves out the user's real training items); Recall@20 and
   NDCG@10 on all users, on cold-start items (only test items without training interactions
   count) and on the long tail, with paired bootstrap intervals
   (1,000 resamples) against the real-only model
   (:func:`core.evaluation.synthetic_utility.synthetic_utility`).
5. Fidelity and memorisation of each generator's rows against the real training
   interactions (:func:`core.synth.quality.quality_report`).

Run: ``python benchmarks/synth_evidence.py [--n-per-item 20] [--epochs 3] [--max-length 20]``.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.clean import clean_dataset  # noqa: E402
from core.data.ingest.load import load_sample_world  # noqa: E402
from core.data.splits import make_split  # noqa: E402
from core.data.workspace import Workspace  # noqa: E402
from core.evaluation.synthetic_utility import synthetic_utility  # noqa: E402
from core.synth.interactions.gru import GRU  # noqa: E402
from core.synth.interactions.inputs import product_vectors, sparse_items  # noqa: E402
from core.synth.interactions.neighbours import NEIGHBOURS  # noqa: E402
from core.synth.interactions.runs import synthesize_interactions  # noqa: E402
from core.synth.interactions.store import list_interactions, set_interaction_status  # noqa: E402
from core.synth.quality import quality_report  # noqa: E402
from core.synth.store import ACCEPTED  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "synth_evidence.json"
# Kept between runs (ignored by git): the catalogue is encoded once.
EMBEDDINGS = ROOT / "benchmarks" / "data" / "embeddings"
THREADS = 2
MODELS = {
    "als": {"factors": 64, "iterations": 15, "num_threads": THREADS},
    "item_knn": {"k_neighbours": 50, "num_threads": THREADS},
}


def _records(frame: Any) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records"))


def run(
    n_per_item: int, k: int, temperature: float, epochs: int, max_length: int
) -> dict[str, Any]:
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        ws = Workspace.open(home=Path(folder))
        began = time.perf_counter()
        load_sample_world(ws)
        clean_dataset(ws)
        split = make_split(ws)
        catalog = ws.read_table("catalog")
        timings["load_split_s"] = time.perf_counter() - began

        targets = sparse_items(split.train)
        cold_in_test = int(split.cold_items.sum())
        began = time.perf_counter()
        vectors = product_vectors(
            catalog, split.train.item_ids, encoder="minilm", cache_dir=EMBEDDINGS
        )
        timings["encode_s"] = time.perf_counter() - began

        runs = {}
        for generator in (NEIGHBOURS, GRU):
            began = time.perf_counter()
            result = synthesize_interactions(
                ws,
                split,
                vectors,
                generator=generator,
                target_items=targets,
                n_per_item=n_per_item,
                temperature=temperature,
                k=k,
                gru_params={"epochs": epochs, "max_length": max_length, "num_threads": THREADS},
            )
            timings[f"generate_{generator}_s"] = time.perf_counter() - began
            set_interaction_status(ws, ACCEPTED, run_id=result.run_id)
            runs[generator] = {
                "rows": len(result.rows),
                "items": int(result.rows["item_id"].nunique()),
                "users": int(result.rows["user_id"].nunique()),
                "train_loss": result.metrics.get("train_loss"),
            }

        real = split.train.to_frame()
        quality = {}
        for generator in (NEIGHBOURS, GRU):
            rows = list_interactions(ws, generator=generator, status=ACCEPTED)
            report = quality_report(
                real_interactions=real, synthetic_interactions=rows, catalog=catalog
            )
            quality[generator] = dict(zip(report["measure"], report["value"], strict=True))

        began = time.perf_counter()
        table = synthetic_utility(
            split,
            ws,
            models=MODELS,
            generator_sets={NEIGHBOURS: [NEIGHBOURS], GRU: [GRU]},
            metrics=("recall@20", "ndcg@10"),
            segments=("all", "cold_items", "long_tail"),
            n_resamples=1000,
            random_state=0,
        )
        timings["utility_s"] = time.perf_counter() - began
    columns = [
        "model", "segment", "metric", "variant", "n_users", "mean", "ci_low", "ci_high", "diff",
        "diff_ci_low", "diff_ci_high", "p_value", "p_holm", "n_synthetic",
    ]  # fmt: skip
    return {
        "split": {key: split.params[key] for key in ("cutoff", "valid_cutoff")},
        "targets": len(targets),
        "cold_items_in_test": cold_in_test,
        "settings": {
            "n_per_item": n_per_item,
            "k": k,
            "temperature": temperature,
            "gru_epochs": epochs,
            "gru_max_length": max_length,
            "encoder": "minilm",
        },
        "generation": runs,
        "quality": quality,
        "utility": _records(table[columns]),
        "timings": timings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-per-item", type=int, default=20)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = run(args.n_per_item, args.k, args.temperature, args.epochs, args.max_length)
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    cold = [
        row
        for row in result["utility"]
        if row["segment"] == "cold_items" and row["metric"] == "recall@20"
    ]
    for row in cold:
        print(
            f"{row['model']:>9} {row['variant']:>16}: recall@20 {row['mean']:.4f} "
            f"[{row['ci_low']:.4f}, {row['ci_high']:.4f}] diff {row['diff']}"
        )


if __name__ == "__main__":
    main()
