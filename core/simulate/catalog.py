"""The catalogue: products with attributes, prices, popularity, release dates, ids and text.

Products get a type (one each, the rest by a random type weight), a brand (Zipf-popular within the
top category), attributes from their sub-category's vocabularies, a log-normal price around their
type's median and a release date; about a quarter are released during the period, so the last
weeks hold cold-start items.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from core.schema import BRAND, CATEGORY, DESCRIPTION, FIRST_SEEN, ITEM_ID, PRICE, TITLE
from core.simulate.columns import prefixed_ids, timestamps
from core.simulate.product_text import ProductWords, product_description, product_title
from core.simulate.sampling import grouped_cumulative
from core.simulate.size import DAY_S, PERIOD_DAYS
from core.simulate.vocabulary import (
    BRAND_HEADS,
    BRAND_MIDDLES,
    BRAND_TAILS,
    MODEL_STEMS,
    MODEL_SUFFIXES,
    PALETTES,
    SIZE_SCHEMES,
    TREE,
)

RELEASED_IN_PERIOD = 0.25  # share of products whose first_seen lies inside the period


@dataclass
class AttributeVocab:
    """Attribute vocabularies shared by catalogue text and queries."""

    colours: list[str]
    top_colours: list[np.ndarray]  # colour ids of each top category's palette
    materials: list[str]
    sub_materials: list[np.ndarray]
    features: list[str]
    sub_features: list[np.ndarray]
    sizes: list[str]
    type_sizes: list[np.ndarray]
    models: list[str]
    brands: list[str]
    top_brands: list[np.ndarray]


def number_words(groups: Iterable[Iterable[str]]) -> tuple[list[str], list[np.ndarray]]:
    """The distinct words of ``groups`` in order of first appearance, and each group's word ids."""
    numbers: dict[str, int] = {}
    ids = [
        np.array([numbers.setdefault(word, len(numbers)) for word in group], dtype=np.int32)
        for group in groups
    ]
    return list(numbers), ids


def _brand_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct made-up brand names."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        name = (
            BRAND_HEADS[rng.integers(len(BRAND_HEADS))]
            + BRAND_MIDDLES[rng.integers(len(BRAND_MIDDLES))]
            + BRAND_TAILS[rng.integers(len(BRAND_TAILS))]
        )
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _build_vocab(rng: np.random.Generator, n_items: int) -> AttributeVocab:
    colours, top_colours = number_words(PALETTES[top.palette] for top in TREE.tops)
    materials, sub_materials = number_words(sub.materials for sub in TREE.subs)
    features, sub_features = number_words([f for f, _ in sub.features] for sub in TREE.subs)
    sizes, type_sizes = number_words(SIZE_SCHEMES[t.sizes] for t in TREE.types)
    models = [f"{stem} {suffix}" for stem in MODEL_STEMS for suffix in MODEL_SUFFIXES]
    per_top = int(np.clip(n_items / len(TREE.tops) / 25, 8, 80))
    brands = _brand_names(rng, per_top * len(TREE.tops))
    top_brands = [np.arange(t * per_top, (t + 1) * per_top) for t in range(len(TREE.tops))]
    return AttributeVocab(
        colours=colours,
        top_colours=top_colours,
        materials=materials,
        sub_materials=sub_materials,
        features=features,
        sub_features=sub_features,
        sizes=sizes,
        type_sizes=type_sizes,
        models=models,
        brands=brands,
        top_brands=top_brands,
    )


@dataclass
class Catalog:
    """Products as arrays, sorted by product type; ``code`` orders the external ids."""

    vocab: AttributeVocab
    type_idx: np.ndarray
    brand: np.ndarray
    colour: np.ndarray
    material: np.ndarray
    feature: np.ndarray
    size: np.ndarray  # -1 where the product type has no sizes
    model: np.ndarray
    price: np.ndarray
    first_seen: np.ndarray  # seconds from the period start; negative before it
    popularity: np.ndarray
    price_z: np.ndarray  # z-score of log price inside the product type
    cumulative: np.ndarray  # grouped_cumulative of popularity by product type
    anchor: np.ndarray  # per product type: its most popular product, released before the period
    brand_popularity: np.ndarray
    item_ids: pa.Array
    table: pa.Table | None = None

    @property
    def n_items(self) -> int:
        return len(self.type_idx)


