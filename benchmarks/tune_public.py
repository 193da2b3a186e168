"""Choose the benchmark settings of the public datasets on validation, never on test.

For each dataset and model of :data:`core.data.datasets.MOVIELENS_PARAMS` and
:data:`core.data.datasets.BEAUTY_PARAMS`, a random search (:func:`core.models.tuning.tune`)
fits on the training part less a validation part carved from it by the same protocol
(:func:`core.data.datasets.with_validation`) and scores NDCG@10 on that validation part. The
test part is not read. The first trial of each search is the setting in use (so it is kept
unless validation finds better), then random draws. Prints the trials and the chosen settings
as JSON, and writes them to ``benchmarks/results/tuning.json``; copy the chosen settings into
``core/data/datasets.py``.

``--merge`` adds the new trials to those already in the results file for the same dataset and
model (same split and seed; a setting tried twice keeps its first score) and chooses the best
of all, so a search can be extended in pieces: ``--trials 1 --merge`` scores only the setting
in use beside an earlier search.

Run: ``python benchmarks/tune_public.py [--budget 120] [--trials 25] [--seed 0]
[--only movielens beauty] [--merge]``.
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
NDCG = "ndcg@10"
TIMING = ("started_seconds", "seconds")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per model")
    parser.add_argument("--trials", type=int, default=25, help="most trials per model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=list(SEARCHED), choices=list(SEARCHED))
    parser.add_argument("--merge", action="store_true", help="add to the saved trials")
    args = parser.parse_args(argv)
    loaders = {"movielens": protocol.load_movielens, "beauty": protocol.load_beauty}
    in_use = {"movielens": protocol.MOVIELENS_PARAMS, "beauty": protocol.BEAUTY_PARAMS}
    saved = json.loads(RESULTS.read_text()) if args.merge and RESULTS.is_file() else {}
    results: dict = {"budget_seconds": args.budget, "max_trials": args.trials, "seed": args.seed}
    if saved:
        results["earlier_runs"] = [*saved.get("earlier_runs", []), _run_record(saved)]
    for dataset in args.only:
        split = protocol.with_validation(loaders[dataset](DATASETS), random_state=args.seed)
        for model_name in SEARCHED[dataset]:
            result = tune(
                split,
                model_name,
                max_trials=args.trials,
                budget_seconds=args.budget,
                random_state=args.seed,
                start_params=in_use[dataset][model_name],
                callback=lambda step, total, info: print(info, flush=True),
            )
            print(f"{dataset} {model_name}:\n{result.trials.to_string(index=False)}", flush=True)
            key = f"{dataset}/{model_name}"
            trials = json.loads(result.trials.to_json(orient="records"))
            for trial in trials:
                trial["run"] = len(results.get("earlier_runs", []))
            earlier = saved.get(key, {}).get("trials", [])
            results[key] = _choose([*earlier, *trials], list(result.trials.columns))
            results[key]["in_use_before"] = dict(in_use[dataset][model_name])
            results[key]["stopped"] = result.stopped
            print(json.dumps(results[key]["best_params"]), flush=True)
    atomic_write_json(RESULTS, {**saved, **results} if args.merge else results)
    return results


def _run_record(saved: dict) -> dict:
    return {key: saved.get(key) for key in ("budget_seconds", "max_trials", "seed")}


def _choose(trials: list[dict], columns: list[str]) -> dict:
    """The best of ``trials`` by validation NDCG@10 (the earlier on ties), duplicates dropped."""
    searched = [c for c in columns if c not in ("trial", NDCG, "recall@20", *TIMING)]
    seen: set[str] = set()
    kept = []
    for trial in trials:
        setting = json.dumps({name: trial.get(name) for name in searched}, sort_keys=True)
        if setting not in seen:
            seen.add(setting)
            kept.append(trial)
    best = max(range(len(kept)), key=lambda i: (kept[i][NDCG], -i))
    return {
        "best_params": {name: kept[best][name] for name in searched},
        "validation_ndcg10": kept[best][NDCG],
        "n_trials": len(kept),
        "trials": kept,
    }


if __name__ == "__main__":
    main()
