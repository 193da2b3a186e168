"""Interaction generators on the sample world: content neighbours, GRU session model, GAN.

Protocol
--------
The sample world is loaded, cleaned and split as the Models page does. Product vectors are
all-MiniLM-L6-v2 embeddings of the catalogue texts. :func:`core.evaluation.generator_comparison.
compare_generators` draws 20 users for every product without training interactions with each
generator (GRU and GAN with their default settings, ``--threads`` torch threads), trains ALS
(32 factors, 15 iterations) on the real data alone and on real + each batch, and scores all on
the real test users: cold-item and all-item Recall@20 and NDCG@10, 95% paired bootstrap
intervals (500 resamples, seed 0). Each batch's fidelity and privacy rows are kept.

Keys: ``utility`` (rows of the experiment table), ``fidelity`` (generator, measure, value),
``seconds`` (generation with training, per generator), the load averages beside the timings.

Run: ``nice -n 10 python benchmarks/bench_synth_generators.py [--threads 2]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.clean import clean_dataset  # noqa: E402
from core.data.ingest.load import load_sample_world  # noqa: E402
from core.data.splits import make_split  # noqa: E402
from core.data.workspace import Workspace, atomic_write_json  # noqa: E402
from core.evaluation.generator_comparison import compare_generators  # noqa: E402
from core.synth.catalog_fields import read_catalog  # noqa: E402
from core.synth.interactions.inputs import product_vectors  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "synth_generators.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    threads = {"num_threads": args.threads}
    comparison = compare_generators(
        split, vectors, catalog=catalog, generator_params={"gru": threads, "gan": threads},
        callback=lambda step, total, info: print(f"{step}/{total} {info}", flush=True),
    )  # fmt: skip
    columns = ["model", "segment", "metric", "variant", "n_users", "mean", "ci_low", "ci_high",
               "diff", "diff_ci_low", "diff_ci_high"]  # fmt: skip
    results = {
        "benchmark": "synth_generators",
        "utility": comparison.utility[columns].to_dict(orient="records"),
        "fidelity": comparison.fidelity[["generator", "measure", "value"]].to_dict(
            orient="records"
        ),
        "seconds": comparison.seconds,
        "n_rows": {name: len(rows) for name, rows in comparison.rows.items()},
        "load_average_at_start": load_start[0],
        "load_average_at_end": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    atomic_write_json(RESULTS, results)
    table = comparison.utility
    print(table[table["segment"] == "cold_items"][columns].to_string())
    print(comparison.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
