"""The workspace's engine: local (DuckDB, implicit) or Apache Spark on a master URL, and the
Spark cleaning the Data page runs on it."""

from __future__ import annotations

import streamlit as st

from core import pipeline
from core.data.cleaning_config import CleaningConfig
from core.data.workspace import Workspace
from core.engines.settings import ENGINES, LOCAL, SPARK, EngineSetting, read_engine, save_engine
from ui import state
from ui.feedback import long_step, show_errors
from ui.text import code

_LABELS = {LOCAL: "Local (DuckDB, implicit)", SPARK: "Apache Spark"}
MASTER_HELP = (
    "local[*] runs Spark on every core of this machine (a try); local[N] on N cores; "
    "spark://host:7077, yarn or k8s://https://host:port a cluster. Spark needs "
    "`pip install -r requirements-spark.txt` and Java 17."
)


def engine_form(ws: Workspace) -> EngineSetting:
    """Choose and save the workspace's engine; return the saved setting."""
    setting = read_engine(ws)
    with st.form(state.ENGINE_FORM, enter_to_submit=False, border=False):
        left, right = st.columns([1, 2])
        with left:
            engine = st.radio(
                "Engine",
                ENGINES,
                index=ENGINES.index(setting.engine),
                format_func=_LABELS.get,
                key=state.ENGINE_CHOICE,
                horizontal=True,
            )
        with right:
            master = st.text_input(
                "Spark master URL", value=setting.master, key=state.ENGINE_MASTER, help=MASTER_HELP
            )
        saved = st.form_submit_button("Save engine", key=state.ENGINE_SAVE)
    if saved:
        with show_errors():
            setting = save_engine(ws, EngineSetting(engine, master))
            state.flash("success", f"Engine saved: {code(setting.label)}.")
            st.rerun()
    st.caption(f"Steps run on: {code(setting.label)}")
    return setting


def run_spark_cleaning(
    ws: Workspace,
    setting: EngineSetting,
    config: CleaningConfig,
    weights: dict[str, float],
    half_life_days: float | None,
) -> None:
    """Clean the loaded dataset on Spark with ``config``, with progress from Spark's jobs, keep
    the weights as the session's choice, and rerun."""
    with long_step(f"Cleaning on Spark ({setting.master})…", "Cleaned on Spark") as progress:
        report = pipeline.clean_on_spark(
            ws, setting.master, config, callback=progress.stage("Cleaning")
        )
    st.session_state[state.EVENT_WEIGHTS] = weights
    st.session_state[state.HALF_LIFE_DAYS] = half_life_days
    state.flash(
        "success",
        f"Cleaned on Spark ({code(setting.master)}): {report.n_events_after:,} of "
        f"{report.n_events_before:,} events kept, {report.n_users_after:,} users, "
        f"{report.n_items_after:,} items.",
    )
    st.rerun()
