"""Quality figures a reviewer can trust: split by generator and review status, popularity
compared like with like, and the attributes that descriptions state checked against the
catalogue.

* :func:`text_quality_by_group` gives every text measure of :func:`core.synth.quality.
  quality_report` once per (generator, status) group; rejected samples are left out unless
  asked for, so a figure never mixes what a reviewer threw away with what is kept.
* :func:`new_item_popularity` compares synthetic rows per target product with the real rows
  per *comparable* product: one first seen in the log at or after a given time (a new product,
  as the targets are), rather than with every catalogue product's lifetime count.
* :func:`attribute_consistency` reads the colour, material, brand and size that each text
  names and checks them against its product's catalogue fields; :func:`attribute_summary`
  counts agreements per attribute.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.data.workspace import Workspace
from core.errors import QualityError
from core.schema import BRAND, EVENTS_TABLE, ITEM_ID, TS
from core.synth.catalog_fields import catalog_column
from core.synth.prompts import product_prompts
from core.synth.quality import (
    REPORT_COLUMNS,
    fidelity,
    quality_report,
)
from core.synth.store import ACCEPTED, PENDING, STATUSES

DEFAULT_STATUSES: tuple[str, ...] = (PENDING, ACCEPTED)
GROUP_COLUMNS: tuple[str, ...] = ("generator", "status", "n", *REPORT_COLUMNS)
# Attributes checked in texts, with the catalogue columns that may hold them.
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "colour": ("colour", "color"),
    "material": ("material",),
    "brand": (BRAND,),
    "size": ("size",),
}
AGREES, CONTRADICTS, NOT_NAMED = "agrees", "contradicts", "not named"
CONSISTENCY_COLUMNS: tuple[str, ...] = (
    "row", ITEM_ID, "attribute", "catalogue_value", "named_values", "verdict",
)  # fmt: skip


# Groups -----------------------------------------------------------------------------------


def text_quality_by_group(
    samples: pd.DataFrame,
    real_texts: Sequence[str] | None,
    *,
    statuses: Sequence[str] = DEFAULT_STATUSES,
    k: int = 10,
    random_state: int = 0,
) -> pd.DataFrame:
    """Text quality measures per (generator, status) of stored samples.

    Parameters
    ----------
    samples : pandas.DataFrame
        Columns ``generator``, ``status``, ``text`` and optionally ``rank`` (round trip;
        NULL where not measured), as :func:`core.synth.store.list_samples` returns them.
    real_texts : sequence of str, optional
        The real texts (queries, descriptions) to compare lengths and count copies against.
    statuses : sequence of str
        Statuses kept (pending and accepted by default: rejected samples are left out).
    k : int
        Round-trip cut-off of the ``round trip within top k`` measure.
    random_state : int
        Seed of the self-BLEU sample.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`GROUP_COLUMNS` (``n`` is the group's sample count), groups sorted by
        generator then in the order of :data:`core.synth.store.STATUSES`.
    """
    unknown = sorted(set(statuses) - set(STATUSES))
    if unknown:
        raise QualityError(f"unknown statuses {unknown}: use {', '.join(STATUSES)}")
    missing = {"generator", "status", "text"} - set(samples.columns)
    if missing:
        raise QualityError(f"samples need the columns generator, status and text ({missing})")
    kept = samples[samples["status"].isin(list(statuses))]
    parts = []
    for generator in sorted(kept["generator"].unique()):
        for status in [s for s in STATUSES if s in statuses]:
            group = kept[(kept["generator"] == generator) & (kept["status"] == status)]
            if group.empty:
                continue
            ranks = group["rank"].dropna().tolist() if "rank" in group.columns else []
            report = quality_report(
                real_texts=real_texts,
                synthetic_texts=group["text"].tolist(),
                ranks=ranks or None,
                k=k,
                random_state=random_state,
            )
            parts.append(report.assign(generator=generator, status=status, n=len(group)))
    if not parts:
        return pd.DataFrame({column: [] for column in GROUP_COLUMNS})
    return pd.concat(parts, ignore_index=True)[list(GROUP_COLUMNS)]


# Popularity like with like ----------------------------------------------------------------


def new_item_popularity(
    real_events: pd.DataFrame,
    synthetic_rows: pd.DataFrame,
    new_since: pd.Timestamp,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Synthetic rows per target product against real rows per product new since ``new_since``.

    A real product is comparable when its first event in ``real_events`` is at or after
    ``new_since``; its rows are those from then to the end of the log. Each synthetic
    product counts its synthetic rows.

    Returns
    -------
    tuple of pandas.DataFrame and dict
        Report rows (KS statistic, Jensen-Shannon and total variation of the counts, and the
        median count of each side as ``median rows per product``) and the two count arrays
        (keys ``"real new products"`` and ``"synthetic products"``).
    """
    for name, frame, columns in (
        ("real_events", real_events, {ITEM_ID, TS}),
        ("synthetic_rows", synthetic_rows, {ITEM_ID}),
    ):
        if columns - set(frame.columns):
            raise QualityError(f"{name} needs the columns {sorted(columns)}")
    first = pd.to_datetime(real_events[TS]).groupby(real_events[ITEM_ID]).min()
    new_items = first.index[first >= pd.Timestamp(new_since)]
    real_counts = real_events[real_events[ITEM_ID].isin(new_items)].groupby(ITEM_ID).size()
    synthetic_counts = synthetic_rows.groupby(ITEM_ID).size()
    if real_counts.empty or synthetic_counts.empty:
        raise QualityError(
            "no real product is new since the cut-off, or no synthetic row: nothing to compare"
        )
    real, synthetic = real_counts.to_numpy(), synthetic_counts.to_numpy()
    report = fidelity("rows per new product", real, synthetic, numeric=True)
    detail = f"{len(real):,} real new products vs {len(synthetic):,} synthetic products"
    medians = pd.DataFrame(
        [
            ("rows per new product: median, real", float(np.median(real)), detail),
            ("rows per new product: median, synthetic", float(np.median(synthetic)), detail),
        ],
        columns=list(REPORT_COLUMNS),
    )
    counts = {"real new products": real, "synthetic products": synthetic}
    return pd.concat([report, medians], ignore_index=True), counts


# Attribute consistency --------------------------------------------------------------------


def _pattern(values: Sequence[str]) -> re.Pattern[str] | None:
    """Whole-word (a hyphen joins words) alternation of ``values``, longest first."""
    if not values:
        return None
    alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    return re.compile(r"(?<![\w-])(?:" + alternatives + r")(?![\w-])")


def attribute_consistency(
    texts: Sequence[str], item_ids: Sequence[str], catalog: pd.DataFrame
) -> pd.DataFrame:
    """Whether each text states each attribute of its product as the catalogue has it.

    For each attribute of :data:`ATTRIBUTES` with a catalogue value for the text's product, the
    text's mentions of any catalogue value of that attribute are read (whole words, case
    ignored; sizes of three characters or fewer, like "M" or "XL", case kept). Mentions that
    also occur in the product's own fields (title, type, brand, attributes) are not counted
    against it: a face cream's "cream" is no colour claim. The verdict is ``agrees`` when the
    text names the product's own value, ``contradicts`` when it names only other values, and
    ``not named`` otherwise.

    Returns
    -------
    pandas.DataFrame
        One row per (text, attribute with a catalogue value): columns
        :data:`CONSISTENCY_COLUMNS` (``row`` is the text's position; ``named_values`` the
        values read in the text, comma-joined).

    Examples
    --------
    >>> catalog = pd.DataFrame({"item_id": ["a", "b"], "title": ["Mug", "Cup"],
    ...                         "colour": ["red", "blue"]})
    >>> attribute_consistency(["A blue mug.", "A red mug."], ["a", "a"], catalog)["verdict"]
    ... .tolist()
    ['contradicts', 'agrees']
    """
    if len(texts) != len(item_ids):
        raise QualityError(f"{len(texts)} texts for {len(item_ids)} products")
    if ITEM_ID not in catalog.columns:
        raise QualityError("the catalogue needs an item_id column")
    table = catalog.assign(**{ITEM_ID: catalog[ITEM_ID].astype(str)}).drop_duplicates(ITEM_ID)
    table = table.set_index(ITEM_ID)
    ids = [str(item) for item in item_ids]
    unknown = sorted(set(ids) - set(table.index))
    if unknown:
        raise QualityError(f"{len(unknown)} product(s) not in the catalogue, e.g. {unknown[0]!r}")
    distinct = list(dict.fromkeys(ids))
    prompts = product_prompts(table.reset_index(), distinct)
    own_prompt = dict(zip(distinct, prompts, strict=True))
    rows = []
    for attribute, columns in ATTRIBUTES.items():
        column = next((c for c in columns if c in table.columns), None)
        if column is None:
            continue
        values = pd.Series(catalog_column(table, column), index=table.index)
        exact = attribute == "size"
        short = sorted({v for v in values if v and exact and len(v) <= 3})
        folded = sorted({v.lower() for v in values if v and not (exact and len(v) <= 3)})
        patterns = [(_pattern(folded), True), (_pattern(short), False)]
        for row, (text, item) in enumerate(zip(texts, ids, strict=True)):
            own = values[item]
            if not own:
                continue
            prompt = own_prompt[item].lower()
            named: list[str] = []
            for pattern, fold in patterns:
                if pattern is not None:
                    found = pattern.findall(str(text).lower() if fold else str(text))
                    named.extend(found)
            named = list(dict.fromkeys(named))
            own_named = any(value.lower() == own.lower() for value in named)
            others = [v for v in named if v.lower() != own.lower() and v.lower() not in prompt]
            verdict = AGREES if own_named else CONTRADICTS if others else NOT_NAMED
            rows.append((row, item, attribute, own, ", ".join(named), verdict))
    return pd.DataFrame(rows, columns=list(CONSISTENCY_COLUMNS)).sort_values(
        ["row", "attribute"], ignore_index=True
    )


def attribute_summary(consistency: pd.DataFrame) -> pd.DataFrame:
    """Per attribute: texts with a catalogue value (``n``), how many agree, contradict or do
    not name it, and ``agreement`` = agrees / (agrees + contradicts) (NaN when none names
    it)."""
    columns = ["attribute", "n", AGREES, CONTRADICTS, NOT_NAMED, "agreement"]
    if consistency.empty:
        return pd.DataFrame({column: [] for column in columns})
    counts = pd.crosstab(consistency["attribute"], consistency["verdict"])
    counts = counts.reindex(columns=[AGREES, CONTRADICTS, NOT_NAMED], fill_value=0)
    stated = counts[AGREES] + counts[CONTRADICTS]
    summary = counts.assign(
        n=counts.sum(axis=1),
        agreement=np.where(stated > 0, counts[AGREES] / stated.where(stated > 0, 1), np.nan),
    )
    return summary.reset_index()[columns]


def real_item_events(workspace: Workspace) -> pd.DataFrame:
    """``item_id`` and ``ts`` of every event of the workspace's cleaned log (for
    :func:`new_item_popularity`); empty when there is no log."""
    if not workspace.table_exists(EVENTS_TABLE):
        return pd.DataFrame({ITEM_ID: pd.Series(dtype=str), TS: pd.Series(dtype="datetime64[ns]")})
    with workspace.connect() as con:
        return con.execute(
            f"SELECT CAST({ITEM_ID} AS VARCHAR) AS {ITEM_ID}, {TS} FROM {EVENTS_TABLE} "
            f"WHERE {ITEM_ID} IS NOT NULL AND {TS} IS NOT NULL"
        ).df()
