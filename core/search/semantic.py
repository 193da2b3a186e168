"""Semantic retrieval: product vectors from the embedding cache, the query encoded per request.

Product texts are :func:`core.text.product_text.product_texts` (the same text every model
embeds), encoded once through :class:`core.text.cache.EmbeddingCache`, so a catalogue already
embedded by the semantic model or an earlier index costs no encoding. Vectors are unit length,
so the dot product is the cosine; retrieval is exact, one float32 matrix-vector product over
every product (200k products x 384 dimensions is about 300 MB and a few milliseconds), then
:func:`core.metrics.ranking.top_k`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.errors import SearchError
from core.metrics.ranking import top_k
from core.text.cache import EmbeddingCache, TextEncoder


class SemanticIndex:
    """Unit vectors of the products and the encoder of their queries.

    Parameters
    ----------
    encoder : TextEncoder
        Encodes the products once and each query at request time.
    vectors : numpy.ndarray
        ``(n_products, dim)`` float32 unit vectors, from :meth:`build`.
    """

    def __init__(self, encoder: TextEncoder, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != encoder.dim:
            raise SearchError(
                f"product vectors of shape {vectors.shape} do not fit the encoder "
                f"{encoder.model_id!r} ({encoder.dim} dimensions): rebuild the search index"
            )
        self.encoder = encoder
        self.vectors = vectors

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
        return self.encoder.encode([query])[0].astype(np.float32)

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
