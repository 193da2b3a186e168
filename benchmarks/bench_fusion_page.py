"""Fusion page benchmark: the page's rerun after a slider move, on the sample world.

Protocol
--------
The sample world is loaded and cleaned into a temporary workspace, and popularity, ALS and the
TF-IDF content model are trained with the default split. Streamlit's AppTest opens the Fusion
page with the three signals (the candidates are built and cached by that first run, which is
not timed). Then, ``--repeats`` times, one slider is moved to a new value and the page is run
again; the wall time of each of those runs is recorded. ``page_rerun_seconds`` is their median
(target: at most 1.0 s). It is merged into ``benchmarks/results/fusion.json``, keeping the
slider benchmark's keys.

Run: ``python benchmarks/bench_fusion_page.py [--repeats 10]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from core.data.clean import clean_dataset  # noqa: E402
from core.data.ingest.load import load_sample_world  # noqa: E402
from core.data.workspace import HOME_ENV_VAR, Workspace, atomic_write_json  # noqa: E402
from core.models.training import train_model  # noqa: E402
from ui import state  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "fusion.json"
SIGNALS = ("popularity", "als", "content_tfidf")


def measure(repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as home:
        os.environ[HOME_ENV_VAR] = home
        ws = Workspace.open(home=Path(home))
        load_sample_world(ws)
        clean_dataset(ws)
        for model in SIGNALS:
            train_model(ws, model)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at = at.switch_page("pages/4_Fusion.py")
        start = time.perf_counter()
        at.run()
        first = time.perf_counter() - start
        if at.exception:
            raise RuntimeError(at.exception[0].value)
        slider = at.slider(key=f"{state.FUSION_WEIGHT_PREFIX}als")
        seconds = []
        for repeat in range(repeats):
            slider.set_value(round(0.05 * (repeat % 20), 2))
            start = time.perf_counter()
            at.run()
            seconds.append(time.perf_counter() - start)
            if at.exception:
                raise RuntimeError(at.exception[0].value)
            slider = at.slider(key=f"{state.FUSION_WEIGHT_PREFIX}als")
    return {
        "page_rerun_seconds": statistics.median(seconds),
        "page_rerun": {
            "signals": list(SIGNALS),
            "users": "validation users of the sample world",
            "first_run_seconds": first,
            "seconds": seconds,
            "target_seconds": 1.0,
            "load_average_1min": os.getloadavg()[0],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    measured = measure(args.repeats)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results.update(measured)
    atomic_write_json(RESULTS, results)
    print(json.dumps({"page_rerun_seconds": measured["page_rerun_seconds"]}))


if __name__ == "__main__":
    main()
