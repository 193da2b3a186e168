"""TF-IDF content model: products as word and character n-gram vectors, users as their mean.

Each product's text (title, brand, category, description; see
:func:`core.text.product_text.product_texts`) becomes two TF-IDF blocks: word n-grams and
character n-grams within word boundaries. Character n-grams make text without spaces work
(Chinese, Japanese) and tolerate typos and inflections. Each block is L2-normalised, the char
block scaled by ``char_weight``, and the row normalised again, so a dot product of two products
is their cosine similarity.

A user's profile is the recency-weighted mean of the vectors of the items in their history and
an item's score is its cosine similarity to that profile. Items without any interaction score
like any other, which is how this model recommends cold-start products.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from core.checks import Constraint, Positive, Whole
from core.data.interactions import Interactions
from core.errors import ModelError
from core.metrics.ranking import top_k
from core.models.base import (
    Catalog,
    ProgressCallback,
    Recommender,
    sparse_arrays,
    sparse_from_arrays,
)
from core.text.product_text import product_texts

_SECONDS_PER_DAY = 86_400.0
_DENSE_PROFILE_FLOATS = 16 * 1024 * 1024


def recency_weights(train: Interactions, half_life_days: float | None) -> np.ndarray:
    r"""Weight of each interaction in its user's profile, aligned with ``train.matrix.data``.

    .. math:: a_{ui} = w_{ui} \cdot 0.5^{(t_{\max} - t_{ui}) / h}

    with ``w`` the interaction weight, ``t_ui`` its latest event time, ``t_max`` the latest
    time in ``train`` and ``h`` the half-life in days. Interactions without a time are not
    decayed. Profiles are normalised means, so any reference time gives the same profiles as
    ``t_max``; a user's own latest time would too.

    Parameters
    ----------
    train : Interactions
        Training interactions with ``last_ts``.
    half_life_days : float or None
        Half-life of the decay; None (or 0) for no decay.

    Returns
    -------
    numpy.ndarray
        float64 weights, one per stored entry.
    """
    weights = np.asarray(train.matrix.data, dtype=np.float64)
    if not half_life_days or train.nnz == 0:
        return weights.copy()
    seconds = np.asarray(train.last_ts, dtype="datetime64[s]")
    known = ~np.isnat(seconds)
    if not known.any():
        return weights.copy()
    as_float = seconds[known].astype(np.int64).astype(np.float64)
    age_days = np.zeros(len(seconds))
    age_days[known] = (as_float.max() - as_float) / _SECONDS_PER_DAY
    return weights * np.power(0.5, age_days / float(half_life_days))


def similar_by_vectors(
    vectors: np.ndarray | sp.csr_matrix, item_idx: np.ndarray | int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` items most cosine-similar to each of ``item_idx`` (itself excluded).

    ``vectors`` has unit-norm rows (or zero rows, which are similar to nothing).
    """
    items = np.atleast_1d(np.asarray(item_idx, dtype=np.int64))
    n_items = vectors.shape[0]
    if items.size and (items.min() < 0 or items.max() >= n_items):
        raise ModelError(f"item index out of range 0..{n_items - 1}")
    scores = vectors[items] @ vectors.T
    scores = np.asarray(scores.toarray() if sp.issparse(scores) else scores, dtype=np.float32)
    scores[np.arange(len(items)), items] = -np.inf
    empty = np.asarray(abs(vectors[items]).sum(axis=1)).ravel() == 0
    scores[empty] = -np.inf
    return top_k(scores, k)


class ProfileRecommender(Recommender):
    """A recommender of products by their text, scoring users from a recency-weighted profile.

    Subclasses have the hyperparameter ``half_life_days``, call :meth:`fit_profiles` in
    ``_fit`` (it sets ``profile_data_``, :func:`recency_weights` of the training interactions
    aligned with ``train_.data``) and implement :meth:`score_history`; training users are then
    scored from their recency-weighted rows.
    """

    scores_cold_items = True
    half_life_days: float | None
    profile_data_: np.ndarray
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "half_life_days": Positive(allow_zero=True, optional=True)
    }

    def catalog_texts(self, train: Interactions, catalog: pd.DataFrame | None) -> list[str]:
        """The text of each training item (:func:`product_texts`); ModelError if none has any."""
        if catalog is None:
            raise ModelError(f"{self.name} needs the catalogue: fit(train, catalog=...)")
        texts = product_texts(catalog, train.item_ids)
        if not any(texts):
            raise ModelError(
                f"{self.name} found no product text: the catalogue needs a title, description, "
                "category or brand for the items"
            )
        return texts

    def fit_profiles(self, train: Interactions) -> None:
        """Set ``profile_data_``: the recency weights of the training interactions."""
        self.profile_data_ = recency_weights(train, self.half_life_days).astype(np.float32)

    def profile_rows(self, user_idx: np.ndarray | int) -> sp.csr_matrix:
        """Recency-weighted history rows of training users (the weights behind their profile)."""
        self._check_fitted()
        users = self._user_array(user_idx)
        weighted = sp.csr_matrix(
            (self.profile_data_, self.train_.indices, self.train_.indptr), shape=self.train_.shape
        )
        return weighted[users]

    def score(self, user_idx: np.ndarray | int, item_idx: np.ndarray | None = None) -> np.ndarray:
        """Scores of training users from their recency-weighted histories."""
        return self.score_history(self.profile_rows(user_idx), item_idx)


