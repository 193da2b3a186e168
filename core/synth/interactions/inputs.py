"""Inputs of the interaction generators: product vectors, index positions, cold-start targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.checks import check_whole
from core.data.interactions import Interactions
from core.errors import SyntheticInteractionsError
from core.progress import ProgressCallback
from core.text.product_text import product_texts


def _positions(
    index: Mapping[str, int], ids: Sequence[str] | np.ndarray, what: str, hint: str = ""
) -> np.ndarray:
    """Positions (int64) of ``ids`` in ``index``; raises naming the first unknown id."""
    names = [str(name) for name in ids]
    unknown = [name for name in names if name not in index]
    if unknown:
        raise SyntheticInteractionsError(
            f"{len(unknown)} {what} id(s) are not in the {what} index (e.g. {unknown[0]!r}){hint}"
        )
    return np.array([index[name] for name in names], dtype=np.int64)


def item_positions(train: Interactions, item_ids: Sequence[str] | np.ndarray) -> np.ndarray:
    """Column indices of ``item_ids`` in ``train`` (int64); raises for unknown ids."""
    return _positions(train.item_index, item_ids, "item", "; choose items of the catalogue")


def user_positions(train: Interactions, user_ids: Sequence[str] | np.ndarray) -> np.ndarray:
    """Row indices of ``user_ids`` in ``train`` (int64); raises for unknown ids."""
    return _positions(train.user_index, user_ids, "user")


def sparse_items(train: Interactions, max_users: int = 0) -> np.ndarray:
    """Ids of the items with at most ``max_users`` training users: the cold-start targets.

    Chosen from the training data alone, so the choice tells nothing about the test part.
    """
    check_whole("max_users", max_users, 0, SyntheticInteractionsError)
    users_per_item = np.bincount(train.matrix.indices, minlength=train.n_items)
    return np.asarray(train.item_ids[users_per_item <= max_users], dtype=object)


def product_vectors(
    catalog: pd.DataFrame | None,
    item_ids: Sequence[str] | np.ndarray,
    *,
    method: str = "encoder",
    encoder: Any = None,
    cache_dir: str | Path | None = None,
    batch_size: int = 64,
    callback: ProgressCallback | None = None,
) -> np.ndarray | sp.csr_matrix:
    """Unit-length vectors of the products' texts, one row per id of ``item_ids``.

    Parameters
    ----------
    catalog : pandas.DataFrame or None
        Catalogue; texts come from :func:`core.text.product_text.product_texts`.
    item_ids : sequence of str
        The item index (e.g. ``split.train.item_ids``).
    method : {"encoder", "tfidf"}
        ``encoder``: sentence embeddings (dense float32); ``tfidf``: TF-IDF of word uni- and
        bigrams (sparse, for the neighbour baseline only).
    encoder : TextEncoder or str, optional
        An encoder object, or a spec for :func:`core.text.encoders.load_encoder` (``"minilm"``,
        ``"tiny"``, a folder); the default encoder when None.
    cache_dir : str or Path, optional
        Embedding cache folder (``<workspace>/artifacts/embeddings``); no cache if None.

    Returns
    -------
    numpy.ndarray or scipy.sparse.csr_matrix
        Products without any text get a zero row.
    """
    texts = product_texts(catalog, item_ids)
    with_text = np.flatnonzero([bool(text) for text in texts])
    if with_text.size == 0:
        raise SyntheticInteractionsError(
            "no product has a text: the catalogue needs titles, descriptions or categories"
        )
    chosen = [texts[row] for row in with_text]
    if method == "tfidf":
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(chosen)
        placed = sp.csr_matrix(
            (np.ones(with_text.size), (with_text, np.arange(with_text.size))),
            shape=(len(texts), with_text.size),
        )
        return (placed @ vectors).tocsr().astype(np.float32)
    if method != "encoder":
        raise SyntheticInteractionsError(f"unknown method {method!r}; use 'encoder' or 'tfidf'")
    if encoder is None or isinstance(encoder, str | Path):
        # Imported here: the encoders module loads torch and transformers.
        from core.text.encoders import load_encoder

        encoder = load_encoder(encoder)
    if cache_dir is None:
        encoded = encoder.encode(chosen, batch_size=batch_size, callback=callback)
    else:
        from core.text.cache import EmbeddingCache

        encoded = EmbeddingCache(Path(cache_dir)).encode(
            encoder, chosen, batch_size=batch_size, callback=callback
        )
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    out[with_text] = _unit_rows(np.asarray(encoded, dtype=np.float32))
    return out


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def unit_vectors(item_vectors: np.ndarray | sp.spmatrix, n_items: int) -> Any:
    """``item_vectors`` (one row per item) scaled to unit length, dense float32 or sparse CSR;
    zero rows stay zero."""
    if item_vectors.shape[0] != n_items:
        raise SyntheticInteractionsError(
            f"item_vectors has {item_vectors.shape[0]} rows for {n_items} items; give one row "
            "per item of the training index"
        )
    if sp.issparse(item_vectors):
        matrix = sp.csr_matrix(item_vectors, dtype=np.float32)
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        return sp.diags(scale.astype(np.float32)) @ matrix
    return _unit_rows(np.asarray(item_vectors, dtype=np.float32))
