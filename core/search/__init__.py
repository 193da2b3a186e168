"""Product search: lexical (BM25 + character n-grams), semantic and personal signals, fused,
and their offline evaluation.

The public surface: :class:`SearchIndex` (build once, then :meth:`SearchIndex.search`),
:class:`SearchFilters` and :class:`SearchResult`. :mod:`core.search.sessions` turns a
workspace's cleaned events into search sessions (each search with the products engaged with
after it, graded) split by time, with query segments; :mod:`core.search.evaluation` measures
any ranker on the held-out sessions.
"""

from core.search.engine import SearchFilters, SearchIndex, SearchResult

__all__ = ["SearchFilters", "SearchIndex", "SearchResult"]
