"""The query-product search gate: shapes, the zero gate, save/load, listwise training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from core.data.interactions import Interactions
from core.errors import SearchError
from core.models.popularity import Popularity
from core.search import SearchIndex
from core.search.gate import (
    GateLists,
    SearchGate,
    convex_scores,
    gate_lists,
    list_ndcg,
    prior_weights,
    tune_convex,
    user_features,
)
from core.search.sessions import SearchSessions
from core.text.encoders import tiny_encoder

DIM = 4


def hand_lists(n_per_kind: int = 40) -> tuple[GateLists, np.ndarray]:
    """Two kinds of query over four products (unit vectors e0..e3).

    Each list holds products 0 and 1. Lexical favours product 0, semantic product 1. For a
    query along e2 product 0 was engaged (lexical is right), for one along e3 product 1 (semantic
    is right): no fixed weights rank both first, weights that follow the query do.
    """
    products = np.eye(DIM, dtype=np.float32)
    n = 2 * n_per_kind
    queries = np.zeros((n, DIM), dtype=np.float32)
    queries[:n_per_kind, 2] = 1
    queries[n_per_kind:, 3] = 1
    terms = np.zeros((n, 2, 3), dtype=np.float32)
    terms[:, 0] = [1.0, 0.0, 0.0]  # product 0: lexical 1, semantic 0
    terms[:, 1] = [0.2, 1.0, 0.0]  # product 1: lexical 0.2, semantic 1
    relevance = np.zeros((n, 2), dtype=np.float32)
    relevance[:n_per_kind, 0] = 1
    relevance[n_per_kind:, 1] = 1
    lists = GateLists(
        query_vectors=queries,
        rows=np.tile([0, 1], (n, 1)).astype(np.int64),
        terms=terms,
        raw=terms.copy(),
        features=np.zeros((n, 2), dtype=np.float32),
        relevance=relevance,
        grades=np.ones((n, 1), dtype=np.float32),
    )
    return lists, products


def test_prior_weights_by_hand() -> None:
    weights = prior_weights(0.3, 0.2, np.array([True, False]))
    np.testing.assert_allclose(weights, [[0.56, 0.24, 0.2], [0.7, 0.3, 0.0]], rtol=1e-6)


def test_list_ndcg_and_convex_scores_by_hand() -> None:
    lists, _ = hand_lists(1)
    # alpha 0.5: product 0 scores 0.5, product 1 scores 0.4 + 0.5 = 0.6.
    scores = convex_scores(lists, 0.5, 0.0)
    np.testing.assert_allclose(scores, [[0.5, 0.6], [0.5, 0.6]], rtol=1e-6)
    # Query 0 wants product 0, ranked second: 1 / log2(3); query 1 wants product 1, first.
    np.testing.assert_allclose(list_ndcg(scores, lists), [1 / np.log2(3), 1.0], rtol=1e-6)
    alpha, rho, grid = tune_convex(lists, alphas=(0.0, 0.5), personal_weights=(0.0,))
    assert (alpha, rho) == (0.0, 0.0)  # a tie (both 0.815): the first grid point
    assert grid["0.5,0"] == pytest.approx((1 / np.log2(3) + 1) / 2)


def test_training_lowers_the_loss_and_learns_query_dependent_weights() -> None:
    lists, products = hand_lists()
    gate = SearchGate(alpha=0.5, personal_weight=0.0, epochs=60, learning_rate=0.05)
    gate.fit(lists, products)
    assert len(gate.loss_history_) == 60
    assert gate.final_loss_ < 0.5 * gate.initial_loss_
    lexical_query = gate.weights(products[2], products[:2], np.zeros(2))
    semantic_query = gate.weights(products[3], products[:2], np.zeros(2))
    assert lexical_query.shape == (2, 3)
    np.testing.assert_allclose(lexical_query.sum(axis=1), 1, rtol=1e-6)
    assert (lexical_query[:, 2] == 0).all()  # personal: prior 0 for an anonymous shopper
    assert lexical_query[0, 0] > 0.5 > semantic_query[0, 0]
    assert list_ndcg(gate.scores(lists, products), lists).mean() == pytest.approx(1.0)
    assert list_ndcg(convex_scores(lists, 0.5, 0.0), lists).mean() < 0.9


def flipped(lists: GateLists) -> GateLists:
    """``lists`` with the engaged product of every search swapped (0 <-> 1)."""
    return GateLists(
        lists.query_vectors, lists.rows, lists.terms, lists.raw, lists.features,
        lists.relevance[:, ::-1].copy(), lists.grades,
    )  # fmt: skip


def test_early_stopping_keeps_the_convex_combination_when_validation_disagrees() -> None:
    lists, products = hand_lists()
    # Validation wants the opposite of training: training moves product 0 up for e2 queries,
    # which validation punishes. Convex (alpha 0.5) ranks product 1 first everywhere: on the
    # flipped lists the e2 half is right (1) and the e3 half wrong (1 / log2 3).
    valid = flipped(lists)
    gate = SearchGate(alpha=0.5, personal_weight=0.0, epochs=60, learning_rate=0.05, patience=4)
    gate.fit(lists, products, valid=valid)
    assert gate.best_epoch_ == 0
    assert gate.valid_ndcg_history_[0] == pytest.approx((1 + 1 / np.log2(3)) / 2)
    assert max(gate.valid_ndcg_history_[1:]) <= gate.valid_ndcg_history_[0]
    assert len(gate.loss_history_) == 4  # stopped after `patience` epochs without a gain
    np.testing.assert_allclose(
        gate.scores(lists, products), convex_scores(lists, 0.5, 0.0), rtol=1e-6
    )
    np.testing.assert_array_equal(gate.network_.out.weight.detach().numpy(), 0)


def test_early_stopping_keeps_the_best_epoch_when_validation_agrees() -> None:
    lists, products = hand_lists()
    gate = SearchGate(alpha=0.5, personal_weight=0.0, epochs=60, learning_rate=0.05, patience=4)
    gate.fit(lists, products, valid=hand_lists(10)[0])
    history = gate.valid_ndcg_history_
    assert gate.best_epoch_ == int(np.argmax(history)) > 0
    assert history[gate.best_epoch_] == pytest.approx(1.0)
    assert len(gate.loss_history_) == gate.best_epoch_ + 4
    assert list_ndcg(gate.scores(lists, products), lists).mean() == pytest.approx(1.0)
    with pytest.raises(SearchError, match="dropout"):
        SearchGate(dropout=1.0).fit(lists, products)


def test_save_and_load_give_the_same_weights(tmp_path: Path) -> None:
    lists, products = hand_lists(5)
    gate = SearchGate(alpha=0.4, personal_weight=0.1, epochs=3).fit(lists, products)
    loaded = SearchGate.load(gate.save(tmp_path / "gate"))
    assert loaded.get_params() == gate.get_params()
    assert loaded.loss_history_ == gate.loss_history_
    assert loaded.best_epoch_ == gate.best_epoch_ == 3
    features = np.array([1.0, 2.0], dtype=np.float32)
    np.testing.assert_array_equal(
        loaded.weights(products[2], products, features),
        gate.weights(products[2], products, features),
    )
    with pytest.raises(SearchError, match="cannot load"):
        SearchGate.load(tmp_path / "missing")
    with pytest.raises(SearchError, match="not trained"):
        SearchGate().weights(products[0], products, features)
    with pytest.raises(SearchError, match="4-dimensional"):
        gate.weights(np.ones(3), products, features)


@pytest.fixture
def catalog() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["i0", "i1", "i2", "i3"],
            "title": ["blue mug", "red mug", "blue plate", "red plate"],
            "category": ["Mugs", "Mugs", "Plates", "Plates"],
            "brand": ["p", "q", "p", "q"],
        }
    )


def personal_model() -> tuple[Popularity, list[str]]:
    train = Interactions.from_arrays(
        ["u0", "u1"], ["i0", "i1", "i2", "i3"], np.array([0, 0, 0, 1, 1]),
        np.array([0, 1, 2, 0, 3]), np.ones(5, dtype=np.float32),
        np.full(5, np.datetime64("NaT"), dtype="datetime64[s]"),
    )  # fmt: skip
    return Popularity().fit(train), ["u0", "u1"]


def sessions() -> SearchSessions:
    searches = pd.DataFrame(
        {
            "search_id": [0, 1, 2],
            "user_id": ["u0", "u1", "u0"],
            "query": ["blue mug", "red plate", "mug"],
            "part": ["train", "train", "test"],
        }
    )
    judgements = pd.DataFrame(
        {"search_id": [0, 0, 1, 2], "item_id": ["i0", "i9", "i3", "i1"], "grade": [3, 1, 2, 1]}
    )
    stamp = pd.Timestamp("2025-01-01")
    return SearchSessions(searches, judgements, stamp, stamp)


def test_gate_lists_shapes_and_grades(catalog: pd.DataFrame) -> None:
    index = SearchIndex.build(catalog, encoder=tiny_encoder(), personal_model=personal_model())
    lists = gate_lists(index, sessions(), "train")
    n, width = lists.rows.shape
    assert n == 2 and width == 4  # four products: every one is a semantic candidate
    assert lists.query_vectors.shape == (2, 32) and lists.terms.shape == (2, 4, 3)
    # i0 graded 3 for search 0; i9 is not in the catalogue but counts in the ideal.
    assert lists.relevance[0].tolist() == [3, 0, 0, 0]
    assert lists.grades.tolist() == [[3, 1], [2, 0]]
    assert lists.relevance[1].tolist() == [0, 0, 0, 2]
    # u0 has three training items, u1 two.
    np.testing.assert_allclose(lists.features, [[1, np.log(4)], [1, np.log(3)]], rtol=1e-6)
    np.testing.assert_allclose(user_features(index.personal, None), [0, 0])
    with pytest.raises(SearchError, match="no valid search"):
        gate_lists(index, sessions(), "valid")


def test_a_zero_gate_ranks_as_the_convex_combination(catalog: pd.DataFrame) -> None:
    index = SearchIndex.build(catalog, encoder=tiny_encoder(), personal_model=personal_model())
    lists = gate_lists(index, sessions(), "train")
    gate = SearchGate(alpha=0.3, personal_weight=0.4, epochs=5, learning_rate=0.1)
    gate.fit(lists, index.semantic.vectors)
    index.gate = gate
    trained = index.search("blue mug", user_id="u0", method="gate", k=4)
    with torch.no_grad():
        gate.network_.out.weight.zero_()
        gate.network_.out.bias.zero_()
    for user in ("u0", None):
        zero = index.search("blue mug", user_id=user, method="gate", k=4)
        convex = index.search(
            "blue mug", user_id=user, method="convex", alpha=0.3, personal_weight=0.4, k=4
        )
        assert zero.items["item_id"].tolist() == convex.items["item_id"].tolist()
        np.testing.assert_allclose(zero.items["score"], convex.items["score"], rtol=1e-6)
        rho = 0.4 if user else 0.0
        np.testing.assert_allclose(
            zero.items[["weight_lexical", "weight_semantic", "weight_personal"]].to_numpy(),
            np.tile([0.7 * (1 - rho), 0.3 * (1 - rho), rho], (4, 1)),
            rtol=1e-6,
        )
    # The trained gate's parts still add up to the score, with per-product weights.
    parts = trained.items[["lexical", "semantic", "personal"]].sum(axis=1)
    np.testing.assert_allclose(parts * trained.items["boost"], trained.items["score"], rtol=1e-5)
    weights = trained.items[["weight_lexical", "weight_semantic", "weight_personal"]]
    np.testing.assert_allclose(weights.sum(axis=1), 1, rtol=1e-6)


def test_gate_method_needs_a_gate(catalog: pd.DataFrame) -> None:
    index = SearchIndex.build(catalog, encoder=tiny_encoder())
    with pytest.raises(SearchError, match="trained search gate"):
        index.search("mug", method="gate")
    lists, products = hand_lists(2)
    with pytest.raises(SearchError, match="alpha"):
        SearchGate(alpha=1.5).fit(lists, products)
    empty = GateLists(
        lists.query_vectors, lists.rows, lists.terms, lists.raw, lists.features,
        np.zeros_like(lists.relevance), lists.grades,
    )  # fmt: skip
    with pytest.raises(SearchError, match="nothing to learn"):
        SearchGate().fit(empty, products)
