"""Product search: lexical, semantic and personal rankers, and their offline evaluation.

:mod:`core.search.sessions` turns a workspace's cleaned events into search sessions (each
search with the products engaged with after it, graded) split by time, with query segments;
:mod:`core.search.evaluation` measures any ranker on the held-out sessions.
"""
