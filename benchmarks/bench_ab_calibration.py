"""A/B calibration benchmark: A/A false positives, planted-effect power, 10-variant compare time.

Protocol
--------
Data: the sample world (``load_sample_world``, default size), cleaned with the default rules;
ALS (``iterations=5, random_state=0``) trained on the default temporal split; its top-20 lists of
the test users are the pool every variant draws from.

``aa_false_positive_rate``
    200 seeded A/A comparisons (seed 0): control and treatment are each user's top-10 drawn at
    random from the pool (:func:`core.evaluation.calibration.calibration_trials`), NDCG@10,
    paired t-test as on the A/B page. Share marked significant at 0.05. Target: at most 0.05.
    ``aa_family_false_positive_rate`` is the same with three treatments, Holm across them (the
    page's family for one metric). The binomial 95% interval of each rate is recorded beside it.
``aa_size_check``
    Why a 200-trial rate can exceed 0.05 with a calibrated test: 20,000 A/A comparisons of
    the same kind (:func:`core.evaluation.calibration.aa_ndcg_pvalues`, seed 0, its own random
    stream) give the test's size with a tight interval, the Kolmogorov-Smirnov p-value of
    uniform p-values, the correlation of consecutive trials, and the spread of the rate over
    100 blocks of 200 trials beside the binomial spread
    (:func:`core.evaluation.calibration.aa_size_check`).
``planted_effect_power``
    200 seeded comparisons (seed 1) where the treatment's lists of 1% of the users get their
    first relevant test item put first; share found significant, beside
    ``planted_effect_expected_power`` (normal approximation from the effect's mean and spread).
``compare_10_variants_seconds``
    :func:`core.evaluation.experiment.run_experiment` of 10 variants (the control and nine seeded
    top-10 subsamples of the pool, served from memory so that model scoring is not timed) on the
    13 default metrics and 7 segments, 1,000 bootstrap resamples, with the catalogue's categories.
    Median of ``--repeats``. Target: at most 5 s on 2 cores.

The machine may be shared: the load average (``os.getloadavg()``) is recorded with the results.

Run: ``python benchmarks/bench_ab_calibration.py [--repeats 3]``; ``--compare-only`` times only
the 10-variant comparison and replaces that part of the results file (with its own load
average), leaving the trial figures of the last full run in place.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.clean import clean_dataset  # noqa: E402
from core.data.ingest.load import load_sample_world  # noqa: E402
from core.data.workspace import Workspace, atomic_write_json  # noqa: E402
from core.evaluation.calibration import (  # noqa: E402
    aa_ndcg_pvalues,
    aa_size_check,
    calibration_trials,
    expected_power,
    subsample_lists,
)
from core.evaluation.compare import metric_context, model_variants  # noqa: E402
from core.evaluation.experiment import DEFAULT_METRICS, SEGMENTS, Variant, run_experiment  # noqa: E402
from core.models.training import train_model  # noqa: E402
from core.schema import CATALOG_TABLE  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "ab_calibration.json"
N_TRIALS = 200
SIZE_CHECK_TRIALS = 20_000
PLANTED_SHARE = 0.01


def _rate(trials) -> dict:
    hits = int(trials["significant"].sum())
    interval = binomtest(hits, len(trials)).proportion_ci(0.95)
    return {
        "rate": hits / len(trials),
        "significant": hits,
        "trials": len(trials),
        "ci95": [round(interval.low, 4), round(interval.high, 4)],
    }


def _served(lists: np.ndarray, users: np.ndarray):
    row = {int(user): position for position, user in enumerate(users)}

    def recommend(user_idx: np.ndarray, k: int) -> np.ndarray:
        return lists[[row[int(u)] for u in user_idx], :k]

    return recommend


def _compare_times(split, users: np.ndarray, pool: np.ndarray, context, repeats: int) -> list:
    rng = np.random.default_rng(0)
    served = [pool[:, :10]] + [subsample_lists(pool, 10, rng) for _ in range(9)]
    ten = [Variant(f"variant {j}", _served(lists, users)) for j, lists in enumerate(served)]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_experiment(
            split, ten, metrics=DEFAULT_METRICS, control="variant 0", segments=SEGMENTS,
            n_resamples=1000, context=context, random_state=0,
        )  # fmt: skip
        times.append(time.perf_counter() - start)
    return times


def _compare_results(times: list) -> dict:
    return {
        "compare_10_variants_seconds": round(statistics.median(times), 3),
        "compare_10_variants": {
            "times": [round(t, 3) for t in times],
            "variants": 10,
            "metrics": len(DEFAULT_METRICS),
            "segments": len(SEGMENTS),
            "n_resamples": 1000,
            "target": "<= 5",
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compare-only", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as home:
        ws = Workspace.open(home=Path(home))
        load_sample_world(ws)
        clean_dataset(ws)
        run = train_model(ws, "als", {"iterations": 5, "random_state": 0})
        split, variants = model_variants(ws, [run.run_id])
        users = split.test_users
        pool = variants[0].recommend(users, 20)
        relevant = split.test.matrix.tocsr()[users]
        context = metric_context(split, ws.read_table(CATALOG_TABLE))

    if args.compare_only:
        times = _compare_times(split, users, pool, context, args.repeats)
        results = json.loads(RESULTS.read_text())
        results |= _compare_results(times)
        results["compare_10_variants"]["loadavg_at_start"] = [round(x, 2) for x in load]
        results["compare_10_variants"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        atomic_write_json(RESULTS, results)
        print(_compare_results(times))
        return
    aa = calibration_trials(
        pool, relevant, k=10, metric="ndcg@10", n_trials=N_TRIALS, random_state=0
    )
    # The 200-trial rate has a binomial spread of about +-1.5 points around the true rate;
    # 20,000 trials pin the test's real size down to about +-0.3 points.
    started = time.perf_counter()
    size_check = aa_size_check(
        aa_ndcg_pvalues(pool, relevant, k=10, n_trials=SIZE_CHECK_TRIALS, random_state=0)
    )
    size_check["seconds"] = round(time.perf_counter() - started, 1)
    aa_family = calibration_trials(
        pool, relevant, k=10, metric="ndcg@10", n_trials=N_TRIALS, n_treatments=3,
        random_state=0,
    )  # fmt: skip
    planted = calibration_trials(
        pool, relevant, k=10, metric="ndcg@10", n_trials=N_TRIALS,
        planted_share=PLANTED_SHARE, random_state=1,
    )  # fmt: skip

    times = _compare_times(split, users, pool, context, args.repeats)
    results = {
        "benchmark": "ab_calibration",
        "data": {"world": "sample world (default size)", "test_users": int(users.size)},
        "aa_false_positive_rate": _rate(aa)["rate"],
        "aa": {**_rate(aa), "metric": "ndcg@10", "alpha": 0.05, "target": "<= 0.05"},
        "aa_size_check": size_check,
        "aa_family_false_positive_rate": _rate(aa_family)["rate"],
        "aa_family": {**_rate(aa_family), "treatments": 3, "adjustment": "Holm"},
        "planted_effect_power": _rate(planted)["rate"],
        "planted_effect": {
            **_rate(planted),
            "share_of_users_planted": PLANTED_SHARE,
            "mean_ndcg_difference": round(float(planted["diff"].mean()), 6),
            "expected_power": round(expected_power(planted, int(users.size)), 4),
        },
        **_compare_results(times),
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_at_start": [round(x, 2) for x in load],
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
        },
    }
    atomic_write_json(RESULTS, results)
    print(results)


if __name__ == "__main__":
    main()
