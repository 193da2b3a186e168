"""Models: train recommenders with live curves, compare them on validation, explore what they
recommend, and fine-tune the text encoder of the semantic model."""

from __future__ import annotations

import streamlit as st

from ui import cache, shell
from ui.feedback import show_errors
from ui.forms.models import train_form
from ui.views.models import explore_section, finetune_section, models_table

ws, status = shell.page(
    "Models",
    needs=shell.CLEANED,
    message="Load and clean a dataset first: models train on the cleaned events (Data page).",
)
with show_errors():
    st.subheader("Train a model", divider="gray")
    train_form(ws)
    st.subheader("Trained models", divider="gray")
    trained = cache.model_list(ws)
    if trained.empty:
        st.info("No trained model yet: pick one above and press Train.", icon=":material/info:")
    else:
        models_table(ws, trained)
        st.subheader("Explore", divider="gray")
        with show_errors():
            explore_section(ws, trained)
    st.subheader("Text encoder", divider="gray")
    finetune_section(ws)
