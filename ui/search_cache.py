"""Search indexes and search comparisons kept across reruns, one per workspace and settings.

Not ``st.cache_resource`` on the builders themselves: a cached function may not draw on the
page, and building an index draws its progress bar. The stores are ``cache_resource`` dicts
keyed by the workspace path, a fingerprint of the catalogue and the index settings, so a new
catalogue gives a new key; the oldest entries are dropped first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from core.data.workspace import Workspace
from core.evaluation.search_variants import SearchComparison, compare_search_variants
from core.progress import ProgressCallback
from core.schema import CATALOG_TABLE, EVENTS_TABLE
from core.search.engine import SearchIndex
from core.search.explain import Ranker, build_index, recent_queries
from core.search.gate import WEIGHTS_FILE, SearchGate, gate_folder
from ui import cache

MAX_INDEXES = 2
MAX_COMPARISONS = 4


@dataclass(frozen=True)
class IndexSettings:
    """What an index is built from: an encoder spec (None: no semantic signal), a model run for
    the personal signal (None: none), and whether synthetic queries expand product texts."""

    encoder: str | None
    model_run: str | None
    expand: bool = False


@st.cache_resource(show_spinner=False, max_entries=1)
def _indexes() -> dict[tuple, SearchIndex]:
    return {}


@st.cache_resource(show_spinner=False, max_entries=1)
def _comparisons() -> dict[tuple, SearchComparison]:
    return {}


def index_key(ws: Workspace, settings: IndexSettings) -> tuple:
    """The key of the index of ``ws`` built with ``settings``."""
    return (str(ws.path), cache.fingerprint(ws, CATALOG_TABLE), settings)


def cached_index(ws: Workspace, settings: IndexSettings) -> SearchIndex | None:
    """The index already built for these settings, or None."""
    return _indexes().get(index_key(ws, settings))


def search_index(
    ws: Workspace, settings: IndexSettings, callback: ProgressCallback | None = None
) -> SearchIndex:
    """The search index of ``ws`` for ``settings``, built once (``callback`` follows a build)."""
    store = _indexes()
    key = index_key(ws, settings)
    if key not in store:
        encoder = None
        if settings.encoder is not None:
            from core.text.encoders import load_encoder

            encoder = load_encoder(settings.encoder)
        personal = cache.trained_model(ws, settings.model_run) if settings.model_run else None
        index = build_index(
            ws, encoder=encoder, personal_model=personal, expand=settings.expand, callback=callback
        )
        if index.semantic is not None and (gate_path(ws, settings, index) / WEIGHTS_FILE).is_file():
            index.gate = SearchGate.load(gate_path(ws, settings, index))
        store[key] = index
        while len(store) > MAX_INDEXES:
            store.pop(next(iter(store)))
    return store[key]


def gate_path(ws: Workspace, settings: IndexSettings, index: SearchIndex) -> Path:
    """The folder of the gate trained for an index of ``settings`` (needs an encoder)."""
    expand = "expanded" if settings.expand else None
    return gate_folder(ws, index.semantic.encoder.model_id, settings.model_run, expand)


def comparison_key(
    ws: Workspace, settings: IndexSettings, rankers: tuple[Ranker, ...], control: str,
    max_searches: int, n_resamples: int,
) -> tuple:  # fmt: skip
    """The key of a search comparison: the index, the rankers and the comparison settings."""
    events = cache.fingerprint(ws, EVENTS_TABLE)
    return (index_key(ws, settings), events, rankers, control, max_searches, n_resamples)


def saved_comparison(key: tuple) -> SearchComparison | None:
    """A comparison made earlier in this server's life, or None."""
    return _comparisons().get(key)


def search_comparison(
    ws: Workspace,
    index: SearchIndex,
    key: tuple,
    callback: ProgressCallback | None = None,
) -> SearchComparison:
    """:func:`core.evaluation.search_variants.compare_search_variants`, kept under ``key``
    (:func:`comparison_key`)."""
    store = _comparisons()
    if key not in store:
        _, _, rankers, control, max_searches, n_resamples = key
        store[key] = compare_search_variants(
            ws, index, list(rankers), control=control, max_searches=max_searches,
            n_resamples=n_resamples, callback=callback,
        )  # fmt: skip
        while len(store) > MAX_COMPARISONS:
            store.pop(next(iter(store)))
    return store[key]


@st.cache_data(show_spinner=False, max_entries=32)
def _recent_queries(path: str, events_fingerprint: str, user_id: str, n: int) -> pd.DataFrame:
    return recent_queries(Workspace(Path(path)), user_id, n)


def user_recent_queries(ws: Workspace, user_id: str, n: int = 10) -> pd.DataFrame:
    """:func:`core.search.explain.recent_queries` of the cleaned log."""
    return _recent_queries(str(ws.path), cache.fingerprint(ws, EVENTS_TABLE), user_id, n)
