"""Synthetic search queries for products: a template baseline, a small LM, round-trip filtering.

Generators
----------
``template``
    :func:`template_queries` fills query patterns (``"{colour} {type}"``, ``"{brand} {type}"``,
    ``"cheap {type}"``, ``"{type} under 50"``, a span of title words...) from each product's
    product type (the last level of its category, singular), brand, colour, material, size,
    feature and price (a price word when the product is cheap or dear for its type).
``lm:<name>``
    A :class:`core.synth.lm.TextLM` trained by :func:`train_query_lm` on ``<product prompt>
    <sep> <query>`` from the search log's (query, engaged product) pairs
    (:func:`core.text.finetune.search_click_pairs`); without searches in the log, on spans of
    titles and descriptions as pseudo-queries.

Review
------
:func:`core.synth.review.round_trip` embeds each synthetic query with the sentence encoder,
ranks the whole catalogue by cosine similarity (product embeddings come from the workspace's
embedding cache) and records the rank and the score of the query's own product: a query is
consistent when its product is in the top ``k``. :func:`query_flags` marks what a reviewer
should look at: a copy of a real query or of the LM's training text (memorisation), too short,
too long, not consistent, naming another product's brand, colour or material
(:func:`core.synth.review.attribute_mismatches`).
:func:`synthesize_queries` runs the whole step and stores the samples as pending (see
:mod:`core.synth.store`).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from core.data.runs import SYNTHETIC_QUERIES_KIND
from core.data.workspace import Workspace
from core.errors import QueryGenerationError
from core.progress import ProgressCallback
from core.schema import (
    BRAND,
    CATEGORY,
    DESCRIPTION,
    EVENTS_TABLE,
    ITEM_ID,
    PRICE,
    SEARCH,
    TITLE,
)
from core.synth.catalog_fields import (
    aligned_catalog,
    catalog_column,
    co_purchased_names,
    price_words,
    read_catalog,
    singular,
    thin_catalogue_note,
)
from core.synth.generation import (
    TEMPLATE,
    generate_samples,
    lm_samples,
    staged_callback,
)
from core.synth.lm import LMConfig, StopCheck, TextLM, check_stop
from core.synth.lm_store import save_lm
from core.synth.lm_training import train_lm
from core.synth.prompts import normalise_text, product_prompts
from core.synth.review import attribute_mismatches, flag_shares, round_trip
from core.synth.store import (
    COPY_OF_REAL,
    NOT_ROUND_TRIP,
    QUERY_KIND,
    TOO_LONG,
    TOO_SHORT,
    WRONG_ATTRIBUTE,
    SynthesisRun,
    record_samples,
)
from core.synth.warm import WarmConfig, WarmGenerator, train_warm
from core.text.cache import EmbeddingCache, TextEncoder

QUERY_LM_TASK = "query"
# The warm-started query generator (see core.synth.warm): a three-layer MiniLM decoder with
# copy attention, trained for 150 steps on 4,800 of the pairs whose real query finds its
# product in the top 10; the new weights learn at 1e-3 (benchmarks/results/synth.json).
WARM_QUERY_CONFIG = WarmConfig(
    max_source_tokens=32, max_target_tokens=12, epochs=1, max_pairs=4800, batch_size=32,
    learning_rate=3e-4, new_learning_rate=1e-3, decoder_layers=3,
)  # fmt: skip
# About 0.66M parameters. On the sample world (20,795 pairs) an epoch takes about 55 s on one
# thread (benchmarks/results/synth.json); the validation loss falls from 3.6 after one epoch to
# 2.18 after 6 and 1.98 after 12, and fewer epochs leave more brands and colours made up.
QUERY_LM_CONFIG = LMConfig(
    max_source_tokens=40, max_target_tokens=16, epochs=12, learning_rate=3e-3
)

LOW_PRICE_WORDS: tuple[str, ...] = ("cheap", "budget", "affordable")
HIGH_PRICE_WORDS: tuple[str, ...] = ("premium", "luxury", "high end")
PRICE_BOUNDS: tuple[int, ...] = (
    10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000,
)  # fmt: skip
# Slots of each query pattern; a pattern is used for a product only when every slot has a value.
QUERY_PATTERNS: tuple[tuple[str, ...], ...] = (
    ("type",),
    ("colour", "type"),
    ("brand", "type"),
    ("material", "type"),
    ("feature", "type"),
    ("type", "size"),
    ("colour", "material", "type"),
    ("brand", "colour", "type"),
    ("feature", "colour", "type"),
    ("price_word", "type"),
    ("type", "under"),
    ("title_words",),
    ("head",),
    ("brand", "model"),
    ("brand",),
)
_WORD = re.compile(r"[\w][\w'+.-]*")
# A span of a name that starts or ends with one of these ("pack of", "set of 3") is no query.
EDGE_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "per",
     "pack", "set", "the", "to", "with", "x"}
)  # fmt: skip


def _name_spans(words: Sequence[str], widest: int = 3) -> list[str]:
    """Spans of 1 to ``widest`` words of a name that hold a letter and neither start nor end
    with a word of :data:`EDGE_WORDS`."""
    spans = []
    for width in range(1, min(widest, len(words)) + 1):
        for start in range(len(words) - width + 1):
            span = words[start : start + width]
            if span[0] in EDGE_WORDS or span[-1] in EDGE_WORDS:
                continue
            if re.search(r"[^\W\d_]", " ".join(span)):
                spans.append(" ".join(span))
    return spans


def _head(words: Sequence[str]) -> str:
    """The last two words of a name that hold a letter and are no edge words ("t-light
    holder" of "WHITE HANGING HEART T-LIGHT HOLDER"): what the product is, when the catalogue
    gives no type."""
    kept = [w for w in words if w not in EDGE_WORDS and re.search(r"[^\W\d_]", w)]
    return " ".join(kept[-2:])


# --------------------------------------------------------------------------------------------
# Template baseline


def _price_bound(price: float) -> str:
    if not price > 0 or math.isnan(price):
        return ""
    for bound in PRICE_BOUNDS:
        if price <= bound:
            return str(bound)
    return ""


def _title_words(title: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(title)]


def template_queries(
    catalog: pd.DataFrame,
    *,
    n_per_product: int = 3,
    item_ids: Sequence[str] | None = None,
    random_state: int = 0,
) -> pd.DataFrame:
    """Up to ``n_per_product`` distinct queries per product from :data:`QUERY_PATTERNS`.

    Each product draws patterns (without repeats) among those its attributes fill; price
    words, title spans and model names are drawn too. The same ``random_state`` and input give
    the same queries.

    Parameters
    ----------
    catalog : pandas.DataFrame
        ``item_id`` and any of ``title``, ``category``, ``brand``, ``price``, ``colour``,
        ``material``, ``size``, ``feature``.
    n_per_product : int
        Queries per product (fewer when its attributes fill fewer patterns).
    item_ids : sequence of str, optional
        The products to write queries for; every catalogue product if omitted.
    random_state : int
        Seed.

    Returns
    -------
    pandas.DataFrame
        Columns ``item_id`` and ``text`` (lower-case), products in input order.
    """
    if n_per_product < 1:
        raise QueryGenerationError(f"n_per_product must be at least 1, got {n_per_product}")
    table = aligned_catalog(catalog, item_ids)
    rng = np.random.default_rng(random_state)
    colour_column = "colour" if "colour" in table.columns else "color"
    columns = {
        "title": catalog_column(table, TITLE),
        "type": [singular(value.rsplit(">", 1)[-1]) for value in catalog_column(table, CATEGORY)],
        "brand": [value.lower() for value in catalog_column(table, BRAND)],
        "colour": [value.lower() for value in catalog_column(table, colour_column)],
        "material": [value.lower() for value in catalog_column(table, "material")],
        "size": [value.lower() for value in catalog_column(table, "size")],
        "feature": [value.lower() for value in catalog_column(table, "feature")],
    }
    levels = price_words(table)
    prices = (
        pd.to_numeric(table[PRICE], errors="coerce").to_numpy()
        if PRICE in table.columns
        else np.full(len(table), np.nan)
    )
    rows = []
    for row, item_id in enumerate(table[ITEM_ID]):
        values = {slot: column[row] for slot, column in columns.items()}
        words = _title_words(values["title"])
        brand_words = set(values["brand"].split())
        type_words = set(values["type"].split()) | {w + "s" for w in values["type"].split()}
        # Model name: title words after the brand that are neither type nor attribute words.
        attribute_words = {w for slot in ("colour", "material", "feature", "size")
                           for w in values[slot].split()}  # fmt: skip
        model = [w for w in words if w not in brand_words | type_words | attribute_words]
        values["model"] = " ".join(model[:2]) if values["brand"] else ""
        if levels[row]:
            choices = LOW_PRICE_WORDS if levels[row] == "low" else HIGH_PRICE_WORDS
            values["price_word"] = str(rng.choice(choices))
        else:
            values["price_word"] = ""
        bound = _price_bound(float(prices[row]))
        values["under"] = f"under {bound}" if bound else ""
        # A span of numbers alone ("28 cm" cut to "28") or ending in "of" is no query.
        spans = _name_spans(words)
        values["title_words"] = str(spans[int(rng.integers(len(spans)))]) if spans else ""
        values["head"] = "" if values["type"] else _head(words)
        usable = [p for p in QUERY_PATTERNS if all(values[slot] for slot in p)]
        seen: set[str] = set()
        for index in rng.permutation(len(usable)):
            text = " ".join(values[slot] for slot in usable[index])
            if text not in seen:
                seen.add(text)
                rows.append((item_id, text))
            if len(seen) == n_per_product:
                break
    return pd.DataFrame(rows, columns=[ITEM_ID, "text"])


# --------------------------------------------------------------------------------------------
# Language model


def pseudo_queries(
    catalog: pd.DataFrame, *, n_per_product: int = 4, random_state: int = 0
) -> pd.DataFrame:
    """Spans of titles (three in four) and descriptions as stand-in queries, lower-cased.

    For a log without searches: a title span is 1-4 words, a description span 2-3 words.

    Returns
    -------
    pandas.DataFrame
        Columns ``query`` and ``item_id``, distinct pairs.
    """
    table = aligned_catalog(catalog, None)
    rng = np.random.default_rng(random_state)
    titles = catalog_column(table, TITLE)
    descriptions = catalog_column(table, DESCRIPTION)
    rows = []
    for item_id, title, description in zip(table[ITEM_ID], titles, descriptions, strict=True):
        title_words, description_words = _title_words(title), _title_words(description)
        for _ in range(n_per_product):
            use_title = title_words and (not description_words or rng.random() < 0.75)
            words = title_words if use_title else description_words
            if not words:
                continue
            low, high = (1, 4) if use_title else (2, 3)
            width = int(rng.integers(low, min(high, len(words)) + 1))
            start = int(rng.integers(0, len(words) - width + 1))
            rows.append((" ".join(words[start : start + width]), item_id))
    return pd.DataFrame(rows, columns=["query", ITEM_ID]).drop_duplicates(ignore_index=True)


def query_training_pairs(
    workspace: Workspace,
    *,
    pairs: pd.DataFrame | None = None,
    n_pseudo_per_product: int = 4,
    random_state: int = 0,
) -> tuple[pd.DataFrame, str]:
    """The (query, item_id) pairs a query LM trains on, and where they came from.

    ``pairs`` when given, else the workspace's search-then-engage pairs
    (:func:`core.text.finetune.search_click_pairs`); when there are none, pseudo-queries
    (:func:`pseudo_queries`). The origin is ``"given"``, ``"search_clicks"`` or ``"pseudo"``.
    """
    catalog = read_catalog(workspace)
    known = set(catalog[ITEM_ID].astype(str))
    if pairs is not None:
        origin = "given"
    else:
        from core.text.finetune import search_click_pairs

        pairs = (
            search_click_pairs(workspace)
            if workspace.table_exists(EVENTS_TABLE)
            else pd.DataFrame(columns=["query", ITEM_ID])
        )
        origin = "search_clicks"
    missing = {"query", ITEM_ID} - set(pairs.columns)
    if missing:
        raise QueryGenerationError(f"pairs need the columns query and item_id (missing {missing})")
    pairs = pairs[["query", ITEM_ID]].dropna().astype(str)
    pairs = pairs.assign(query=[normalise_text(query) for query in pairs["query"]])
    pairs = pairs[(pairs["query"] != "") & pairs[ITEM_ID].isin(known)]
    if pairs.empty and origin == "search_clicks":
        pairs = pseudo_queries(
            catalog, n_per_product=n_pseudo_per_product, random_state=random_state
        )
        origin = "pseudo"
    return pairs.drop_duplicates(ignore_index=True), origin


def train_query_lm(
    workspace: Workspace,
    name: str,
    config: LMConfig = QUERY_LM_CONFIG,
    *,
    pairs: pd.DataFrame | None = None,
    callback: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> TextLM:
    """Train a query LM on the workspace's pairs (see :func:`query_training_pairs`), save it
    as ``name`` and record the run.

    The model is saved only when training finishes: a stop (``should_stop`` or a callback
    raising :class:`core.errors.TrainingCancelled`) leaves no model and no run behind.
    """
    training, origin = query_training_pairs(
        workspace, pairs=pairs, random_state=config.random_state
    )
    if len(training) < 2:
        raise QueryGenerationError(
            "fewer than 2 (query, product) pairs to learn from: load a log with searches, or a "
            "catalogue with titles"
        )
    catalog = read_catalog(workspace)
    sources = product_prompts(catalog, training[ITEM_ID].tolist())
    lm = train_lm(
        sources, training["query"].tolist(), config, callback=callback, should_stop=should_stop
    )
    check_stop(should_stop)
    metadata = {"task": QUERY_LM_TASK, "origin": origin, "n_pairs": len(training)}
    save_lm(workspace, name, lm, metadata)
    history = lm.metadata["history"]
    workspace.add_run(
        "synthetic_lm",
        name,
        {"task": QUERY_LM_TASK, **asdict(config)},
        metrics={**history[-1], "origin": origin, "n_pairs": len(training)},
    )
    return lm


def warm_sources(workspace: Workspace, catalog: pd.DataFrame, item_ids: Sequence[str]) -> list[str]:
    """Source texts of the warm-started generator: the product prompts, and for a thin
    catalogue (:func:`core.synth.catalog_fields.thin_catalogue_note`) the names of the
    products bought with each one (``"<prompt> | bought with: a, b"``)."""
    prompts = product_prompts(catalog, item_ids)
    if thin_catalogue_note(catalog) is None:
        return prompts
    bought = co_purchased_names(workspace, list(dict.fromkeys(str(i) for i in item_ids)))
    return [
        f"{prompt} | bought with: {', '.join(bought[str(item)])}"
        if bought.get(str(item))
        else prompt
        for prompt, item in zip(prompts, item_ids, strict=True)
    ]


def consistent_pairs(
    workspace: Workspace,
    pairs: pd.DataFrame,
    encoder: TextEncoder,
    *,
    k: int = 10,
    callback: ProgressCallback | None = None,
) -> pd.DataFrame:
    """The (query, item_id) pairs whose real query retrieves its product in the top ``k``
    (:func:`core.synth.review.round_trip`, product embeddings through the workspace's cache).

    Many real queries name only a product type ("frying pan") that fits dozens of products; a
    generator trained on them writes the same vague queries. Training on the pairs a query
    identifies teaches it to name what sets the product apart (brand, model, colour).
    """
    catalog = read_catalog(workspace)
    trip = round_trip(
        pairs["query"].tolist(), pairs[ITEM_ID].tolist(), catalog, encoder, k=k,
        cache=EmbeddingCache.for_workspace(workspace), callback=callback,
    )  # fmt: skip
    return pairs[trip["consistent"].to_numpy()].reset_index(drop=True)


def train_warm_query_model(
    workspace: Workspace,
    name: str,
    config: WarmConfig = WARM_QUERY_CONFIG,
    *,
    pairs: pd.DataFrame | None = None,
    encoder: str | TextEncoder | None = None,
    k: int | None = 10,
    callback: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> WarmGenerator:
    """Train the warm-started query generator on the workspace's pairs (see
    :func:`query_training_pairs`), those whose query finds its product in the top ``k`` only
    (all when ``k`` is None, or when fewer than 2 do), save it as ``name`` and record the run.

    ``encoder`` is the round-trip encoder of that check (its spec, or None for the default).
    Nothing is saved when training is stopped.
    """
    training, origin = query_training_pairs(
        workspace, pairs=pairs, random_state=config.random_state
    )
    if len(training) < 2:
        raise QueryGenerationError(
            "fewer than 2 (query, product) pairs to learn from: load a log with searches, or a "
            "catalogue with titles"
        )
    started = time.perf_counter()
    n_pairs = len(training)
    if k is not None:
        if encoder is None or isinstance(encoder, str):
            from core.text.encoders import load_encoder

            encoder = load_encoder(encoder)
        kept = consistent_pairs(
            workspace, training, encoder, k=k,
            callback=staged_callback(callback, should_stop, "selecting pairs"),
        )  # fmt: skip
        training = kept if len(kept) >= 2 else training
    catalog = read_catalog(workspace)
    model = train_warm(
        warm_sources(workspace, catalog, training[ITEM_ID].tolist()), training["query"].tolist(),
        config, extra_sources=warm_sources(workspace, catalog, catalog[ITEM_ID].tolist()),
        callback=callback, should_stop=should_stop,
    )  # fmt: skip
    check_stop(should_stop)
    seconds = time.perf_counter() - started
    metadata = {"task": QUERY_LM_TASK, "origin": origin, "n_pairs": n_pairs,
                "n_consistent_pairs": len(training), "consistent_k": k,
                "train_seconds": seconds}  # fmt: skip
    save_lm(workspace, name, model, metadata)
    workspace.add_run(
        "synthetic_lm",
        name,
        {"task": QUERY_LM_TASK, "architecture": "warm", "consistent_k": k, **asdict(config)},
        metrics={
            **model.metadata["history"][-1],
            "origin": origin,
            "n_pairs": n_pairs,
            "n_consistent_pairs": len(training),
            "train_seconds": seconds,
        },
    )
    return model


# --------------------------------------------------------------------------------------------
# Review


def real_queries(workspace: Workspace) -> set[str]:
    """Every distinct search query of the workspace's events, normalised."""
    if not workspace.table_exists(EVENTS_TABLE):
        return set()
    with workspace.connect() as con:
        rows = con.execute(
            f"SELECT DISTINCT query FROM {EVENTS_TABLE} WHERE event = ? AND query IS NOT NULL",
            [SEARCH],
        ).fetchall()
    return {normalise_text(row[0]) for row in rows} - {""}


def query_flags(
    texts: Sequence[str],
    *,
    copies: set[str] = frozenset(),
    consistent: Sequence[bool] | None = None,
    mismatches: Sequence[Sequence[str]] | None = None,
    min_chars: int = 3,
    max_words: int = 8,
) -> list[list[str]]:
    """Reviewer flags of each query.

    ``copy_of_real``: its normalised text is in ``copies`` (real queries, the LM's training
    queries); ``too_short``: fewer than ``min_chars`` characters; ``too_long``: more than
    ``max_words`` words; ``not_round_trip``: ``consistent`` is False; ``wrong_attribute``: its
    ``mismatches`` (see :func:`attribute_mismatches`) are not empty.
    """
    for name, values in (("round-trip results", consistent), ("mismatch lists", mismatches)):
        if values is not None and len(values) != len(texts):
            raise QueryGenerationError(f"{len(values)} {name} for {len(texts)} texts")
    flags = []
    for row, text in enumerate(texts):
        norm = normalise_text(text)
        row_flags = []
        if norm in copies:
            row_flags.append(COPY_OF_REAL)
        if len(norm) < min_chars:
            row_flags.append(TOO_SHORT)
        if len(norm.split()) > max_words:
            row_flags.append(TOO_LONG)
        if consistent is not None and not consistent[row]:
            row_flags.append(NOT_ROUND_TRIP)
        if mismatches is not None and len(mismatches[row]):
            row_flags.append(WRONG_ATTRIBUTE)
        flags.append(row_flags)
    return flags


def synthesize_queries(
    workspace: Workspace,
    generator: str = TEMPLATE,
    *,
    n_per_product: int = 3,
    item_ids: Sequence[str] | None = None,
    k: int = 10,
    encoder: str | TextEncoder | None = None,
    temperature: float = 1.0,
    top_p: float = 0.9,
    batch_size: int = 64,
    min_chars: int = 3,
    max_words: int = 8,
    random_state: int = 0,
    callback: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> SynthesisRun:
    """Generate queries, filter them by round trip, flag them and store them as pending.

    Parameters
    ----------
    workspace : Workspace
        Workspace with a cleaned catalogue (and events, for the real-query check).
    generator : str
        ``"template"``, ``"warm:<name>"`` (trained by :func:`train_warm_query_model`; it
        prefers queries that are not a copy of a real one) or ``"lm:<name>"`` (the GPT-2
        baseline, trained by :func:`train_query_lm`).
    n_per_product : int
        Queries written per product (duplicates of a product's queries are dropped).
    item_ids : sequence of str, optional
        Products to write for; every catalogue product if omitted.
    k : int
        Round-trip threshold: the product must rank in the top ``k`` for its query.
    encoder : str or TextEncoder, optional
        Encoder of the round trip, or its spec for :func:`core.text.encoders.load_encoder`.
    temperature, top_p, batch_size : optional
        LM sampling settings (see :meth:`TextLM.generate`).
    min_chars, max_words : int
        Length limits of the flags.
    random_state : int
        Seed of the generator.
    callback : callable, optional
        ``callback(step, total, info)`` through generation, then filtering.
    should_stop : callable, optional
        Checked throughout; True raises TrainingCancelled and nothing is stored.

    Returns
    -------
    SynthesisRun
        The stored samples and the run's metrics: ``n_generated``, ``n_samples`` (after
        dropping empty and repeated texts), ``keep_rate`` (share consistent), ``k``,
        ``copy_rate`` and one ``<flag>_rate`` per flag, ``mean_score``,
        ``generation_seconds``, ``filter_seconds``.
    """
    catalog = read_catalog(workspace)
    started = time.perf_counter()
    copies = real_queries(workspace)
    raw, lm_copies = generate_samples(
        workspace, generator, task=QUERY_LM_TASK, error=QueryGenerationError,
        template=lambda: template_queries(
            catalog, n_per_product=n_per_product, item_ids=item_ids, random_state=random_state
        ),
        from_lm=lambda lm, progress: lm_samples(
            lm, aligned_catalog(catalog, item_ids), n_per_product, temperature=temperature,
            top_p=top_p, batch_size=batch_size, random_state=random_state, avoid=copies,
            sources=warm_sources(workspace, catalog, aligned_catalog(catalog, item_ids)[ITEM_ID])
            if isinstance(lm, WarmGenerator) else None,
            callback=progress,
        ),
        callback=callback, should_stop=should_stop,
    )  # fmt: skip
    copies |= lm_copies
    generated = time.perf_counter()
    samples = raw.assign(text=[normalise_text(text) for text in raw["text"]])
    samples = samples[samples["text"] != ""].drop_duplicates(ignore_index=True)
    if samples.empty:
        raise QueryGenerationError("the generator wrote no query: train the model longer")
    if encoder is None or isinstance(encoder, str):
        from core.text.encoders import load_encoder

        encoder = load_encoder(encoder)
    trip = round_trip(
        samples["text"].tolist(), samples[ITEM_ID].tolist(), catalog, encoder, k=k,
        cache=EmbeddingCache.for_workspace(workspace),
        callback=staged_callback(callback, should_stop, "filtering"),
    )  # fmt: skip
    samples = samples.assign(rank=trip["rank"], score=trip["score"])
    mismatches = attribute_mismatches(samples["text"].tolist(), samples[ITEM_ID].tolist(), catalog)
    samples["flags"] = query_flags(
        samples["text"].tolist(), copies=copies, consistent=trip["consistent"].tolist(),
        mismatches=mismatches, min_chars=min_chars, max_words=max_words,
    )  # fmt: skip
    check_stop(should_stop)
    finished = time.perf_counter()
    metrics: dict[str, Any] = {
        "n_generated": len(raw),
        "n_samples": len(samples),
        "n_products": int(samples[ITEM_ID].nunique()),
        "keep_rate": float(trip["consistent"].mean()),
        "k": k,
        "mean_score": float(trip["score"].mean()),
        "copy_rate": sum(COPY_OF_REAL in row for row in samples["flags"]) / len(samples),
        **flag_shares(samples["flags"], (TOO_SHORT, TOO_LONG, NOT_ROUND_TRIP, WRONG_ATTRIBUTE)),
        "generation_seconds": generated - started,
        "filter_seconds": finished - generated,
    }
    note = thin_catalogue_note(catalog)
    if note:
        metrics["note"] = note
    params = {
        "generator": generator, "n_per_product": n_per_product, "k": k,
        "encoder": getattr(encoder, "model_id", str(encoder)), "temperature": temperature,
        "top_p": top_p, "min_chars": min_chars, "max_words": max_words,
        "random_state": random_state, "n_items": len(item_ids) if item_ids is not None else None,
    }  # fmt: skip
    run_id, ids = record_samples(
        workspace, samples, kind=QUERY_KIND, run_kind=SYNTHETIC_QUERIES_KIND,
        generator=generator, params=params, metrics=metrics,
    )  # fmt: skip
    stored = samples.assign(sample_id=ids)[["sample_id", ITEM_ID, "text", "score", "rank", "flags"]]
    return SynthesisRun(run_id, QUERY_KIND, generator, stored, metrics)
