"""A/B Compare: offline comparison of variants with intervals, lift, segments and exports."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import cache, state, widgets
from ui.views.ab_compare import earlier_runs, new_comparison, show_result
from ui.views.models import ask_for_models

st.set_page_config(
    page_title="A/B Compare · ShopSynth", page_icon=":material/compare_arrows:", layout="wide"
)
state.init()

st.title("A/B Compare")
widgets.show_flash()
with widgets.show_errors():
    ws = state.workspace()
    widgets.sidebar_workspace(ws)
    status = cache.dataset_status(ws)
    widgets.dataset_line(status)
    models = cache.model_list(ws) if status["cleaned"] else pd.DataFrame()
    if models.empty:
        ask_for_models("Train at least one model first: variants are trained models (Models page).")
    else:
        st.subheader("New comparison", divider="gray")
        new_comparison(ws, models)
    st.subheader("Comparisons", divider="gray")
    earlier_runs(ws)
    if st.session_state[state.AB_RUN]:
        with widgets.show_errors():
            show_result(cache.saved_experiment(ws, st.session_state[state.AB_RUN]))
