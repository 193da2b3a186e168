"""A/B Compare: offline comparison of variants with intervals, lift, segments and exports."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import cache, shell, state
from ui.feedback import show_errors
from ui.views.ab_compare import earlier_runs, new_comparison, show_result, validation_winners
from ui.views.models import ask_for_models
from ui.views.search_ab import search_variants

# Earlier comparisons stay readable without models, so this page does not stop at the gate.
ws, status = shell.page("A/B Compare")
with show_errors():
    models = cache.model_list(ws) if status["cleaned"] else pd.DataFrame()
    if models.empty:
        ask_for_models("Train at least one model first: variants are trained models (Models page).")
    else:
        st.subheader("New comparison", divider="gray")
        new_comparison(ws, models)
    st.subheader("Comparisons", divider="gray")
    earlier_runs(ws)
    if st.session_state[state.AB_RUN]:
        with show_errors():
            shown = cache.saved_experiment(ws, st.session_state[state.AB_RUN])
            show_result(shown)
            validation_winners(ws, shown)
    st.subheader("Search variants", divider="gray")
    with show_errors():
        search_variants(ws, status)
