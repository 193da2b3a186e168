"""Catalogue fields as the synthetic text generators read them: aligned rows, clean strings,
product types and price levels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.data.workspace import Workspace
from core.errors import QueryGenerationError
from core.schema import CATALOG_TABLE, CATEGORY, ITEM_ID, PRICE

# A product is cheap below LOW_PRICE_RATIO x its type's median price, dear above HIGH_PRICE_RATIO.
LOW_PRICE_RATIO = 0.75
HIGH_PRICE_RATIO = 1.5


def singular(noun_phrase: str) -> str:
    """The phrase with its last word made singular by English suffix rules ("Frying Pans" ->
    "frying pan", "Batteries" -> "battery"), lower-cased."""
    words = noun_phrase.lower().split()
    if not words:
        return ""
    last = words[-1]
    if last.endswith("ies") and len(last) > 4:
        last = last[:-3] + "y"
    elif last.endswith(("sses", "shes", "ches", "xes", "zes")):
        last = last[:-2]
    elif last.endswith("s") and not last.endswith(("ss", "us", "is")) and len(last) > 3:
        last = last[:-1]
    return " ".join([*words[:-1], last])


def catalog_column(catalog: pd.DataFrame, name: str) -> list[str]:
    """The column ``name`` as single-spaced strings, "" for nulls and for a missing column."""
    if name not in catalog.columns:
        return [""] * len(catalog)
    values = catalog[name].astype(object).where(catalog[name].notna(), "")
    return [" ".join(str(value).split()) for value in values]


def aligned_catalog(catalog: pd.DataFrame, item_ids: Sequence[str] | None) -> pd.DataFrame:
    """One catalogue row per id of ``item_ids`` in that order (every product when None), with
    string ids; raises QueryGenerationError for ids not in the catalogue."""
    if ITEM_ID not in catalog.columns:
        raise QueryGenerationError("the catalogue needs an item_id column")
    table = catalog.assign(**{ITEM_ID: catalog[ITEM_ID].astype(str)}).drop_duplicates(ITEM_ID)
    if item_ids is None:
        return table.reset_index(drop=True)
    ids = [str(item) for item in item_ids]
    unknown = sorted(set(ids) - set(table[ITEM_ID]))
    if unknown:
        raise QueryGenerationError(
            f"{len(unknown)} product(s) not in the catalogue, e.g. {unknown[0]!r}"
        )
    return table.set_index(ITEM_ID).loc[ids].reset_index()


def price_words(catalog: pd.DataFrame) -> list[str]:
    """``"low"``, ``"high"`` or ``""`` per product: its price against the median price of its
    category (below LOW_PRICE_RATIO or above HIGH_PRICE_RATIO times it); ``""`` when unknown."""
    if PRICE not in catalog.columns:
        return [""] * len(catalog)
    types = pd.Series(catalog_column(catalog, CATEGORY), index=catalog.index)
    price = pd.to_numeric(catalog[PRICE], errors="coerce")
    ratio = price / price.groupby(types).transform("median")
    words = np.where(ratio < LOW_PRICE_RATIO, "low", np.where(ratio > HIGH_PRICE_RATIO, "high", ""))
    return [str(word) for word in words]


def read_catalog(workspace: Workspace) -> pd.DataFrame:
    """The workspace's cleaned catalogue; raises QueryGenerationError when there is none."""
    if not workspace.table_exists(CATALOG_TABLE):
        raise QueryGenerationError(
            f"no catalogue in workspace {workspace.name!r}: load a dataset and clean it first"
        )
    catalog = workspace.read_table(CATALOG_TABLE)
    return catalog.assign(**{ITEM_ID: catalog[ITEM_ID].astype(str)})
