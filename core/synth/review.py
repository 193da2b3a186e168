"""Measures a reviewer reads on synthetic texts: round-trip rank of the text's own product,
attributes of other products that a text names, and the share of samples per flag."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.errors import QueryGenerationError
from core.progress import ProgressCallback
from core.schema import BRAND, ITEM_ID
from core.synth.catalog_fields import catalog_column
from core.synth.prompts import product_prompts
from core.text.cache import EmbeddingCache, TextEncoder
from core.text.product_text import product_texts


def round_trip(
    texts: Sequence[str],
    item_ids: Sequence[str],
    catalog: pd.DataFrame,
    encoder: TextEncoder,
    *,
    k: int = 10,
    cache: EmbeddingCache | None = None,
    batch_size: int = 128,
    callback: ProgressCallback | None = None,
) -> pd.DataFrame:
    r"""Rank of each text's own product when the whole catalogue is ranked for the text.

    Products are embedded from :func:`core.text.product_text.product_texts` (through ``cache``
    when given; products without text get a zero vector), each distinct text once. With
    :math:`s_j` the cosine similarity of the text to product :math:`j` and :math:`p` its own
    product, ``score`` is :math:`s_p` and ``rank`` is :math:`|\{j : s_j \ge s_p\}|` (ties
    count against the text).

    Parameters
    ----------
    texts : sequence of str
        Synthetic queries.
    item_ids : sequence of str
        The product each query was written for (all in ``catalog``).
    catalog : pandas.DataFrame
        The catalogue: every product in it is a candidate.
    encoder : TextEncoder
        Sentence encoder (e.g. :func:`core.text.encoders.load_encoder`).
    k : int
        A text is consistent when ``rank <= k``.
    cache : EmbeddingCache, optional
        Cache of the product embeddings.
    batch_size : int
        Texts per encoder batch.
    callback : callable, optional
        ``callback(done, total, info)`` while products, then queries, are embedded.

    Returns
    -------
    pandas.DataFrame
        Columns ``rank`` (int), ``score`` (float) and ``consistent`` (bool), in input order.
    """
    if k < 1:
        raise QueryGenerationError(f"k must be at least 1, got {k}")
    if len(texts) != len(item_ids):
        raise QueryGenerationError(f"{len(texts)} texts for {len(item_ids)} products")
    corpus_ids = pd.unique(catalog[ITEM_ID].astype(str))
    position = pd.Series(np.arange(len(corpus_ids)), index=corpus_ids)
    targets = position.reindex([str(item) for item in item_ids])
    if targets.isna().any():
        missing = targets.index[targets.isna()][0]
        raise QueryGenerationError(f"product {missing!r} is not in the catalogue")
    targets = targets.to_numpy(dtype=np.int64)
    product_text = product_texts(catalog, corpus_ids)
    with_text = np.flatnonzero([bool(text) for text in product_text])
    chosen = [product_text[row] for row in with_text]

    def stage(label: str) -> ProgressCallback | None:
        if callback is None:
            return None
        return lambda done, total, info: callback(done, total, f"{label}: {info}")

    products = np.zeros((len(corpus_ids), encoder.dim), dtype=np.float32)
    if chosen:
        products[with_text] = (
            cache.encode(encoder, chosen, batch_size=batch_size, callback=stage("products"))
            if cache is not None
            else encoder.encode(chosen, batch_size=batch_size, callback=stage("products"))
        )
    unique, inverse = np.unique(np.asarray(list(texts), dtype=object), return_inverse=True)
    vectors = encoder.encode(list(unique), batch_size=batch_size, callback=stage("queries"))
    ranks = np.zeros(len(texts), dtype=np.int64)
    scores = np.zeros(len(texts), dtype=np.float64)
    inverse = inverse.ravel()
    chunk = 2048
    for start in range(0, len(texts), chunk):
        rows = slice(start, start + chunk)
        similarity = vectors[inverse[rows]] @ products.T
        own = similarity[np.arange(similarity.shape[0]), targets[rows]]
        # Ties count against the query: one that scores every product alike ranks last.
        ranks[rows] = (similarity >= own[:, None]).sum(axis=1)
        scores[rows] = own
    return pd.DataFrame({"rank": ranks, "score": scores, "consistent": ranks <= k})


def attribute_mismatches(
    texts: Sequence[str], item_ids: Sequence[str], catalog: pd.DataFrame
) -> list[list[str]]:
    """Brands, colours and materials of the catalogue that each text names but its product
    does not have.

    A value counts when it appears as whole words (case-insensitive; a hyphen joins words) in
    the text and nowhere in the product's own prompt (:func:`core.synth.prompts.product_prompts`:
    title, type, brand, attributes); values under three characters are ignored.

    Examples
    --------
    >>> catalog = pd.DataFrame({"item_id": ["a", "b"], "title": ["Red Mug", "Blue Cup"],
    ...                         "colour": ["red", "blue"]})
    >>> attribute_mismatches(["blue mug", "red mug"], ["a", "a"], catalog)
    [['blue'], []]
    """
    if len(texts) != len(item_ids):
        raise QueryGenerationError(f"{len(texts)} texts for {len(item_ids)} products")
    vocabulary = {
        value.lower()
        for column in (BRAND, "colour", "color", "material")
        for value in catalog_column(catalog, column)
        if len(value) >= 3
    }
    if not vocabulary:
        return [[] for _ in texts]
    # A hyphen joins words: "button-down" names no material "down".
    pattern = re.compile(
        r"(?<![\w-])(?:"
        + "|".join(re.escape(value) for value in sorted(vocabulary, key=len, reverse=True))
        + r")(?![\w-])"
    )
    unique_ids = list(dict.fromkeys(str(item) for item in item_ids))
    prompts = product_prompts(catalog, unique_ids)
    own = {item: prompt.lower() for item, prompt in zip(unique_ids, prompts, strict=True)}
    found = []
    for text, item in zip(texts, item_ids, strict=True):
        prompt = own[str(item)]
        named = dict.fromkeys(pattern.findall(str(text).lower()))
        found.append([value for value in named if value not in prompt])
    return found


def flag_shares(flags: Sequence[Sequence[str]], names: Sequence[str]) -> dict[str, float]:
    """Share of the samples carrying each flag of ``names`` (key ``<flag>_rate``)."""
    n = max(1, len(flags))
    return {f"{name}_rate": sum(name in row for row in flags) / n for name in names}
