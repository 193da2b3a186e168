"""Feedback rounds on the sample world: popularity, ALS and item-kNN over five rounds.

Protocol
--------
The sample world is loaded, cleaned and split as the Models page does.
:func:`core.evaluation.feedback_rounds.sample_world_rounds` runs ``--rounds`` rounds (default 5)
for popularity, ALS (32 factors, 15 iterations) and item-kNN (50 neighbours) with ``--users``
simulated shoppers (default 2,000, seed 0) and lists of 20: each round a model trains on its log,
the shoppers respond by the online A/B's choice model, and their clicks and purchases join the
log.

Keys: ``rows`` (round, variant, recall@k, ctr, conversion_rate, coverage, exposure_gini,
long_tail_share, n_interactions), ``seconds``, the load averages beside the timing. The figure
(:func:`core.figures.synthesis.feedback_rounds`) is written beside the JSON as HTML.

Run: ``nice -n 10 python benchmarks/bench_feedback_rounds.py [--rounds 5] [--users 2000]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.clean import clean_dataset  # noqa: E402
from core.data.ingest.load import load_sample_world  # noqa: E402
from core.data.splits import make_split  # noqa: E402
from core.data.workspace import Workspace, atomic_write_json  # noqa: E402
from core.evaluation.feedback_rounds import sample_world_rounds  # noqa: E402
from core.figures.synthesis import feedback_rounds  # noqa: E402
from core.synth.catalog_fields import read_catalog  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "synth_feedback.json"
VARIANTS = {
    "popularity": ("popularity", {}),
    "als": ("als", {"factors": 32, "iterations": 15}),
    "item_knn": ("item_knn", {"k_neighbours": 50}),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--users", type=int, default=2000)
    args = parser.parse_args(argv)
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as home:
        ws = Workspace.open("bench", home=Path(home))
        load_sample_world(ws, ROOT / "sample_data")
        clean_dataset(ws)
        split = make_split(ws)
        catalog = read_catalog(ws)
    began = time.perf_counter()
    table = sample_world_rounds(
        split, catalog, variants=VARIANTS, n_rounds=args.rounds, max_users=args.users
    )
    seconds = time.perf_counter() - began
    results = {
        "benchmark": "synth_feedback",
        "settings": {
            "rounds": args.rounds,
            "users": args.users,
            "k": 20,
            "variants": {name: list(value) for name, value in VARIANTS.items()},
        },
        "rows": table.to_dict(orient="records"),
        "seconds": seconds,
        "load_average_at_start": load_start[0],
        "load_average_at_end": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }
    atomic_write_json(RESULTS, results)
    feedback_rounds(table).write_html(RESULTS.with_suffix(".html"), include_plotlyjs="cdn")
    print(table.to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
