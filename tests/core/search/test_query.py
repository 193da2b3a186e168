"""Query understanding: brands, colours, category words and price bounds."""

from __future__ import annotations

import pandas as pd
import pytest

from core.search.query import QueryVocabulary, parse_query


@pytest.fixture
def vocabulary() -> QueryVocabulary:
    catalog = pd.DataFrame(
        {
            "item_id": ["a", "b", "c"],
            "title": ["Oak Table", "Desk Lamp", "Green Kettle"],
            "brand": ["Woody", "Lumo Light", "Acme"],
            "category": ["Home > Tables", "Home > Lighting > Lamps", "Kitchen > Kettles"],
            "colour": ["Brown", "Black", "Green"],
        }
    )
    return QueryVocabulary.from_catalog(catalog)


def labels(query: str, vocabulary: QueryVocabulary) -> list[str]:
    return [chip.label for chip in parse_query(query, vocabulary).chips]


def test_brands_colours_and_categories_from_the_catalogue(vocabulary: QueryVocabulary) -> None:
    parsed = parse_query("Black LUMO light lamp", vocabulary)
    assert [(c.kind, c.value, c.words) for c in parsed.chips] == [
        ("colour", "Black", "Black"),
        ("brand", "Lumo Light", "LUMO light"),  # the two-word brand before 'light' alone
        ("category", "Lamps", "lamp"),  # singular of a category segment
    ]
    assert parsed.free_text == "Black LUMO light lamp"


def test_words_not_in_the_catalogue_are_no_chips(vocabulary: QueryVocabulary) -> None:
    # 'red' is a colour word, but no product of this catalogue is red.
    assert labels("red sofa", vocabulary) == []


@pytest.mark.parametrize(
    ("query", "expected", "free_text"),
    [
        ("kettle under 50", ["price_max:50", "category:Kettles"], "kettle"),
        ("lamp below $30", ["price_max:30", "category:Lamps"], "lamp"),
        ("over 100 tables", ["price_min:100", "category:Tables"], "tables"),
        ("between 40 and 20", ["price_min:20", "price_max:40"], ""),
        ("acme kettle from 9.50 to 25 euros", ["price_min:9.5", "price_max:25", "brand:Acme",
                                               "category:Kettles"], "acme kettle"),
        ("table under 1,000", ["price_max:1000", "category:Tables"], "table"),
    ],
)  # fmt: skip
def test_price_bounds(
    vocabulary: QueryVocabulary, query: str, expected: list[str], free_text: str
) -> None:
    parsed = parse_query(query, vocabulary)
    assert [chip.label for chip in parsed.chips] == expected
    assert parsed.free_text == free_text


def test_a_chip_can_be_removed(vocabulary: QueryVocabulary) -> None:
    parsed = parse_query("green acme kettle under 50", vocabulary)
    kept = parsed.without(["brand:Acme", "price_max:50"])
    assert [chip.label for chip in kept.chips] == ["colour:Green", "category:Kettles"]
    assert kept.free_text == parsed.free_text


def test_colour_words_are_read_from_texts_without_a_colour_column() -> None:
    catalog = pd.DataFrame({"item_id": ["a"], "title": ["Red Kettle"], "brand": ["Acme"]})
    vocabulary = QueryVocabulary.from_catalog(catalog)
    assert labels("red or blue kettle", vocabulary) == ["colour:red"]
