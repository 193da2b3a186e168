"""Fixtures of the synthetic-data tests: a small catalogue with attributes, a log of searches
followed by clicks, a tiny language-model configuration and a bag-of-words test encoder."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pytest

from core.data.workspace import Workspace
from core.synth.lm import LMConfig

# item_id: (title, category, brand, price, colour, material, size, feature, description)
PRODUCTS: dict[str, tuple] = {
    "P01": ("Aero Running Shoes, Red, EU 42", "Fashion > Shoes > Running Shoes", "Norvik",
            89.0, "red", "mesh", "EU 42", "lightweight",
            "Light running shoes with a breathable mesh upper for daily training runs."),
    "P02": ("Norvik Non-stick Frying Pan, 28 cm", "Home > Kitchen > Frying Pans", "Norvik",
            35.0, "black", "aluminium", "28 cm", "non-stick", "A frying pan."),
    "P03": ("Cotton T-Shirt by Briarco, White, M", "Fashion > Women > T-Shirts", "Briarco",
            12.0, "white", "cotton", "M", "organic", None),
    "P04": ("Lumta Wireless Headphones, Blue", "Electronics > Audio > Headphones", "Lumta",
            149.0, "blue", "plastic", None, "noise-cancelling",
            "Over-ear wireless headphones that cancel the noise on trains and planes for many "
            "long hours."),
    "P05": ("Praly Wooden Jigsaw Puzzle, 500 pieces", "Toys & Games > Puzzles > Jigsaws",
            "Praly", 19.0, "multicolour", "wood", "500 pieces", "eco-friendly", ""),
    "P06": ("Xenelco Garden Hose 25 m, Green", "Garden > Watering > Hoses", "Xenelco", 29.0,
            "green", "rubber", "25 m", "kink-free",
            "A kink-free rubber garden hose that very easily reaches every corner of a "
            "mid-sized garden."),
    "P07": ("Falix Yoga Mat, Purple", "Sports > Fitness > Yoga Mats", "Falix", 25.0, "purple",
            "rubber", "183 cm", "non-slip", "Non-slip yoga mat."),
    "P08": ("Casaware Desk Lamp, Brass", "Home > Lighting > Desk Lamps", "Casaware", 59.0,
            "gold", "brass", None, "dimmable",
            "A dimmable brass desk lamp with a warm light for reading late into the evening."),
    "P09": ("Kelware Leather Wallet, Brown", "Fashion > Accessories > Wallets", "Kelware", 45.0,
            "brown", "leather", None, "slim",
            "A slim leather wallet with six card slots and a coin pocket, in brown leather."),
    "P10": ("Norvik Burr Coffee Grinder", "Home > Kitchen > Coffee Grinders", "Norvik", 79.0,
            "silver", "stainless steel", None, "quiet",
            "A quiet burr coffee grinder in stainless steel with fifteen grind settings for "
            "any brew."),
    "P11": ("Falix Dome Tent for 2 People", "Sports > Camping > Tents", "Falix", 120.0, "orange",
            "polyester", "2 person", "waterproof",
            "A waterproof two-person dome tent that pitches in minutes and packs down very "
            "small indeed."),
    "P12": ("Briico Face Cream 50 ml", "Beauty > Skin Care > Face Creams", "Briico", 22.0,
            "white", "vitamin E", "50 ml", "vegan",
            "A vegan face cream with vitamin E that keeps dry skin soft through the day."),
}  # fmt: skip
QUERIES: dict[str, list[str]] = {
    "P01": ["running shoes", "red running shoes", "norvik shoes"],
    "P02": ["frying pan", "non-stick pan", "norvik pan 28 cm"],
    "P03": ["white t-shirt", "cotton tee", "briarco t-shirt"],
    "P04": ["wireless headphones", "lumta headphones", "blue headphones"],
    "P05": ["jigsaw puzzle", "wooden puzzle", "puzzle 500 pieces"],
    "P06": ["garden hose", "green hose", "hose 25 m"],
    "P07": ["yoga mat", "purple yoga mat", "non-slip mat"],
    "P08": ["desk lamp", "brass lamp", "dimmable lamp"],
    "P09": ["leather wallet", "brown wallet", "slim wallet"],
    "P10": ["coffee grinder", "burr grinder", "norvik grinder"],
    "P11": ["tent", "2 person tent", "waterproof tent"],
    "P12": ["face cream", "vegan face cream", "briico cream"],
}

TINY_LM = LMConfig(
    n_layer=1,
    n_embd=32,
    n_head=2,
    vocab_size=320,
    max_source_tokens=24,
    max_target_tokens=10,
    epochs=12,
    batch_size=8,
    learning_rate=1e-2,
    warmup_fraction=0.0,
    dropout=0.0,
    valid_fraction=0.0,
    num_threads=1,
)


def make_catalog() -> pd.DataFrame:
    columns = ["title", "category", "brand", "price", "colour", "material", "size", "feature",
               "description"]  # fmt: skip
    frame = pd.DataFrame.from_dict(PRODUCTS, orient="index", columns=columns)
    return frame.rename_axis("item_id").reset_index()


def write_catalog(workspace: Workspace, catalog: pd.DataFrame) -> None:
    with workspace.transaction() as con:
        con.register("catalog_frame", catalog)
        con.execute("CREATE OR REPLACE TABLE catalog AS SELECT * FROM catalog_frame")


def write_search_log(workspace: Workspace, queries: dict[str, list[str]] = QUERIES) -> None:
    """One session per query: the search, then a click on the product a minute later."""
    rows = []
    start = pd.Timestamp("2025-01-01")
    minute = pd.Timedelta(minutes=1)
    for n, (item, item_queries) in enumerate(queries.items()):
        for m, query in enumerate(item_queries):
            session, t = f"s{n}-{m}", start + (10 * n + 3 * m) * minute
            rows.append((f"u{n}", None, "search", t, session, query))
            rows.append((f"u{n}", item, "click", t + minute, session, None))
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "event", "ts", "session_id", "query"])
    with workspace.transaction() as con:
        con.register("events_frame", frame)
        con.execute(
            "CREATE OR REPLACE TABLE events AS SELECT *, CAST(NULL AS DOUBLE) AS value "
            "FROM events_frame"
        )


@pytest.fixture
def catalog() -> pd.DataFrame:
    return make_catalog()


@pytest.fixture
def shop(workspace: Workspace, catalog: pd.DataFrame) -> Workspace:
    """A workspace with the catalogue and a search-then-click log."""
    write_catalog(workspace, catalog)
    write_search_log(workspace)
    return workspace


class BagOfWordsEncoder:
    """A test encoder: unit vectors of word counts over a fixed vocabulary.

    A text sharing no word with the vocabulary gets the zero vector.
    """

    def __init__(self, vocabulary: Sequence[str]) -> None:
        self.vocabulary = {word: i for i, word in enumerate(sorted(set(vocabulary)))}
        self.model_id = f"bag-of-words/{len(self.vocabulary)}"
        self.calls: list[list[str]] = []

    @property
    def dim(self) -> int:
        return len(self.vocabulary)

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        callback: Callable[[int, int, str], None] | None = None,
    ) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9-]+", text.lower()):
                if word in self.vocabulary:
                    out[row, self.vocabulary[word]] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
        if callback is not None:
            callback(len(texts), len(texts), "encoded")
        return out


@pytest.fixture
def bag_encoder(catalog: pd.DataFrame) -> BagOfWordsEncoder:
    words = re.findall(r"[a-z0-9-]+", " ".join(catalog["title"]).lower())
    return BagOfWordsEncoder(words)
