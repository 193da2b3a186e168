"""The Search page's main view: the index settings, the query box and "search as", the chips
recognised in the query, the facets to tick, and the results with each score explained.

Everything from the data (titles, brands, queries, chips) is shown as text: in data frames, in
``st.text``, or escaped with :func:`ui.text.plain` where an element renders Markdown.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from core.data.workspace import Workspace
from core.schema import BRAND, CATEGORY, PRICE, TITLE
from core.search.engine import NO_PRICE, SearchFilters, SearchIndex, SearchResult
from core.search.explain import Ranker, available_rankers, explain, gate_weights
from core.search.query import CATEGORY_SEPARATORS
from ui import cache, feedback, search_cache, state
from ui.search_cache import IndexSettings
from ui.text import plain

ANONYMOUS, KNOWN_USER = "anonymous", "a user"
NO_ENCODER = "none (no semantic signal)"
NO_MODEL = "none (no personal signal)"
MAX_FACET_VALUES = 8
K = 20
RESULT_LABELS = {
    "rank": "#", TITLE: "Title", "score": "Score", "lexical": "Lexical",
    "semantic": "Semantic", "personal": "Personal", "boost": "Chip boost", PRICE: "Price",
    BRAND: "Brand", CATEGORY: "Category", "chips": "Chips matched",
    "weight_lexical": "Gate w lexical", "weight_semantic": "Gate w semantic",
    "weight_personal": "Gate w personal",
}  # fmt: skip


@dataclass(frozen=True)
class Query:
    """What the shopper asked: the text, who searches, and the chips removed."""

    text: str
    user_id: str | None
    drop_chips: tuple[str, ...] = ()


def digest(text: str) -> str:
    """A short stable name for a value in a widget key."""
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def encoder_options(ws: Workspace) -> list[str]:
    """Encoder specs to offer: the default encoder, then the workspace's fine-tuned ones."""
    from core.text.encoders import default_encoder_spec

    return [default_encoder_spec(), *cache.encoders(ws)["path"].tolist()]


def index_settings(ws: Workspace, models: pd.DataFrame, encoders: list[str], keys: tuple) -> (
    IndexSettings
):  # fmt: skip
    """The index's encoder, personal model and expansion, chosen in an expander.

    ``encoders``: encoder specs offered (the default first); ``keys``: the widget keys of the
    encoder, the model run and the expansion choices.
    """
    encoder_key, model_key, expand_key = keys
    runs = models["run_id"].tolist() if not models.empty else []
    model_name = dict(zip(runs, models["model"], strict=True)) if runs else {}
    with st.expander("Index: signals searched", expanded=False):
        left, middle, right = st.columns([2, 2, 1])
        encoder = left.selectbox(
            "Semantic signal (sentence encoder)", [*encoders, NO_ENCODER], key=encoder_key,
            format_func=lambda spec: spec.rsplit("/", 1)[-1],
            help="Products are encoded once (the embedding cache keeps the vectors); the "
            "query is encoded at each search.",
        )  # fmt: skip
        model_run = middle.selectbox(
            "Personal signal (trained model)", [*runs, NO_MODEL], key=model_key,
            format_func=lambda run: f"{model_name[run]} · {run[-8:]}" if run in model_name
            else run,
            help="A known shopper's affinity: the model's score plus the categories and "
            "brands of their history.",
        )  # fmt: skip
        expand = right.checkbox(
            "Synthetic queries", key=expand_key,
            help="Add each product's accepted synthetic queries (Synthetic Data page) to "
            "its words (document expansion).",
        )  # fmt: skip
    return IndexSettings(
        None if encoder == NO_ENCODER else encoder,
        None if model_run == NO_MODEL else model_run,
        bool(expand),
    )


