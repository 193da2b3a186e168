"""Models: train recommenders with live curves, compare them on validation, explore what they
recommend, and fine-tune the text encoder of the semantic model."""

from __future__ import annotations

import streamlit as st

from ui import cache, state, widgets
from ui.forms.models import train_form
from ui.views.models import explore_section, finetune_section, models_table

st.set_page_config(
    page_title="Models · ShopSynth", page_icon=":material/model_training:", layout="wide"
)
state.init()

st.title("Models")
widgets.show_flash()
widgets.show_interrupted()
with widgets.show_errors():
    ws = state.workspace()
    widgets.sidebar_workspace(ws)
    status = cache.dataset_status(ws)
    widgets.dataset_line(status)
    if not status["cleaned"]:
        st.info(
            "Load and clean a dataset first: models train on the cleaned events (Data page).",
            icon=":material/info:",
        )
        st.page_link("pages/1_Data.py", label="Open the Data page", icon=":material/database:")
    else:
        st.subheader("Train a model", divider="gray")
        train_form(ws)
        st.subheader("Trained models", divider="gray")
        trained = cache.model_list(ws)
        if trained.empty:
            st.info("No trained model yet: pick one above and press Train.", icon=":material/info:")
        else:
            models_table(ws, trained)
            st.subheader("Explore", divider="gray")
            with widgets.show_errors():
                explore_section(ws, trained)
        st.subheader("Text encoder", divider="gray")
        finetune_section(ws)
