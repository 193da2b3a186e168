"""Synthetic data: generate queries, descriptions and interactions, review them, read quality."""

from __future__ import annotations

import streamlit as st

from core.data.workspace import Workspace
from core.synth import store
from core.synth.descriptions import DEFAULT_MIN_WORDS, synthesize_descriptions
from core.synth.generation import TEMPLATE
from core.synth.lm_store import list_lms
from core.synth.queries import QUERY_LM_TASK, synthesize_queries, train_query_lm
from ui import cache, state, synth_widgets, widgets

st.set_page_config(
    page_title="Synthetic Data · ShopSynth", page_icon=":material/auto_awesome:", layout="wide"
)
state.init()

FLAG_LABELS = {
    store.COPY_OF_REAL: "copy of a real text",
    store.TOO_SHORT: "too short",
    store.TOO_LONG: "too long",
    store.NOT_ROUND_TRIP: "product not retrieved",
    store.REPETITIVE: "repetitive",
    store.WRONG_ATTRIBUTE: "names another product's attribute",
}


def _generators(ws: Workspace, task: str) -> dict[str, str]:
    choices = {TEMPLATE: "Attribute templates (baseline)"}
    lms = list_lms(ws, task=task)
    for name in lms["name"] if not lms.empty else []:
        choices[f"lm:{name}"] = f"Language model '{name}'"
    return choices


def _target_items(ws: Workspace, which: str, n_sample: int) -> list[str] | None:
    """Products to write for: all (None), the cold-start ones, or a seeded sample."""
    catalog = cache.catalog_frame(ws)
    if which == "All products":
        return None
    if which == "Cold-start products":
        return cache.cold_start_items(ws)
    return catalog["item_id"].sample(min(n_sample, len(catalog)), random_state=0).tolist()


def query_tab(ws: Workspace) -> None:
    st.markdown(
        "Search queries for products, written by attribute templates or by a small GPT-2 "
        "language model trained on this workspace's own (query, clicked product) pairs. Each "
        "query is kept as consistent only if the semantic model retrieves its product in the "
        "top k: the round-trip threshold below."
    )
    with st.expander("Train a query language model", icon=":material/model_training:"):
        synth_widgets.lm_training_form(ws, QUERY_LM_TASK, train_query_lm)
    generators = _generators(ws, QUERY_LM_TASK)
    with st.form(state.SYNTH_QUERY_FORM):
        left, middle, right = st.columns(3)
        generator = left.selectbox(
            "Generator", list(generators), format_func=generators.get, key=state.SYNTH_GENERATOR
        )
        which = middle.selectbox(
            "Products",
            ["A sample of products", "Cold-start products", "All products"],
            key=state.SYNTH_TARGET,
        )
        n_sample = int(right.number_input("Sample size", 10, 100_000, 200, key=state.SYNTH_SAMPLE))
        left, middle, right, last = st.columns(4)
        n_per_product = int(left.number_input("Queries per product", 1, 20, 3, key=state.SYNTH_N))
        k = int(
            middle.number_input(
                "Round-trip threshold k", 1, 1000, 10, key=state.SYNTH_K,
                help="Kept as consistent when its product ranks in the top k for the query.",
            )
        )  # fmt: skip
        temperature = right.slider("Temperature", 0.1, 2.0, 1.0, 0.05, key=state.SYNTH_TEMP)
        top_p = last.slider("Top-p", 0.1, 1.0, 0.9, 0.05, key=state.SYNTH_TOP_P)
        submitted = st.form_submit_button(
            "Generate queries", type="primary", icon=":material/play_arrow:"
        )
    if submitted:
        with widgets.show_errors():
            items = _target_items(ws, which, n_sample)
            with synth_widgets.generation("Generating queries…") as (callback, should_stop):
                run = synthesize_queries(
                    ws, generator, n_per_product=n_per_product, item_ids=items, k=k,
                    temperature=temperature, top_p=top_p, callback=callback,
                    should_stop=should_stop,
                )  # fmt: skip
            synth_widgets.flash_run(run)
            st.rerun()


def description_tab(ws: Workspace) -> None:
    st.markdown(
        "Descriptions for products whose description is missing or shorter than the word "
        "threshold, conditioned on title, category and attributes."
    )
    from core.synth.descriptions import DESCRIPTION_LM_TASK, train_description_lm

    with st.expander("Train a description language model", icon=":material/model_training:"):
        synth_widgets.lm_training_form(ws, DESCRIPTION_LM_TASK, train_description_lm)
    generators = _generators(ws, DESCRIPTION_LM_TASK)
    with st.form(state.SYNTH_DESCRIPTION_FORM):
        left, middle, right = st.columns(3)
        generator = left.selectbox(
            "Generator", list(generators), format_func=generators.get, key=state.SYNTH_D_GENERATOR
        )
        min_words = int(
            middle.number_input(
                "Short below (words)", 1, 500, DEFAULT_MIN_WORDS, key=state.SYNTH_D_MIN_WORDS,
                help="Products whose description has fewer words are written for.",
            )
        )  # fmt: skip
        temperature = right.slider("Temperature", 0.1, 2.0, 0.8, 0.05, key=state.SYNTH_D_TEMP)
        submitted = st.form_submit_button(
            "Generate descriptions", type="primary", icon=":material/play_arrow:"
        )
    if submitted:
        with widgets.show_errors():
            with synth_widgets.generation("Writing descriptions…") as (callback, should_stop):
                run = synthesize_descriptions(
                    ws, generator, min_words=min_words, temperature=temperature,
                    callback=callback, should_stop=should_stop,
                )  # fmt: skip
            synth_widgets.flash_run(run)
            st.rerun()


def review_tab(ws: Workspace) -> None:
    summary = store.sample_summary(ws)
    if summary.empty:
        st.info("Nothing generated yet: generate queries or descriptions first.")
        return
    st.dataframe(summary, hide_index=True, width="stretch")
    synth_widgets.review_table(ws, FLAG_LABELS)


st.title("Synthetic Data")
widgets.show_flash()
widgets.show_interrupted()
with widgets.show_errors():
    ws = state.workspace()
    widgets.sidebar_workspace(ws)
    status = cache.dataset_status(ws)
    widgets.dataset_line(status)
    if not status["cleaned"]:
        st.info(
            "Load and clean a dataset first: synthesis learns from the cleaned catalogue and "
            "events (Data page).",
            icon=":material/info:",
        )
        st.page_link("pages/1_Data.py", label="Open the Data page", icon=":material/database:")
    else:
        # Only the open tab runs (the quality figures are not recomputed behind another tab),
        # and the open tab survives the rerun after an action.
        contents = {
            "Queries": query_tab,
            "Descriptions": description_tab,
            "Interactions": synth_widgets.interactions_tab,
            "Review": review_tab,
            "Quality": synth_widgets.quality_tab,
        }
        tabs = st.tabs(list(contents), key=state.SYNTH_TABS, on_change="rerun")
        for tab, show in zip(tabs, contents.values(), strict=True):
            with tab:
                if tab.open:
                    with widgets.show_errors():
                        show(ws)
