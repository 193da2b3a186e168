"""One text per product, built from its title, brand, category and description.

Content and semantic models, the embedding cache and fine-tuning all read products through
:func:`product_texts`, so a product is described the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.schema import BRAND, CATEGORY, DESCRIPTION, ITEM_ID, TITLE

# Order matters for the encoder: it truncates long texts at the end, so the description goes last.
TEXT_FIELDS: tuple[str, ...] = (TITLE, BRAND, CATEGORY, DESCRIPTION)


def align_catalog(
    catalog: pd.DataFrame | None, item_ids: Sequence[str] | np.ndarray
) -> pd.DataFrame:
    """Catalogue text fields aligned to ``item_ids``, one row per id, in that order.

    Parameters
    ----------
    catalog : pandas.DataFrame or None
        Catalogue with an ``item_id`` column and any of ``title``, ``brand``, ``category``,
        ``description``. The first row of a repeated ``item_id`` wins.
    item_ids : sequence of str
        The ids to align to (a model's item index).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TEXT_FIELDS` as stripped strings; ids missing from the catalogue, missing
        columns and nulls give empty strings.
    """
    ids = pd.Index([str(value) for value in item_ids])
    if catalog is None or ITEM_ID not in catalog.columns or catalog.empty:
        return pd.DataFrame({field: [""] * len(ids) for field in TEXT_FIELDS}, index=ids)
    present = [field for field in TEXT_FIELDS if field in catalog.columns]
    table = catalog[[ITEM_ID, *present]].copy()
    table[ITEM_ID] = table[ITEM_ID].astype(str)
    table = table.drop_duplicates(ITEM_ID).set_index(ITEM_ID).reindex(ids)
    out = pd.DataFrame(index=ids)
    for field in TEXT_FIELDS:
        if field in table.columns:
            values = table[field].astype(object).where(table[field].notna(), "")
            out[field] = [str(value).strip() for value in values]
        else:
            out[field] = ""
    return out


def compose_text(title: str, brand: str, category: str, description: str) -> str:
    """Join the non-empty fields into sentences; the brand is left out when the title names it."""
    if brand and title and brand.casefold() in title.casefold():
        brand = ""
    text = ""
    for part in (title, brand, category, description):
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
    >>> catalog = pd.DataFrame({"item_id": ["a"], "title": ["Oak Table"], "brand": ["Woody"],
    ...                         "category": ["Home > Tables"], "description": ["Solid oak."]})
    >>> product_texts(catalog, ["a", "zz"])
    ['Oak Table. Woody. Home > Tables. Solid oak.', '']
    """
    fields = align_catalog(catalog, item_ids)
    columns = [fields[field].tolist() for field in TEXT_FIELDS]
    return [compose_text(*row) for row in zip(*columns, strict=True)]
