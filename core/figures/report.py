"""Standalone HTML report of an experiment: settings, tables and the interactive figures.

The report embeds plotly.js once, so it opens offline in any browser and can be mailed as a
single file.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pandas as pd
import plotly.graph_objects as go

from core.evaluation.experiment import ExperimentResult, metric_table
from core.evaluation.verdict import significance_levels, verdict
from core.figures import evaluation as figures

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.note { color: #555; font-size: 0.9rem; }
"""


def _table_html(frame: pd.DataFrame, float_format: str = "{:.4f}") -> str:
    def cell(value: object) -> str:
        if isinstance(value, float):
            return "" if pd.isna(value) else float_format.format(value)
        return html.escape(str(value))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [frame.index.name or "", *frame])
    rows = "".join(
        "<tr>" + "".join(f"<td>{cell(v)}</td>" for v in [index, *row]) + "</tr>"
        for index, row in zip(frame.index, frame.itertuples(index=False), strict=True)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def split_text(split: dict | None) -> str:
    """The split settings of an experiment's config as words, e.g. ``temporal split, test
    fraction 0.2, valid fraction 0.1``."""
    if not split:
        return "not recorded"
    settings = dict(split)
    method = settings.pop("method", "unknown")
    parts = [f"{str(method).replace('_', ' ')} split"]
    parts += [f"{str(key).replace('_', ' ')} {value}" for key, value in settings.items()]
    return ", ".join(parts)


def experiment_report_html(
    result: ExperimentResult, title: str, online: pd.DataFrame | None = None
) -> str:
    """The report of ``result`` as one HTML document.

    Parameters
    ----------
    result : ExperimentResult
        A finished or reopened experiment.
    title : str
        Heading of the report.
    online : pandas.DataFrame, optional
        Simulated online A/B table, shown as a figure; by default the experiment's own.
    """
    online = result.online if online is None else online
    config = result.config
    metrics = config["metrics"]
    accuracy = metrics[0]
    charts: list[go.Figure] = [figures.metric_bars(result, metrics)]
    for other in ("category_diversity", "ild", "coverage"):
        matching = [
            m
            for m in metrics
            if m.split("@")[0] == other
            and (result.table.loc[result.table["metric"] == m, "not_available"] == "").all()
        ]
        if matching:
            charts.append(figures.tradeoff_scatter(result, matching[0], accuracy))
    charts += [
        figures.segment_heatmap(result, accuracy),
        figures.coverage_figure(result),
        figures.popularity_figure(result),
    ]
    if online is not None and not online.empty:
        charts.append(figures.online_figure(online))
    parts = [
        chart.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False)
        for i, chart in enumerate(charts)
    ]
    control = config.get("control")
    levels = significance_levels(result)
    marks = ", ".join(f"{'*' * (i + 1)} p &lt; {level}" for i, level in enumerate(levels))
    settings = (
        f"Variants: {html.escape(', '.join(result.variants))}. "
        f"Control: {html.escape(str(control))}. Test users: {result.users.size:,}. "
        f"Primary metric: {html.escape(str(config.get('primary_metric', accuracy)))}. "
        f"Paired bootstrap with {config['n_resamples']:,} resamples for the "
        f"{config['confidence']:.0%} intervals; "
        + (
            "p-values from a paired t-test, Holm-adjusted per metric across the treatments"
            if config.get("p_test")
            else "bootstrap p-values, Holm-adjusted per segment across every treatment and metric"
        )
        + (f"; {marks}." if marks else "; no significance level can be reached.")
    )
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='note'>{settings}<br>Split: {html.escape(split_text(config.get('split')))}"
        f"<br>Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by ShopSynth.</p>",
    ]
    sentences = verdict(result)
    if sentences:
        body += ["<h2>Verdict</h2>", *(f"<p>{html.escape(line)}</p>" for line in sentences)]
    body += ["<h2>Metrics (all test users)</h2>", _table_html(metric_table(result))]
    if control is not None:
        lifts = figures.lift_table(result, metrics)
        comparisons = figures.comparison_table(result, metrics).set_index("Variant")
        body += [
            f"<h2>Lift over {html.escape(control)}</h2>",
            _table_html(lifts),
            "<h2>Differences, intervals and p-values (all test users)</h2>",
            _table_html(comparisons, "{:.4g}"),
        ]
    if online is not None and not online.empty:
        body += [
            "<h2>Simulated online A/B</h2>",
            _table_html(figures.readable(online).set_index("Variant")),
        ]
    body += ["<h2>Figures</h2>", *parts]
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>"
    )