class ContentRecommender(ProfileRecommender):
    """TF-IDF over product text; user profile = recency-weighted mean of the history.

    Parameters
    ----------
    half_life_days : float or None
        Half-life of the recency weighting of a user's history (see :func:`recency_weights`);
        None or 0 weighs every interaction by its weight alone.
    word_ngram_max : int
        Word n-grams of length 1 to ``word_ngram_max``.
    char_ngram_min, char_ngram_max : int
        Character n-gram lengths (within word boundaries).
    char_weight : float
        Weight of the character block relative to the word block (0 keeps words only).
    min_df : int
        Drop n-grams found in fewer products.
    max_features : int or None
        Keep at most this many n-grams per block, the most frequent.
    sublinear_tf : bool
        Use ``1 + log(tf)`` instead of raw term counts.
    """

    name = "content_tfidf"
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        **ProfileRecommender._parameter_constraints,
        "word_ngram_max": Whole(1),
        "char_ngram_min": Whole(1),
        "char_ngram_max": Whole(1),
        "char_weight": Positive(allow_zero=True),
        "min_df": Whole(1),
        "max_features": Whole(1, optional=True),
    }

    def __init__(
        self,
        half_life_days: float | None = 30.0,
        word_ngram_max: int = 2,
        char_ngram_min: int = 2,
        char_ngram_max: int = 4,
        char_weight: float = 1.0,
        min_df: int = 1,
        max_features: int | None = 262_144,
        sublinear_tf: bool = True,
    ) -> None:
        self.half_life_days = half_life_days
        self.word_ngram_max = word_ngram_max
        self.char_ngram_min = char_ngram_min
        self.char_ngram_max = char_ngram_max
        self.char_weight = char_weight
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.char_ngram_min > self.char_ngram_max:
            raise ModelError(
                "char n-gram lengths must satisfy 1 <= char_ngram_min <= char_ngram_max, got "
                f"{self.char_ngram_min} and {self.char_ngram_max}"
            )

    def _fit(
        self, train: Interactions, catalog: Catalog, callback: ProgressCallback | None
    ) -> None:
        texts = self.catalog_texts(train, catalog)
        if callback is not None:
            callback(0, 3, f"TF-IDF of {len(texts):,} products")
        self.item_vectors_ = self._vectorize(texts)
        if callback is not None:
            callback(2, 3, "user profiles")
        self.fit_profiles(train)
        if callback is not None:
            callback(3, 3, "done")

    def _vectorize(self, texts: list[str]) -> sp.csr_matrix:
        common = {
            "min_df": self.min_df,
            "max_features": self.max_features,
            "sublinear_tf": self.sublinear_tf,
            "dtype": np.float32,
        }
        blocks = []
        words = _tfidf_or_none(
            TfidfVectorizer(analyzer="word", ngram_range=(1, self.word_ngram_max), **common), texts
        )
        if words is not None:
            blocks.append(words)
        if self.char_weight > 0:
            chars = _tfidf_or_none(
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(self.char_ngram_min, self.char_ngram_max),
                    **common,
                ),
                texts,
            )
            if chars is not None:
                blocks.append(chars * np.float32(self.char_weight))
        if not blocks:
            raise ModelError(f"{self.name}: no n-gram is left; lower min_df")
        return normalize(sp.hstack(blocks, format="csr"), norm="l2").astype(np.float32)

    # Scoring ---------------------------------------------------------------------------------

    def user_profiles(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """Unit-norm profiles: the weighted mean of the history items' vectors, normalised."""
        self._check_fitted()
        return normalize(sp.csr_matrix(history, dtype=np.float32) @ self.item_vectors_, norm="l2")

    def score_history(
        self, history: sp.csr_matrix, item_idx: np.ndarray | None = None
    ) -> np.ndarray:
        """Cosine similarity of each item to the weighted mean of the history's items.

        ``history`` rows carry no times, so their weights are used as given. A user without
        history scores 0 everywhere.
        """
        self._check_fitted()
        profiles = self.user_profiles(history)
        items = self.item_vectors_ if item_idx is None else self.item_vectors_[item_idx]
        out = np.empty((profiles.shape[0], items.shape[0]), dtype=np.float32)
        # items (sparse) x profiles (dense, n-grams x users): the product costs nnz(items) per
        # user, several times less than a sparse x sparse product whose common n-grams touch
        # most items. Users go in slices that keep the dense profiles near 64 MB.
        step = max(1, _DENSE_PROFILE_FLOATS // max(1, profiles.shape[1]))
        for start in range(0, profiles.shape[0], step):
            dense = profiles[start : start + step].T.toarray()
            out[start : start + step] = (items @ dense).T
        return out

    def similar_items(self, item_idx: np.ndarray | int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` products closest in TF-IDF space to each of ``item_idx``."""
        self._check_fitted()
        return similar_by_vectors(self.item_vectors_, item_idx, k)

    # Persistence -----------------------------------------------------------------------------

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = sparse_arrays("item_vectors_", self.item_vectors_)
        return {**arrays, "profile_data": self.profile_data_}, {}

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.item_vectors_ = sparse_from_arrays("item_vectors_", arrays)
        self.profile_data_ = arrays["profile_data"]


def _tfidf_or_none(vectorizer: TfidfVectorizer, texts: list[str]) -> sp.csr_matrix | None:
    """TF-IDF rows (L2-normalised), or None when the texts yield no n-gram of this kind."""
    try:
        return vectorizer.fit_transform(texts).tocsr()
    except ValueError as error:
        if "empty vocabulary" in str(error) or "no terms remain" in str(error):
            return None
        raise
