"""What the Search page shows around the engine: rankers offered, scores explained, positions
compared, recent queries, rankers as evaluation functions; and the search A/B composition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.workspace import Workspace
from core.errors import SearchError, SearchEvaluationError
from core.evaluation.search_variants import compare_search_variants, sample_test_searches
from core.search.engine import SearchIndex
from core.search.explain import (
    GATE,
    available_rankers,
    build_index,
    compare_positions,
    explain,
    gate_weights,
    rank_function,
    recent_queries,
)
from core.search.gate import SearchGate
from core.search.lexical import LexicalIndex
from core.search.sessions import search_sessions
from core.text.encoders import tiny_encoder
from tests.core.search.test_sessions import THREE_SEARCHES, write_events


@pytest.fixture
def catalog() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["X", "A", "B"],
            "title": ["red kettle", "red shoes", "shoes"],
            "brand": ["Acme", "Zeta", "Acme"],
            "category": ["Kitchen > Kettles", "Shoes", "Shoes"],
            "price": [30.0, 60.0, 45.0],
        }
    )


def test_positions_compared_by_hand() -> None:
    moves = compare_positions(["a", "b", "c", "d"], ["c", "a", "e", "b"])
    assert moves["moved"].tolist() == ["up 2", "down 1", "new", "down 2"]
    assert moves["rank"].tolist() == [1, 2, 3, 4]
    np.testing.assert_array_equal(moves["left_rank"], [3, 1, np.nan, 2])
    np.testing.assert_array_equal(moves["change"], [2, -1, np.nan, -2])
    assert compare_positions(["a"], ["a"])["moved"].tolist() == ["="]
    assert compare_positions([], []).empty


def test_rankers_offered_follow_the_index(catalog: pd.DataFrame) -> None:
    lexical = SearchIndex.build(catalog)
    assert [r.name for r in available_rankers(lexical)] == ["rrf", "lexical + personal", "lexical"]
    semantic = SearchIndex.build(catalog, encoder=tiny_encoder())
    names = [r.name for r in available_rankers(semantic)]
    assert names == ["hybrid", "hybrid rrf", "lexical + personal", "lexical", "semantic"]
    assert GATE not in names
    # The gate is offered once the index has a trained gate, first.
    gated = SearchIndex.build(
        catalog, encoder=tiny_encoder(), gate=SearchGate.untrained(tiny_encoder().dim)
    )
    assert available_rankers(gated)[0].name == GATE
    result = gated.search("red shoes", k=3, method=GATE)
    weights = gate_weights(result)
    # An untrained gate gives the convex weights of its own alpha and personal weight.
    assert weights is not None and list(weights["item_id"]) == list(result.items["item_id"])
    assert "weight_lexical" in explain(result).columns


def test_explained_parts_add_up_to_the_score(catalog: pd.DataFrame) -> None:
    index = SearchIndex.build(catalog, encoder=tiny_encoder())
    result = index.search("red shoes", k=3, alpha=0.3)
    frame = explain(result)
    assert frame["rank"].tolist() == [1, 2, 3]
    total = (frame["lexical"] + frame["semantic"] + frame["personal"]) * frame["boost"]
    np.testing.assert_allclose(total, frame["score"], rtol=1e-5)
    # The lexical share is (1 - alpha) times the min-max lexical value: A, with both words,
    # has the largest, 1.
    top = frame.set_index("item_id")
    assert top.loc["A", "lexical"] == pytest.approx(0.7, rel=1e-5)
    assert "category:Shoes" in top.loc["A", "chips"]
    assert gate_weights(result) is None


def test_rank_function_returns_catalogue_rows(catalog: pd.DataFrame) -> None:
    index = SearchIndex.build(catalog, lexical=LexicalIndex(ngram_weight=0.0))
    lexical = next(r for r in available_rankers(index) if r.name == "lexical")
    lists = rank_function(index, lexical)(["red shoes", "shoes", "zzz"], [None, "u1", None], 4)
    # "red shoes": A (both words), then B (shoes, shorter) and X (red); "shoes": B, A.
    assert lists.tolist() == [[1, 2, 0, -1], [2, 1, -1, -1], [-1, -1, -1, -1]]


def test_build_index_reports_its_steps(workspace: Workspace, catalog: pd.DataFrame) -> None:
    with pytest.raises(SearchError, match="no catalogue"):
        build_index(workspace)
    with workspace.transaction() as con:
        con.register("frame", catalog)
        con.execute("CREATE TABLE catalog AS SELECT * FROM frame")
    steps = []
    index = build_index(
        workspace, encoder=tiny_encoder(), callback=lambda s, t, i: steps.append((s, t))
    )
    assert steps[0] == (0, 3) and steps[-1] == (3, 3)
    assert [s for s, _ in steps] == sorted(s for s, _ in steps)
    direct = SearchIndex.build(catalog, encoder=tiny_encoder())
    ours = index.search("red shoes", k=3).items
    pd.testing.assert_frame_equal(ours, direct.search("red shoes", k=3).items)


def test_recent_queries_newest_first(workspace: Workspace) -> None:
    assert recent_queries(workspace, "u1").empty
    rows = [
        *THREE_SEARCHES,
        ("u1", None, "search", "2025-01-04 08:00", "s4", "blue kettle"),
        ("u1", None, "search", "2025-01-05 08:00", "s5", "  "),
    ]
    write_events(workspace, rows)
    assert recent_queries(workspace, "u1")["query"].tolist() == ["blue kettle", "Red  Shoes"]
    assert recent_queries(workspace, "u1", n=1)["query"].tolist() == ["blue kettle"]
    assert recent_queries(workspace, "nobody").empty
    with pytest.raises(SearchError):
        recent_queries(workspace, "u1", n=0)


def test_search_variants_on_hand_made_sessions(workspace: Workspace, catalog) -> None:
    write_events(workspace, THREE_SEARCHES)
    index = SearchIndex.build(catalog, lexical=LexicalIndex(ngram_weight=0.0))
    rankers = {r.name: r for r in available_rankers(index)}
    steps = []
    result = compare_search_variants(
        workspace, index, [rankers["lexical"], rankers["rrf"]], control="lexical",
        n_resamples=100, callback=lambda s, t, i: steps.append((s, t)),
    )  # fmt: skip
    # Default split of 3 searches: round(0.6) = 1 test search, day 3's "red shoes", after which
    # A and B were clicked (grade 1 each). Both rankers put A then B first: NDCG@10 = 1.
    assert result.n_searches == result.n_test_searches == 1
    means = result.summary[result.summary["segment"] == "all"].set_index(["ranker", "metric"])
    for name in ("lexical", "rrf"):
        assert means.loc[(name, "ndcg@10"), "value"] == pytest.approx(1.0)
        assert means.loc[(name, "mrr@10"), "value"] == pytest.approx(1.0)
        assert means.loc[(name, "zero_result"), "value"] == 0.0
    assert steps[-1] == (2, 2)
    with pytest.raises(SearchEvaluationError, match="control"):
        compare_search_variants(workspace, index, [rankers["lexical"]], control="rrf")


def test_sampling_keeps_training_and_draws_test_searches(workspace: Workspace) -> None:
    rows = [
        (f"u{day}", None, "search", f"2025-01-{day:02d} 10:00", f"s{day}", f"query {day}")
        for day in range(1, 11)
    ] + [(f"u{day}", "A", "click", f"2025-01-{day:02d} 10:01", f"s{day}", None) for day in (9, 10)]
    write_events(workspace, rows)
    sessions = search_sessions(workspace, valid_fraction=0.0, test_fraction=0.5)
    sampled = sample_test_searches(sessions, 2, random_state=0)
    parts = sampled.searches["part"].value_counts().to_dict()
    assert parts == {"train": 5, "test": 2}
    kept = set(sampled.searches["search_id"])
    assert set(sampled.judgements["search_id"]) <= kept
    assert sample_test_searches(sessions, 5) is sessions
    again = sample_test_searches(sessions, 2, random_state=0)
    assert again.searches["search_id"].tolist() == sampled.searches["search_id"].tolist()
    with pytest.raises(SearchEvaluationError):
        sample_test_searches(sessions, 0)
