"""Plotly figures of an experiment, shared by the A/B page and the HTML report."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.evaluation.experiment import (
    METRIC,
    SEGMENT,
    ExperimentResult,
    coverage_curve,
    popularity_profile,
)
from core.evaluation.stats import CI_HIGH, CI_LOW, LIFT, MEAN, P_HOLM, VARIANT
from core.figures.theme import style, whiskers


def _segment(result: ExperimentResult, segment: str) -> pd.DataFrame:
    return result.table[result.table[SEGMENT] == segment]


def metric_bars(
    result: ExperimentResult, metrics: Sequence[str], segment: str = "all"
) -> go.Figure:
    """Grouped bars: a group per metric, a bar per variant, whiskers at the interval."""
    rows = _segment(result, segment)
    figure = go.Figure()
    for variant in result.variants:
        mine = rows[(rows[VARIANT] == variant) & rows[METRIC].isin(metrics)]
        mine = mine.set_index(METRIC).reindex(list(metrics))
        figure.add_bar(
            name=variant,
            x=list(metrics),
            y=mine[MEAN],
            error_y=whiskers(mine[MEAN], mine[CI_LOW], mine[CI_HIGH]),
            hovertemplate="%{x}: %{y:.4f}<extra>" + variant + "</extra>",
        )
    figure.update_layout(barmode="group", yaxis_title="mean per user")
    confidence = result.config["confidence"]
    return style(figure, f"Metrics with {confidence:.0%} intervals ({segment} users)")


def lift_table(
    result: ExperimentResult, metrics: Sequence[str], segment: str = "all"
) -> pd.DataFrame:
    """Treatments x metrics: relative lift over the control as text with significance marks.

    ``**`` marks a Holm-adjusted p-value below 0.01, ``*`` below the experiment's alpha;
    a metric without an interval shows its lift unmarked.
    """
    rows = _segment(result, segment)
    alpha = result.config.get("alpha", 0.05)
    control = result.control
    table = {}
    for variant in result.variants:
        if variant == control:
            continue
        mine = rows[rows[VARIANT] == variant].set_index(METRIC)
        cells = {}
        for metric in metrics:
            if metric not in mine.index:
                continue
            lift, p_holm = mine.at[metric, LIFT], mine.at[metric, P_HOLM]
            if not np.isfinite(lift):
                cells[metric] = "n/a"
                continue
            mark = ""
            if np.isfinite(p_holm):
                mark = " **" if p_holm < 0.01 else " *" if p_holm < alpha else ""
            cells[metric] = f"{lift:+.1%}{mark}"
        table[variant] = cells
    return pd.DataFrame(table).T.reindex(columns=list(metrics))


def tradeoff_scatter(
    result: ExperimentResult, x_metric: str, y_metric: str, segment: str = "all"
) -> go.Figure:
    """One point per variant: ``x_metric`` (e.g. diversity or coverage) against accuracy."""
    rows = _segment(result, segment)
    wide = rows.pivot(index=VARIANT, columns=METRIC, values=MEAN).reindex(result.variants)
    figure = go.Figure(
        go.Scatter(
            x=wide[x_metric],
            y=wide[y_metric],
            mode="markers+text",
            text=wide.index,
            textposition="top center",
            marker={"size": 14},
            hovertemplate=(
                f"{x_metric}: %{{x:.4f}}<br>{y_metric}: %{{y:.4f}}<extra>%{{text}}</extra>"
            ),
        )
    )
    figure.update_layout(xaxis_title=x_metric, yaxis_title=y_metric)
    return style(figure, f"{y_metric} against {x_metric}")


def segment_heatmap(result: ExperimentResult, metric: str) -> go.Figure:
    """Segments x variants coloured by ``metric``; the cell text adds the lift and its mark."""
    rows = result.table[result.table[METRIC] == metric]
    segments = list(dict.fromkeys(rows[SEGMENT]))
    values = rows.pivot(index=SEGMENT, columns=VARIANT, values=MEAN).reindex(
        index=segments, columns=result.variants
    )
    lifts = rows.pivot(index=SEGMENT, columns=VARIANT, values=LIFT).reindex_like(values)
    p_holm = rows.pivot(index=SEGMENT, columns=VARIANT, values=P_HOLM).reindex_like(values)
    n_users = rows.groupby(SEGMENT)["n_users"].first().reindex(segments)
    alpha = result.config.get("alpha", 0.05)
    text = []
    for segment in segments:
        line = []
        for variant in result.variants:
            value, lift, p = (
                values.at[segment, variant],
                lifts.at[segment, variant],
                p_holm.at[segment, variant],
            )
            cell = "" if not np.isfinite(value) else f"{value:.4f}"
            if np.isfinite(lift):
                mark = "*" if np.isfinite(p) and p < alpha else ""
                cell += f"<br>{lift:+.0%}{mark}"
            line.append(cell)
        text.append(line)
    figure = go.Figure(
        go.Heatmap(
            z=values.to_numpy(dtype=float),
            x=result.variants,
            y=[f"{s} ({int(n):,} users)" for s, n in n_users.items()],
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            hovertemplate="%{y}<br>%{x}: %{z:.4f}<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed")
    return style(figure, f"{metric} by segment (lift vs control, * significant)")


def coverage_figure(result: ExperimentResult) -> go.Figure:
    """Catalogue coverage of each variant's top-k as k grows."""
    curve = coverage_curve(result)
    figure = go.Figure()
    for variant, rows in curve.groupby(VARIANT, sort=False):
        figure.add_scatter(x=rows["k"], y=rows["coverage"], mode="lines+markers", name=variant)
    figure.update_layout(
        xaxis_title="k", yaxis_title="share of the catalogue recommended", yaxis_tickformat=".0%"
    )
    return style(figure, "Catalogue coverage over k")


def popularity_figure(result: ExperimentResult, k: int = 10) -> go.Figure:
    """Share of recommended items per popularity decile, beside the catalogue's share."""
    profile = popularity_profile(result, k=k)
    figure = go.Figure()
    for variant, rows in profile.groupby(VARIANT, sort=False):
        figure.add_bar(x=rows["bin"], y=rows["share"], name=variant)
    figure.update_layout(
        barmode="group",
        xaxis_title="item popularity decile (1 = most popular tenth of the catalogue)",
        yaxis_title="share",
        yaxis_tickformat=".0%",
    )
    return style(figure, f"Popularity of the top-{k} vs the catalogue")


def online_figure(online: pd.DataFrame) -> go.Figure:
    """Simulated click-through and conversion per variant with interval whiskers.

    ``online`` is the summary of :func:`core.evaluation.online.simulate_online_ab`.
    """
    figure = go.Figure()
    for measure, label in (("ctr", "clicks per list"), ("conversion_rate", "purchases per list")):
        rows = online[online[METRIC] == measure]
        figure.add_bar(
            name=label,
            x=rows[VARIANT],
            y=rows[MEAN],
            error_y=whiskers(rows[MEAN], rows[CI_LOW], rows[CI_HIGH]),
        )
    figure.update_layout(barmode="group", yaxis_title="per list shown")
    return style(figure, "Simulated online A/B on the sample world's ground-truth users")
