"""Synthetic product descriptions for products whose description is missing or short.

A description is short when it has fewer than ``min_words`` words (:func:`description_targets`).
A short description is extended (the new text starts with it); a missing one is written anew.

Generators
----------
``template``
    :func:`template_descriptions` writes sentences from the product's type, brand, feature,
    colour, material, size and price, each sentence drawn among a few phrasings, and leaves out
    what an existing short description already says.
``warm:<name>``
    A :class:`core.synth.warm.WarmGenerator` (MiniLM warm-started on both sides) trained by
    :func:`train_warm_description_model` on the same pairs; it writes whole descriptions.
``lm:<name>``
    A :class:`core.synth.lm.TextLM` trained by :func:`train_description_lm` on
    ``<title | type | brand | attributes> <sep> <description>`` from the products whose
    description is complete, continuing a short description where there is one.

:func:`description_flags` marks copies of a real description (memorisation), samples still
short or too long, and repetitive ones; :func:`synthesize_descriptions` runs the whole step and
stores the samples as pending for review (see :mod:`core.synth.store`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from core.data.runs import SYNTHETIC_DESCRIPTIONS_KIND
from core.data.workspace import Workspace
from core.errors import DescriptionGenerationError
from core.progress import ProgressCallback
from core.schema import BRAND, CATEGORY, DESCRIPTION, ITEM_ID, PRICE, TITLE
from core.synth.catalog_fields import (
    aligned_catalog,
    catalog_column,
    co_purchased_names,
    price_words,
    read_catalog,
    singular,
    thin_catalogue_note,
)
from core.synth.generation import TEMPLATE, generate_samples, lm_samples
from core.synth.lm import LMConfig, StopCheck, TextLM, check_stop
from core.synth.lm_store import Generator, save_lm
from core.synth.lm_training import train_lm
from core.synth.prompts import normalise_text, product_prompts
from core.synth.review import attribute_mismatches, flag_shares
from core.synth.store import (
    COPY_OF_REAL,
    DESCRIPTION_KIND,
    REPETITIVE,
    TOO_LONG,
    TOO_SHORT,
    WRONG_ATTRIBUTE,
    SynthesisRun,
    record_samples,
)
from core.synth.warm import WarmConfig, WarmGenerator, train_warm

DESCRIPTION_LM_TASK = "description"
DEFAULT_MIN_WORDS = 15
DEFAULT_MAX_WORDS = 120
# Descriptions keep their case and need a longer target than queries.
DESCRIPTION_LM_CONFIG = LMConfig(
    lowercase=False, max_source_tokens=40, max_target_tokens=96, batch_size=32, epochs=8
)
# Warm-started descriptions: longer targets, smaller batches, two passes.
WARM_DESCRIPTION_CONFIG = WarmConfig(
    max_source_tokens=40, max_target_tokens=64, epochs=2, batch_size=16, learning_rate=3e-4
)
# A sample is repetitive when a sequence of this many words occurs twice in it.
REPEAT_NGRAM = 4

# Phrasings of each sentence; {A_feature} is the feature with its article ("A waterproof").
_INTRO = (
    "{A_feature} {type} from {brand}.",
    "This {type} by {brand} is {feature}.",
    "{Brand} made this {feature} {type}.",
)
_INTRO_NO_FEATURE = ("{A_type} from {brand}.", "This {type} is made by {brand}.")
_INTRO_NO_BRAND = ("{A_feature} {type}.", "This {type} is {feature}.")
_COLOUR = (
    "It comes in {colour}.",
    "Available in {colour}.",
    "Its {colour} colour is easy to match.",
)
_MATERIAL = ("It is made with {material}.", "Made with {material}.")
_SIZE = ("Size: {size}.", "It comes in size {size}.")
_FEATURE = ("It is {feature}.", "{A_feature} design.")
_PRICE = {
    "low": ("A budget-friendly choice.", "Good value for money."),
    "high": ("A premium choice.", "A high-end pick for those who want the best."),
}


def word_count(text: str) -> int:
    return len(str(text).split())


def description_targets(catalog: pd.DataFrame, *, min_words: int = DEFAULT_MIN_WORDS) -> list[str]:
    """Ids of the products whose description is missing or has fewer than ``min_words`` words,
    in catalogue order."""
    if min_words < 1:
        raise DescriptionGenerationError(f"min_words must be at least 1, got {min_words}")
    table = aligned_catalog(catalog, None)
    descriptions = catalog_column(table, DESCRIPTION)
    return [
        item for item, text in zip(table[ITEM_ID], descriptions, strict=True)
        if word_count(text) < min_words
    ]  # fmt: skip


def _article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def _sentence_case(name: str) -> str:
    """A name as the start of a sentence; an all-capitals name ("WHITE T-LIGHT HOLDER") is
    lower-cased first."""
    text = name.lower() if name.isupper() else name
    return text[:1].upper() + text[1:]


def _joined(names: Sequence[str]) -> str:
    """Names in running text (all-capitals ones lower-cased), joined with commas and "and"."""
    names = [(name.lower() if name.isupper() else name).rstrip(".") for name in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def name_sentences(title: str, category: str, bought_with: Sequence[str]) -> list[str]:
    """What a product with nothing but a name offers: the name, its category, and the
    products bought with it.

    Examples
    --------
    >>> name_sentences("WHITE HANGING HEART T-LIGHT HOLDER", "", ["JUMBO BAG RED RETROSPOT"])
    ['White hanging heart t-light holder.', 'Often bought with jumbo bag red retrospot.']
    """
    sentences = [_sentence_case(title).rstrip(".") + "."] if title else []
    if category:
        sentences.append(f"Found under {category.rsplit('>', 1)[-1].strip()}.")
    if bought_with:
        sentences.append(f"Often bought with {_joined(bought_with)}.")
    return sentences


def template_descriptions(
    catalog: pd.DataFrame,
    *,
    item_ids: Sequence[str] | None = None,
    n_per_product: int = 1,
    random_state: int = 0,
    bought_with: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Descriptions written from attribute sentences, extending an existing description.

    Sentences: an introduction (type, brand, feature), then colour, material, size and a price
    remark (when the product is cheap or dear for its type) in random order, each in one of a
    few phrasings. An existing description is extended without an introduction, by the feature,
    colour, material and size sentences whose value it does not name yet (and the price
    remark); a product with nothing left to add gets no sample.

    Parameters
    ----------
    catalog : pandas.DataFrame
        ``item_id`` and any of ``description``, ``category``, ``brand``, ``price``,
        ``colour``, ``material``, ``size``, ``feature``.
    item_ids : sequence of str, optional
        Products to describe; :func:`description_targets` if omitted.
    n_per_product : int
        Descriptions per product (distinct; fewer when the phrasings run out).
    random_state : int
        Seed.
    bought_with : dict, optional
        Names of the products bought with each product (see
        :func:`core.synth.catalog_fields.co_purchased_names`). A product without type, brand
        or feature is described by its name, category and these (:func:`name_sentences`)
        instead of a bare "A product."; one without even a name gets no sample.

    Returns
    -------
    pandas.DataFrame
        Columns ``item_id`` and ``text``.
    """
    if n_per_product < 1:
        raise DescriptionGenerationError(f"n_per_product must be at least 1, got {n_per_product}")
    ids = description_targets(catalog) if item_ids is None else item_ids
    table = aligned_catalog(catalog, ids)
    rng = np.random.default_rng(random_state)
    colour_column = "colour" if "colour" in table.columns else "color"
    fields = {
        "type": [singular(value.rsplit(">", 1)[-1]) for value in catalog_column(table, CATEGORY)],
        "brand": catalog_column(table, BRAND),
        "feature": [value.lower() for value in catalog_column(table, "feature")],
        "colour": [value.lower() for value in catalog_column(table, colour_column)],
        "material": catalog_column(table, "material"),
        "size": catalog_column(table, "size"),
    }
    existing = catalog_column(table, DESCRIPTION)
    titles = catalog_column(table, TITLE)
    categories = catalog_column(table, CATEGORY)
    levels = price_words(table) if PRICE in table.columns else [""] * len(table)
    bought_with = bought_with or {}
    rows = []
    for row, item_id in enumerate(table[ITEM_ID]):
        values = {name: column[row] for name, column in fields.items()}
        named_only = not (values["type"] or values["brand"] or values["feature"])
        opening = name_sentences(titles[row], categories[row], bought_with.get(item_id, []))
        if named_only and not opening:
            continue  # nothing at all to say
        values["type"] = values["type"] or "product"
        said = existing[row].casefold()
        values.update(
            A_feature=_article(values["feature"]).capitalize() if values["feature"] else "",
            A_type=_article(values["type"]).capitalize(),
            Brand=values["brand"][:1].upper() + values["brand"][1:],
        )
        if values["brand"] and values["feature"]:
            intro = _INTRO
        elif values["brand"]:
            intro = _INTRO_NO_FEATURE
        elif values["feature"]:
            intro = _INTRO_NO_BRAND
        else:
            intro = ("{A_type}.",)
        # The introduction names the feature; an extension says it in a sentence of its own.
        slots = [phrasings for name, phrasings in
                 (("feature", _FEATURE if said else ()), ("colour", _COLOUR),
                  ("material", _MATERIAL), ("size", _SIZE))
                 if phrasings and values[name] and values[name].casefold() not in said]  # fmt: skip
        written: set[str] = set()
        for _ in range(4 * n_per_product):
            if said:
                sentences = []
            elif named_only:
                sentences = list(opening)
            else:
                sentences = [str(rng.choice(intro)).format(**values)]
            for index in rng.permutation(len(slots)):
                sentences.append(str(rng.choice(slots[index])).format(**values))
            if levels[row]:
                sentences.append(str(rng.choice(_PRICE[levels[row]])))
            if not sentences:
                break  # an existing description that already says everything
            text = " ".join([existing[row], *sentences]).strip()
            if text not in written:
                written.add(text)
                rows.append((item_id, text))
            if len(written) == n_per_product:
                break
    return pd.DataFrame(rows, columns=[ITEM_ID, "text"])


