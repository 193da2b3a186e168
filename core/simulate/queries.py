"""Search queries: words of a target product's attributes, with synonyms, cut words and typos."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.simulate.catalog import AttributeVocab, Catalog, number_words
from core.simulate.vocabulary import KEYBOARD_NEIGHBOURS, TREE


def _misspellings(token: str, rng: np.random.Generator) -> list[str]:
    """Three typos of ``token`` (swapped, dropped, neighbouring key) and a typed-ahead prefix."""
    letters = [i for i, c in enumerate(token) if c.isalpha()]
    if len(letters) < 4:
        return [token, token, token, token]
    i = letters[1 + int(rng.integers(len(letters) - 2))]
    swapped = token[: i - 1] + token[i] + token[i - 1] + token[i + 1 :]
    dropped = token[:i] + token[i + 1 :]
    neighbours = KEYBOARD_NEIGHBOURS.get(token[i], token[i])
    replaced = token[:i] + neighbours[int(rng.integers(len(neighbours)))] + token[i + 1 :]
    prefix = token[: max(3, math.ceil(0.6 * len(token)))].rstrip(" -")
    return [swapped, dropped, replaced, prefix]


@dataclass
class QueryVocab:
    """Every query word with its misspellings: variant ``v`` of token ``t`` is ``5 * t + v``."""

    variants: pa.Array
    brand: np.ndarray
    model: np.ndarray
    colour: np.ndarray
    material: np.ndarray
    feature: np.ndarray
    size: np.ndarray
    synonyms: np.ndarray  # tokens of all product types' nouns, noun first within each type
    synonym_start: np.ndarray
    synonym_count: np.ndarray


def query_vocab(rng: np.random.Generator, vocab: AttributeVocab) -> QueryVocab:
    """Lower-case query words of every attribute and product type, with their misspellings."""
    attributes = (
        vocab.brands,
        vocab.models,
        vocab.colours,
        vocab.materials,
        vocab.features,
        vocab.sizes,
    )
    nouns = [(t.noun, *t.synonyms) for t in TREE.types]
    tokens, ids = number_words([w.lower() for w in group] for group in (*attributes, *nouns))
    brand, model, colour, material, feature, size = ids[: len(attributes)]
    per_type = ids[len(attributes) :]
    counts = np.array([len(p) for p in per_type])
    variants = []
    for token in tokens:
        variants.append(token)
        variants.extend(_misspellings(token, rng))
    return QueryVocab(
        variants=pa.array(variants, type=pa.string()),
        synonyms=np.concatenate(per_type),
        synonym_start=np.cumsum(counts) - counts,
        synonym_count=counts,
        brand=brand,
        model=model,
        colour=colour,
        material=material,
        feature=feature,
        size=size,
    )


def render_queries(
    rng: np.random.Generator, items: np.ndarray, catalog: Catalog, words: QueryVocab
) -> pa.Array:
    """A shopper's query for each target product.

    Mostly a product noun or synonym with optional brand, colour, material or feature and size;
    sometimes brand and model name (a partial title) or the brand alone. About one word in ten
    is misspelled or cut short.
    """
    n = len(items)
    mode = rng.random(n)
    by_model = mode < 0.07  # brand and model name; 0.07 <= mode < 0.1: the brand alone
    general = mode >= 0.1
    type_idx = catalog.type_idx[items]
    synonym = np.where(
        rng.random(n) < 0.45,
        0,
        1 + np.floor(rng.random(n) * (words.synonym_count[type_idx] - 1)).astype(np.int64),
    )
    use_feature = rng.random(n) < 0.4
    has_size = catalog.size[items] >= 0
    quality = np.where(
        use_feature,
        words.feature[catalog.feature[items]],
        words.material[catalog.material[items]],
    )
    slots = [
        (words.brand[catalog.brand[items]], ~general | (rng.random(n) < 0.25)),
        (words.model[catalog.model[items]], by_model),
        (words.colour[catalog.colour[items]], general & (rng.random(n) < 0.25)),
        (quality, general & (rng.random(n) < 0.2)),
        (words.synonyms[words.synonym_start[type_idx] + synonym], general),
        (
            words.size[np.maximum(catalog.size[items], 0)],
            general & has_size & (rng.random(n) < 0.08),
        ),
    ]
    columns = []
    for tokens, active in slots:
        u = rng.random(n)
        variant = np.where(u < 0.9, 0, np.where(u < 0.97, 1 + (u * 1000).astype(int) % 3, 4))
        index = pa.array(5 * tokens.astype(np.int64) + variant, mask=~active)
        columns.append(words.variants.take(index))
    return pc.binary_join_element_wise(*columns, " ", null_handling="skip")
