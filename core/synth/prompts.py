"""Source texts of the synthetic text generators: product prompts, and the normal form of texts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.errors import LMError
from core.schema import BRAND, CATEGORY, ITEM_ID, TITLE

# Catalogue attributes a product prompt names after its title, category and brand, when present.
ATTRIBUTE_COLUMNS: tuple[str, ...] = ("colour", "color", "material", "size", "feature")
PROMPT_SEPARATOR = " | "


def product_prompts(catalog: pd.DataFrame, item_ids: Sequence[str] | np.ndarray) -> list[str]:
    """The source text of each product: title, product type, brand and attributes, " | "-joined.

    The product type is the last level of the category path. The brand and attributes that the
    title already names are left out (a shorter prompt trains faster and says the same), and
    so are empty fields; ids not in ``catalog`` give an empty prompt.

    Examples
    --------
    >>> catalog = pd.DataFrame({"item_id": ["a"], "title": ["Oak Table, Brown"], "brand": ["Woody"],
    ...                         "category": ["Home > Tables"], "colour": ["brown"]})
    >>> product_prompts(catalog, ["a"])
    ['Oak Table, Brown | Tables | Woody']
    """
    if ITEM_ID not in catalog.columns:
        raise LMError("the catalogue needs an item_id column")
    fields = [c for c in (TITLE, CATEGORY, BRAND, *ATTRIBUTE_COLUMNS) if c in catalog.columns]
    table = catalog[[ITEM_ID, *fields]].copy()
    table[ITEM_ID] = table[ITEM_ID].astype(str)
    table = table.drop_duplicates(ITEM_ID).set_index(ITEM_ID)
    table = table.reindex([str(item) for item in item_ids])
    columns = []
    for field in fields:
        values = table[field].astype(object).where(table[field].notna(), "")
        cleaned = [" ".join(str(value).split()) for value in values]
        if field == CATEGORY:
            cleaned = [value.rsplit(">", 1)[-1].strip() for value in cleaned]
        columns.append(cleaned)
    prompts = []
    for row in zip(*columns, strict=True):
        title = row[0].casefold() if fields[0] == TITLE else ""
        parts = [row[0]] if fields[0] == TITLE and row[0] else []
        for field, value in zip(fields, row, strict=True):
            if field == TITLE or not value:
                continue
            if field != CATEGORY and value.casefold() in title:
                continue
            parts.append(value)
        prompts.append(PROMPT_SEPARATOR.join(parts))
    return prompts


def normalise_text(text: str) -> str:
    """Lower-cased, single-spaced, stripped: the form in which texts are compared."""
    return " ".join(str(text).lower().split())