def _zipf(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Weights ``rank ** -exponent`` over a random ranking of ``n`` things."""
    return (rng.permutation(n) + 1.0) ** -exponent


def _draw_within(rng: np.random.Generator, options: list[np.ndarray], group: np.ndarray):
    """For each row, a uniform pick from ``options[group[row]]``."""
    counts = np.array([len(o) for o in options])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat = np.concatenate([o for o in options if len(o)] or [np.zeros(0, dtype=np.int32)])
    pick = np.floor(rng.random(len(group)) * np.maximum(counts[group], 1)).astype(np.int64)
    out = np.full(len(group), -1, dtype=np.int32)
    has = counts[group] > 0
    out[has] = flat[offsets[group[has]] + pick[has]]
    return out


def _round_price(raw: np.ndarray) -> np.ndarray:
    """Shop prices: x.99 from 20 up, x.x9 below, never under 0.99."""
    high = np.rint(raw) - 0.01
    low = np.rint(raw * 10) / 10 - 0.01
    return np.maximum(np.round(np.where(raw >= 20, high, low), 2), 0.99)


def _assign_types(rng: np.random.Generator, n_items: int) -> np.ndarray:
    """Product type of each product, sorted: one each, the rest by a random type weight."""
    n_types = len(TREE.types)
    weight = np.sqrt(rng.lognormal(0.0, 0.6, n_types))
    extra = rng.choice(n_types, n_items - n_types, p=weight / weight.sum())
    return np.sort(np.concatenate([np.arange(n_types), extra]))


def draw_brands(
    rng: np.random.Generator, brands: np.ndarray, brand_popularity: np.ndarray, n: int
) -> np.ndarray:
    """``n`` brands drawn from ``brands`` with probabilities proportional to their popularity."""
    popularity = brand_popularity[brands]
    return rng.choice(brands, n, p=popularity / popularity.sum())


def _assign_brands_and_colours(
    rng: np.random.Generator, vocab: AttributeVocab, top: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Brand (Zipf-popular within the top category) and colour of each product."""
    brand_popularity = np.concatenate([_zipf(rng, len(b), 0.8) for b in vocab.top_brands])
    brand = np.empty(len(top), dtype=np.int32)
    colour = np.empty(len(top), dtype=np.int32)
    for t, brands in enumerate(vocab.top_brands):
        rows = np.flatnonzero(top == t)
        brand[rows] = draw_brands(rng, brands, brand_popularity, len(rows))
        palette = vocab.top_colours[t]
        weights = (np.arange(len(palette)) + 1.0) ** -0.7
        colour[rows] = rng.choice(palette, len(rows), p=weights / weights.sum())
    return brand, colour, brand_popularity


def _prices(
    rng: np.random.Generator, vocab: AttributeVocab, type_idx: np.ndarray, brand: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Log-normal prices around each type's median, and their z-score within the type.

    ``price = median(type) * tier(brand) * exp(sigma(top) * N(0, 1))``, rounded as shops do.
    """
    brand_tier = rng.lognormal(0.0, 0.3, len(vocab.brands))
    sigma = np.array([t.price_sigma for t in TREE.tops])[TREE.type_top[type_idx]]
    median = np.array([t.median_price for t in TREE.types])[type_idx]
    raw = median * brand_tier[brand] * np.exp(sigma * rng.standard_normal(len(type_idx)))
    price = _round_price(raw)
    log_price = np.log(price)
    counts = np.bincount(type_idx, minlength=len(TREE.types))
    mean = np.bincount(type_idx, weights=log_price) / counts
    var = np.bincount(type_idx, weights=(log_price - mean[type_idx]) ** 2) / counts
    return price, (log_price - mean[type_idx]) / np.sqrt(np.maximum(var, 1e-6))[type_idx]


def _release_dates(rng: np.random.Generator, n_items: int) -> np.ndarray:
    """``first_seen`` in seconds from the period start: a quarter inside the period."""
    released = rng.random(n_items) < RELEASED_IN_PERIOD
    first_seen = np.where(
        released,
        rng.integers(0, PERIOD_DAYS * DAY_S, n_items),
        -rng.integers(DAY_S, 730 * DAY_S, n_items),
    ).astype(np.int64)
    return first_seen - first_seen % 60


def make_catalog(rng: np.random.Generator, n_items: int) -> Catalog:
    """Products with attributes, prices, popularity, release dates, ids and text."""
    vocab = _build_vocab(rng, n_items)
    type_idx = _assign_types(rng, n_items)
    sub = TREE.type_sub[type_idx]
    brand, colour, brand_popularity = _assign_brands_and_colours(
        rng, vocab, TREE.type_top[type_idx]
    )
    material = _draw_within(rng, vocab.sub_materials, sub)
    feature = _draw_within(rng, vocab.sub_features, sub)
    size = _draw_within(rng, vocab.type_sizes, type_idx)
    model = rng.integers(0, len(vocab.models), n_items).astype(np.int32)
    price, price_z = _prices(rng, vocab, type_idx, brand)

    # Zipf popularity within each product type, lifted by the brand's popularity.
    popularity = np.ones(n_items)
    starts = np.searchsorted(type_idx, np.arange(len(TREE.types)))
    ends = np.r_[starts[1:], n_items]
    for start, end in zip(starts, ends, strict=True):
        popularity[start:end] = _zipf(rng, end - start, 1.0)
    popularity *= np.sqrt(brand_popularity[brand])

    first_seen = _release_dates(rng, n_items)
    anchor = np.array(
        [s + int(np.argmax(popularity[s:e])) for s, e in zip(starts, ends, strict=True)]
    )
    first_seen[anchor] = np.minimum(first_seen[anchor], -DAY_S)

    # External ids follow release order, as in a real shop's product numbering.
    code = np.empty(n_items, dtype=np.int64)
    code[np.lexsort((rng.random(n_items), first_seen))] = np.arange(n_items)
    catalog = Catalog(
        vocab=vocab,
        type_idx=type_idx,
        brand=brand,
        colour=colour,
        material=material,
        feature=feature,
        size=size,
        model=model,
        price=price,
        first_seen=first_seen,
        popularity=popularity,
        price_z=price_z,
        cumulative=grouped_cumulative(type_idx, popularity),
        anchor=anchor,
        brand_popularity=brand_popularity,
        item_ids=prefixed_ids("P", code + 1, max(5, len(str(n_items)))),
    )
    catalog.table = _catalog_table(rng, catalog, code)
    return catalog


def _catalog_table(rng: np.random.Generator, catalog: Catalog, code: np.ndarray) -> pa.Table:
    """Titles, descriptions and the catalogue table, sorted by item id."""
    vocab = catalog.vocab
    picks = rng.integers(0, 1 << 30, size=(catalog.n_items, 14))
    titles, descriptions = [], []
    for i in range(catalog.n_items):
        product_type = TREE.types[catalog.type_idx[i]]
        sub = TREE.subs[TREE.type_sub[catalog.type_idx[i]]]
        feature = vocab.features[catalog.feature[i]]
        words = ProductWords(
            brand=vocab.brands[catalog.brand[i]],
            model=vocab.models[catalog.model[i]],
            noun=product_type.noun,
            unit=product_type.unit,
            colour=vocab.colours[catalog.colour[i]],
            material=vocab.materials[catalog.material[i]],
            feature=feature,
            benefit=dict(sub.features)[feature],
            size=vocab.sizes[catalog.size[i]] if catalog.size[i] >= 0 else None,
            use=sub.uses[picks[i, 13] % len(sub.uses)],
            ingredient=TREE.tops[TREE.type_top[catalog.type_idx[i]]].ingredients,
        )
        titles.append(product_title(picks[i], words))
        descriptions.append(product_description(picks[i], words))
    size_names = pa.array([*vocab.sizes, None], type=pa.string())
    size_idx = np.where(catalog.size >= 0, catalog.size, len(vocab.sizes))
    table = pa.table(
        {
            ITEM_ID: catalog.item_ids,
            TITLE: pa.array(titles, type=pa.string()),
            DESCRIPTION: pa.array(descriptions, type=pa.string()),
            CATEGORY: pa.array(TREE.type_path).take(pa.array(catalog.type_idx)),
            BRAND: pa.array(vocab.brands).take(pa.array(catalog.brand)),
            PRICE: pa.array(catalog.price, type=pa.float64()),
            FIRST_SEEN: timestamps(catalog.first_seen),
            "colour": pa.array(vocab.colours).take(pa.array(catalog.colour)),
            "material": pa.array(vocab.materials).take(pa.array(catalog.material)),
            "size": size_names.take(pa.array(size_idx)),
            "feature": pa.array(vocab.features).take(pa.array(catalog.feature)),
        }
    )
    return table.take(pa.array(np.argsort(code)))
