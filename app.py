"""ShopSynth home: the workspace, the dataset status, the pipeline checklist, the sample data."""

from __future__ import annotations

import streamlit as st

from ui import shell, state
from ui.feedback import show_errors
from ui.forms.load import load_sample_button
from ui.forms.workspace import workspace_picker
from ui.views.data import dataset_summary
from ui.views.home import pipeline_checklist

ws, status = shell.page(
    "Home",
    intro="An analyst's lab for e-commerce search and recommendation: load behaviour logs and a "
    "catalogue, train models, generate synthetic data, fuse scores and compare variants A/B.",
)
with show_errors():
    st.subheader("Workspace", divider="gray")
    workspace_picker(ws)

    st.subheader("Dataset", divider="gray")
    dataset_summary(ws, status)

    st.subheader("Pipeline", divider="gray")
    pipeline_checklist(status)

    st.subheader("Sample data", divider="gray")
    st.markdown(
        "A seeded simulated shop (users with tastes, sessions with searches, views, carts and "
        "purchases, a catalogue with titles and descriptions). Loading it replaces the "
        "workspace's current dataset and cleans it with the default rules."
    )
    load_sample_button(ws, key=state.HOME_LOAD_SAMPLE)
