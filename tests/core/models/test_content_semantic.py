"""Content (TF-IDF) and semantic (BERT) models: texts, Chinese, cold items, recency by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from core.data.interactions import Interactions
from core.errors import ModelError
from core.models.content import ContentRecommender, recency_weights
from core.models.registry import read_model
from core.models.semantic import SemanticRecommender
from core.text.encoders import tiny_encoder
from core.text.product_text import product_texts

DAY = np.timedelta64(1, "D")
T0 = np.datetime64("2025-03-01T00:00:00", "s")


def _interactions(
    n_users: int, item_ids: list[str], entries: list[tuple[int, int, float, np.datetime64]]
) -> Interactions:
    entries = sorted(entries, key=lambda e: (e[0], e[1]))
    return Interactions.from_arrays(
        [f"u{u}" for u in range(n_users)],
        item_ids,
        np.array([e[0] for e in entries], dtype=np.int64),
        np.array([e[1] for e in entries], dtype=np.int64),
        np.array([e[2] for e in entries], dtype=np.float32),
        np.array([e[3] for e in entries], dtype="datetime64[s]"),
    )


# Product texts -------------------------------------------------------------------------------


def test_product_texts_align_by_item_id() -> None:
    catalog = pd.DataFrame(
        {
            "item_id": ["b", "a", "a"],
            "title": ["Steel Pan by Ferro", "Oak Table", "duplicate row"],
            "brand": ["Ferro", "Woody", None],
            "category": ["Home > Pans", None, None],
            "description": [None, "Solid oak.", None],
        }
    )
    texts = product_texts(catalog, ["a", "b", "missing"])
    assert texts == ["Oak Table. Woody. Solid oak.", "Steel Pan by Ferro. Home > Pans", ""]
    only_ids = pd.DataFrame({"item_id": ["a"]})
    assert product_texts(only_ids, ["a"]) == [""]
    assert product_texts(None, ["a", "b"]) == ["", ""]


# Content model -------------------------------------------------------------------------------

CHINESE = pd.DataFrame(
    {
        "item_id": ["c0", "c1", "c2", "c3", "c4"],
        "title": [
            "红色连衣裙 夏季新款",
            "蓝色连衣裙 长款",
            "不锈钢炒锅",
            "无线蓝牙耳机",
            "蓝牙耳机 降噪",
        ],
        "category": ["服装 > 女装", "服装 > 女装", "厨房 > 锅具", "数码 > 耳机", "数码 > 耳机"],
    }
)


def test_chinese_titles_give_related_products_similarity() -> None:
    train = _interactions(1, CHINESE["item_id"].tolist(), [(0, 0, 1.0, T0)])
    model = ContentRecommender().fit(train, catalog=CHINESE)
    vectors = model.item_vectors_
    similarity = (vectors @ vectors.T).toarray()
    assert similarity[0, 1] > 0.2  # two dresses
    assert similarity[3, 4] > 0.2  # two pairs of earphones
    assert similarity[0, 1] > 2 * max(similarity[0, 2], similarity[0, 3])
    idx, _ = model.similar_items([0, 3], 1)
    np.testing.assert_array_equal(idx[:, 0], [1, 4])
    recommended, _ = model.recommend(0, 1)
    assert recommended[0, 0] == 1


SHOP = pd.DataFrame(
    {
        "item_id": ["pan1", "pan2", "shirt1", "shirt2", "pan_new"],
        "title": [
            "stainless steel frying pan",
            "cast iron frying pan",
            "organic cotton shirt",
            "linen summer shirt",
            "non-stick frying pan with lid",
        ],
        "description": [
            "for the kitchen, oven safe",
            "heavy pan for the kitchen",
            "soft shirt, machine washable",
            "light shirt for warm days",
            "a new pan for the kitchen",
        ],
        "category": ["Home > Kitchen > Pans"] * 2
        + ["Fashion > Shirts"] * 2
        + ["Home > Kitchen > Pans"],
    }
)


def test_cold_item_is_recommended() -> None:
    # pan_new has no interaction at all; a pan buyer gets it first.
    train = _interactions(
        2,
        SHOP["item_id"].tolist(),
        [(0, 0, 1.0, T0), (0, 1, 1.0, T0), (1, 2, 1.0, T0), (1, 3, 1.0, T0)],
    )
    model = ContentRecommender().fit(train, catalog=SHOP)
    assert train.matrix[:, 4].nnz == 0
    idx, scores = model.recommend([0, 1], 1)
    assert idx[0, 0] == 4 and scores[0, 0] > 0
    assert idx[1, 0] != 4


def test_recency_weights_by_hand() -> None:
    item_ids = SHOP["item_id"].tolist()
    train = _interactions(
        2,
        item_ids,
        [
            (0, 0, 2.0, T0),  # newest in train: age 0
            (0, 2, 1.0, T0 - 10 * DAY),  # age 10 days
            (1, 3, 4.0, T0 - 20 * DAY),  # age 20 days
        ],
    )
    np.testing.assert_allclose(recency_weights(train, 10.0), [2.0, 0.5, 1.0])
    np.testing.assert_allclose(recency_weights(train, None), [2.0, 1.0, 4.0])
    undated = Interactions.from_arrays(
        ["u0"], item_ids, np.array([0, 0]), np.array([0, 1]), np.array([1.0, 3.0]),
        np.array([T0, np.datetime64("NaT")], dtype="datetime64[s]"),
    )  # fmt: skip
    np.testing.assert_allclose(recency_weights(undated, 5.0), [1.0, 3.0])


def test_content_scores_are_cosine_to_the_recency_weighted_mean() -> None:
    item_ids = SHOP["item_id"].tolist()
    train = _interactions(1, item_ids, [(0, 0, 2.0, T0), (0, 2, 1.0, T0 - 10 * DAY)])
    model = ContentRecommender(half_life_days=10.0).fit(train, catalog=SHOP)
    vectors = model.item_vectors_.toarray().astype(np.float64)
    profile = (2.0 * vectors[0] + 0.5 * vectors[2]) / 2.5
    expected = vectors @ profile / np.linalg.norm(profile)
    np.testing.assert_allclose(model.score(0)[0], expected, atol=1e-6)
    # Without decay the shirt weighs twice as much as with a 10-day half-life.
    flat = ContentRecommender(half_life_days=None).fit(train, catalog=SHOP)
    profile = (2.0 * vectors[0] + 1.0 * vectors[2]) / 3.0
    expected = vectors @ profile / np.linalg.norm(profile)
    np.testing.assert_allclose(flat.score(0)[0], expected, atol=1e-6)
    # A fold-in history is scored from its weights as given.
    history = sp.csr_matrix(np.array([[0, 0, 1.0, 0, 0]], dtype=np.float32))
    np.testing.assert_allclose(model.score_history(history)[0], vectors @ vectors[2], atol=1e-5)


def test_recent_taste_wins() -> None:
    # Long ago pans, lately shirts: with a short half-life the shirt ranks above the new pan.
    train = _interactions(
        1, SHOP["item_id"].tolist(), [(0, 0, 1.0, T0 - 60 * DAY), (0, 2, 1.0, T0)]
    )
    recent = ContentRecommender(half_life_days=7.0).fit(train, catalog=SHOP)
    assert recent.recommend(0, 1)[0][0, 0] == 3
    assert recent.score(0)[0, 3] > recent.score(0)[0, 4]


def test_content_needs_text() -> None:
    train = _interactions(1, ["a"], [(0, 0, 1.0, T0)])
    with pytest.raises(ModelError, match="needs the catalogue"):
        ContentRecommender().fit(train)
    with pytest.raises(ModelError, match="no product text"):
        ContentRecommender().fit(train, catalog=pd.DataFrame({"item_id": ["a"]}))
    with pytest.raises(ModelError, match="half_life_days"):
        ContentRecommender(half_life_days=-1).fit(train, catalog=SHOP)
    with pytest.raises(ModelError, match="char n-gram"):
        ContentRecommender(char_ngram_min=3, char_ngram_max=2).fit(train, catalog=SHOP)


# Semantic model -------------------------------------------------------------------------------


def test_semantic_embeddings_and_scores_by_hand() -> None:
    item_ids = [*SHOP["item_id"].tolist(), "no_text"]
    train = _interactions(
        2, item_ids, [(0, 0, 2.0, T0), (0, 2, 1.0, T0 - 10 * DAY), (1, 5, 1.0, T0)]
    )
    model = SemanticRecommender(encoder="tiny", half_life_days=10.0).fit(train, catalog=SHOP)
    texts = product_texts(SHOP, SHOP["item_id"])
    expected = tiny_encoder().encode(texts)
    np.testing.assert_allclose(model.item_embeddings_[:5], expected, atol=1e-6)
    np.testing.assert_array_equal(model.item_embeddings_[5], 0.0)
    vectors = model.item_embeddings_.astype(np.float64)
    profile = 2.0 * vectors[0] + 0.5 * vectors[2]
    scores = model.score([0, 1])
    np.testing.assert_allclose(scores[0], vectors @ profile / np.linalg.norm(profile), atol=1e-6)
    np.testing.assert_array_equal(scores[1], 0.0)  # only a text-less item in the history
    assert model.encoder_id_ == "tiny-bert/seed-0"
    idx, _ = model.similar_items(0, 2)
    assert 0 not in idx[0] and 5 not in idx[0]


def test_semantic_default_encoder_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert SemanticRecommender().encoder is None
    monkeypatch.setenv("SHOPSYNTH_ENCODER", "tiny")
    train = _interactions(1, SHOP["item_id"].tolist(), [(0, 0, 1.0, T0)])
    model = SemanticRecommender().fit(train, catalog=SHOP)
    assert model.encoder_id_ == "tiny-bert/seed-0" and model.encoder_spec_ == "tiny"


def test_semantic_uses_the_cache_and_round_trips(tmp_path: Path) -> None:
    train = _interactions(1, SHOP["item_id"].tolist(), [(0, 0, 1.0, T0)])
    params = {"encoder": "tiny", "cache_dir": str(tmp_path / "cache")}
    first = SemanticRecommender(**params).fit(train, catalog=SHOP)
    calls: list[tuple[int, int, str]] = []
    second = SemanticRecommender(**params).fit(
        train, catalog=SHOP, callback=lambda *call: calls.append(call)
    )
    assert [(done, total) for done, total, _ in calls] == [(5, 5)]  # all read from the cache
    np.testing.assert_array_equal(second.item_embeddings_, first.item_embeddings_)
    loaded = read_model(first.save(tmp_path / "model"))
    assert isinstance(loaded, SemanticRecommender)
    assert loaded.encoder_id_ == first.encoder_id_
    np.testing.assert_array_equal(loaded.score(0), first.score(0))


def test_semantic_needs_text() -> None:
    train = _interactions(1, ["a"], [(0, 0, 1.0, T0)])
    with pytest.raises(ModelError, match="needs the catalogue"):
        SemanticRecommender(encoder="tiny").fit(train)
    with pytest.raises(ModelError, match="no product text"):
        SemanticRecommender(encoder="tiny").fit(train, catalog=pd.DataFrame({"item_id": ["a"]}))
