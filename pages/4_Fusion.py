"""Fusion: weigh the signals of trained models live, learn a gate, save fused variants."""

from __future__ import annotations

import streamlit as st

from ui import cache, shell
from ui.feedback import show_errors
from ui.views.fusion import fusion_section

ws, status = shell.page(
    "Fusion",
    needs=shell.MODELS,
    n_models=2,
    message="Train at least two models first: each trained model is one signal to fuse.",
)
with show_errors():
    st.caption(
        "Weights are tuned on the validation users (the period between training and test); "
        "compare saved variants on the test users on the A/B Compare page."
    )
    fusion_section(ws, cache.model_list(ws))
