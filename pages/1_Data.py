"""Data: load behaviour logs (sample, upload or server path), clean them, explore the profile."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.data.profile import FREQUENCIES
from core.data.workspace import Workspace
from core.engines.settings import SPARK
from core.figures import charts
from core.schema import DEFAULT_EVENT_WEIGHTS, EVENTS_TABLE
from ui import cache, shell, state
from ui.feedback import show_errors
from ui.forms import cleaning, engine, load
from ui.views import data as views


def load_tab(ws: Workspace) -> None:
    st.markdown("##### Sample world")
    st.caption("The bundled simulated shop, loaded and cleaned with the default rules in one step.")
    load.load_sample_button(ws, key=state.DATA_LOAD_SAMPLE)

    st.markdown("##### Your own logs")
    source = st.segmented_control(
        "Source",
        ["Upload files", "Server path"],
        default="Upload files",
        key=state.DATA_SOURCE,
        persist_state=state.KEEP,
        label_visibility="collapsed",
    )
    if source == "Server path":
        events_path, catalog_path = load.path_inputs()
    else:
        events_path, catalog_path = load.upload_inputs()
    if events_path is None:
        return
    with show_errors():
        load.load_form(ws, events_path, catalog_path)


def clean_tab(ws: Workspace, status: dict[str, Any]) -> None:
    if not status["loaded"]:
        st.info("Load a dataset first (Load tab).", icon=":material/info:")
        return
    report = cache.latest_report(ws)
    weights = st.session_state[state.EVENT_WEIGHTS] or dict(DEFAULT_EVENT_WEIGHTS)
    with show_errors():
        setting = engine.engine_form(ws)
        removed = report.removed_users_frame()["user_id"].tolist() if report else []
        chosen = cleaning.cleaning_form(
            cleaning.last_cleaning_config(ws),
            weights,
            st.session_state[state.HALF_LIFE_DAYS],
            removed,
        )
        if chosen is not None and setting.engine == SPARK:
            engine.run_spark_cleaning(ws, setting, *chosen)
        elif chosen is not None:
            cleaning.run_cleaning(ws, *chosen)
    if report is None or not status["cleaned"]:
        st.info("Not cleaned yet: set the rules above and press Clean.", icon=":material/info:")
        return
    views.cleaning_report(report)
    with show_errors():
        views.interaction_summary(ws, weights, st.session_state[state.HALF_LIFE_DAYS])


def explore_tab(ws: Workspace, status: dict[str, Any]) -> None:
    if not status["loaded"]:
        st.info("Load a dataset first (Load tab).", icon=":material/info:")
        return
    data = cache.data_profile(ws)
    if data["table"] != EVENTS_TABLE:
        st.warning(
            "Showing the raw events: the data is not cleaned yet (Clean tab).",
            icon=":material/warning:",
        )
    views.sparsity_metrics(data["counts"])
    freq = st.segmented_control(
        "Time buckets",
        ["auto", *FREQUENCIES],
        default="auto",
        key=state.EXPLORE_FREQ,
        persist_state=state.KEEP,
    )
    over_time = cache.events_over_time(ws, data["table"], freq or "auto")
    st.plotly_chart(charts.events_over_time(over_time), width="stretch")
    left, right = st.columns(2)
    left.plotly_chart(charts.funnel(data["funnel"]), width="stretch")
    right.plotly_chart(charts.category_mix(data["categories"]), width="stretch")
    left, right = st.columns(2)
    left.plotly_chart(charts.popularity_long_tail(data["popularity"]), width="stretch")
    share = data["concentration"]
    left.caption(
        f"The top 1% of items get {share['top_1pct_share']:.1%} of item events, the top 20% "
        f"get {share['top_20pct_share']:.1%}; Gini coefficient {share['gini']:.2f}."
    )
    right.plotly_chart(charts.user_activity(data["activity"]), width="stretch")


ws, status = shell.page("Data")
with show_errors():
    state.restore(state.DATA_TABS)
    tabs = st.tabs(
        ["Load", "Clean", "Explore"],
        key=state.DATA_TABS,
        on_change="rerun",
    )
    state.keep(state.DATA_TABS)
    with tabs[0]:
        if tabs[0].open:
            load_tab(ws)
    with tabs[1]:
        if tabs[1].open:
            clean_tab(ws, status)
    with tabs[2]:
        if tabs[2].open:
            explore_tab(ws, status)
