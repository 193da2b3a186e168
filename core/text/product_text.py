"""One text per product, built from every text field of the catalogue, in a readable case.

Content and semantic models, the embedding cache and fine-tuning all read products through
:func:`product_texts`, so a product is described the same way everywhere. The text holds the
title, brand, category path, the other attribute columns (colour, material, size, ...) and the
description; fields written in capitals only (``"NINTENDO SWITCH PRO CONTROLLER"``, common in
shop logs) are turned into a readable case (:func:`readable_case`) first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.schema import BRAND, CATEGORY, DESCRIPTION, FIRST_SEEN, ITEM_ID, PRICE, TITLE

ATTRIBUTES = "attributes"
# Order matters for the encoder: it truncates long texts at the end, so the description goes last.
TEXT_FIELDS: tuple[str, ...] = (TITLE, BRAND, CATEGORY, ATTRIBUTES, DESCRIPTION)
# Catalogue columns that are never attributes: the id, the named text fields and known numbers.
_NOT_ATTRIBUTES = frozenset({ITEM_ID, TITLE, BRAND, CATEGORY, DESCRIPTION, PRICE, FIRST_SEEN})
# A field is "all capitals" when it has no lower-case letter and at least this many capitals:
# short acronyms (USB, TV) stay as they are.
_MIN_CAPITALS = 4
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def readable_case(text: str) -> str:
    """``text`` with each word capitalised when it is written in capitals only, else as is.

    Words with a digit (``PS4``, ``3DS``) keep their case; mixed-case text is left alone.

    Examples
    --------
    >>> readable_case("NINTENDO SWITCH PRO CONTROLLER - PS4 EDITION")
    'Nintendo Switch Pro Controller - PS4 Edition'
    >>> readable_case("Fire Emblem: The Sacred Stones")
    'Fire Emblem: The Sacred Stones'
    """
    letters = [char for char in text if char.isalpha()]
    if any(char.islower() for char in letters) or sum(c.isupper() for c in letters) < _MIN_CAPITALS:
        return text
    words = text.split(" ")
    return " ".join(
        word if any(char.isdigit() for char in word) else _WORD.sub(_capitalise, word)
        for word in words
    )


def _capitalise(match: re.Match[str]) -> str:
    return match.group(0).capitalize()


def attribute_columns(catalog: pd.DataFrame) -> list[str]:
    """Columns of ``catalog`` read as attributes: text columns other than the named fields.

    Numbers, times, flags and internal columns (a leading underscore) are not attributes.
    """
    return [
        column
        for column in catalog.columns
        if column not in _NOT_ATTRIBUTES
        and not str(column).startswith("_")
        and not pd.api.types.is_numeric_dtype(catalog[column])
        and not pd.api.types.is_datetime64_any_dtype(catalog[column])
        and not pd.api.types.is_bool_dtype(catalog[column])
    ]


def _clean(values: pd.Series) -> list[str]:
    values = values.astype(object).where(values.notna(), "")
    return [readable_case(" ".join(str(value).split())) for value in values]


def align_catalog(
    catalog: pd.DataFrame | None, item_ids: Sequence[str] | np.ndarray
) -> pd.DataFrame:
    """Catalogue text fields aligned to ``item_ids``, one row per id, in that order.

    Parameters
    ----------
    catalog : pandas.DataFrame or None
        Catalogue with an ``item_id`` column and any of ``title``, ``brand``, ``category``,
        ``description`` and attribute columns (:func:`attribute_columns`). The first row of a
        repeated ``item_id`` wins.
    item_ids : sequence of str
        The ids to align to (a model's item index).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TEXT_FIELDS` as single-spaced strings in a readable case; ``attributes``
        joins the non-empty attribute columns as ``"name value"`` (underscores of the column
        name as spaces), separated by commas. Ids missing from the catalogue, missing columns
        and nulls give empty strings.
    """
    ids = pd.Index([str(value) for value in item_ids])
    if catalog is None or ITEM_ID not in catalog.columns or catalog.empty:
        return pd.DataFrame({field: [""] * len(ids) for field in TEXT_FIELDS}, index=ids)
    attributes = attribute_columns(catalog)
    present = [field for field in TEXT_FIELDS if field in catalog.columns and field != ATTRIBUTES]
    table = catalog[[ITEM_ID, *present, *attributes]].copy()
    table[ITEM_ID] = table[ITEM_ID].astype(str)
    table = table.drop_duplicates(ITEM_ID).set_index(ITEM_ID).reindex(ids)
    out = pd.DataFrame(index=ids)
    for field in TEXT_FIELDS:
        out[field] = _clean(table[field]) if field in present else [""] * len(ids)
    if attributes:
        named = [
            [f"{column.replace('_', ' ').strip()} {value}" if value else "" for value in values]
            for column, values in ((column, _clean(table[column])) for column in attributes)
        ]
        out[ATTRIBUTES] = [
            ", ".join(part for part in row if part) for row in zip(*named, strict=True)
        ]
    return out


def compose_text(title: str, brand: str, category: str, attributes: str, description: str) -> str:
    """Join the non-empty fields into sentences; the brand is left out when the title names it."""
    if brand and title and brand.casefold() in title.casefold():
        brand = ""
    text = ""
    for part in (title, brand, category, attributes, description):
        part = part.strip()
        if not part:
            continue
        if text:
            text += " " if text.endswith((".", "!", "?", "。")) else ". "
        text += part
    return text


def product_texts(catalog: pd.DataFrame | None, item_ids: Sequence[str] | np.ndarray) -> list[str]:
    """One text per id of ``item_ids`` (empty for products without any text).

    Examples
    --------
    >>> catalog = pd.DataFrame({"item_id": ["a"], "title": ["OAK TABLE"], "brand": ["Woody"],
    ...                         "category": ["Home > Tables"], "description": ["Solid oak."],
    ...                         "colour": ["brown"], "price": [99.0]})
    >>> product_texts(catalog, ["a", "zz"])
    ['Oak Table. Woody. Home > Tables. colour brown. Solid oak.', '']
    """
    fields = align_catalog(catalog, item_ids)
    columns = [fields[field].tolist() for field in TEXT_FIELDS]
    return [compose_text(*row) for row in zip(*columns, strict=True)]
