"""The search hot path returns what the plain computation over every product returns.

The reference below scores the whole catalogue the straightforward way (one cosine per product,
item-kNN over every column, pandas facets) and fuses with the gate as the module notes of
``core.search.engine`` describe; :meth:`SearchIndex.search` (shortlists, union-only scoring,
numpy frames) must give the same products, scores and facets, with the semantic scan in float32
or shortlisting from int8 vectors.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from core.data.interactions import Interactions
from core.errors import SearchError
from core.fusion.normalise import minmax
from core.metrics.ranking import top_k
from core.models.registry import make_model
from core.search import SearchIndex
from core.search.gate import SearchGate, user_features
from core.search.lexical import LexicalIndex
from core.search.personal import PersonalScorer
from core.search.semantic import SemanticIndex, best_rows
from core.simulate.world import build_catalog
from core.text.encoders import tiny_encoder
from core.text.onnx_encoder import OnnxEncoder, export_onnx

N_PRODUCTS, N_USERS, N_CANDIDATES = 3000, 60, 50
QUERIES = ("wireless headphones", "blue cotton shirt", "garden hose", "kitchen knife set",
           "running shoes", "wirless mouse")  # fmt: skip


@pytest.fixture(scope="module", params=["float32 scan", "int8 shortlist"])
def index(request: pytest.FixtureRequest) -> SearchIndex:
    catalog = SearchIndex.prepare_catalog(build_catalog(N_PRODUCTS, random_state=3).to_pandas())
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(N_USERS), 8)
    items = rng.choice(len(catalog), len(users))
    user_ids = [f"u{u}" for u in range(N_USERS)]
    train = Interactions.from_arrays(
        user_ids, catalog["item_id"].tolist(), users, items,
        np.ones(len(users), dtype=np.float32),
        np.full(len(users), np.datetime64("NaT"), dtype="datetime64[s]"),
    )  # fmt: skip
    model = make_model("item_knn").fit(train)
    encoder = tiny_encoder()
    vectors = rng.standard_normal((len(catalog), encoder.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    gate = SearchGate.untrained(encoder.dim, alpha=0.4, personal_weight=0.3)
    with torch.no_grad():  # a gate that moves the weights, so its per-product path counts
        torch.manual_seed(1)
        gate.network_.out.weight.normal_(0, 1.0)
    return SearchIndex(
        catalog,
        LexicalIndex().fit(catalog),
        SemanticIndex(encoder, vectors, exact_up_to=0 if "int8" in request.param else 10**9),
        PersonalScorer(model, user_ids, catalog),
        gate,
    )


def reference(index: SearchIndex, query: str, user_id: str | None, k: int) -> pd.DataFrame:
    """Gate-fused top ``k`` computed over every product (no filters, chips not boosting)."""
    text = index.free_text(query)
    lexical = index.lexical.score(text).score
    matched = np.flatnonzero(lexical > 0)
    if len(matched) > N_CANDIDATES:
        matched = top_k(lexical[None, :], N_CANDIDATES)[0][0]
    query_vector = index.semantic.encoder.encode([text])[0]
    semantic = index.semantic.vectors @ query_vector
    best = top_k(semantic[None, :], N_CANDIDATES)[0][0]
    rows = np.unique(np.concatenate([matched, best]))
    raw = np.full((3, len(rows)), np.nan, dtype=np.float32)
    raw[0] = np.where(lexical[rows] > 0, lexical[rows], np.nan)
    raw[1] = semantic[rows]
    personal = index.personal
    if personal.knows(user_id):
        user_row = personal.user_index[user_id]
        history = personal.model.train_[user_row]
        everything = np.asarray((history @ personal.model.similarity_).toarray()).ravel()
        columns = personal.model_column[rows]
        collaborative = minmax(np.where(columns >= 0, everything[columns], np.nan))
        items = personal.catalog_row[history.indices]
        parts = [collaborative]
        for codes in (personal.categories, personal.brands):
            shares = np.bincount(codes[items], minlength=codes.max() + 1) / len(history.indices)
            parts.append(np.where(codes[rows] >= 0, shares[np.maximum(codes[rows], 0)], 0))
        raw[2] = (personal.weights[:, None] * np.stack(parts)).sum(axis=0)
    features = user_features(personal, user_id)
    weights = index.gate.weights(query_vector, index.semantic.vectors[rows], features).T
    score = (weights * minmax(raw)).sum(axis=0)
    order = top_k(score[None, :], k)[0][0]
    return pd.DataFrame(
        {
            "item_id": index.item_ids[rows[order]],
            "score": score[order],
            "semantic_raw": raw[1, order],
            "personal_raw": raw[2, order],
            "weight_personal": weights[2, order],
        }
    )


@pytest.mark.parametrize("user_id", [None, "u3", "u17"])
@pytest.mark.parametrize("query", QUERIES)
def test_search_equals_the_plain_computation(index: SearchIndex, query: str, user_id) -> None:
    result = index.search(query, user_id=user_id, k=20, method="gate",
                          n_candidates=N_CANDIDATES, chip_boost=0.0)  # fmt: skip
    expected = reference(index, query, user_id, 20)
    assert result.items["item_id"].tolist() == expected["item_id"].tolist()
    for column in ("score", "semantic_raw", "personal_raw", "weight_personal"):
        np.testing.assert_allclose(result.items[column], expected[column], rtol=1e-5, atol=1e-6)


def test_facets_equal_pandas_value_counts(index: SearchIndex) -> None:
    result = index.search("cotton shirt", k=5, n_candidates=N_CANDIDATES)
    assert len(result.items) == 5  # the facets count every candidate, not the results shown
    candidates = index.signals(index.free_text("cotton shirt"), n_candidates=N_CANDIDATES).rows
    catalog = index.catalog.iloc[candidates]
    for name in ("category", "brand"):
        values = catalog[name].astype(object).where(catalog[name].notna(), "").map(str)
        counts = values[values != ""].value_counts()
        expected = pd.DataFrame({"value": counts.index.astype(str), "count": counts.to_numpy()})
        expected = expected.sort_values(["count", "value"], ascending=[False, True],
                                        ignore_index=True)  # fmt: skip
        pd.testing.assert_frame_equal(result.facets[name], expected, check_dtype=False)
    bands = pd.Series(index.price_band(index.catalog["price"].to_numpy()[candidates]))
    counts = bands.value_counts()
    assert dict(zip(result.facets["price"]["value"], result.facets["price"]["count"],
                    strict=True)) == counts.to_dict()  # fmt: skip


def test_knn_scores_of_some_items_equal_the_full_product(index: SearchIndex) -> None:
    model = index.personal.model
    columns = np.array([5, 0, 17, 17, 2999, 42])
    users = np.array([3, 17])
    full = np.asarray((sp.csr_matrix(model.train_[users]) @ model.similarity_).toarray())
    np.testing.assert_allclose(model.score(users, columns), full[:, columns], rtol=1e-6)


def test_best_rows_is_the_set_top_k_picks_ties_included() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.1, 0.5, 0.9, 0.3], dtype=np.float32)
    for k in range(1, len(scores) + 2):
        expected = top_k(scores[None, :], k)[0][0]
        assert sorted(best_rows(scores, k)) == sorted(expected[expected >= 0])
    assert sorted(best_rows(scores, 3)) == [0, 1, 5]  # the tie at 0.5 goes to the lowest row


def test_an_onnx_query_encoder_gives_the_product_encoders_vectors(tmp_path: Path) -> None:
    encoder = tiny_encoder()
    query_encoder = OnnxEncoder(encoder, export_onnx(encoder, tmp_path, quantize=False),
                                quantized=False, num_threads=1)  # fmt: skip
    vectors = encoder.encode(["red kettle", "garden hose", "mouse pad"])
    semantic = SemanticIndex(encoder, vectors, query_encoder=query_encoder)
    np.testing.assert_allclose(semantic.query_vector("red kettle"), vectors[0], atol=1e-5)
    assert semantic.shortlist(semantic.query_vector("red kettle"), 1).tolist() == [0]
    np.testing.assert_allclose(semantic.cosines(vectors[0], np.array([2, 0])),
                               vectors[[2, 0]] @ vectors[0], rtol=1e-6)  # fmt: skip


def test_a_query_encoder_of_another_size_is_refused() -> None:
    encoder = tiny_encoder()
    other = SimpleNamespace(dim=encoder.dim + 1, model_id="other")
    with pytest.raises(SearchError, match="dimensions"):
        SemanticIndex(encoder, np.zeros((2, encoder.dim), np.float32), query_encoder=other)
