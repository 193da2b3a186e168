"""Cached figures of the Fusion page: each signal scored alone, by the prepared fusion's key."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.data.workspace import Workspace
from core.fusion import PreparedFusion

FusionKey = tuple[str, tuple[str, ...], int, str]


def fusion_key(
    ws: Workspace, run_ids: tuple[str, ...], depth: int, normalisation: str
) -> FusionKey:
    """What a prepared fusion is built from: the key of its single-signal figures and of the
    learned gate trained on it (:func:`ui.cache.gate_store`)."""
    return (str(ws.path), run_ids, depth, normalisation)


@st.cache_data(show_spinner=False, max_entries=8)
def _single_signals(
    _prepared: PreparedFusion, key: FusionKey, metrics: tuple[str, ...]
) -> pd.DataFrame:
    names = _prepared.candidates.signal_names
    rows = []
    for position, name in enumerate(names):
        one_hot = np.zeros(len(names), dtype=np.float32)
        one_hot[position] = 1.0
        rows.append({"name": name, **_prepared.evaluate(one_hot, "weighted", metrics)})
    return pd.DataFrame(rows)


def single_signals(
    prepared: PreparedFusion, key: FusionKey, metrics: tuple[str, ...]
) -> pd.DataFrame:
    """``metrics`` of each signal of ``prepared`` alone (weight 1, the others 0): one row per
    signal, its name in ``name``. ``key`` (:func:`fusion_key`) names ``prepared`` in the cache,
    which cannot hash it."""
    return _single_signals(prepared, key, metrics)
