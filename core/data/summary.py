"""Summaries of a workspace's data for display: the whole profile, the interaction matrix's
size and weights, and the search queries of the cleaned log.

Each function reads the workspace once and returns plain values, so a front end can cache
and show them without touching DuckDB or the matrix itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from core.data import profile
from core.data.interactions import build_interactions
from core.data.workspace import Workspace
from core.schema import EVENTS_TABLE, QUERY


def profile_summary(ws: Workspace, table: str) -> dict[str, Any]:
    """Every profile of the events ``table`` (``events`` or ``raw_events``).

    Keys: ``table`` and the results of ``counts`` (:func:`core.data.profile.dataset_counts`),
    ``funnel``, ``popularity``, ``concentration``, ``activity`` and ``categories``.
    """
    return {
        "table": table,
        "counts": profile.dataset_counts(ws, table),
        "funnel": profile.funnel(ws, table),
        "popularity": profile.item_popularity(ws, table),
        "concentration": profile.popularity_concentration(ws, table),
        "activity": profile.user_activity(ws, table),
        "categories": profile.category_mix(ws, table),
    }


def interaction_summary(
    ws: Workspace, weights: Mapping[str, float], half_life_days: float | None
) -> dict[str, float]:
    """Shape, entries, density and weight statistics (mean, median, max) of the user x item
    matrix :func:`core.data.interactions.build_interactions` makes with these weights."""
    matrix = build_interactions(ws, weights=dict(weights), half_life_days=half_life_days)
    values = matrix.matrix.data
    return {
        "n_users": matrix.n_users,
        "n_items": matrix.n_items,
        "nnz": matrix.nnz,
        "density": matrix.density,
        "weight_mean": float(values.mean()) if len(values) else 0.0,
        "weight_median": float(np.median(values)) if len(values) else 0.0,
        "weight_max": float(values.max()) if len(values) else 0.0,
    }


def search_queries(ws: Workspace) -> list[str]:
    """Every non-empty search query of the cleaned log, repeats kept."""
    with ws.connect() as con:
        rows = con.execute(
            f"SELECT {QUERY} FROM {EVENTS_TABLE} WHERE {QUERY} IS NOT NULL AND {QUERY} <> ''"
        ).fetchall()
    return [row[0] for row in rows]
