"""The one look of every dashboard figure: template, colours, margins, titles and whiskers."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

TEMPLATE = "plotly_white"
# Series colours in order (Vega's Tableau 10 start): a series keeps its colour from chart to chart.
PALETTE: tuple[str, ...] = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#B279A2", "#9D755D")
OTHER_COLOUR = "#BAB0AC"
# One colour per event type, the same on every chart.
EVENT_COLOURS: dict[str, str] = dict(
    zip(("view", "click", "add_to_cart", "purchase", "rating", "search"), PALETTE, strict=True)
)
# Tight margins: Streamlit already pads the figure; the top leaves room for a title.
MARGIN: dict[str, int] = {"l": 10, "r": 10, "t": 50, "b": 10}


def style(figure: go.Figure, title: str, height: int | None = None) -> go.Figure:
    """Apply the theme and a left-aligned ``title`` (and ``height`` if given) to ``figure``.

    A margin the figure already set is kept (e.g. room for labels past the bars).
    """
    figure.update_layout(template=TEMPLATE, colorway=PALETTE, title={"text": title, "x": 0})
    if height is not None:
        figure.update_layout(height=height)
    if figure.layout.margin.t is None:
        figure.update_layout(margin=MARGIN)
    return figure


def whiskers(mean: pd.Series, low: pd.Series, high: pd.Series) -> dict:
    """Plotly ``error_y`` of asymmetric interval whiskers around ``mean`` (none where unknown)."""
    return {
        "type": "data",
        "symmetric": False,
        "array": (high - mean).fillna(0),
        "arrayminus": (mean - low).fillna(0),
    }
