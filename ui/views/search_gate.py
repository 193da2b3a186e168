"""The Search page's learned gate: train it on the workspace's search sessions for the index
in use, with a progress bar, and attach it so that the ranker list offers it."""

from __future__ import annotations

import streamlit as st

from core.data.workspace import Workspace
from core.search.engine import SearchIndex
from core.search.gate import train_search_gate
from ui import feedback, search_cache, state
from ui.search_cache import IndexSettings

# Validation searches the page learns from (a seeded subset).
GATE_MAX_SEARCHES = 2000
GATE_EPOCHS = 30


def gate_trainer(ws: Workspace, settings: IndexSettings, index: SearchIndex) -> None:
    """An expander with the gate's state and a button that trains (or retrains) it."""
    with st.expander("Learned gate (query-product signal weights)", expanded=False):
        if index.semantic is None:
            st.caption("The gate weighs signals by the query's and products' vectors: choose a "
                       "sentence encoder above to train one.")  # fmt: skip
            return
        gate = index.gate
        if gate is None:
            st.caption("No gate for these index settings yet. Training reads the validation "
                       "searches followed by clicks, carts or purchases (the training ones are "
                       "in the personal model's data), tunes the convex weights on them, fits "
                       "the gate from those weights on two thirds and stops when the other "
                       "third's NDCG@10 stops improving.")  # fmt: skip
        else:
            st.caption(_summary(gate))
        label = "Retrain the gate" if gate is not None else "Train a gate"
        if not st.button(label, key=state.SEARCH_GATE_TRAIN):
            return
        folder = search_cache.gate_path(ws, settings, index)
        with feedback.long_step("Training the search gate…", "Search gate trained") as progress:
            index.gate = train_search_gate(
                ws, index, folder, max_searches=GATE_MAX_SEARCHES, epochs=GATE_EPOCHS,
                callback=progress.stage("Gate"),
            )  # fmt: skip
        st.caption(_summary(index.gate))


def _summary(gate) -> str:
    history = gate.valid_ndcg_history_
    weights = f"starts at alpha {gate.alpha:g}, personal weight {gate.personal_weight:g}"
    if not history:
        return f"Gate in use: {weights}."
    return (
        f"Gate in use: {weights}; validation NDCG@10 {history[0]:.4f} for those convex weights, "
        f"{history[gate.best_epoch_]:.4f} for the kept epoch {gate.best_epoch_} "
        "(epoch 0 means no epoch beat the convex weights: the gate ranks as they do)."
    )
