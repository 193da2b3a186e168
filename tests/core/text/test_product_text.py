"""Product texts: every text field, attributes by name, all-capitals fields in a readable case."""

from __future__ import annotations

import pandas as pd

from core.text.product_text import attribute_columns, product_texts, readable_case


def test_readable_case_only_changes_all_capital_fields() -> None:
    assert readable_case("MARIO KART 8 DELUXE") == "Mario Kart 8 Deluxe"
    assert readable_case("PS4 CONTROLLER, BLACK") == "PS4 Controller, Black"
    assert readable_case("KID'S SOFT-TOY") == "Kid's Soft-Toy"
    assert readable_case("USB") == "USB"  # a short acronym stays
    assert readable_case("Game Boy Advance SP") == "Game Boy Advance SP"
    assert readable_case("") == ""


def test_product_texts_use_every_field_and_attributes() -> None:
    catalog = pd.DataFrame(
        {
            "item_id": ["a", "b"],
            "title": ["SOFT TEDDY BEAR", "Steel Pan"],
            "brand": ["PRALY", None],
            "category": ["Toys > Soft Toys", "Home > Pans"],
            "description": ["Cuddly.", None],
            "price": [9.5, 20.0],
            "first_seen": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "colour": ["GREY", None],
            "pack_size": ["2", "1"],
            "_removed": ["x", "y"],
            "in_stock": [True, False],
        }
    )
    assert attribute_columns(catalog) == ["colour", "pack_size"]
    assert product_texts(catalog, ["a", "b"]) == [
        "Soft Teddy Bear. Praly. Toys > Soft Toys. colour Grey, pack size 2. Cuddly.",
        "Steel Pan. Home > Pans. pack size 1",
    ]


def test_product_texts_without_attributes_keep_their_shape() -> None:
    catalog = pd.DataFrame({"item_id": ["a"], "title": ["Oak  Table"], "brand": ["Woody"]})
    assert product_texts(catalog, ["a", "missing"]) == ["Oak Table. Woody", ""]
