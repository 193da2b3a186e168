"""Field-weighted BM25, the character n-gram fallback and document expansion."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.errors import SearchError
from core.search.lexical import LexicalIndex, attribute_columns, field_texts

# BM25 (Lucene) of one query word in one field: idf * tf / (tf + k1 * (1 - b + b * dl / avgdl)).
K1, B = 1.5, 0.75


def bm25(n_docs: int, df: int, tf: int, dl: float, avgdl: float) -> float:
    idf = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
    return idf * tf / (tf + K1 * (1 - B + B * dl / avgdl))


@pytest.fixture
def swapped() -> pd.DataFrame:
    """'lamp' is in A's title and in B's description."""
    return pd.DataFrame(
        {
            "item_id": ["A", "B"],
            "title": ["Red Lamp", "Steel Desk"],
            "description": ["steel desk", "red lamp"],
        }
    )


def test_field_weights_change_the_order_as_computed_by_hand(swapped: pd.DataFrame) -> None:
    # Both fields: 2 documents of 2 words, 'lamp' in one of them: idf ln 2, tf part 1/2.5.
    one = bm25(n_docs=2, df=1, tf=1, dl=2, avgdl=2)
    assert one == pytest.approx(0.4 * math.log(2))
    title_first = LexicalIndex({"title": 3.0, "description": 1.0}).fit(swapped)
    np.testing.assert_allclose(title_first.bm25("lamp"), [3 * one, 1 * one], rtol=1e-6)
    description_first = LexicalIndex({"title": 1.0, "description": 3.0}).fit(swapped)
    np.testing.assert_allclose(description_first.bm25("lamp"), [1 * one, 3 * one], rtol=1e-6)


def test_each_field_has_its_own_length_statistics() -> None:
    catalog = pd.DataFrame(
        {"item_id": ["A", "B", "C"], "title": ["wireless mouse", "wireless mouse pad", "mouse"]}
    )
    index = LexicalIndex({"title": 1.0}).fit(catalog)
    # avgdl = 2; 'wireless' in 2 of 3 titles, 'mouse' in all 3.
    expected = [
        bm25(3, 2, 1, 2, 2) + bm25(3, 3, 1, 2, 2),
        bm25(3, 2, 1, 3, 2) + bm25(3, 3, 1, 3, 2),
        bm25(3, 3, 1, 1, 2),
    ]
    np.testing.assert_allclose(index.bm25("Wireless MOUSE"), expected, rtol=1e-6)


def test_a_misspelled_query_finds_the_product_through_ngrams() -> None:
    catalog = pd.DataFrame(
        {
            "item_id": ["k", "m", "c"],
            "title": ["Mechanical Keyboard", "Wireless Mouse", "Ceramic Coffee Cup"],
            "category": ["Computers > Keyboards", "Computers > Mice", "Kitchen > Cups"],
        }
    )
    index = LexicalIndex().fit(catalog)
    scores = index.score("wirless mous")
    assert not scores.bm25.any()  # no word as written
    assert scores.fallback
    assert int(np.argmax(scores.score)) == 1
    assert scores.score[2] == 0  # the cup shares nothing with the query


def test_cjk_text_matches_through_ngrams() -> None:
    catalog = pd.DataFrame({"item_id": ["a", "b"], "title": ["无线鼠标 黑色", "陶瓷咖啡杯"]})
    scores = LexicalIndex().fit(catalog).score("鼠标")
    assert scores.score[0] > 0 and scores.score[1] == 0


def test_the_combined_score_is_bm25_over_its_maximum_plus_the_ngram_blend() -> None:
    catalog = pd.DataFrame({"item_id": ["a", "b", "c"], "title": ["blue mouse", "mouse", "cup"]})
    index = LexicalIndex(ngram_weight=0.5).fit(catalog)
    scores = index.score("blue mouse")
    expected = scores.bm25 / scores.bm25.max() + 0.5 * scores.ngram
    np.testing.assert_allclose(scores.score, expected, rtol=1e-6)
    assert scores.ngram[0] == pytest.approx(1.0)  # the same text
    assert scores.score[2] == 0


def test_attributes_are_indexed_and_weighted() -> None:
    catalog = pd.DataFrame(
        {"item_id": ["a", "b"], "title": ["Lamp", "Lamp"], "colour": ["red", "blue"],
         "price": [1.0, 2.0]}
    )  # fmt: skip
    assert attribute_columns(catalog) == ["colour"]
    scores = LexicalIndex({"attributes": 2.0}).fit(catalog).bm25("red")
    # One word per attributes field: idf ln(1 + 1.5/1.5) = ln 2, tf part 1/2.5.
    np.testing.assert_allclose(scores, [2.0 * 0.4 * math.log(2), 0.0], rtol=1e-6)


def test_expansion_adds_accepted_queries_and_can_be_switched_off() -> None:
    catalog = pd.DataFrame({"item_id": ["a", "b"], "title": ["Oak Table", "Desk Lamp"]})
    expansion = pd.DataFrame({"item_id": ["b", "b", "zz"], "text": ["reading light", "x", "y"]})
    assert field_texts(catalog, expansion)["queries"].tolist() == ["", "reading light x"]
    assert LexicalIndex().fit(catalog).bm25("reading").tolist() == [0.0, 0.0]
    expanded = LexicalIndex().fit(catalog, expansion).bm25("reading")
    assert expanded[0] == 0 and expanded[1] > 0


def test_bad_field_weights_are_refused() -> None:
    catalog = pd.DataFrame({"item_id": ["a"], "title": ["x"]})
    with pytest.raises(SearchError, match="unknown search fields"):
        LexicalIndex({"colour": 1.0}).fit(catalog)
    with pytest.raises(SearchError, match="weight of field"):
        LexicalIndex({"title": -1.0}).fit(catalog)


def test_ngrams_are_computed_for_the_best_bm25_matches_only() -> None:
    catalog = pd.DataFrame(
        {"item_id": ["a", "b", "c", "d"], "title": ["blue mouse", "mouse", "blue mouse pad", "blu"]}
    )
    everything = LexicalIndex(ngram_weight=0.5).fit(catalog).score("blue mouse")
    best_one = LexicalIndex(ngram_weight=0.5, ngram_candidates=1).fit(catalog).score("blue mouse")
    np.testing.assert_array_equal(best_one.bm25, everything.bm25)
    assert int(np.argmax(everything.bm25)) == 0
    # Only the best BM25 match gets its cosine; "blu" (no BM25 match) gets none at all.
    assert best_one.ngram[0] == pytest.approx(1.0) and not best_one.ngram[1:].any()
    assert everything.ngram[1] > 0 and everything.ngram[3] == 0
    np.testing.assert_allclose(best_one.score[1:], everything.bm25[1:] / everything.bm25.max())
