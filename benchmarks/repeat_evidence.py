"""Does the buy-again model beat the other models on repeat purchases of a real grocery log?

Results go to ``benchmarks/results/repeat_purchases.json``, with the machine load beside them.

Protocol
--------
1. ``shared/datasets/completejourney_sample`` (Dunnhumby "The Complete Journey", 75,000 timed
   grocery transactions) is loaded through the ingest path (household -> user, product -> item,
   basket -> session, every row a purchase; the products file as the catalogue) and cleaned
   with the default rules.
2. A temporal split keeping repeats (:func:`core.data.splits.temporal_split` with
   ``keep_repeats=True``; 70% train, 10% validation, 20% test of the events): a product a
   household buys again after the cut is a validation or test interaction.
3. Models with default hyperparameters are fitted on train: buy-again, popularity, item kNN,
   ALS, BPR and the TF-IDF content model. Lists rank seen items too (the split's
   ``exclude_seen`` is False).
4. The best other model is chosen by NDCG@10 on the validation repeat segment (validation
   interactions only; users with at least one repeat). Buy-again and that model are then
   measured once on the test part, per segment (all, repeat, new), with a paired bootstrap
   over test users (2,000 resamples, 95% interval) of buy-again minus the other model
   (:func:`core.evaluation.experiment.run_experiment`).

Run: ``python benchmarks/repeat_evidence.py``.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.clean import clean_dataset  # noqa: E402
from core.data.ingest.load import load_dataset  # noqa: E402
from core.data.splits import Split, temporal_split  # noqa: E402
from core.data.workspace import Workspace, atomic_write_json  # noqa: E402
from core.evaluation.compare import metric_context, model_variant  # noqa: E402
from core.evaluation.experiment import run_experiment  # noqa: E402
from core.models.registry import make_model  # noqa: E402
from core.schema import CATALOG_TABLE  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "repeat_purchases.json"
DATA = ROOT.parent / "shared" / "datasets" / "completejourney_sample"
OTHERS = ("popularity", "item_knn", "als", "bpr", "content_tfidf")
METRICS = ("ndcg@10", "recall@20", "hit_rate@10")
SELECT_ON = "ndcg@10"
SEGMENTS = ("all", "repeat", "new")
N_RESAMPLES = 2000
_RECORDED = ("mean", "ci_low", "ci_high", "diff", "diff_ci_low", "diff_ci_high", "p_value")


def _log(text: str) -> None:
    print(text, flush=True)


def _load(ws: Workspace) -> dict[str, Any]:
    result = load_dataset(
        ws,
        DATA / "transactions_sample.parquet",
        mapping={
            "user_id": "household_id",
            "item_id": "product_id",
            "ts": "transaction_timestamp",
            "session_id": "basket_id",
            "value": "sales_value",
        },
        preset="generic",
        catalog_path=DATA / "products.parquet",
        catalog_mapping={
            "item_id": "product_id",
            "title": "product_type",
            "category": "department",
            "brand": "brand",
        },
        default_event="purchase",
        name="completejourney_sample",
    )
    report = clean_dataset(ws)
    return {
        "raw_events": result.n_events,
        "events_after_cleaning": report.n_events_after,
        "users_after_cleaning": report.n_users_after,
        "items_after_cleaning": report.n_items_after,
    }


def _repeat_share(split: Split) -> float:
    test = split.test.matrix.tocsr()
    train = split.train.matrix.tocsr()
    repeats = test.multiply(train > 0)
    return float(repeats.nnz / test.nnz) if test.nnz else float("nan")


def _segment_rows(table: Any, metric: str) -> dict[str, Any]:
    rows = {}
    for segment in SEGMENTS:
        part = table[(table["segment"] == segment) & (table["metric"] == metric)]
        rows[segment] = {
            row.variant: {
                key: (None if not np.isfinite(value) else round(float(value), 5))
                for key, value in row._asdict().items()
                if key in _RECORDED
            }
            | {"n_users": int(row.n_users)}
            for row in part.itertuples(index=False)
        }
    return rows


def main() -> None:
    started = time.perf_counter()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as home:
        ws = Workspace.open("repeats", home=Path(home))
        _log("loading and cleaning")
        loading = _load(ws)
        split = temporal_split(ws, test_fraction=0.2, valid_fraction=0.1, keep_repeats=True)
        catalog = ws.read_table(CATALOG_TABLE)
        _log(
            f"split: {split.train.nnz} train, {split.valid.nnz} valid, {split.test.nnz} test "
            f"pairs; {_repeat_share(split):.1%} of test pairs are repeats"
        )
        models = {}
        fit_seconds = {}
        for name in ("buy_again", *OTHERS):
            model = make_model(name)
            model.fit(split.train, catalog=catalog)
            models[name] = model
            fit_seconds[name] = round(model.fit_seconds_, 3)
            _log(f"fitted {name} in {model.fit_seconds_:.1f} s")
        variants = [
            model_variant(model, name, exclude_seen=split.exclude_seen)
            for name, model in models.items()
        ]
        validation = Split.from_parts(
            split.train, split.valid, None, split.method, dict(split.params)
        )
        chosen = run_experiment(
            validation,
            variants,
            metrics=[SELECT_ON],
            segments=["repeat"],
            n_resamples=10,
            context=metric_context(validation, catalog),
        )
        valid_scores = {
            row.variant: float(row.mean) for row in chosen.table.itertuples(index=False)
        }
        best = max(OTHERS, key=lambda name: valid_scores[name])
        _log(f"validation repeat {SELECT_ON}: {valid_scores}; best other model: {best}")
        result = run_experiment(
            split,
            [v for v in variants if v.name in ("buy_again", best)],
            metrics=list(METRICS),
            control=best,
            segments=list(SEGMENTS),
            n_resamples=N_RESAMPLES,
            context=metric_context(split, catalog),
            random_state=0,
        )
    table = result.table
    output = {
        "dataset": "completejourney_sample",
        "protocol": (
            "temporal split keep_repeats=True (70/10/20 of events); default hyperparameters; "
            f"best other model by validation repeat-segment {SELECT_ON}; test per segment with "
            f"a paired bootstrap over users ({N_RESAMPLES} resamples, 95%) of buy_again minus "
            "the best other model (diff = buy_again - other)"
        ),
        "loading": loading,
        "split": {
            "train_pairs": split.train.nnz,
            "valid_pairs": split.valid.nnz,
            "test_pairs": split.test.nnz,
            "test_repeat_share": round(_repeat_share(split), 5),
            "cutoff": split.params["cutoff"],
            "valid_cutoff": split.params["valid_cutoff"],
        },
        "validation_repeat_" + SELECT_ON.replace("@", "_at_"): {
            name: round(value, 5) for name, value in valid_scores.items()
        },
        "best_other_model": best,
        "test": {metric: _segment_rows(table, metric) for metric in METRICS},
        "fit_seconds": fit_seconds,
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "wall_seconds": round(time.perf_counter() - started, 1),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(RESULTS, output)
    repeat = output["test"][SELECT_ON]["repeat"]["buy_again"]
    _log(
        f"test repeat {SELECT_ON}: buy_again {repeat['mean']} vs {best} "
        f"{output['test'][SELECT_ON]['repeat'][best]['mean']}; diff {repeat['diff']} "
        f"[{repeat['diff_ci_low']}, {repeat['diff_ci_high']}]"
    )
    _log(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
