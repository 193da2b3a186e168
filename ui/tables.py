"""Tables on screen: readable column headers for frames whose columns are code names.

A header is only a label (``column_config``): the frame keeps its column names, so downloads
and the code that reads the frame are unchanged. Columns of the user's own files are never
relabelled: their names are the user's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

from core.figures.charts import metric_label

# Headers that the generic rule (below) would not get right.
COLUMN_LABELS: dict[str, str] = {
    "run_id": "Run",
    "created_at": "Created (UTC)",
    "reviewed_at": "Reviewed (UTC)",
    "n": "Samples",
    "n_rows": "Rows",
    "n_items": "Products",
    "n_users": "Users",
    "n_train": "Training examples",
    "n_parameters": "Parameters",
    "n_synthetic": "Synthetic rows used",
    "item_id": "Item",
    "user_id": "User",
    "ci_low": "Interval low",
    "ci_high": "Interval high",
    "p_value": "p-value",
    "p_holm": "p-value (Holm)",
    "rows_before": "Rows before",
    "rows_after": "Rows after",
    "train_loss": "Training loss",
    "valid_loss": "Validation loss",
    "score": "Mean round-trip score",
}
_COUNT = re.compile(r"^n_(.+)$")


def column_label(name: object) -> str:
    """A readable header for a code column name: ``created_at`` -> "Created (UTC)",
    ``n_events`` -> "Events", ``ndcg@10`` -> "NDCG@10", ``base_encoder`` -> "Base encoder"."""
    text = str(name)
    if text in COLUMN_LABELS:
        return COLUMN_LABELS[text]
    if "@" in text:
        return metric_label(text)
    count = _COUNT.match(text)
    if count:
        text = count.group(1)
    words = text.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else text


def readable_columns(
    columns: Iterable[object], configured: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``column_config`` with a readable label for every column, keeping ``configured`` ones."""
    labels: dict[str, Any] = {str(column): column_label(column) for column in columns}
    return labels | dict(configured or {})


def table(frame: pd.DataFrame, container: Any = st, **kwargs: Any) -> Any:
    """``container.dataframe`` of ``frame`` with readable headers, without its index."""
    config = readable_columns(frame.columns, kwargs.pop("column_config", None))
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("width", "stretch")
    return container.dataframe(frame, column_config=config, **kwargs)