def open_index(ws: Workspace, settings: IndexSettings) -> SearchIndex:
    """The cached index, built with a progress bar the first time.

    The bar lives in a slot drawn on every run, so the widgets after it keep their place in
    the page when the next run finds the index built (no stale copy of them is left on screen).
    """
    slot = st.empty()
    index = search_cache.cached_index(ws, settings)
    if index is not None:
        return index
    with (
        slot.container(),
        feedback.long_step("Building the search index…", "Search index built") as progress,
    ):
        return search_cache.search_index(ws, settings, progress.stage("Index"))


def query_box(index: SearchIndex) -> Query:
    """The query, "search as" and the chips kept."""
    left, middle, right = st.columns([4, 1, 2])
    text = left.text_input(
        "Search products", key=state.SEARCH_QUERY, placeholder="e.g. red kettle under 50"
    )
    who = middle.radio("Search as", (ANONYMOUS, KNOWN_USER), key=state.SEARCH_AS)
    user_id = None
    if who == KNOWN_USER:
        typed = right.text_input(
            "User id", key=state.SEARCH_USER,
            help="A user the personal model was trained on; others are searched as anonymous.",
        )  # fmt: skip
        user_id = typed.strip() or None
        if index.personal is None:
            right.caption("No personal model in the index: results are not personalised.")
    if not text.strip():
        return Query(text, user_id)
    chips = index.search(text, k=1).query.chips
    drop: tuple[str, ...] = ()
    if chips:
        labels = [chip.label for chip in chips]
        kept = st.multiselect(
            "Recognised in the query (remove one to ignore it)", labels, default=labels,
            key=f"{state.SEARCH_CHIPS}{digest(text)}",
            format_func=lambda label: label.replace("_", " ").replace(":", ": ", 1),
            help="Brand, colour and category chips boost the products they match; price "
            "chips filter.",
        )  # fmt: skip
        drop = tuple(label for label in labels if label not in kept)
    return Query(text, user_id, drop)


def price_bands(index: SearchIndex) -> dict[str, tuple[float | None, float | None]]:
    """Each price band label of :meth:`SearchIndex.price_band`, in ascending order, with its
    (lowest, highest) price; a band holds prices from its lower edge up to below its upper one."""
    edges = [float(edge) for edge in index.price_edges]
    labels = index.price_band(_band_probe(index))
    bounds = [
        (edges[slot - 1] if slot else None,
         math.nextafter(edges[slot], -math.inf) if slot < len(edges) else None)
        for slot in range(len(edges) + 1)
    ]  # fmt: skip
    return dict(zip(labels, bounds, strict=True))


def facets(index: SearchIndex, result: SearchResult) -> SearchFilters:
    """The category, brand and price facets with their counts, to tick; the filters ticked."""
    chosen: dict[str, list[str]] = {"category": [], "brand": []}
    for name, title in (("category", "Category"), ("brand", "Brand")):
        table = result.facets[name].head(MAX_FACET_VALUES)
        if table.empty:
            continue
        st.markdown(f"**{title}**")
        for row in table.itertuples(index=False):
            key = f"{state.SEARCH_FACET}{name}_{digest(row.value)}"
            short = CATEGORY_SEPARATORS.split(row.value)[-1] if name == "category" else row.value
            label = f"{plain(short)} ({row.count:,})"
            if st.checkbox(label, key=key, help=plain(row.value) if short != row.value else None):
                chosen[name].append(row.value)
    prices = result.facets["price"]
    prices = prices[prices["value"] != NO_PRICE]
    low = high = None
    if not prices.empty:
        bands = price_bands(index)
        order = {label: i for i, label in enumerate(bands)}
        prices = prices.assign(order=prices["value"].map(order)).sort_values("order")
        counts = dict(zip(prices["value"], prices["count"], strict=True))
        band = st.radio(
            "**Price**", ["any", *counts], key=state.SEARCH_PRICE,
            format_func=lambda v: "any price" if v == "any" else f"{v} ({counts[v]:,})",
        )  # fmt: skip
        if band != "any" and band in counts:
            low, high = bands[band]
    return SearchFilters(
        categories=tuple(chosen["category"]), brands=tuple(chosen["brand"]),
        price_min=low, price_max=high,
    )  # fmt: skip


