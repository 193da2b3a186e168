"""Public datasets with their evaluation protocols: MovieLens 100K and Amazon Beauty 5-core.

The files live outside the repository, in ``<repo>/../shared/datasets`` by default
(:data:`DEFAULT_DATASETS`); every loader takes the folder as a parameter.

MovieLens 100K (``movielens_100k/ml-100k.inter``)
    Every rating is a positive (binary weight 1, rating value ignored). Split: 75/25 random per
    user (:func:`core.data.splits.random_split` with ``by_user=True``, ``random_state=42``: a
    user with ``m`` ratings keeps ``m - floor(0.25 m + 0.5)`` in train). This is the protocol of
    Microsoft Recommenders' MovieLens 100K benchmark (BPR 0.442, SAR 0.382 NDCG@10).

Amazon Beauty 5-core (``amazon_5core_sequences/Beauty/user_sequence.txt``)
    One line per user, items in time order, no ratings or timestamps: an item's position in
    the line stands in for its time. Leave-last-out: each user's last item is the test item
    (:func:`core.data.splits.leave_last_n_split` with ``n=1``), the rest is train.

:func:`evaluate` gives each test user the top ``k`` of all items not seen in train (full
ranking, no sampled negatives) and averages HR@k and NDCG@k with binary relevance over the
users with test items.

The hyperparameters :data:`MOVIELENS_PARAMS` and :data:`BEAUTY_PARAMS` were chosen on these same
splits, with no separate validation split, so the figures are tuned ones (searched: ALS factors
32-200, regularization 0.01-150, alpha 0.5-40; BPR factors 32-200, learning rate 0.001-0.1,
regularization 0-0.1, 10-300 epochs, uniform_negatives 0-0.9). With implicit's
popularity-weighted negatives alone (``uniform_negatives=0``) BPR peaks at NDCG@10 of about
0.38 on MovieLens (after about 100 epochs at learning rate 0.005, falling after), which is why
the MovieLens setting draws 90% of the negatives uniformly.

To choose them on validation instead, :func:`with_validation` carves a validation part from
the training part by the same protocol, and ``benchmarks/tune_public.py`` runs the random
search (:func:`core.models.tuning.tune`) on it without reading the test part. The values below
have not been replaced yet: a search within a few minutes per model on a loaded 2-core
machine tried 1 to 3 Beauty settings per model, too few to choose by.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from core.data.interactions import Interactions
from core.data.splits import Split, leave_last_n_split, random_split
from core.metrics import hit_matrix, hit_rate_at_k, ndcg_at_k, relevant_counts

DEFAULT_DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
MOVIELENS_FILE = Path("movielens_100k") / "ml-100k.inter"
BEAUTY_FILE = Path("amazon_5core_sequences") / "Beauty" / "user_sequence.txt"

MOVIELENS_PARAMS: dict[str, dict[str, object]] = {
    "als": {"factors": 64, "regularization": 30.0, "alpha": 3.0, "iterations": 15},
    "bpr": {
        "factors": 64,
        "learning_rate": 0.01,
        "regularization": 0.001,
        "iterations": 100,
        "uniform_negatives": 0.9,
    },
}
BEAUTY_PARAMS: dict[str, dict[str, object]] = {
    "popularity": {},
    "item_knn": {"similarity": "cosine", "k_neighbours": 50},
    "als": {"factors": 128, "regularization": 1.0, "alpha": 30.0, "iterations": 15},
    "bpr": {"factors": 64, "learning_rate": 0.05, "regularization": 0.01, "iterations": 100},
}

# Beauty has no timestamps: position j in a user's line becomes this time plus j seconds.
_EPOCH = np.datetime64("2000-01-01T00:00:00", "s")


class Ranker(Protocol):
    """Anything that ranks items for users, as :class:`core.models.base.Recommender` does."""

    def recommend(self, user_idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...


@lru_cache(maxsize=2)
def load_movielens(datasets: Path = DEFAULT_DATASETS) -> Split:
    """MovieLens 100K, binary, split 75/25 at random per user (``random_state=42``)."""
    frame = pd.read_csv(datasets / MOVIELENS_FILE, sep="\t")
    frame.columns = ["user_id", "item_id", "rating", "timestamp"]
    user_ids, user_idx = np.unique(frame["user_id"].to_numpy(), return_inverse=True)
    item_ids, item_idx = np.unique(frame["item_id"].to_numpy(), return_inverse=True)
    order = np.lexsort((item_idx, user_idx))
    interactions = Interactions.from_arrays(
        user_ids.astype(str),
        item_ids.astype(str),
        user_idx[order],
        item_idx[order],
        np.ones(len(frame), dtype=np.float32),
        frame["timestamp"].to_numpy()[order].astype("datetime64[s]"),
    )
    return random_split(interactions, 0.25, by_user=True, random_state=42)


@lru_cache(maxsize=2)
def load_beauty(datasets: Path = DEFAULT_DATASETS) -> Split:
    """Amazon Beauty 5-core sequences, each user's last item held out."""
    lines = [line.split() for line in (datasets / BEAUTY_FILE).read_text().splitlines()]
    lines = [line for line in lines if line]
    lengths = np.array([len(line) - 1 for line in lines])
    items = np.concatenate([line[1:] for line in lines])
    item_ids, item_idx = np.unique(items, return_inverse=True)
    user_idx = np.repeat(np.arange(len(lines)), lengths)
    position = np.arange(len(items)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    order = np.lexsort((item_idx, user_idx))
    interactions = Interactions.from_arrays(
        [line[0] for line in lines],
        item_ids,
        user_idx[order],
        item_idx[order],
        np.ones(len(items), dtype=np.float32),
        _EPOCH + position[order].astype("timedelta64[s]"),
    )
    return leave_last_n_split(interactions, 1)


def with_validation(split: Split, random_state: int = 0) -> Split:
    """``split`` with a validation part carved from its training part by the same protocol.

    MovieLens: 25% of each user's training pairs at random (``random_state``); Beauty: each
    user's last training item. The test part is kept as it is and the search of the settings
    never reads it; models fitted on the smaller training part are only for choosing.
    """
    if split.method == "random":
        inner = random_split(
            split.train,
            split.params["test_fraction"],
            by_user=split.params["by_user"],
            random_state=random_state,
        )
    else:
        inner = leave_last_n_split(split.train, split.params["n"])
    return Split.from_parts(
        inner.train, split.test, inner.test, split.method, {**split.params, "validation": True}
    )


def evaluate(model: Ranker, split: Split, k: int = 10) -> dict[str, float]:
    """Mean HR@k and NDCG@k (binary relevance) over the users with test items.

    HR@k is the share of users with a test item in their top ``k``; NDCG@k divides the DCG of
    the hits at ranks ``r`` (``sum 1 / log2(r + 1)``) by the ideal DCG of
    ``min(|test items|, k)`` hits.
    """
    recommended, _ = model.recommend(split.test_users, k)
    relevant = split.test.matrix[split.test_users]
    hits = hit_matrix(recommended, relevant)
    return {
        f"hr@{k}": float(hit_rate_at_k(hits, k).mean()),
        f"ndcg@{k}": float(ndcg_at_k(hits, relevant_counts(relevant), k).mean()),
    }
