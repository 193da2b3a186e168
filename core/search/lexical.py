r"""Lexical retrieval: field-weighted BM25 with a character n-gram fallback.

Fields
    Each product is split into fields: ``title``, ``brand``, ``category`` (the path),
    ``attributes`` (every other text column of the catalogue, e.g. colour, material, size) and
    ``description``; with document expansion, ``queries`` holds the accepted synthetic queries of
    the product. Each field is its own BM25 index (bm25s, Lucene variant, ``k1 = 1.5``,
    ``b = 0.75``), so a field's length normalisation and IDF use that field's statistics only
    (the BM25F idea, as Elasticsearch's ``multi_match`` of type ``most_fields`` does), and

    .. math:: s_{bm25}(q, d) = \sum_f w_f \, \mathrm{BM25}_f(q, d_f).

    Indexing each field separately rather than repeating fields keeps a weight exact (a title
    weighing 3 counts 3 times, not "3 copies with a longer document") and lets a caller change
    the weights without re-indexing.
Fallback
    Misspellings ("wirless") and text without spaces (Chinese, Japanese) give BM25 no term to
    match. A TF-IDF model of character 2- and 3-grams inside word boundaries (scikit-learn's
    ``char_wb``) over title, brand, category and attributes gives each product a cosine
    similarity to the query; below :attr:`LexicalIndex.min_similarity` it counts as no match.

    .. math:: s(q, d) = \frac{s_{bm25}(q, d)}{\max_{d'} s_{bm25}(q, d')} + w_{ng}\,\cos_{ng}(q, d)

    when BM25 matches some product, else :math:`s = \cos_{ng}`. The small blend weight
    :math:`w_{ng}` (0.1) orders BM25 ties by spelling closeness; the fallback alone finds
    products when no query word is in the catalogue as written. A product with :math:`s = 0`
    is not retrieved. When BM25 matches, the cosine is computed for its best
    ``ngram_candidates`` matches only (the ones it can reorder; a product BM25 does not match
    gets 0): over every product of a large catalogue it would cost more than BM25 itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import bm25s
import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from core.checks import check_positive, check_whole
from core.errors import SearchError
from core.schema import BRAND, CATALOG_COLUMNS, CATEGORY, DESCRIPTION, ITEM_ID, TITLE

ATTRIBUTES = "attributes"
QUERIES = "queries"
FIELDS: tuple[str, ...] = (TITLE, BRAND, CATEGORY, ATTRIBUTES, DESCRIPTION, QUERIES)
DEFAULT_FIELD_WEIGHTS: dict[str, float] = {
    TITLE: 3.0,
    BRAND: 2.0,
    CATEGORY: 1.5,
    ATTRIBUTES: 1.0,
    DESCRIPTION: 1.0,
    QUERIES: 1.0,
}
NGRAM_WEIGHT = 0.1
NGRAM_CANDIDATES = 1000
MIN_SIMILARITY = 0.2
MAX_ATTRIBUTE_COLUMNS = 20  # a wide catalogue must not make every product a bag of columns
BM25_K1 = 1.5
BM25_B = 0.75

_TOKEN = re.compile(r"\w+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens (Unicode letters and digits) of ``text``."""
    return _TOKEN.findall(text.casefold())


def attribute_columns(catalog: pd.DataFrame) -> list[str]:
    """Text columns of ``catalog`` besides the canonical ones (colour, material, size...)."""
    columns = []
    for column in catalog.columns:
        if column in CATALOG_COLUMNS or str(column).startswith("_"):
            continue
        dtype = catalog[column].dtype
        if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
            columns.append(column)
    return columns[:MAX_ATTRIBUTE_COLUMNS]


def field_texts(catalog: pd.DataFrame, expansion: pd.DataFrame | None = None) -> pd.DataFrame:
    """One text per product and field of :data:`FIELDS`, in catalogue row order.

    Parameters
    ----------
    catalog : pandas.DataFrame
        One row per product, with ``item_id`` and any of the catalogue text columns.
    expansion : pandas.DataFrame, optional
        Columns ``item_id`` and ``text``: extra queries of a product (its accepted synthetic
        queries), joined into its ``queries`` field. Ids not in the catalogue are ignored.
    """

    def column(name: str) -> pd.Series:
        if name not in catalog.columns:
            return pd.Series([""] * len(catalog), index=catalog.index, dtype=object)
        values = catalog[name].astype(object)
        return values.where(values.notna(), "").map(str)

    out = pd.DataFrame(index=catalog.index)
    for name in (TITLE, BRAND, CATEGORY, DESCRIPTION):
        out[name] = column(name)
    attributes = [column(name) for name in attribute_columns(catalog)]
    out[ATTRIBUTES] = _join(attributes) if attributes else ""
    out[QUERIES] = ""
    if expansion is not None and not expansion.empty:
        joined = expansion.groupby(expansion[ITEM_ID].astype(str))["text"].agg(" ".join)
        ids = catalog[ITEM_ID].astype(str)
        out[QUERIES] = ids.map(joined).fillna("").to_numpy()
    return out[list(FIELDS)]


def _join(columns: list[pd.Series]) -> pd.Series:
    """Row-wise ``" ".join`` of string columns, vectorised (a per-row apply is ~100x slower)."""
    joined = columns[0]
    for column in columns[1:]:
        joined = joined + " " + column
    return joined.str.strip()


