"""Plotly figure builders for the dashboard: each takes a small profile frame, returns a Figure."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.figures.theme import (
    EVENT_COLOURS,
    MARGIN,
    OTHER_COLOUR,
    PALETTE,
    style,
    variant_colours,
    whiskers,
)
from core.progress import EPOCH, TRAIN_PREFIX
from core.schema import EVENT_TYPES

# Height of a chart that does not size itself to its rows.
_HEIGHT = 360


def _event_order(events: pd.Series) -> list[str]:
    present = set(events)
    return [e for e in EVENT_TYPES if e in present] + sorted(present - set(EVENT_TYPES))


def events_over_time(frame: pd.DataFrame) -> go.Figure:
    """Lines of events per period, one per event type (frame from ``profile.events_over_time``)."""
    figure = go.Figure()
    for event in _event_order(frame["event"]):
        part = frame[frame["event"] == event]
        figure.add_trace(
            go.Scatter(
                x=part["period"],
                y=part["n_events"],
                name=event,
                mode="lines",
                line={"color": EVENT_COLOURS.get(event, OTHER_COLOUR), "width": 2},
            )
        )
    period = frame.attrs.get("freq", "period")
    figure.update_yaxes(title=f"events per {period}", rangemode="tozero")
    figure.update_layout(legend={"orientation": "h", "y": -0.15}, hovermode="x unified")
    return style(figure, f"Events per {period}, by type", height=_HEIGHT)


def funnel(frame: pd.DataFrame) -> go.Figure:
    """Funnel of event counts with the step-to-step conversion (frame from ``profile.funnel``)."""
    labels = [
        f"{count:,}" if index == 0 or pd.isna(rate) else f"{count:,} · {rate:.1%}"
        for index, (count, rate) in enumerate(
            zip(frame["n_events"], frame["rate_from_previous"], strict=True)
        )
    ]
    figure = go.Figure(
        go.Funnel(
            y=frame["stage"],
            x=frame["n_events"],
            text=labels,
            textinfo="text",
            textposition="outside",
            cliponaxis=False,
            marker={"color": [EVENT_COLOURS.get(s, OTHER_COLOUR) for s in frame["stage"]]},
            connector={"fillcolor": "#E8E8E8"},
            customdata=frame["n_users"],
            hovertemplate="%{y}: %{x:,} events by %{customdata:,} users<extra></extra>",
        )
    )
    figure.update_layout(margin={**MARGIN, "r": 120})
    return style(figure, "Funnel: events per stage · % of the previous stage", height=_HEIGHT)


def popularity_long_tail(frame: pd.DataFrame) -> go.Figure:
    """Item rank against item events on log-log axes (frame from ``profile.item_popularity``)."""
    figure = go.Figure(
        go.Scatter(
            x=frame["rank"],
            y=frame["n_events"],
            mode="lines",
            line={"shape": "hv", "color": EVENT_COLOURS["view"], "width": 2},
            hovertemplate="rank %{x:,}: %{y:,} events<extra></extra>",
        )
    )
    # One tick per power of ten keeps log axes readable.
    figure.update_xaxes(type="log", dtick=1, title="item rank (1 = most popular)")
    figure.update_yaxes(type="log", dtick=1, title="events on the item")
    return style(figure, "Item popularity long tail (log-log)", height=_HEIGHT)


def user_activity(frame: pd.DataFrame) -> go.Figure:
    """Users per bin of events per user (frame from ``profile.user_activity``)."""
    figure = go.Figure(
        go.Bar(
            x=frame["label"],
            y=frame["n_users"],
            marker={"color": EVENT_COLOURS["view"]},
            hovertemplate="%{x} events: %{y:,} users<extra></extra>",
        )
    )
    figure.update_xaxes(title="events per user", type="category")
    figure.update_yaxes(title="users")
    return style(figure, "User activity", height=_HEIGHT)


def category_mix(frame: pd.DataFrame, top: int = 15) -> go.Figure:
    """Share of item events per top-level category, largest first (``profile.category_mix``).

    Categories past the ``top`` largest are summed into one "other" bar.
    """
    shown = frame.head(top)
    rest = frame.iloc[top:]
    if len(rest):
        other = pd.DataFrame(
            {
                "category": [f"{len(rest)} other categories"],
                "n_items": [rest["n_items"].sum()],
                "n_events": [rest["n_events"].sum()],
                "event_share": [rest["event_share"].sum()],
            }
        )
        shown = pd.concat([shown, other], ignore_index=True)
    shown = shown.iloc[::-1]
    figure = go.Figure(
        go.Bar(
            x=shown["event_share"],
            y=shown["category"],
            orientation="h",
            marker={"color": EVENT_COLOURS["view"]},
            customdata=shown[["n_events", "n_items"]].to_numpy(),
            text=[f"{share:.1%}" for share in shown["event_share"]],
            textposition="outside",
            cliponaxis=False,
            hovertemplate=(
                "%{y}: %{customdata[0]:,} events, %{customdata[1]:,} items<extra></extra>"
            ),
        )
    )
    # Room on the right for the share printed past the longest bar.
    longest = float(shown["event_share"].max()) if len(shown) else 1.0
    figure.update_xaxes(title="share of item events", tickformat=".0%", range=[0, longest * 1.15])
    figure.update_yaxes(type="category")
    return style(figure, "Category mix (top level)", height=max(300, 40 + 28 * len(shown)))


def removed_per_rule(frame: pd.DataFrame) -> go.Figure:
    """Rows removed by each cleaning rule, in the order the rules ran."""
    figure = go.Figure(
        go.Bar(
            x=frame["removed"],
            y=frame["rule"],
            orientation="h",
            marker={"color": EVENT_COLOURS["purchase"]},
            text=[f"{int(n):,}" for n in frame["removed"]],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:,} rows removed<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed", type="category")
    most = float(frame["removed"].max()) if len(frame) else 0.0
    figure.update_xaxes(title="rows removed", range=[0, max(most, 1.0) * 1.2])
    return style(figure, "Rows removed per rule", height=max(260, 60 + 30 * len(frame)))


# Past this many points a series is drawn as a line only.
_MARKER_LIMIT = 60


_MEASURE_LABELS = {f"{TRAIN_PREFIX}ranked_right": "training pairs ranked right"}


def metric_label(name: str) -> str:
    """Display name of a curve measure: ``train_loss`` -> "training loss", ``ndcg@10`` ->
    "NDCG@10"."""
    if name in _MEASURE_LABELS:
        return _MEASURE_LABELS[name]
    if name.startswith(TRAIN_PREFIX):
        return "training " + name.removeprefix(TRAIN_PREFIX).replace("_", " ")
    metric, _, k = name.partition("@")
    pretty = {"ndcg": "NDCG", "mrr": "MRR", "map": "MAP"}.get(metric, metric.capitalize())
    return f"{pretty}@{k}" if k else pretty


def _axis_title(names: list[str]) -> str:
    """The y-axis title of a training-curve panel: the measure it shows, or what they are."""
    if len(names) == 1:
        return metric_label(names[0])
    if names and all(name.startswith(TRAIN_PREFIX) for name in names):
        return "training measure"
    return "value" if not names else "metric (mean per user)"


def training_curve(
    curve: pd.DataFrame, title: str, held_out: str = "the validation users"
) -> go.Figure:
    """Training measures (left) and held-out metrics (right, "On ``held_out``") by epoch.

    ``curve`` has an ``epoch`` column and one column per measure (see
    :func:`core.models.runs.run_curve`): columns named ``train_*`` are drawn in the left panel,
    the others (``ndcg@10``...) in the right one, each series through the epochs where it
    was measured, in name order (so a measure keeps its colour from chart to chart). A panel
    with nothing to draw is left out.
    """
    measures = sorted(column for column in curve.columns if column != EPOCH)
    training = [name for name in measures if name.startswith(TRAIN_PREFIX)]
    metrics = [name for name in measures if not name.startswith(TRAIN_PREFIX)]
    both = ((training, "the training data"), (metrics, held_out))
    panels = [(names, label) for names, label in both if names] or [([], "the training data")]
    figure = make_subplots(
        rows=1,
        cols=len(panels),
        subplot_titles=[f"On {label}" for _, label in panels],
        horizontal_spacing=0.08,
    )
    colour = 0
    for column, (names, _) in enumerate(panels, start=1):
        for name in names:
            points = curve[[EPOCH, name]].dropna()
            figure.add_trace(
                go.Scatter(
                    x=points[EPOCH],
                    y=points[name],
                    name=metric_label(name),
                    mode="lines" if len(points) > _MARKER_LIMIT else "lines+markers",
                    line={"color": PALETTE[colour % len(PALETTE)], "width": 2},
                    hovertemplate="epoch %{x:.4g}: %{y:.4f}<extra>%{fullData.name}</extra>",
                ),
                row=1,
                col=column,
            )
            colour += 1
        figure.update_xaxes(title="epoch", row=1, col=column)
        figure.update_yaxes(title=_axis_title(names), row=1, col=column)
    figure.update_layout(legend={"orientation": "h", "y": -0.25}, hovermode="x unified")
    return style(figure, title, height=340)


def overlaid_histogram(series: dict[str, list[float]], title: str, x_title: str) -> go.Figure:
    """Normalised histograms of several samples on one axis (real against synthetic)."""
    figure = go.Figure()
    for name, values in series.items():
        figure.add_histogram(x=values, name=name, histnorm="probability", opacity=0.6)
    figure.update_layout(barmode="overlay", xaxis_title=x_title, yaxis_title="share")
    return style(figure, title, height=_HEIGHT)


def utility_bars(table: pd.DataFrame) -> go.Figure:
    """Test metrics of models trained with and without synthetic data, with intervals.

    ``table`` is :func:`core.evaluation.synthetic_utility.synthetic_utility`'s; one panel per
    segment, a group per model and metric, a bar per training set.
    """
    segments = list(dict.fromkeys(table["segment"]))
    figure = make_subplots(rows=1, cols=len(segments), subplot_titles=segments)
    colours = variant_colours(table["variant"])
    for column, segment in enumerate(segments, start=1):
        rows = table[table["segment"] == segment]
        for variant, part in rows.groupby("variant", sort=False):
            colour = colours[str(variant)]
            figure.add_bar(
                x=part["model"] + " " + part["metric"],
                y=part["mean"],
                name=variant,
                marker_color=colour,
                showlegend=column == 1,
                error_y=whiskers(part["mean"], part["ci_low"], part["ci_high"]),
                row=1,
                col=column,
            )
    figure.update_layout(barmode="group")
    figure.update_yaxes(title="mean per test user", row=1, col=1)
    return style(figure, "Real test data: trained on real vs real + synthetic", height=420)
