"""The search index: fusion arithmetic, personal scores, filters, relaxation and facets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.data.interactions import Interactions
from core.errors import SearchError
from core.models.popularity import Popularity
from core.search import SearchFilters, SearchIndex
from core.search.lexical import LexicalIndex
from core.text.encoders import tiny_encoder
from core.text.product_text import product_texts

K1, B = 1.5, 0.75


def bm25(n_docs: int, df: int, dl: float, avgdl: float) -> float:
    idf = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
    return idf / (1 + K1 * (1 - B + B * dl / avgdl))


@pytest.fixture
def catalog() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["A", "B", "C"],
            "title": ["wireless mouse", "wireless mouse pad", "mouse"],
            "brand": ["Acme", "Zeta", "Acme"],
            "category": ["Peripherals", "Peripherals", "Peripherals"],
            "price": [25.0, 12.0, 8.0],
        }
    )


def lexical_by_hand() -> list[float]:
    """Title BM25 of 'wireless mouse' (avgdl 2), over its maximum."""
    raw = [
        bm25(3, 2, 2, 2) + bm25(3, 3, 2, 2),
        bm25(3, 2, 3, 2) + bm25(3, 3, 3, 2),
        bm25(3, 3, 1, 2),
    ]
    return [value / max(raw) for value in raw]


def minmax(values: list[float]) -> list[float]:
    low, high = min(values), max(values)
    return [(value - low) / (high - low) for value in values]


def ranks(values: list[float]) -> list[int]:
    return [1 + sum(other > value for other in values) for value in values]


def by_id(result) -> dict[str, float]:
    return dict(zip(result.items["item_id"], result.items["score"].astype(float), strict=True))


def lexical_only(catalog: pd.DataFrame) -> SearchIndex:
    return SearchIndex.build(catalog, lexical=LexicalIndex(ngram_weight=0.0))


def test_convex_lexical_only_is_the_minmax_of_bm25(catalog: pd.DataFrame) -> None:
    result = lexical_only(catalog).search("wireless mouse", method="convex", alpha=0.5)
    lexical = lexical_by_hand()
    np.testing.assert_allclose(result.items["lexical_raw"], lexical, rtol=1e-5)
    expected = dict(zip("ABC", minmax(lexical), strict=True))  # alpha ignored: no encoder
    assert list(result.items["item_id"]) == ["A", "B", "C"]
    assert by_id(result) == pytest.approx(expected, rel=1e-5)


def test_rrf_lexical_only(catalog: pd.DataFrame) -> None:
    result = lexical_only(catalog).search("wireless mouse", method="rrf")
    assert by_id(result) == pytest.approx({"A": 1 / 61, "B": 1 / 62, "C": 1 / 63}, rel=1e-6)


@pytest.mark.parametrize("method", ["convex", "rrf"])
def test_hybrid_arithmetic_with_an_encoder(catalog: pd.DataFrame, method: str) -> None:
    encoder = tiny_encoder()
    index = SearchIndex.build(catalog, encoder=encoder, lexical=LexicalIndex(ngram_weight=0.0))
    alpha = 0.3
    result = index.search("wireless mouse", method=method, alpha=alpha, k=3)
    # Cosines computed apart from the index: the encoder on the product texts and the query.
    vectors = encoder.encode(product_texts(catalog, catalog["item_id"]))
    semantic = (vectors @ encoder.encode(["wireless mouse"])[0]).tolist()
    lexical = lexical_by_hand()
    if method == "convex":
        parts = [((1 - alpha) * x, alpha * y) for x, y in
                 zip(minmax(lexical), minmax(semantic), strict=True)]  # fmt: skip
    else:
        parts = [((1 - alpha) / (60 + x), alpha / (60 + y)) for x, y in
                 zip(ranks(lexical), ranks(semantic), strict=True)]  # fmt: skip
    expected = {item: sum(part) for item, part in zip("ABC", parts, strict=True)}
    assert by_id(result) == pytest.approx(expected, rel=1e-5)
    items = result.items.set_index("item_id")
    for item, (lexical_part, semantic_part) in zip("ABC", parts, strict=True):
        assert items.loc[item, "lexical"] == pytest.approx(lexical_part, rel=1e-5)
        assert items.loc[item, "semantic"] == pytest.approx(semantic_part, rel=1e-5, abs=1e-7)
        assert items.loc[item, "personal"] == 0
    assert list(result.items["score"]) == sorted(result.items["score"], reverse=True)


def test_personal_is_zero_for_an_anonymous_shopper_and_shares_for_a_known_one() -> None:
    catalog = pd.DataFrame(
        {
            "item_id": ["i0", "i1", "i2", "i3"],
            "title": ["blue mug", "red mug", "blue plate", "red plate"],
            "category": ["Mugs", "Mugs", "Plates", "Plates"],
            "brand": ["p", "q", "p", "q"],
        }
    )
    # u0 touched i0, i1, i2; u1 touched i0 and i3, so i0 is the most popular.
    train = Interactions.from_arrays(
        ["u0", "u1"], ["i0", "i1", "i2", "i3"], np.array([0, 0, 0, 1, 1]),
        np.array([0, 1, 2, 0, 3]), np.ones(5, dtype=np.float32),
        np.full(5, np.datetime64("NaT"), dtype="datetime64[s]"),
    )  # fmt: skip
    model = Popularity().fit(train)
    index = SearchIndex.build(catalog, personal_model=(model, ["u0", "u1"]))
    anonymous = index.search("mug plate", personal_weight=0.5)
    assert (anonymous.items["personal"] == 0).all()
    assert anonymous.items["personal_raw"].isna().all()
    assert index.personal.score(None, np.arange(4)).score.tolist() == [0.0] * 4
    unknown = index.search("mug plate", user_id="nobody", personal_weight=0.5)
    assert (unknown.items["personal"] == 0).all() and "unknown" in unknown.notes[0]

    parts = index.personal.score("u0", np.arange(4))
    # Categories of u0's items: Mugs 2 of 3, Plates 1 of 3; brands p 2 of 3, q 1 of 3.
    np.testing.assert_allclose(parts.category, [2 / 3, 2 / 3, 1 / 3, 1 / 3], rtol=1e-6)
    np.testing.assert_allclose(parts.brand, [2 / 3, 1 / 3, 2 / 3, 1 / 3], rtol=1e-6)
    collaborative = model.score(0, np.arange(4)).ravel()
    assert collaborative[0] > collaborative[1] == collaborative[2] == collaborative[3]
    np.testing.assert_allclose(parts.collaborative, [1, 0, 0, 0])
    np.testing.assert_allclose(
        parts.score, 0.5 * parts.collaborative + 0.25 * parts.category + 0.25 * parts.brand,
        rtol=1e-6,
    )  # fmt: skip
    known = index.search("mug plate", user_id="u0", personal_weight=0.5)
    assert (known.items["personal_raw"].to_numpy() > 0).any()


def test_filters_relax_one_by_one_when_nothing_passes(catalog: pd.DataFrame) -> None:
    index = lexical_only(catalog)
    result = index.search("mouse under 5")
    assert result.relaxed == ("price_max:5",)
    assert "price_max:5" in result.notes[0]
    assert set(result.items["item_id"]) == {"A", "B", "C"}

    filtered = index.search("mouse under 10")
    assert filtered.relaxed == () and list(filtered.items["item_id"]) == ["C"]

    # The caller's brand filter goes first; the price chip alone then leaves C.
    result = index.search("mouse under 10", filters=SearchFilters(brands=("Zeta",)))
    assert result.relaxed == ("brand:Zeta",)
    assert list(result.items["item_id"]) == ["C"]


def test_chips_boost_or_filter_and_can_be_dropped(catalog: pd.DataFrame) -> None:
    index = lexical_only(catalog)
    boosted = index.search("zeta mouse", method="rrf", chip_boost=1.0)
    items = boosted.items.set_index("item_id")
    assert items.loc["B", "chips"] == ("brand:Zeta",) and items.loc["B", "boost"] == 2.0
    assert items.loc["A", "boost"] == 1.0
    filtered = index.search("zeta mouse", chip_mode="filter")
    assert list(filtered.items["item_id"]) == ["B"]
    dropped = index.search("zeta mouse", chip_mode="filter", drop_chips=["brand:Zeta"])
    assert len(dropped.items) == 3 and dropped.query.chips == ()


def test_facets_count_the_candidates(catalog: pd.DataFrame) -> None:
    result = lexical_only(catalog).search("mouse", k=1)
    assert len(result.items) == 1 and result.n_candidates == 3
    brand = result.facets["brand"]
    assert brand.to_dict("list") == {"value": ["Acme", "Zeta"], "count": [2, 1]}
    assert result.facets["category"].to_dict("list") == {"value": ["Peripherals"], "count": [3]}
    assert result.facets["price"]["count"].sum() == 3


def test_no_match_and_bad_input(catalog: pd.DataFrame) -> None:
    index = lexical_only(catalog)
    empty = index.search("teapot")
    assert empty.items.empty and "no product matches" in empty.notes[0]
    with pytest.raises(SearchError, match="method"):
        index.search("mouse", method="borda")
    with pytest.raises(SearchError, match="alpha"):
        index.search("mouse", alpha=1.5)
    with pytest.raises(SearchError, match="catalogue"):
        SearchIndex.build(pd.DataFrame())