def _complete_descriptions(catalog: pd.DataFrame, min_words: int) -> tuple[list[str], list[str]]:
    """Ids and descriptions of the products whose description has ``min_words`` words or more;
    raises DescriptionGenerationError (saying when the catalogue is thin) under 2."""
    short = set(description_targets(catalog, min_words=min_words))
    table = aligned_catalog(catalog, None)
    complete = table[~table[ITEM_ID].isin(short)]
    if len(complete) < 2:
        note = thin_catalogue_note(catalog)
        raise DescriptionGenerationError(
            f"fewer than 2 products have a description of {min_words} words or more to learn "
            "from: use the template generator" + (f" ({note})" if note else "")
        )
    return complete[ITEM_ID].tolist(), catalog_column(complete, DESCRIPTION)


def train_warm_description_model(
    workspace: Workspace,
    name: str,
    config: WarmConfig = WARM_DESCRIPTION_CONFIG,
    *,
    min_words: int = DEFAULT_MIN_WORDS,
    callback: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> WarmGenerator:
    """Train the warm-started generator (:mod:`core.synth.warm`) to write the descriptions of
    the products whose description has at least ``min_words`` words from their fields, save it
    as ``name`` and record the run (nothing is kept when it is stopped). It writes whole
    descriptions: a short one is replaced, not continued."""
    catalog = read_catalog(workspace)
    ids, targets = _complete_descriptions(catalog, min_words)
    model = train_warm(
        product_prompts(catalog, ids), targets, config,
        extra_sources=product_prompts(catalog, catalog[ITEM_ID].tolist()), callback=callback,
        should_stop=should_stop,
    )  # fmt: skip
    check_stop(should_stop)
    save_lm(workspace, name, model, {"task": DESCRIPTION_LM_TASK, "min_words": min_words})
    workspace.add_run(
        "synthetic_lm",
        name,
        {"task": DESCRIPTION_LM_TASK, "architecture": "warm", "min_words": min_words,
         **asdict(config)},
        metrics={**model.metadata["history"][-1], "n_pairs": len(ids)},
    )  # fmt: skip
    return model


def train_description_lm(
    workspace: Workspace,
    name: str,
    config: LMConfig = DESCRIPTION_LM_CONFIG,
    *,
    min_words: int = DEFAULT_MIN_WORDS,
    callback: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> TextLM:
    """Train a description LM on the products whose description has at least ``min_words``
    words, save it as ``name`` and record the run (nothing is kept when it is stopped)."""
    catalog = read_catalog(workspace)
    ids, targets = _complete_descriptions(catalog, min_words)
    lm = train_lm(
        product_prompts(catalog, ids), targets, config, callback=callback, should_stop=should_stop
    )
    check_stop(should_stop)
    save_lm(workspace, name, lm, {"task": DESCRIPTION_LM_TASK, "min_words": min_words})
    workspace.add_run(
        "synthetic_lm",
        name,
        {"task": DESCRIPTION_LM_TASK, "min_words": min_words, **asdict(config)},
        metrics={**lm.metadata["history"][-1], "n_pairs": len(ids)},
    )
    return lm


def is_repetitive(text: str, n: int = REPEAT_NGRAM) -> bool:
    """Whether a sequence of ``n`` words occurs twice in ``text`` (ignoring case and
    punctuation)."""
    words = re.findall(r"[\w'-]+", text.lower())
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(grams) != len(set(grams))


def description_flags(
    texts: Sequence[str],
    *,
    copies: set[str] = frozenset(),
    mismatches: Sequence[Sequence[str]] | None = None,
    min_words: int = DEFAULT_MIN_WORDS,
    max_words: int = DEFAULT_MAX_WORDS,
) -> list[list[str]]:
    """Reviewer flags of each description.

    ``copy_of_real``: its normalised text is in ``copies`` (the catalogue's descriptions, the
    LM's training descriptions); ``too_short``: fewer than ``min_words`` words (still short);
    ``too_long``: more than ``max_words``; ``repetitive``: see :func:`is_repetitive`;
    ``wrong_attribute``: its ``mismatches`` (see
    :func:`core.synth.review.attribute_mismatches`) are not empty.
    """
    if mismatches is not None and len(mismatches) != len(texts):
        raise DescriptionGenerationError(f"{len(mismatches)} mismatch lists for {len(texts)}")
    flags = []
    for position, text in enumerate(texts):
        n_words = word_count(text)
        row = [COPY_OF_REAL] if normalise_text(text) in copies else []
        if n_words < min_words:
            row.append(TOO_SHORT)
        if n_words > max_words:
            row.append(TOO_LONG)
        if is_repetitive(text):
            row.append(REPETITIVE)
        if mismatches is not None and len(mismatches[position]):
            row.append(WRONG_ATTRIBUTE)
        flags.append(row)
    return flags


def synthesize_descriptions(
    workspace: Workspace,
    generator: str = TEMPLATE,
    *,
    min_words: int = DEFAULT_MIN_WORDS,
    max_words: int = DEFAULT_MAX_WORDS,
    item_ids: Sequence[str] | None = None,
    n_per_product: int = 1,
    temperature: float = 0.8,
    top_p: float = 0.9,
    batch_size: int = 32,
    random_state: int = 0,
    callback: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> SynthesisRun:
    """Write descriptions for the products whose description is missing or short, flag them
    and store them as pending.

    Parameters
    ----------
    workspace : Workspace
        Workspace with a cleaned catalogue.
    generator : str
        ``"template"``, ``"warm:<name>"`` (trained by :func:`train_warm_description_model`) or
        ``"lm:<name>"`` (trained by :func:`train_description_lm`).
    min_words : int
        A description under this many words is short (a target), and so is a sample.
    max_words : int
        A sample over this many words is flagged too long.
    item_ids : sequence of str, optional
        Products to describe; the targets (:func:`description_targets`) if omitted.
    n_per_product : int
        Descriptions per product.
    temperature, top_p, batch_size : optional
        LM sampling settings (see :meth:`core.synth.lm.TextLM.generate`).
    random_state : int
        Seed.
    callback, should_stop : callable, optional
        Progress and stopping, as for :func:`core.synth.queries.synthesize_queries`.

    Returns
    -------
    SynthesisRun
        The stored samples (no score or rank) and metrics: ``n_targets``, ``n_samples``,
        ``copy_rate``, one ``<flag>_rate`` per flag, ``mean_words``, ``generation_seconds``.
    """
    catalog = read_catalog(workspace)
    ids = description_targets(catalog, min_words=min_words) if item_ids is None else item_ids
    if len(ids) == 0:
        raise DescriptionGenerationError(
            f"every product has a description of {min_words} words or more: nothing to write "
            "(raise min_words to extend descriptions)"
        )
    started = time.perf_counter()
    copies = {normalise_text(text) for text in catalog_column(catalog, DESCRIPTION)} - {""}
    note = thin_catalogue_note(catalog)
    bought_with = co_purchased_names(workspace, ids) if note else {}

    def from_lm(lm: Generator, progress: ProgressCallback) -> pd.DataFrame:
        # The model continues each product's short description, where there is one.
        table = aligned_catalog(catalog, ids)
        return lm_samples(
            lm, table, n_per_product, prefixes=catalog_column(table, DESCRIPTION),
            temperature=temperature, top_p=top_p, batch_size=batch_size,
            random_state=random_state, callback=progress,
        )  # fmt: skip

    raw, lm_copies = generate_samples(
        workspace, generator, task=DESCRIPTION_LM_TASK, error=DescriptionGenerationError,
        template=lambda: template_descriptions(
            catalog, item_ids=ids, n_per_product=n_per_product, random_state=random_state,
            bought_with=bought_with,
        ),
        from_lm=from_lm, callback=callback, should_stop=should_stop, template_steps=len(ids),
    )  # fmt: skip
    copies |= lm_copies
    samples = raw.assign(text=[" ".join(text.split()) for text in raw["text"]])
    samples = samples[samples["text"] != ""].drop_duplicates(ignore_index=True)
    if samples.empty:
        raise DescriptionGenerationError(
            "the generator wrote no description" + (f": {note}" if note else "")
        )
    mismatches = attribute_mismatches(samples["text"].tolist(), samples[ITEM_ID].tolist(), catalog)
    samples["flags"] = description_flags(
        samples["text"].tolist(), copies=copies, mismatches=mismatches, min_words=min_words,
        max_words=max_words,
    )  # fmt: skip
    check_stop(should_stop)
    metrics: dict[str, Any] = {
        "n_targets": len(ids),
        "n_generated": len(raw),
        "n_samples": len(samples),
        "copy_rate": sum(COPY_OF_REAL in row for row in samples["flags"]) / len(samples),
        **flag_shares(samples["flags"], (TOO_SHORT, TOO_LONG, REPETITIVE, WRONG_ATTRIBUTE)),
        "mean_words": float(np.mean([word_count(text) for text in samples["text"]])),
        "generation_seconds": time.perf_counter() - started,
    }
    if note:
        metrics["note"] = note
    params = {
        "generator": generator, "min_words": min_words, "max_words": max_words,
        "n_per_product": n_per_product, "temperature": temperature, "top_p": top_p,
        "random_state": random_state, "n_items": len(ids),
    }  # fmt: skip
    run_id, sample_ids = record_samples(
        workspace, samples, kind=DESCRIPTION_KIND, run_kind=SYNTHETIC_DESCRIPTIONS_KIND,
        generator=generator, params=params, metrics=metrics,
    )  # fmt: skip
    stored = samples.assign(sample_id=sample_ids, score=np.nan, rank=pd.NA)
    return SynthesisRun(
        run_id, DESCRIPTION_KIND, generator,
        stored[["sample_id", ITEM_ID, "text", "score", "rank", "flags"]], metrics,
    )  # fmt: skip
