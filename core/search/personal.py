r"""Personal affinity of a known shopper for search candidates.

Three parts, each in [0, 1] over one query's candidates:

``collaborative``
    The trained model's ``score(user_idx, item_idx)`` (ALS/BPR user·item score, item-kNN over
    the user's history...), min-max scaled over the candidates the model knows (others 0).
``category`` / ``brand``
    The share of the user's training interactions (distinct items) whose product lies in the
    candidate's category / has the candidate's brand.

.. math:: p = w_{cf}\,cf + w_{cat}\,cat + w_{brand}\,brand

with weights summing to 1 (0.5, 0.25, 0.25 by default). An anonymous shopper, or a user the
model never saw, gets 0 everywhere: search then ranks as for anyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import SearchError
from core.fusion.normalise import minmax
from core.models.base import Recommender
from core.schema import BRAND, CATEGORY, ITEM_ID

DEFAULT_WEIGHTS = (0.5, 0.25, 0.25)


@dataclass(frozen=True)
class PersonalScores:
    """Per-candidate personal parts; every array has one entry per candidate."""

    collaborative: np.ndarray
    category: np.ndarray
    brand: np.ndarray
    score: np.ndarray
    known_user: bool


def _zeros(n: int, known: bool = False) -> PersonalScores:
    zero = np.zeros(n, dtype=np.float32)
    return PersonalScores(zero, zero, zero, zero, known)


class PersonalScorer:
    """A trained model and the catalogue, to score candidates for one user.

    Parameters
    ----------
    model : Recommender
        A fitted model; its rows are users, its columns ``model.item_ids_``.
    user_ids : sequence of str
        External id of each model row (:func:`core.models.runs.run_user_ids`).
    catalog : pandas.DataFrame
        The search catalogue (row ``i`` is product ``i`` of the index).
    weights : tuple of float
        ``(collaborative, category, brand)`` weights, non-negative with a positive sum.
    """

    def __init__(
        self,
        model: Recommender,
        user_ids: Sequence[str] | np.ndarray,
        catalog: pd.DataFrame,
        weights: tuple[float, float, float] = DEFAULT_WEIGHTS,
    ) -> None:
        values = np.asarray(weights, dtype=np.float64)
        if values.shape != (3,) or not np.isfinite(values).all() or (values < 0).any():
            raise SearchError("personal weights must be three numbers >= 0")
        if values.sum() <= 0:
            raise SearchError("give at least one personal part a positive weight")
        if len(user_ids) != model.n_users:
            raise SearchError(
                f"{len(user_ids)} user ids for a model of {model.n_users} users: retrain the model"
            )
        self.model = model
        self.weights = values / values.sum()
        self.user_index = {str(user): row for row, user in enumerate(user_ids)}
        model_item = {str(item): column for column, item in enumerate(model.item_ids_)}
        ids = catalog[ITEM_ID].astype(str)
        # Model column of each catalogue product (-1: the model never saw it).
        self.model_column = np.array([model_item.get(i, -1) for i in ids], dtype=np.int64)
        self.categories = _codes(catalog, CATEGORY)
        self.brands = _codes(catalog, BRAND)
        # Catalogue row of each model column (-1: not in the catalogue).
        self.catalog_row = np.full(model.n_items, -1, dtype=np.int64)
        known = self.model_column >= 0
        self.catalog_row[self.model_column[known]] = np.flatnonzero(known)

    def knows(self, user_id: str | None) -> bool:
        return user_id is not None and str(user_id) in self.user_index

    def history_shares(self, user_row: int, codes: np.ndarray) -> np.ndarray:
        """Share of the user's distinct training items per code of ``codes`` (-1 ignored)."""
        items = self.model.train_[user_row].indices
        rows = self.catalog_row[items]
        found = codes[rows[rows >= 0]]
        found = found[found >= 0]
        counts = np.bincount(found, minlength=int(codes.max(initial=-1)) + 1)
        return counts / max(len(items), 1)

    def score(self, user_id: str | None, rows: np.ndarray) -> PersonalScores:
        """Personal parts of catalogue rows ``rows`` for ``user_id`` (see the module notes)."""
        rows = np.asarray(rows, dtype=np.int64)
        if not self.knows(user_id):
            return _zeros(len(rows))
        user_row = self.user_index[str(user_id)]
        columns = self.model_column[rows]
        seen = columns >= 0
        raw = np.full(len(rows), np.nan, dtype=np.float32)
        if seen.any():
            raw[seen] = self.model.score(user_row, columns[seen]).ravel()
        collaborative = minmax(raw)
        parts = []
        for codes in (self.categories, self.brands):
            shares = self.history_shares(user_row, codes)
            candidate = codes[rows]
            parts.append(
                np.where(candidate >= 0, shares[np.maximum(candidate, 0)], 0).astype(np.float32)
                if len(shares)
                else np.zeros(len(rows), dtype=np.float32)
            )
        category, brand = parts
        stacked = np.stack([collaborative, category, brand])
        score = (self.weights[:, None] * stacked).sum(axis=0).astype(np.float32)
        return PersonalScores(collaborative, category, brand, score, known_user=True)


def _codes(catalog: pd.DataFrame, column: str) -> np.ndarray:
    """Integer code of each product's value of ``column`` (-1 for missing or empty)."""
    if column not in catalog.columns:
        return np.full(len(catalog), -1, dtype=np.int64)
    values = catalog[column].astype(object)
    values = values.where(values.notna() & (values.map(str).str.strip() != ""), None)
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64)
