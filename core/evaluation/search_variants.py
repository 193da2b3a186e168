"""Search rankers of one index compared on a workspace's held-out search sessions.

Composes :func:`core.search.sessions.search_sessions` (the time split of the log's searches
and the engagement that follows them), :func:`core.search.evaluation.search_metrics` (NDCG@10,
MRR@10, Recall@100, zero-result rate per search), :func:`core.search.evaluation.summarise` (per
segment: all, head, torso, tail, cold) and :func:`core.evaluation.search.compare_search_rankers`
(paired bootstrap over searches against a control). A search runs the whole engine, so a
sample of the test searches (seeded) keeps a comparison within seconds to minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from core.checks import random_generator
from core.data.workspace import Workspace
from core.errors import SearchEvaluationError
from core.evaluation.search import compare_search_rankers
from core.progress import ProgressCallback
from core.search.engine import SearchIndex
from core.search.evaluation import search_metrics, summarise
from core.search.explain import Ranker, rank_function
from core.search.sessions import PART, SEARCH_ID, TEST, SearchSessions, search_sessions


@dataclass(frozen=True)
class SearchComparison:
    """Per-search metrics, their means per segment and the paired comparison.

    Attributes
    ----------
    per_search : pandas.DataFrame
        :func:`core.search.evaluation.search_metrics` of every ranker.
    summary : pandas.DataFrame
        :func:`core.search.evaluation.summarise` of ``per_search``.
    comparison : pandas.DataFrame
        :func:`core.evaluation.search.compare_search_rankers` against ``control``.
    control : str
    n_searches : int
        Test searches measured; ``n_test_searches`` of the test part in all.
    """

    per_search: pd.DataFrame
    summary: pd.DataFrame
    comparison: pd.DataFrame
    control: str
    n_searches: int
    n_test_searches: int


def sample_test_searches(
    sessions: SearchSessions, max_searches: int, random_state: int = 0
) -> SearchSessions:
    """``sessions`` with at most ``max_searches`` test searches, drawn without replacement."""
    if max_searches < 1:
        raise SearchEvaluationError(f"max_searches must be at least 1, got {max_searches!r}")
    searches = sessions.searches
    test = searches[searches[PART] == TEST]
    if len(test) <= max_searches:
        return sessions
    chosen = random_generator(random_state).choice(test[SEARCH_ID].to_numpy(), max_searches, False)
    keep = (searches[PART] != TEST) | searches[SEARCH_ID].isin(chosen)
    judged = sessions.judgements[sessions.judgements[SEARCH_ID].isin(searches.loc[keep, SEARCH_ID])]
    return replace(sessions, searches=searches[keep].reset_index(drop=True), judgements=judged)


def compare_search_variants(
    workspace: Workspace,
    index: SearchIndex,
    rankers: Sequence[Ranker],
    *,
    control: str,
    max_searches: int = 500,
    n_resamples: int = 1000,
    random_state: int = 0,
    callback: ProgressCallback | None = None,
) -> SearchComparison:
    """Measure ``rankers`` on (a sample of) the test searches of ``workspace`` and compare them
    with the ranker named ``control``; ``callback`` follows each ranker's searches."""
    names = [ranker.name for ranker in rankers]
    if len(set(names)) != len(names) or not names:
        raise SearchEvaluationError(f"give one or more rankers with distinct names, got {names}")
    if control not in names:
        raise SearchEvaluationError(f"control {control!r} is not one of the rankers {names}")
    sessions = search_sessions(workspace)
    n_test = int((sessions.searches[PART] == TEST).sum())
    sampled = sample_test_searches(sessions, max_searches, random_state)
    n_searches = int((sampled.searches[PART] == TEST).sum())

    def follow(position: int, ranker: Ranker):
        rank = rank_function(index, ranker)
        done = [0]

        def measured(queries: list[str], users: list[str | None], k: int) -> np.ndarray:
            lists = rank(queries, users, k)
            done[0] += len(queries)
            if callback is not None:
                step = position * n_searches + done[0]
                callback(step, len(rankers) * n_searches, f"{ranker.name}: {done[0]:,} searches")
            return lists

        return measured

    rank_functions = {ranker.name: follow(i, ranker) for i, ranker in enumerate(rankers)}
    per_search = search_metrics(rank_functions, sampled, list(index.item_ids), batch_size=50)
    comparison = compare_search_rankers(
        per_search, control=control, n_resamples=n_resamples, random_state=random_state
    )
    return SearchComparison(
        per_search, summarise(per_search), comparison, control, n_searches, n_test
    )
