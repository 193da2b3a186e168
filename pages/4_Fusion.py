"""Fusion: weigh the signals of trained models live, learn a gate, save fused variants."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import cache, state, widgets
from ui.views.fusion import fusion_section
from ui.views.models import ask_for_models

st.set_page_config(page_title="Fusion · ShopSynth", page_icon=":material/tune:", layout="wide")
state.init()

st.title("Fusion")
widgets.show_flash()
widgets.show_interrupted()
with widgets.show_errors():
    ws = state.workspace()
    widgets.sidebar_workspace(ws)
    status = cache.dataset_status(ws)
    widgets.dataset_line(status)
    models = cache.model_list(ws) if status["cleaned"] else pd.DataFrame()
    if len(models) < 2:
        ask_for_models("Train at least two models first: each trained model is one signal to fuse.")
    else:
        st.caption(
            "Weights are tuned on the validation users (the period between training and test); "
            "compare saved variants on the test users on the A/B Compare page."
        )
        fusion_section(ws, models)
