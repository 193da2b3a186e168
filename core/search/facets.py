"""Shown values and facet counts of search results, as numpy arrays (no pandas per query)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def nice_round(value: float) -> float:
    """``value`` rounded to two significant digits."""
    if value <= 0 or not math.isfinite(value):
        return 0.0
    digits = 1 - math.floor(math.log10(value))
    return round(value, digits)


def shown_values(catalog: pd.DataFrame, column: str) -> np.ndarray:
    """Values of ``column`` as an object array, missing values (or no column) as ``""``."""
    if column not in catalog.columns:
        return np.full(len(catalog), "", dtype=object)
    values = catalog[column]
    return values.astype(object).where(values.notna(), "").to_numpy()


def value_counts(values: np.ndarray) -> pd.DataFrame:
    """``value``, ``count`` of the non-empty ``values``, most frequent first, then by value."""
    values = values[values != ""]
    distinct, counts = np.unique(values, return_counts=True) if len(values) else ([], [])
    order = np.argsort(-np.asarray(counts, dtype=np.int64), kind="stable")
    return pd.DataFrame({"value": np.asarray(distinct, dtype=object)[order],
                         "count": np.asarray(counts, dtype=np.int64)[order]})  # fmt: skip
