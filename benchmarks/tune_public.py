"""Choose the benchmark settings of the public datasets on validation, never on test.

For each dataset and model of :data:`core.data.datasets.MOVIELENS_PARAMS` and
:data:`core.data.datasets.BEAUTY_PARAMS`, a random search (:func:`core.models.tuning.tune`)
fits on the training part less a validation part carved from it by the same protocol
(:func:`core.data.datasets.with_validation`) and scores NDCG@10 on that validation part. The
test part is not read. Prints the trials and the chosen settings as JSON, and writes them to
``benchmarks/results/tuning.json``; copy the chosen settings into ``core/data/datasets.py``.

Run: ``python benchmarks/tune_public.py [--budget 120] [--trials 25] [--seed 0]
[--only movielens beauty]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data import datasets as protocol  # noqa: E402
from core.data.workspace import atomic_write_json  # noqa: E402
from core.models.tuning import tune  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "tuning.json"
DATASETS = ROOT.parent / "shared" / "datasets"
# Models whose settings are searched on each dataset (Beauty's popularity has none to search:
# its times are positions, so a recent window means nothing there).
SEARCHED = {"movielens": ("als", "bpr"), "beauty": ("item_knn", "als", "bpr")}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per model")
    parser.add_argument("--trials", type=int, default=25, help="most trials per model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=list(SEARCHED), choices=list(SEARCHED))
    args = parser.parse_args(argv)
    loaders = {"movielens": protocol.load_movielens, "beauty": protocol.load_beauty}
    results: dict = {"budget_seconds": args.budget, "max_trials": args.trials, "seed": args.seed}
    for dataset in args.only:
        split = protocol.with_validation(loaders[dataset](DATASETS), random_state=args.seed)
        for model_name in SEARCHED[dataset]:
            result = tune(
                split,
                model_name,
                max_trials=args.trials,
                budget_seconds=args.budget,
                random_state=args.seed,
                callback=lambda step, total, info: print(info, flush=True),
            )
            print(f"{dataset} {model_name}:\n{result.trials.to_string(index=False)}", flush=True)
            results[f"{dataset}/{model_name}"] = {
                "best_params": result.best_params,
                "validation_ndcg10": result.best_score,
                "n_trials": len(result.trials),
                "stopped": result.stopped,
                "trials": json.loads(result.trials.to_json(orient="records")),
            }
            print(json.dumps(result.best_params), flush=True)
    atomic_write_json(RESULTS, results)
    return results


if __name__ == "__main__":
    main()
