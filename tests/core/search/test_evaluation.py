"""Search evaluation: metrics of fixed rankers on hand-made sessions, computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.data.workspace import Workspace
from core.errors import SearchEvaluationError
from core.evaluation.search import compare_search_rankers
from core.search.evaluation import search_metrics, summarise
from core.search.sessions import search_sessions
from tests.core.search.test_sessions import THREE_SEARCHES, write_events

# Catalogue order of the rankers: C (engaged after "kettle") is not in it.
ITEM_IDS = ["X", "A", "B"]


def fixed(queries: list[str], user_ids: list[str | None], k: int) -> np.ndarray:
    """ "red shoes": X, B, A; "kettle": B only."""
    lists = np.full((len(queries), k), -1, dtype=np.int64)
    for row, query in enumerate(queries):
        chosen = [0, 2, 1] if query == "red shoes" else [2]
        lists[row, : len(chosen)] = chosen
    return lists


def empty(queries: list[str], user_ids: list[str | None], k: int) -> np.ndarray:
    return np.full((len(queries), k), -1, dtype=np.int64)


@pytest.fixture
def sessions(workspace: Workspace):
    write_events(workspace, THREE_SEARCHES)
    # n = 3: round(2) test searches, none for validation: day 1 trains, days 2-3 test.
    return search_sessions(workspace, valid_fraction=0.0, test_fraction=2 / 3)


def test_metrics_of_a_fixed_ranker_by_hand(sessions) -> None:
    per_search = search_metrics({"fixed": fixed, "empty": empty}, sessions, ITEM_IDS)
    fixed_rows = per_search[per_search["ranker"] == "fixed"]
    assert fixed_rows["search_id"].tolist() == [1, 2]
    # "kettle": C (grade 2) cannot be found; B is not relevant.
    # "red shoes": A and B grade 1, found at ranks 3 and 2.
    ndcg = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert fixed_rows["ndcg@10"].tolist() == pytest.approx([0.0, ndcg])
    assert fixed_rows["mrr@10"].tolist() == pytest.approx([0.0, 0.5])
    assert fixed_rows["recall@100"].tolist() == pytest.approx([0.0, 1.0])
    assert fixed_rows["zero_result"].tolist() == [0.0, 0.0]
    empty_rows = per_search[per_search["ranker"] == "empty"]
    assert empty_rows["zero_result"].tolist() == [1.0, 1.0]
    assert empty_rows["ndcg@10"].tolist() == [0.0, 0.0]

    summary = summarise(per_search).set_index(["ranker", "segment", "metric"])
    assert summary.loc[("fixed", "all", "ndcg@10"), "value"] == pytest.approx(ndcg / 2)
    assert summary.loc[("fixed", "all", "mrr@10"), "value"] == pytest.approx(0.25)
    assert summary.loc[("fixed", "all", "recall@100"), "value"] == pytest.approx(0.5)
    assert summary.loc[("empty", "all", "zero_result"), "value"] == 1.0
    # "red shoes" was searched in training (head); "kettle" was not (tail) and C is cold.
    assert summary.loc[("fixed", "head", "ndcg@10"), "value"] == pytest.approx(ndcg)
    assert summary.loc[("fixed", "tail", "ndcg@10"), "value"] == 0.0
    assert summary.loc[("fixed", "cold", "recall@100"), "n_searches"] == 1
    assert math.isnan(summary.loc[("fixed", "torso", "ndcg@10"), "value"])
    assert summary.loc[("fixed", "torso", "ndcg@10"), "n_searches"] == 0


def test_searches_without_engagement_count_only_for_zero_results(workspace: Workspace) -> None:
    rows = [*THREE_SEARCHES, ("u4", None, "search", "2025-01-04 10:00", "s4", "lamp")]
    write_events(workspace, rows)
    sessions = search_sessions(workspace, valid_fraction=0.0, test_fraction=0.5)
    per_search = search_metrics({"empty": empty}, sessions, ITEM_IDS)
    assert per_search["search_id"].tolist() == [2, 3]
    assert np.isnan(per_search["ndcg@10"].iloc[1])
    summary = summarise(per_search).set_index(["segment", "metric"])
    assert summary.loc[("all", "zero_result"), "n_searches"] == 2
    assert summary.loc[("all", "ndcg@10"), "n_searches"] == 1


def test_paired_comparison_over_searches(sessions) -> None:
    per_search = search_metrics({"empty": empty, "fixed": fixed}, sessions, ITEM_IDS)
    table = compare_search_rankers(per_search, control="empty", n_resamples=200)
    row = table[(table["segment"] == "all") & (table["metric"] == "mrr@10")]
    fixed_row = row[row["variant"] == "fixed"].iloc[0]
    assert fixed_row["n_searches"] == 2
    assert fixed_row["diff"] == pytest.approx(0.25)
    # Resampling two searches gives means 0, 0.25 or 0.5 for the difference.
    assert 0.0 <= fixed_row["diff_ci_low"] <= fixed_row["diff_ci_high"] <= 0.5
    with pytest.raises(SearchEvaluationError, match="control"):
        compare_search_rankers(per_search, control="bm25")


def test_bad_rankers_raise_clear_errors(sessions) -> None:
    with pytest.raises(SearchEvaluationError, match="shape"):
        search_metrics({"short": lambda q, u, k: empty(q, u, 5)}, sessions, ITEM_IDS)
    with pytest.raises(SearchEvaluationError, match="outside"):
        search_metrics({"far": lambda q, u, k: empty(q, u, k) + 4}, sessions, ITEM_IDS)
    with pytest.raises(SearchEvaluationError, match="part"):
        search_metrics({"empty": empty}, sessions, ITEM_IDS, part="holdout")
    with pytest.raises(SearchEvaluationError, match="no search"):
        search_metrics({"empty": empty}, sessions, ITEM_IDS, part="valid")
