"""Semantic retrieval: product vectors from the embedding cache, the query encoded per request.

Product texts are :func:`core.text.product_text.product_texts` (the same text every model
embeds), encoded once through :class:`core.text.cache.EmbeddingCache`, so a catalogue already
embedded by the semantic model or an earlier index costs no encoding. Vectors are unit length,
so the dot product is the cosine; retrieval is exact, one float32 matrix-vector product over
every product (200k products x 384 dimensions is about 300 MB, read once per query), then the
best rows by :func:`best_rows` (a partial sort; :func:`core.metrics.ranking.top_k`'s choice).

Above :data:`EXACT_UP_TO` products the scan runs over an int8 copy of the vectors
(:class:`core.search.int8_scan.Int8Scan`, a quarter of the memory read): it shortlists
:data:`SHORTLIST_FACTOR` times the products asked for, and the float32 cosine of the shortlist
picks them, so the products and their cosines are the exact ones unless an exact best product
falls outside a shortlist four times longer (the benchmark counts how often it does).

Queries may go through a second encoder that gives the same vectors faster (the fp32 ONNX
export of the product encoder, :class:`core.text.onnx_encoder.OnnxEncoder`): one short text
per request is where PyTorch's per-call overhead dominates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.errors import SearchError
from core.metrics.ranking import top_k
from core.search.int8_scan import Int8Scan
from core.text.cache import EmbeddingCache, TextEncoder

EXACT_UP_TO = 50_000
SHORTLIST_FACTOR = 4


class SemanticIndex:
    """Unit vectors of the products and the encoder of their queries.

    Parameters
    ----------
    encoder : TextEncoder
        Encodes the products once and each query at request time.
    vectors : numpy.ndarray
        ``(n_products, dim)`` float32 unit vectors, from :meth:`build`.
    query_encoder : TextEncoder, optional
        Encodes the queries instead of ``encoder``; it must give ``encoder``'s vectors (an
        fp32 export of the same weights), as the product vectors come from ``encoder``.
    exact_up_to : int
        Catalogues up to this size are scanned in float32; larger ones shortlist from int8.
    """

    def __init__(
        self,
        encoder: TextEncoder,
        vectors: np.ndarray,
        query_encoder: TextEncoder | None = None,
        *,
        exact_up_to: int = EXACT_UP_TO,
    ) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != encoder.dim:
            raise SearchError(
                f"product vectors of shape {vectors.shape} do not fit the encoder "
                f"{encoder.model_id!r} ({encoder.dim} dimensions): rebuild the search index"
            )
        if query_encoder is not None and query_encoder.dim != encoder.dim:
            raise SearchError(
                f"the query encoder {query_encoder.model_id!r} gives {query_encoder.dim} "
                f"dimensions, the product encoder {encoder.dim}: use an export of the same model"
            )
        self.encoder = encoder
        self.vectors = vectors
        self.query_encoder = query_encoder or encoder
        self.int8 = Int8Scan(vectors) if len(vectors) > exact_up_to else None

    @classmethod
    def build(
        cls,
        encoder: TextEncoder,
        texts: Sequence[str],
        cache: EmbeddingCache | None = None,
        *,
        batch_size: int = 64,
    ) -> SemanticIndex:
        """Encode ``texts`` (one per product), through ``cache`` when given."""
        if cache is None:
            vectors = encoder.encode(list(texts), batch_size=batch_size)
        else:
            vectors = cache.encode(encoder, texts, batch_size=batch_size)
        return cls(encoder, vectors)

    def query_vector(self, query: str) -> np.ndarray:
        """``(dim,)`` float32 unit vector of ``query``."""
        return self.query_encoder.encode([query])[0].astype(np.float32)

    def shortlist(self, query_vector: np.ndarray, k: int) -> np.ndarray:
        """Rows of the ``k`` closest products, in no order (see the module notes)."""
        query = np.asarray(query_vector, dtype=np.float32)
        if self.int8 is None:
            return best_rows(self.vectors @ query, k)
        wide = np.sort(best_rows(self.int8.scores(query), SHORTLIST_FACTOR * k))
        return wide[best_rows(self.cosines(query, wide), k)]

    def cosines(self, query_vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact float32 cosines of products ``rows`` to the query."""
        return self.vectors[rows] @ np.asarray(query_vector, dtype=np.float32)

    def scores(self, query: str) -> np.ndarray:
        """``(n_products,)`` float32 cosine of every product to ``query``."""
        if not query.strip():
            return np.zeros(len(self.vectors), dtype=np.float32)
        return self.vectors @ self.query_vector(query)

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Row indices and cosines of the ``k`` closest products, best first."""
        scores = self.scores(query)
        rows, values = top_k(scores[None, :], k)
        keep = rows[0] >= 0
        return rows[0][keep], values[0][keep]


def best_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest of the finite 1-d ``scores``, in no particular order.

    The same set as :func:`core.metrics.ranking.top_k` (a tie across the cut goes to the lower
    index), from one ``argpartition`` instead of its copies and sorts over the whole array.
    """
    scores = np.asarray(scores)
    if k >= len(scores):
        return np.arange(len(scores))
    part = np.argpartition(-scores, k - 1)[:k]
    kth = scores[part].min()
    if np.count_nonzero(scores >= kth) > k:  # a tie straddles the cut: top_k's rule decides
        rows, _ = top_k(scores[None, :], k)
        return rows[0]
    return part
