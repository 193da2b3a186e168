"""Catalogue fields as the synthetic text generators read them: aligned rows, clean strings,
product types and price levels; whether a catalogue is too thin to write from, and the names of
products bought together (what a thin catalogue still offers)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.data.workspace import Workspace
from core.errors import QueryGenerationError
from core.schema import (
    ADD_TO_CART,
    BRAND,
    CATALOG_TABLE,
    CATEGORY,
    DESCRIPTION,
    EVENT,
    EVENTS_TABLE,
    ITEM_ID,
    PRICE,
    PURCHASE,
    SESSION_ID,
    TITLE,
    TS,
    USER_ID,
)

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


# A catalogue is thin when fewer than THIN_SHARE of its products have any text beyond the
# name (description, category, brand, attributes) and its names are short.
THIN_SHARE = 0.1
THIN_NAME_WORDS = 8
RICH_COLUMNS: tuple[str, ...] = (
    DESCRIPTION, CATEGORY, BRAND, "colour", "color", "material", "size", "feature",
)  # fmt: skip


def thin_catalogue_note(catalog: pd.DataFrame) -> str | None:
    """A message when the catalogue has too little text to write from, else None.

    Thin: fewer than :data:`THIN_SHARE` of the products have any of :data:`RICH_COLUMNS`, and
    names have at most :data:`THIN_NAME_WORDS` words on median (an invoice log's "WHITE
    HANGING HEART T-LIGHT HOLDER").
    """
    if catalog.empty:
        return None
    present = [c for c in RICH_COLUMNS if c in catalog.columns]
    has_text = np.zeros(len(catalog), dtype=bool)
    for column in present:
        has_text |= np.array([bool(value) for value in catalog_column(catalog, column)])
    words = float(np.median([len(t.split()) for t in catalog_column(catalog, TITLE)]))
    if has_text.mean() >= THIN_SHARE or words > THIN_NAME_WORDS:
        return None
    return (
        f"the catalogue has little text: {int((~has_text).sum()):,} of {len(catalog):,} products "
        f"have only a name ({words:.0f} words on median), no description, category, brand or "
        "attributes; texts are built from the name's words, the category and the names of "
        "products bought with it, and will say little more than that"
    )


def co_purchased_names(
    workspace: Workspace, item_ids: Sequence[str], *, k: int = 3
) -> dict[str, list[str]]:
    """The names of the ``k`` products most often bought (or carted) in the same session as
    each product of ``item_ids`` (the same user and day where sessions are missing); products
    bought with nothing are left out."""
    if not workspace.table_exists(EVENTS_TABLE) or not len(item_ids):
        return {}
    with workspace.connect() as con:
        columns = {row[0] for row in con.execute(f"DESCRIBE {EVENTS_TABLE}").fetchall()}
        basket = (
            f"coalesce(CAST({SESSION_ID} AS VARCHAR), CAST({USER_ID} AS VARCHAR) || '/' || "
            f"CAST(CAST({TS} AS DATE) AS VARCHAR))"
            if SESSION_ID in columns
            else f"CAST({USER_ID} AS VARCHAR) || '/' || CAST(CAST({TS} AS DATE) AS VARCHAR)"
        )
        con.register("wanted_items", pd.DataFrame({"item_id": [str(i) for i in item_ids]}))
        frame = con.execute(
            f"""WITH baskets AS (
                SELECT DISTINCT {basket} AS basket, CAST({ITEM_ID} AS VARCHAR) AS item_id
                FROM {EVENTS_TABLE} WHERE {EVENT} IN ('{PURCHASE}', '{ADD_TO_CART}')),
            pairs AS (
                SELECT a.item_id, b.item_id AS other, count(*) AS n
                FROM baskets a JOIN baskets b ON a.basket = b.basket AND a.item_id <> b.item_id
                WHERE a.item_id IN (SELECT item_id FROM wanted_items)
                GROUP BY ALL),
            ranked AS (
                SELECT item_id, other, n,
                       row_number() OVER (PARTITION BY item_id ORDER BY n DESC, other) AS r
                FROM pairs)
            SELECT item_id, other FROM ranked WHERE r <= ? ORDER BY item_id, r""",
            [k],
        ).df()
        con.unregister("wanted_items")
    if frame.empty:
        return {}
    titles = read_catalog(workspace).drop_duplicates(ITEM_ID).set_index(ITEM_ID)
    names = titles[TITLE].astype(str) if TITLE in titles.columns else pd.Series(dtype=str)
    out: dict[str, list[str]] = {}
    for item, other in frame.itertuples(index=False):
        name = " ".join(str(names.get(other, "")).split())
        if name:
            out.setdefault(item, []).append(name)
    return out
