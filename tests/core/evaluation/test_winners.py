"""Validation winner against test winner per model, on a comparison written by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.evaluation.experiment import ExperimentResult
from core.evaluation.winners import validation_and_test_winners


def _result(test_ndcg: dict[str, float], variants: list[dict]) -> ExperimentResult:
    rows = [
        {"segment": segment, "metric": metric, "variant": name, "mean": value}
        for name, value in test_ndcg.items()
        for segment, metric in (("all", "ndcg@10"), ("all", "recall@10"), ("cold_users", "ndcg@10"))
    ]
    empty = np.zeros((0, 10), dtype=np.int64)
    return ExperimentResult(
        table=pd.DataFrame(rows),
        lists=dict.fromkeys(test_ndcg, empty),
        users=np.zeros(0, dtype=np.int64),
        user_ids=np.array([]),
        item_ids=np.array([]),
        item_popularity=np.array([]),
        config={"variants": variants},
    )


def test_winners_side_by_side_flagged_when_they_differ() -> None:
    variants = [
        {"name": "als", "kind": "model", "model": "als", "run_id": "r1"},
        {"name": "als (tuned)", "kind": "model", "model": "als", "run_id": "r2"},
        {"name": "bpr", "kind": "model", "model": "bpr", "run_id": "r3"},
        {"name": "bpr (tuned)", "kind": "model", "model": "bpr", "run_id": "r4"},
        {"name": "popularity", "kind": "model", "model": "popularity", "run_id": "r5"},
        {"name": "fused", "kind": "fusion", "run_id": "f1"},
    ]
    test = {"als": 0.30, "als (tuned)": 0.25, "bpr": 0.10, "bpr (tuned)": 0.20,
            "popularity": 0.05, "fused": 0.40}  # fmt: skip
    models = pd.DataFrame(
        {"run_id": ["r1", "r2", "r3", "r4", "r5"], "ndcg@10": [0.11, 0.14, 0.08, 0.09, 0.01]}
    )
    table = validation_and_test_winners(_result(test, variants), models)
    # Popularity has one run and the fusion is no model run: neither is listed.
    assert table["model"].tolist() == ["als", "bpr"]
    assert table["runs"].tolist() == [2, 2]
    assert table["validation_winner"].tolist() == ["als (tuned)", "bpr (tuned)"]
    assert table["validation_ndcg@10"].tolist() == [0.14, 0.09]
    assert table["test_winner"].tolist() == ["als", "bpr (tuned)"]
    assert table["test_ndcg@10"].tolist() == [0.30, 0.20]
    assert table["differ"].tolist() == [True, False]


def test_ties_keep_the_first_and_no_ndcg_gives_an_empty_table() -> None:
    variants = [
        {"name": "a", "kind": "model", "model": "als", "run_id": "r1"},
        {"name": "b", "kind": "model", "model": "als", "run_id": "r2"},
    ]
    models = pd.DataFrame({"run_id": ["r1", "r2"], "ndcg@10": [None, 0.2]})
    table = validation_and_test_winners(_result({"a": 0.3, "b": 0.3}, variants), models)
    assert table[["validation_winner", "test_winner"]].values.tolist() == [["b", "a"]]
    assert table["differ"].tolist() == [True]
    result = _result({"a": 0.3, "b": 0.3}, variants)
    result.table["metric"] = "recall@10"
    assert validation_and_test_winners(result, models).empty
