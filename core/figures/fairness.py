"""Plotly figure of the A/B page's fairness section: each item group's share of the exposure per
variant, beside its share of the relevant items."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.evaluation.fairness import (
    EXPOSURE_SHARE,
    GROUP,
    GROUPING,
    RELEVANCE_SHARE,
    VARIANT,
)
from core.figures.theme import OTHER_COLOUR, style, variant_colours

# Groups drawn at most (brands run into the thousands); the table shows them all.
MAX_GROUPS = 20
GROUPING_LABELS = {
    "brand": "brand",
    "category": "top-level category",
    "price": "price band",
    "newness": "new vs established items",
}


def exposure_bars(table: pd.DataFrame, grouping: str) -> go.Figure:
    """Grouped bars per item group: its relevance share (grey) and each variant's exposure share.

    ``table`` holds :func:`core.evaluation.fairness.exposure_table` rows; groups with the largest
    relevance share come first (then the largest exposure share), at most :data:`MAX_GROUPS`.
    """
    rows = table[table[GROUPING] == grouping]
    largest = rows.groupby(GROUP, sort=False)[[RELEVANCE_SHARE, EXPOSURE_SHARE]].max()
    order = largest.sort_values([RELEVANCE_SHARE, EXPOSURE_SHARE], ascending=False).index
    shown = list(order[:MAX_GROUPS])
    figure = go.Figure()
    relevance = rows.drop_duplicates(GROUP).set_index(GROUP)[RELEVANCE_SHARE]
    figure.add_bar(
        x=shown, y=relevance.reindex(shown), name="relevance share", marker_color=OTHER_COLOUR
    )
    variants = list(dict.fromkeys(rows[VARIANT]))
    colours = variant_colours(variants)
    for variant in variants:
        exposure = rows[rows[VARIANT] == variant].set_index(GROUP)[EXPOSURE_SHARE]
        figure.add_bar(
            x=shown, y=exposure.reindex(shown), name=f"{variant}: exposure share",
            marker_color=colours[str(variant)],
        )  # fmt: skip
    label = GROUPING_LABELS.get(grouping, grouping)
    title = f"Exposure share against relevance share by {label}"
    if len(order) > len(shown):
        title += f" ({len(shown)} of {len(order)} groups, most relevant first)"
    figure.update_layout(
        barmode="group",
        xaxis={"title": label, "type": "category"},
        yaxis={"title": "share", "tickformat": ".0%"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0.0},
    )
    return style(figure, title, height=420)
