"""Synthetic data: generate queries, descriptions and interactions, review them, read quality."""

from __future__ import annotations

import streamlit as st

from core.data.workspace import Workspace
from core.synth.queries import QUERY_LM_TASK, train_query_lm, train_warm_query_model
from ui import shell, state
from ui.feedback import show_errors
from ui.forms import synthetic as forms
from ui.views import synthetic as views
from ui.views import synthetic_quality
from ui.views.feedback_rounds import feedback_rounds_tab
from ui.views.synthetic_compare import generator_comparison
from ui.views.synthetic_privacy import privacy_tab


def query_tab(ws: Workspace) -> None:
    st.markdown(
        "Search queries for products, written by a model trained on this workspace's own "
        "(query, clicked product) pairs: an encoder-decoder warm-started from the shipped "
        "MiniLM weights that can copy the product's words (the default), or a GPT-2 model "
        "trained from scratch (the baseline); attribute templates "
        "need no training. Each query is kept as consistent only if the semantic "
        "model retrieves its product in the top k: the round-trip threshold below."
    )
    with st.expander("Train a query generator", icon=":material/model_training:"):
        forms.lm_training_form(ws, QUERY_LM_TASK, train_query_lm, train_warm_query_model)
    forms.query_form(ws, QUERY_LM_TASK)


def description_tab(ws: Workspace) -> None:
    st.markdown(
        "Descriptions for products whose description is missing or shorter than the word "
        "threshold, conditioned on title, category and attributes."
    )
    from core.synth.descriptions import (
        DESCRIPTION_LM_TASK,
        train_description_lm,
        train_warm_description_model,
    )

    with st.expander("Train a description generator", icon=":material/model_training:"):
        forms.lm_training_form(
            ws, DESCRIPTION_LM_TASK, train_description_lm, train_warm_description_model
        )
    forms.description_form(ws, DESCRIPTION_LM_TASK)


def interactions_tab(ws: Workspace) -> None:
    st.markdown(
        "Interactions for products without training interactions (the cold-start products "
        "of the default split). **Content neighbours** draws users from the products most "
        "similar in text; the **session model** (a GRU over item sequences whose item "
        "vectors come from product text) continues real users' sequences into the new "
        "products. Rows are stored apart from the real log, marked with their generator and "
        "run, and used for training only once accepted. The **conditional GAN** (CFGAN-style) "
        "learns to map a product's text vector to the users who bought similar products."
    )
    forms.interactions_form(ws)
    views.interaction_runs(ws)
    generator_comparison(ws)


ws, status = shell.page(
    "Synthetic Data",
    needs=shell.CLEANED,
    message="Load and clean a dataset first: synthesis learns from the cleaned catalogue and "
    "events (Data page).",
)
# Only the open tab runs (the quality figures are not recomputed behind another tab), and the
# open tab survives the rerun after an action.
contents = {
    "Queries": query_tab,
    "Descriptions": description_tab,
    "Interactions": interactions_tab,
    "Review": views.review,
    "Quality": synthetic_quality.quality_tab,
    "Privacy": privacy_tab,
    "Feedback rounds": feedback_rounds_tab,
}
with show_errors():
    state.restore(state.SYNTH_TABS)
    tabs = st.tabs(
        list(contents),
        key=state.SYNTH_TABS,
        on_change="rerun",
    )
    state.keep(state.SYNTH_TABS)
    for tab, show in zip(tabs, contents.values(), strict=True):
        with tab:
            if tab.open:
                with show_errors():
                    show(ws)
