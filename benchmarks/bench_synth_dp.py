"""Utility of differentially private session models on the sample world.

Protocol
--------
The sample world (``sample_data/``) is loaded, cleaned and split as the Models page does
(:func:`core.data.splits.make_split`). Product vectors are all-MiniLM-L6-v2 embeddings of the
catalogue texts. For each noise multiplier (``--noise``, default 0.5 1 2 4) a GRU session model
(hidden 32, ``--epochs`` epochs, expected batch 64, clipping norm 1) is trained with DP-SGD
(:mod:`core.synth.interactions.private`), and once without privacy. Each model draws 20 users
for every product without training interactions; ALS (32 factors, 15 iterations) trains on the
real data plus those rows, and on the real data alone; all are scored on the real test users
with cold-item Recall@20 (95% paired bootstrap intervals, 500 resamples, seed 0).

Keys: ``rows`` (one per variant: ``variant``, ``noise_multiplier``, ``epsilon`` at delta 1e-5
from Opacus's RDP accountant, ``mean``, ``ci_low``, ``ci_high``, ``train_seconds``), the
settings, and the machine's load averages beside the timings. The figure
(:func:`core.figures.synthesis.dp_utility`) is written beside the JSON as HTML.

Run: ``nice -n 10 python benchmarks/bench_synth_dp.py [--epochs 2] [--noise 0.5 1 2 4]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from core.data.clean import clean_dataset  # noqa: E402
from core.data.ingest.load import load_sample_world  # noqa: E402
from core.data.splits import make_split  # noqa: E402
from core.data.workspace import Workspace, atomic_write_json  # noqa: E402
from core.evaluation.experiment import run_experiment  # noqa: E402
from core.evaluation.synthetic_utility import REAL, _variant  # noqa: E402
from core.figures.synthesis import dp_utility  # noqa: E402
from core.models.registry import make_model  # noqa: E402
from core.synth.catalog_fields import read_catalog  # noqa: E402
from core.synth.interactions.augment import augment_rows  # noqa: E402
from core.synth.interactions.gru import GRUGenerator  # noqa: E402
from core.synth.interactions.inputs import product_vectors, sparse_items  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "synth_dp.json"
METRIC = "recall@20"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.5, 1.0, 2.0, 4.0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as home:
        ws = Workspace.open("bench", home=Path(home))
        load_sample_world(ws, ROOT / "sample_data")
        clean_dataset(ws)
        split = make_split(ws)
        catalog = read_catalog(ws)
        vectors = product_vectors(catalog, split.train.item_ids)
    targets = sparse_items(split.train)
    settings = {"hidden_size": 32, "epochs": args.epochs, "batch_size": 64,
                "num_threads": args.threads, "max_grad_norm": 1.0}  # fmt: skip
    trains = {REAL: split.train}
    info: dict[str, dict] = {REAL: {"noise_multiplier": None, "epsilon": None}}
    for noise in [None, *args.noise]:
        name = "non-private" if noise is None else f"sigma={noise:g}"
        began = time.perf_counter()
        model = GRUGenerator(**settings, noise_multiplier=noise).fit(split.train, vectors)
        seconds = time.perf_counter() - began
        rows = model.generate_for_items(split.train, targets, n_per_item=20)
        trains[name] = augment_rows(split, rows).train
        info[name] = {"noise_multiplier": noise, "epsilon": model.epsilon_,
                      "train_seconds": seconds, "final_loss": model.losses_[-1]}  # fmt: skip
        print(name, info[name], flush=True)
    variants = []
    for name, train in trains.items():
        als = make_model("als", factors=32, iterations=15).fit(train)
        variants.append(_variant(als, name, split.train))
    result = run_experiment(split, variants, metrics=(METRIC,), control=REAL,
                            segments=("cold_items",), n_resamples=500, random_state=0)  # fmt: skip
    table = result.table
    out = []
    for row in table.itertuples(index=False):
        values = {"mean": row.mean, "ci_low": row.ci_low, "ci_high": row.ci_high}
        out.append({"variant": row.variant, **values, "n_users": row.n_users, **info[row.variant]})
    results = {
        "benchmark": "synth_dp",
        "metric": f"cold-item {METRIC}",
        "delta": 1e-5,
        "settings": {
            **settings,
            "n_per_item": 20,
            "n_cold_targets": int(targets.size),
            "n_train_users": int(split.train.n_users),
        },
        "rows": out,
        "load_average_at_start": load_start[0],
        "load_average_at_end": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    atomic_write_json(RESULTS, results)
    frame = pd.DataFrame(out).assign(label=f"cold-item {METRIC}")
    frame["epsilon"] = pd.to_numeric(frame["epsilon"], errors="coerce")
    frame["noise_multiplier"] = pd.to_numeric(frame["noise_multiplier"], errors="coerce")
    dp_utility(frame).write_html(RESULTS.with_suffix(".html"), include_plotlyjs="cdn")
    print(pd.DataFrame(out).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
