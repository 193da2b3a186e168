"""ShopSynth home: the workspace, the dataset status, the pipeline checklist, the sample data."""

from __future__ import annotations

import streamlit as st

from ui import cache, state, widgets

st.set_page_config(page_title="ShopSynth", page_icon=":material/storefront:", layout="wide")
state.init()

st.title("ShopSynth")
st.markdown(
    "An analyst's lab for e-commerce search and recommendation: load behaviour logs and a "
    "catalogue, train models, generate synthetic data, fuse scores and compare variants A/B."
)
widgets.show_flash()

with widgets.show_errors():
    ws = state.workspace()
    widgets.sidebar_workspace(ws)

    st.subheader("Workspace", divider="gray")
    widgets.workspace_picker(ws)

    st.subheader("Dataset", divider="gray")
    status = cache.dataset_status(ws)
    widgets.dataset_summary(ws, status)

    st.subheader("Pipeline", divider="gray")
    widgets.pipeline_checklist(status)

    st.subheader("Sample data", divider="gray")
    st.markdown(
        "A seeded simulated shop (users with tastes, sessions with searches, views, carts and "
        "purchases, a catalogue with titles and descriptions). Loading it replaces the "
        "workspace's current dataset and cleans it with the default rules."
    )
    widgets.load_sample_button(ws, key=state.HOME_LOAD_SAMPLE)
