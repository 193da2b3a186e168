"""The one look of every dashboard figure: template, colours, margins, titles and whiskers."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go

from core.models.registry import available_models

TEMPLATE = "plotly_white"
# Series colours in order (Vega's Tableau 10 start): a series keeps its colour from chart to chart.
PALETTE: tuple[str, ...] = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#B279A2", "#9D755D")
OTHER_COLOUR = "#BAB0AC"
# One colour per event type, the same on every chart.
EVENT_COLOURS: dict[str, str] = dict(
    zip(("view", "click", "add_to_cart", "purchase", "rating", "search"), PALETTE, strict=True)
)
# Colours of variants and models (Vega's Tableau 10 without its grey, which means "other").
VARIANT_PALETTE: tuple[str, ...] = (
    "#4C78A8", "#F58518", "#E45756", "#72B7B2", "#54A24B", "#EECA3B", "#B279A2", "#FF9DA6",
    "#9D755D",
)  # fmt: skip
# Each model keeps its own colour; other variant names are placed by a hash.
_MODEL_SLOTS: dict[str, int] = {name: slot for slot, name in enumerate(available_models())}
# Tight margins: Streamlit already pads the figure; the top leaves room for a title.
MARGIN: dict[str, int] = {"l": 10, "r": 10, "t": 50, "b": 10}


def style(figure: go.Figure, title: str, height: int | None = None) -> go.Figure:
    """Apply the theme and a left-aligned ``title`` (and ``height`` if given) to ``figure``.

    A margin the figure already set is kept (e.g. room for labels past the bars).
    """
    figure.update_layout(template=TEMPLATE, colorway=PALETTE, title={"text": title, "x": 0})
    # Long tick labels (variant names, categories) grow the margin instead of being cut.
    figure.update_xaxes(automargin=True)
    figure.update_yaxes(automargin=True)
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


def variant_colours(names: Iterable[str]) -> dict[str, str]:
    """One colour per variant or model name, the same in every chart that shows it.

    A name that starts with a model's name (``als``, ``item_knn+synthetic``) takes that model's
    colour; any other name a colour picked by a stable hash of the name (CRC-32, the same in
    every process). So a colour does not depend on which other variants a chart shows or in what
    order. Two names of one chart that want the same colour are told apart: in name order, a
    later one takes the next free colour (the only case where a colour depends on the others).
    """
    colours: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(set(map(str, names))):
        slot = _preferred_slot(name)
        for step in range(len(VARIANT_PALETTE)):
            colour = VARIANT_PALETTE[(slot + step) % len(VARIANT_PALETTE)]
            if colour not in taken or len(taken) >= len(VARIANT_PALETTE):
                break
        colours[name] = colour
        taken.add(colour)
    return colours


def _preferred_slot(name: str) -> int:
    # Longest model name first, so that a name matches its most specific model.
    for model in sorted(_MODEL_SLOTS, key=len, reverse=True):
        if name.startswith(model):
            return _MODEL_SLOTS[model]
    return zlib.crc32(name.encode("utf-8")) % len(VARIANT_PALETTE)


def colour_traces(figure: go.Figure, colours: dict[str, str]) -> go.Figure:
    """Colour every trace of ``figure`` named in ``colours`` (bars, lines and markers)."""
    for trace in figure.data:
        colour = colours.get(trace.name)
        if colour is None:
            continue
        if trace.type in ("scatter", "scattergl"):
            trace.update(marker={"color": colour}, line={"color": colour})
        elif hasattr(trace, "marker"):
            trace.update(marker={"color": colour})
    return figure
