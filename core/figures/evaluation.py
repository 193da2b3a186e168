"""Plotly figures of an experiment, shared by the A/B page and the HTML report."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.evaluation.experiment import (
    METRIC,
    NOT_AVAILABLE,
    SEGMENT,
    ExperimentResult,
    coverage_curve,
    popularity_profile,
)
from core.evaluation.stats import (
    CI_HIGH,
    CI_LOW,
    DIFF_CI_HIGH,
    DIFF_CI_LOW,
    LIFT,
    MEAN,
    P_HOLM,
    P_VALUE,
    VARIANT,
)
from core.evaluation.verdict import significance_levels, significance_mark
from core.figures.theme import colour_traces, style, variant_colours, whiskers


def _segment(result: ExperimentResult, segment: str) -> pd.DataFrame:
    return result.table[result.table[SEGMENT] == segment]


def metric_bars(
    result: ExperimentResult, metrics: Sequence[str], segment: str = "all"
) -> go.Figure:
    """One panel per metric, each with its own scale (coverage near 0.8 and NDCG near 0.06 do
    not share an axis), a bar per variant with whiskers at the interval. Metrics not available
    on the data are left out."""
    rows = _segment(result, segment)
    available = rows[rows[NOT_AVAILABLE] == ""][METRIC].unique()
    metrics = [metric for metric in metrics if metric in available]
    columns = min(max(len(metrics), 1), 4)
    n_rows = -(-max(len(metrics), 1) // columns)
    figure = make_subplots(
        rows=n_rows, cols=columns, subplot_titles=metrics, horizontal_spacing=0.06
    )
    colours = variant_colours(result.variants)
    for position, metric in enumerate(metrics):
        mine = rows[rows[METRIC] == metric].set_index(VARIANT).reindex(result.variants)
        figure.add_bar(
            x=result.variants,
            y=mine[MEAN],
            error_y=whiskers(mine[MEAN], mine[CI_LOW], mine[CI_HIGH]),
            marker_color=[colours[variant] for variant in result.variants],
            hovertemplate="%{x}: %{y:.4f}<extra>" + metric + "</extra>",
            showlegend=False,
            row=position // columns + 1,
            col=position % columns + 1,
        )
    figure.update_layout(height=max(320, 300 * n_rows))
    confidence = result.config["confidence"]
    return style(figure, f"Metrics with {confidence:.0%} intervals ({segment} users)")


def lift_table(
    result: ExperimentResult, metrics: Sequence[str], segment: str = "all"
) -> pd.DataFrame:
    """Treatments x metrics: relative lift over the control as text with significance marks.

    A mark per level of :func:`core.evaluation.verdict.significance_levels` that the
    Holm-adjusted p-value reaches (only levels the experiment can reach); a metric without an
    interval shows its lift unmarked, a metric not available on the data ``not available``.
    """
    rows = _segment(result, segment)
    levels = significance_levels(result, segment)
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
            if mine.at[metric, NOT_AVAILABLE]:
                cells[metric] = "not available"
                continue
            lift, p_holm = mine.at[metric, LIFT], mine.at[metric, P_HOLM]
            if not np.isfinite(lift):
                cells[metric] = "n/a"
                continue
            mark = significance_mark(p_holm, levels)
            cells[metric] = f"{lift:+.1%}" + (f" {mark}" if mark else "")
        table[variant] = cells
    return pd.DataFrame(table).T.reindex(columns=list(metrics))


def comparison_table(
    result: ExperimentResult, metrics: Sequence[str], segment: str = "all"
) -> pd.DataFrame:
    """One row per treatment and metric with readable column names: the difference with its
    interval, the lift, the raw and the Holm-adjusted p-value and the significance mark."""
    rows = _segment(result, segment)
    rows = rows[(rows[VARIANT] != result.control) & rows[METRIC].isin(metrics)]
    levels = significance_levels(result, segment)
    confidence = result.config["confidence"]
    frame = pd.DataFrame(
        {
            "Variant": rows[VARIANT],
            "Metric": rows[METRIC],
            "Mean": rows[MEAN],
            "Difference": rows["diff"],
            f"{confidence:.0%} interval, low": rows[DIFF_CI_LOW],
            f"{confidence:.0%} interval, high": rows[DIFF_CI_HIGH],
            "Lift": rows[LIFT],
            "p (raw)": rows[P_VALUE],
            "p (Holm, per metric)": rows[P_HOLM],
            "Significance": [significance_mark(p, levels) for p in rows[P_HOLM]],
            "Not available because": rows[NOT_AVAILABLE],
        }
    )
    return frame.reset_index(drop=True)


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
            marker={"size": 14, "color": [variant_colours(result.variants)[v] for v in wide.index]},
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
    levels = significance_levels(result)
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
                cell += f"<br>{lift:+.0%}{significance_mark(p, levels)}"
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
    colour_traces(figure, variant_colours(result.variants))
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
    colour_traces(figure, variant_colours(result.variants))
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


READABLE_COLUMNS: dict[str, str] = {
    VARIANT: "Variant",
    METRIC: "Metric",
    SEGMENT: "Segment",
    "n_users": "Users",
    MEAN: "Mean",
    CI_LOW: "Interval low",
    CI_HIGH: "Interval high",
    "diff": "Difference",
    DIFF_CI_LOW: "Difference, interval low",
    DIFF_CI_HIGH: "Difference, interval high",
    LIFT: "Lift",
    P_VALUE: "p (raw)",
    P_HOLM: "p (Holm)",
    "significant": "Significant",
    NOT_AVAILABLE: "Not available because",
    "source": "List source",
    "share": "Share of test users",
}


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the result columns renamed for people (``p_holm`` -> ``p (Holm)``)."""
    return frame.rename(columns=READABLE_COLUMNS)
