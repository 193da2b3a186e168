"""Product search: lexical (BM25 + character n-grams), semantic and personal signals, fused.

The public surface: :class:`SearchIndex` (build once, then :meth:`SearchIndex.search`),
:class:`SearchFilters` and :class:`SearchResult`.
"""

from core.search.engine import SearchFilters, SearchIndex, SearchResult

__all__ = ["SearchFilters", "SearchIndex", "SearchResult"]
