"""Offline evaluation of search rankers on held-out search sessions, per query segment.

A ranker is any callable ``rank(queries, user_ids, k)`` returning a ``(n, k)`` integer array of
item indices in the catalogue's order (``item_ids``), best first, ``-1`` where it has no more
results. :func:`search_metrics` asks it for the top ``max(k)`` results of every search of one
part of :class:`~core.search.sessions.SearchSessions` and measures, per search, with
:mod:`core.metrics`:

``ndcg@10``
    Graded NDCG@10, the gain of an item being its grade (click 1, cart 2, purchase 3).
``mrr@10``
    Reciprocal rank of the first engaged item within the top 10.
``recall@100``
    Share of the engaged items found in the top 100.
``zero_result``
    1 when the ranker returned no item at all.

The accuracy metrics are defined on searches followed by engagement (NaN on the others); the
zero-result rate on every search of the part. An engaged item missing from ``item_ids`` stays
relevant (it counts in recall's denominator) but cannot be found. :func:`summarise` averages
per segment (``all``, ``head``, ``torso``, ``tail``, ``cold``); paired comparisons between
rankers over the same searches live one layer up, in :mod:`core.evaluation.search`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.errors import SearchEvaluationError
from core.metrics import (
    gain_matrix,
    graded_ndcg_at_k,
    hit_matrix,
    ideal_gains,
    recall_at_k,
    reciprocal_rank_at_k,
    relevant_counts,
)
from core.search.sessions import (
    COLD,
    FREQUENCY_SEGMENTS,
    GRADE,
    PART,
    PARTS,
    SEARCH_ID,
    SEGMENT,
    TEST,
    SearchSessions,
)

RankFunction = Callable[[list[str], list[str | None], int], np.ndarray]

NDCG_K, MRR_K, RECALL_K = 10, 10, 100
NDCG, MRR, RECALL, ZERO_RESULT = (
    f"ndcg@{NDCG_K}",
    f"mrr@{MRR_K}",
    f"recall@{RECALL_K}",
    "zero_result",
)
SEARCH_METRICS: tuple[str, ...] = (NDCG, MRR, RECALL, ZERO_RESULT)
ALL = "all"
SEGMENTS: tuple[str, ...] = (ALL, *FREQUENCY_SEGMENTS, COLD)
RANKER = "ranker"


def _relevance(
    sessions: SearchSessions, search_ids: np.ndarray, item_ids: Sequence[str]
) -> sp.csr_matrix:
    """Grades as a ``(n_searches, n_items + extra)`` matrix; unknown items get extra columns."""
    column_of = {str(item): column for column, item in enumerate(item_ids)}
    judged = sessions.judgements[sessions.judgements[SEARCH_ID].isin(search_ids)]
    row_of = pd.Series(np.arange(len(search_ids)), index=search_ids)
    rows = row_of[judged[SEARCH_ID]].to_numpy()
    mapped = judged["item_id"].map(column_of)
    unknown = mapped.isna().to_numpy()
    columns = np.array(mapped.to_numpy(dtype=float), copy=True)
    columns[unknown] = len(column_of) + np.arange(unknown.sum())
    return sp.csr_matrix(
        (judged[GRADE].to_numpy(np.float64), (rows, columns.astype(np.int64))),
        shape=(len(search_ids), len(column_of) + int(unknown.sum())),
    )


def _check_lists(lists: object, n: int, k: int, n_items: int, name: str) -> np.ndarray:
    array = np.asarray(lists)
    if array.shape != (n, k) or not np.issubdtype(array.dtype, np.integer):
        raise SearchEvaluationError(
            f"ranker {name!r} returned an array of shape {array.shape} and dtype {array.dtype}; "
            f"it must return ({n}, {k}) integer item indices (-1 for no result)"
        )
    if array.size and (array.min() < -1 or array.max() >= n_items):
        raise SearchEvaluationError(
            f"ranker {name!r} returned item indices outside [-1, {n_items}): index items in "
            "the catalogue's order"
        )
    return array.astype(np.int64)


def search_metrics(
    rankers: Mapping[str, RankFunction],
    sessions: SearchSessions,
    item_ids: Sequence[str],
    *,
    part: str = TEST,
    batch_size: int = 1024,
) -> pd.DataFrame:
    """Per-search metrics of each ranker on one part of the sessions.

    Parameters
    ----------
    rankers : mapping of name to callable
        ``rank(queries, user_ids, k) -> (n, k)`` item indices into ``item_ids``.
    sessions : SearchSessions
        From :func:`core.search.sessions.search_sessions`.
    item_ids : sequence of str
        The catalogue's item ids, in the order the rankers index them.
    part : str
        ``"train"``, ``"valid"`` or ``"test"``.
    batch_size : int
        Searches per call of a ranker.

    Returns
    -------
    pandas.DataFrame
        One row per ranker and search: ``ranker``, ``search_id``, ``query``, ``segment``,
        ``cold``, then :data:`SEARCH_METRICS` (accuracy NaN for searches without engagement).
    """
    if part not in PARTS:
        raise SearchEvaluationError(f"part must be one of {PARTS}, got {part!r}")
    if not rankers:
        raise SearchEvaluationError("no ranker given; pass {name: rank function}")
    searches = sessions.searches[sessions.searches[PART] == part]
    if searches.empty:
        raise SearchEvaluationError(f"the {part} part holds no search: change the split")
    search_ids = searches[SEARCH_ID].to_numpy()
    relevance = _relevance(sessions, search_ids, item_ids)
    engaged = relevant_counts(relevance) > 0
    queries = searches["query"].tolist()
    users = searches["user_id"].tolist()
    k = max(NDCG_K, MRR_K, RECALL_K)
    frames = []
    for name, rank in rankers.items():
        blocks = []
        for start in range(0, len(queries), batch_size):
            stop = min(start + batch_size, len(queries))
            lists = rank(queries[start:stop], users[start:stop], k)
            blocks.append(_check_lists(lists, stop - start, k, len(item_ids), name))
        lists = np.concatenate(blocks)
        hits = hit_matrix(lists, relevance)
        frame = searches[[SEARCH_ID, "query", SEGMENT, COLD]].reset_index(drop=True)
        frame.insert(0, RANKER, name)
        frame[NDCG] = graded_ndcg_at_k(
            gain_matrix(lists, relevance), ideal_gains(relevance, NDCG_K), NDCG_K
        )
        frame[MRR] = reciprocal_rank_at_k(hits, MRR_K)
        frame[RECALL] = recall_at_k(hits, relevant_counts(relevance), RECALL_K)
        frame.loc[~engaged, [NDCG, MRR, RECALL]] = np.nan
        frame[ZERO_RESULT] = (lists < 0).all(axis=1).astype(np.float64)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def segment_mask(per_search: pd.DataFrame, segment: str) -> pd.Series:
    """Rows of ``per_search`` in ``segment`` (one of :data:`SEGMENTS`)."""
    if segment == ALL:
        return pd.Series(True, index=per_search.index)
    if segment == COLD:
        return per_search[COLD].astype(bool)
    if segment in FREQUENCY_SEGMENTS:
        return per_search[SEGMENT] == segment
    raise SearchEvaluationError(f"segment must be one of {SEGMENTS}, got {segment!r}")


def summarise(per_search: pd.DataFrame) -> pd.DataFrame:
    """Mean of each metric per ranker and segment (tidy).

    Returns
    -------
    pandas.DataFrame
        ``ranker``, ``segment``, ``metric``, ``value`` (mean over the segment's searches that
        define the metric; NaN when none does) and ``n_searches`` (how many).
    """
    rows = []
    names = list(dict.fromkeys(per_search[RANKER]))
    for segment in SEGMENTS:
        chosen = per_search[segment_mask(per_search, segment)]
        for name in names:
            group = chosen[chosen[RANKER] == name]
            for metric in SEARCH_METRICS:
                values = group[metric].dropna()
                rows.append(
                    {
                        RANKER: name,
                        "segment": segment,
                        "metric": metric,
                        "value": float(values.mean()) if len(values) else np.nan,
                        "n_searches": len(values),
                    }
                )
    return pd.DataFrame(rows, columns=[RANKER, "segment", "metric", "value", "n_searches"])