def _band_probe(index: SearchIndex) -> np.ndarray:
    """One price inside each band, in ascending order."""
    edges = np.asarray(index.price_edges, dtype=float)
    if not len(edges):
        return np.array([0.0])
    middles = (edges[:-1] + edges[1:]) / 2
    return np.concatenate([[edges[0] / 2], middles, [edges[-1] * 2]])


def explanation_line(row: pd.Series) -> str:
    """One result's score in words: its parts, the boost and the chips it matches."""
    parts = " + ".join(f"{name} {row[name]:.3f}" for name in ("lexical", "semantic", "personal"))
    price = f", {row[PRICE]:.2f}" if pd.notna(row[PRICE]) else ""
    about = f"{row[BRAND]}, {row[CATEGORY]}{price}"
    line = f"#{row['rank']} {row[TITLE]} ({about}): score {row['score']:.3f} = ({parts})"
    if row["boost"] != 1:
        line += f" x chip boost {row['boost']:.2f}"
    if row["chips"]:
        line += f" (matches {row['chips']})"
    weights = [c for c in ("weight_lexical", "weight_semantic", "weight_personal") if c in row]
    if weights:
        line += "; gate weights " + ", ".join(f"{c[7:]} {row[c]:.2f}" for c in weights)
    return line


def results(result: SearchResult, ranker: Ranker, user_id: str | None = None) -> None:
    """The results as a table, each score split into its signals, and one explained in words."""
    for note in result.notes:
        st.info(plain(note), icon=":material/info:")
    if result.items.empty:
        st.warning("No product matches this search, even without its filters.")
        return
    frame = explain(result)
    if user_id is not None and frame["personal_raw"].notna().any():
        raised = int((frame["personal"] > 0).sum())
        st.caption(
            f"Personalised for user {plain(user_id)}: the personal part adds to {raised} of "
            f"{len(frame)} results."
        )
    st.caption(
        f"{len(frame)} of {result.n_candidates:,} matching products · ranker "
        f"{plain(ranker.name)} ({plain(ranker.description)}). Score = (lexical + semantic + "
        "personal) x chip boost; each part is the signal's weight times its normalised value."
    )
    shown = frame[[column for column in RESULT_LABELS if column in frame.columns]]
    st.dataframe(
        shown.rename(columns=RESULT_LABELS), hide_index=True, width="stretch",
        column_config={
            "#": st.column_config.NumberColumn(width="small"),
            "Title": st.column_config.TextColumn(width="medium"),
            "Price": st.column_config.NumberColumn(format="%.2f"),
            **{label: st.column_config.NumberColumn(format="%.3f") for label in (
                "Score", "Lexical", "Semantic", "Personal", "Chip boost")},
        },
    )  # fmt: skip
    weights = gate_weights(result)
    if weights is not None:
        st.caption("The gate's weights of the signals for each product are in the last columns.")
    # The options name the results, so a new result list starts again at its first result.
    options = [f"#{row.rank} {row.title}" for row in frame[["rank", TITLE]].itertuples()]
    chosen = st.selectbox("Explain result", options, key=state.SEARCH_EXPLAIN)
    st.text(explanation_line(frame.iloc[options.index(chosen) if chosen in options else 0]))


def ranker_choice(index: SearchIndex, key: str, label: str, default: int = 0) -> Ranker:
    """A selectbox of the rankers the index offers."""
    rankers = {ranker.name: ranker for ranker in available_rankers(index)}
    names = list(rankers)
    name = st.selectbox(
        label, names, index=min(default, len(names) - 1), key=key,
        format_func=lambda n: f"{n} · {rankers[n].description}",
    )  # fmt: skip
    return rankers[name if name in rankers else names[0]]
