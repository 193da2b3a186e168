"""Figures of synthetic-data trade-offs: utility against privacy, and feedback rounds."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.figures.theme import style, variant_colours, whiskers


def dp_utility(frame: pd.DataFrame) -> go.Figure:
    """Utility against epsilon: one point per noise level with its interval.

    ``frame`` has ``epsilon`` (None or inf for non-private training), ``noise_multiplier``,
    ``mean``, ``ci_low``, ``ci_high`` and ``label`` (the metric). Non-private training is drawn
    as a dashed line, and the real-data-only model as a dotted one when a row has ``epsilon``
    NaN and ``noise_multiplier`` NaN with ``variant == "real"``.
    """
    figure = go.Figure()
    private = frame[frame["epsilon"].notna() & (frame["epsilon"] < float("inf"))]
    private = private.sort_values("epsilon")
    figure.add_scatter(
        x=private["epsilon"],
        y=private["mean"],
        mode="lines+markers+text",
        text=[f"σ={value:g}" for value in private["noise_multiplier"]],
        textposition="top center",
        name="private GRU (real + synthetic)",
        error_y=whiskers(private["mean"], private["ci_low"], private["ci_high"]),
    )
    for variant, dash in (("non-private", "dash"), ("real", "dot")):
        rows = frame[frame["variant"] == variant]
        if len(rows):
            figure.add_hline(
                y=float(rows["mean"].iloc[0]), line_dash=dash,
                annotation_text=f"{variant}: {float(rows['mean'].iloc[0]):.3f}",
            )  # fmt: skip
    label = str(frame["label"].iloc[0]) if len(frame) else "utility"
    figure.update_xaxes(title="epsilon at delta = 1e-5 (log scale)", type="log")
    figure.update_yaxes(title=label)
    return style(figure, f"Utility against privacy: {label}", height=380)


FEEDBACK_MEASURES: tuple[tuple[str, str], ...] = (
    ("recall@k", "Recall (real test data)"),
    ("coverage", "catalogue coverage"),
    ("exposure_gini", "Gini of exposure"),
    ("long_tail_share", "long-tail share"),
)


def feedback_rounds(frame: pd.DataFrame) -> go.Figure:
    """Four panels over the rounds (accuracy, coverage, Gini of exposure, long-tail share), a
    line per variant; ``frame`` is :func:`core.evaluation.feedback_rounds.feedback_rounds`'s."""
    titles = [title for _, title in FEEDBACK_MEASURES]
    figure = make_subplots(rows=2, cols=2, subplot_titles=titles)
    colours = variant_colours(frame["variant"])
    for position, (column, _) in enumerate(FEEDBACK_MEASURES):
        row, col = divmod(position, 2)
        for variant, part in frame.groupby("variant", sort=False):
            figure.add_scatter(
                x=part["round"], y=part[column], mode="lines+markers", name=str(variant),
                line_color=colours[str(variant)], showlegend=position == 0,
                row=row + 1, col=col + 1,
            )  # fmt: skip
    figure.update_xaxes(title="round", dtick=1)
    return style(figure, "Feedback rounds: deploy, simulate shoppers, retrain", height=560)
