"""Cached figures of the Fusion page, by the prepared fusion's key: each signal scored alone,
and the weight sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.data.workspace import Workspace
from core.figures.fusion import sweep_metrics
from core.fusion import PreparedFusion, search_weights
from core.progress import ProgressCallback

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


MAX_SWEEPS = 8


@st.cache_resource(show_spinner=False, max_entries=1)
def _sweeps() -> dict[tuple, pd.DataFrame]:
    """Weight sweeps by (fusion key, method, step), oldest first. Not ``st.cache_data``: a
    cached function may not draw on the page, and the sweep's callback draws its progress."""
    return {}


def weight_sweep(
    prepared: PreparedFusion,
    key: FusionKey,
    method: str,
    step: float,
    callback: ProgressCallback | None = None,
) -> pd.DataFrame:
    """The grid sweep of :func:`core.fusion.search_weights` on ``prepared`` (NDCG@10 and the
    trade-off metrics); ``callback`` follows a sweep that is not kept yet. ``key``
    (:func:`fusion_key`) names ``prepared`` among the kept sweeps."""
    sweeps = _sweeps()
    sweep_key = (key, method, step)
    if sweep_key not in sweeps:
        sweeps[sweep_key] = search_weights(
            prepared,
            method=method,
            step=step,
            metrics=sweep_metrics(prepared.context),
            callback=callback,
        ).sweep
        while len(sweeps) > MAX_SWEEPS:
            sweeps.pop(next(iter(sweeps)))
    return sweeps[sweep_key].copy()