@dataclass(frozen=True)
class LexicalScores:
    """Lexical scores of every product for one query.

    Attributes
    ----------
    bm25 : numpy.ndarray
        ``(n_products,)`` float32 field-weighted BM25 (0 where no query word occurs).
    ngram : numpy.ndarray
        ``(n_products,)`` float32 character n-gram cosine, 0 below the minimum similarity.
    score : numpy.ndarray
        ``(n_products,)`` float32 combined score (see the module notes); 0 = not retrieved.
    fallback : bool
        True when BM25 matched nothing and the n-gram similarity alone retrieved.
    """

    bm25: np.ndarray
    ngram: np.ndarray
    score: np.ndarray
    fallback: bool


class LexicalIndex:
    """BM25 per field plus a character n-gram TF-IDF over a catalogue.

    Parameters
    ----------
    field_weights : mapping, optional
        Weight of each field of :data:`FIELDS` (missing fields take
        :data:`DEFAULT_FIELD_WEIGHTS`; 0 switches a field off).
    ngram_weight : float
        Blend weight of the n-gram similarity when BM25 matches (see the module notes).
    min_similarity : float
        n-gram cosines below it count as no match.
    ngram_candidates : int
        BM25 matches (the best) whose n-gram cosine is computed when BM25 matches.
    """

    def __init__(
        self,
        field_weights: Mapping[str, float] | None = None,
        ngram_weight: float = NGRAM_WEIGHT,
        min_similarity: float = MIN_SIMILARITY,
        ngram_candidates: int = NGRAM_CANDIDATES,
    ) -> None:
        self.field_weights = field_weights
        self.ngram_weight = ngram_weight
        self.min_similarity = min_similarity
        self.ngram_candidates = ngram_candidates

    def weights(self) -> dict[str, float]:
        """The checked weight of every field."""
        given = dict(self.field_weights or {})
        unknown = sorted(set(given) - set(FIELDS))
        if unknown:
            raise SearchError(f"unknown search fields {unknown}; use some of {list(FIELDS)}")
        weights = {**DEFAULT_FIELD_WEIGHTS, **given}
        for name, value in weights.items():
            check_positive(f"weight of field {name!r}", value, SearchError, allow_zero=True)
        if sum(weights.values()) <= 0:
            raise SearchError("give at least one search field a positive weight")
        return {name: float(value) for name, value in weights.items()}

    def fit(self, catalog: pd.DataFrame, expansion: pd.DataFrame | None = None) -> LexicalIndex:
        """Index ``catalog`` (one row per product; see :func:`field_texts`)."""
        self.weights_ = self.weights()
        check_positive("ngram_weight", self.ngram_weight, SearchError, allow_zero=True)
        check_positive("min_similarity", self.min_similarity, SearchError, allow_zero=True)
        check_whole("ngram_candidates", self.ngram_candidates, 1, SearchError)
        texts = field_texts(catalog, expansion)
        self.n_products_ = len(texts)
        self.fields_: dict[str, bm25s.BM25] = {}
        for name in FIELDS:
            tokens = [tokenize(text) for text in texts[name]]
            # A field empty in every product (no descriptions, no expansion) has no statistics.
            if self.weights_[name] == 0 or not any(tokens):
                continue
            retriever = bm25s.BM25(method="lucene", k1=BM25_K1, b=BM25_B)
            retriever.index(tokens, show_progress=False)
            self.fields_[name] = retriever
        ngram_texts = _join([texts[name] for name in (TITLE, BRAND, CATEGORY, ATTRIBUTES)])
        self.vectorizer_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True, dtype=np.float32
        )
        try:
            self.ngrams_ = self.vectorizer_.fit_transform(ngram_texts.tolist()).tocsr()
        except ValueError:  # not a single character in the whole catalogue
            self.vectorizer_ = None
        return self

    def bm25(self, query: str) -> np.ndarray:
        """Field-weighted BM25 of every product for ``query``."""
        scores = np.zeros(self.n_products_, dtype=np.float32)
        tokens = tokenize(query)
        for name, retriever in self.fields_.items():
            ids = retriever.get_tokens_ids(tokens)
            if ids:
                scores += self.weights_[name] * retriever.get_scores_from_ids(ids)
        return scores

    def ngram(self, query: str, rows: np.ndarray | None = None) -> np.ndarray:
        """Character n-gram cosine to ``query`` of every product, or of ``rows`` only (the
        others 0); 0 below the minimum."""
        out = np.zeros(self.n_products_, dtype=np.float32)
        if self.vectorizer_ is None or not query.strip():
            return out
        vector = self.vectorizer_.transform([query])
        matrix = self.ngrams_ if rows is None else self.ngrams_[rows]
        similarity = (matrix @ vector.T).toarray().ravel().astype(np.float32)
        similarity = np.where(similarity >= self.min_similarity, similarity, 0)
        out[slice(None) if rows is None else rows] = similarity
        return out

    def score(self, query: str) -> LexicalScores:
        """BM25, n-gram and combined scores of every product (see the module notes)."""
        bm25 = self.bm25(query)
        top = float(bm25.max(initial=0))
        if top > 0:
            matched = np.flatnonzero(bm25 > 0)
            if len(matched) > self.ngram_candidates:
                best = np.argpartition(-bm25[matched], self.ngram_candidates - 1)
                matched = np.sort(matched[best[: self.ngram_candidates]])
            ngram = self.ngram(query, matched)
            combined = bm25 / top + self.ngram_weight * ngram
            return LexicalScores(bm25, ngram, combined.astype(np.float32), fallback=False)
        ngram = self.ngram(query)
        return LexicalScores(bm25, ngram, ngram.copy(), fallback=bool(ngram.any()))
