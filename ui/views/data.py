"""Views of the workspace's data: dataset status and summary, cleaning report, interaction
matrix and sparsity figures."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.data.clean import CleaningReport
from core.data.workspace import Workspace
from core.figures import charts
from core.schema import EVENTS_TABLE, RAW_EVENTS_TABLE
from ui import cache, tables
from ui.text import code, format_count, plain
from ui.uploads import display_source


def dataset_summary(ws: Workspace, status: dict[str, Any]) -> None:
    """Counts and provenance of the workspace's dataset, or how to load one."""
    info = status["info"]
    if info is None or not status["loaded"]:
        st.info(
            "No dataset loaded yet: load the sample data below, or your own logs on the Data page.",
            icon=":material/info:",
        )
        return
    table = EVENTS_TABLE if status["cleaned"] else RAW_EVENTS_TABLE
    numbers = cache.counts(ws, table)
    cols = st.columns(4)
    cols[0].metric("Events", format_count(numbers["n_events"]))
    cols[1].metric("Users", format_count(numbers["n_users"]))
    cols[2].metric("Items", format_count(numbers["n_items"]))
    cols[3].metric("Catalogue items", format_count(numbers["n_catalog_items"]))
    cleaned = (
        ":green[:material/check_circle: cleaned]"
        if status["cleaned"]
        else ":orange[:material/warning: not cleaned yet]"
    )
    st.markdown(
        f"**{plain(info.name)}** · source {display_source(info.source)} · "
        f"preset {code(info.preset)} · "
        f"loaded {info.loaded_at:%Y-%m-%d %H:%M} UTC · {cleaned}"
    )
    if info.catalog_source:
        st.caption(f"Catalogue: {display_source(info.catalog_source)}")


def dataset_line(status: dict[str, Any]) -> None:
    """One caption line: which dataset is active and whether it is cleaned."""
    info = status["info"]
    if info is None or not status["loaded"]:
        st.caption("No dataset loaded yet.")
        return
    cleaned = "cleaned" if status["cleaned"] else "not cleaned yet"
    st.caption(
        f"Dataset **{plain(info.name)}** ({format_count(info.n_events)} events loaded from "
        f"{display_source(info.source)}, preset {code(info.preset)}, "
        f"{info.loaded_at:%Y-%m-%d %H:%M} UTC) · "
        f"{cleaned}"
    )


def cleaning_report(report: CleaningReport) -> None:
    """The report of a cleaning run: totals, the rule table and removed rows per rule."""
    st.markdown(f"##### Cleaning report · {report.created_at:%Y-%m-%d %H:%M} UTC")
    summary = report.summary_frame()
    columns = st.columns(len(summary))
    for column, row in zip(columns, summary.itertuples(index=False), strict=True):
        column.metric(
            row.quantity.capitalize(),
            format_count(row.after),
            delta=f"-{row.removed:,}" if row.removed else None,
            delta_color="off",
            help=f"{row.before:,} before cleaning",
        )
    rules = report.to_frame()
    tables.table(
        rules[["rule", "parameter", "rows_before", "rows_after", "removed"]].rename(
            columns={"rows_before": "before", "rows_after": "after"}
        ),
        column_config={
            "before": st.column_config.NumberColumn("Rows before", format="localized"),
            "after": st.column_config.NumberColumn("Rows after", format="localized"),
            "removed": st.column_config.NumberColumn("Rows removed", format="localized"),
        },
    )
    chart, users = st.columns(2)
    chart.plotly_chart(charts.removed_per_rule(rules), width="stretch")
    if report.n_ids_merged:
        users.caption(
            f"Item id normalisation merged {report.n_ids_merged:,} item ids into another "
            "spelling (case and surrounding spaces)."
        )
    removed = report.removed_users_frame()
    if removed.empty:
        users.caption("No rule removed a user entirely.")
        return
    shown = ", ".join(f"{r.rule} {r.total:,}" for r in report.removed_users)
    users.caption(f"Users removed entirely, per rule ({shown}); keep any of them above.")
    tables.table(
        removed,
        container=users,
        column_config={
            "rows_removed": st.column_config.NumberColumn("Rows removed", format="localized")
        },
    )


def interaction_summary(
    ws: Workspace, weights: dict[str, float], half_life_days: float | None
) -> None:
    """Size and weights of the user x item matrix the chosen weights give."""
    summary = cache.interaction_summary(ws, weights, half_life_days)
    st.markdown("##### Interaction matrix")
    decay = f"half-life {half_life_days:g} days" if half_life_days else "no time decay"
    st.caption(
        "Built from the cleaned events with the weights above ("
        + ", ".join(f"{event} {weight:g}" for event, weight in weights.items())
        + f"; {decay}). Its items are the whole catalogue, so items without events are "
        "columns too."
    )
    columns = st.columns(5)
    columns[0].metric("Users", format_count(summary["n_users"]))
    columns[1].metric("Items", format_count(summary["n_items"]))
    columns[2].metric("Non-zero entries", format_count(summary["nnz"]))
    columns[3].metric("Density", f"{summary['density']:.4%}")
    columns[4].metric(
        "Mean weight",
        f"{summary['weight_mean']:.2f}",
        help=f"median {summary['weight_median']:.2f}, max {summary['weight_max']:.2f}",
    )


def sparsity_metrics(numbers: dict[str, Any]) -> None:
    """Counts and sparsity of the profiled events (``core.data.profile.dataset_counts``)."""
    columns = st.columns(6)
    columns[0].metric("Events", format_count(numbers["n_events"]))
    columns[1].metric("Users", format_count(numbers["n_users"]))
    columns[2].metric("Items", format_count(numbers["n_items"]))
    columns[3].metric(
        "Interactions",
        format_count(numbers["n_pairs"]),
        help="Distinct user-item pairs with at least one item event.",
    )
    columns[4].metric(
        "Density",
        f"{numbers['density']:.4%}",
        help=f"Interactions / (users with item events × items); sparsity "
        f"{numbers['sparsity']:.4%}.",
    )
    columns[5].metric("Sessions", format_count(numbers["n_sessions"]))
    first, last = numbers["first_ts"], numbers["last_ts"]
    span = f"from {first:%Y-%m-%d} to {last:%Y-%m-%d}" if first is not None else "no timestamps"
    st.caption(
        f"{numbers['events_per_user']:.1f} events per user, {numbers['events_per_item']:.1f} "
        f"per item; {format_count(numbers['n_searches'])} searches; {span}; "
        f"{format_count(numbers['n_catalog_items'])} catalogue items."
    )
