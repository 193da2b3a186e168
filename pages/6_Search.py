"""Search: the shopper's product search, each score explained, two rankers side by side."""

from __future__ import annotations

import streamlit as st

from core.search.engine import SearchFilters
from ui import cache, shell, state
from ui.feedback import show_errors
from ui.views.search import (
    encoder_options,
    facets,
    index_settings,
    open_index,
    query_box,
    ranker_choice,
    results,
)
from ui.views.search_compare import recent, side_by_side
from ui.views.search_gate import gate_trainer

ws, status = shell.page(
    "Search",
    needs=shell.CLEANED,
    message="Load and clean a dataset with a catalogue first: search runs over its products.",
)
with show_errors():
    settings = index_settings(
        ws,
        cache.model_list(ws),
        encoder_options(ws),
        (state.SEARCH_ENCODER, state.SEARCH_MODEL_RUN, state.SEARCH_EXPAND),
    )
    index = open_index(ws, settings)
    gate_trainer(ws, settings, index)
    query = query_box(index)
    if not query.text.strip():
        st.caption(
            'Type a query: brands, colours, categories and price bounds ("under 50") are '
            "recognised as chips."
        )
        st.stop()
    tab_results, tab_compare, tab_recent = st.tabs(
        ["Results", "Two rankers side by side", "Recent queries"]
    )
    with tab_results:
        ranker = ranker_choice(index, state.SEARCH_RANKER, "Ranker")
        unfiltered = ranker.search(index, query.text, query.user_id, 20, None, query.drop_chips)
        left, right = st.columns([1.3, 4])
        with left:
            filters = facets(index, unfiltered)
        with right:
            chosen = (
                unfiltered
                if filters == SearchFilters()
                else ranker.search(index, query.text, query.user_id, 20, filters, query.drop_chips)
            )
            results(chosen, ranker, query.user_id)
    with tab_compare:
        side_by_side(index, query, filters)
    with tab_recent:
        recent(ws, query.user_id)
