"""What the Search page and the search A/B need around :class:`~core.search.engine.SearchIndex`:
building an index step by step with progress, the rankers an index offers, a result explained
per signal, two rankings compared position by position, a user's recent queries, and any
ranker as the ``rank(queries, user_ids, k)`` function :mod:`core.search.evaluation` measures.

A ranker is a named setting of :meth:`SearchIndex.search` (:class:`Ranker`). The list is built
from what the index and the engine offer (:func:`available_rankers`): the semantic-only ranker
only with an encoder, the gate only when the engine lists a ``"gate"`` method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.workspace import Workspace
from core.errors import SearchError
from core.progress import ProgressCallback
from core.schema import CATALOG_TABLE, EVENTS_TABLE, ITEM_ID, SEARCH
from core.search import engine
from core.search.engine import PERSONAL_WEIGHT, SIGNALS, SearchFilters, SearchIndex, SearchResult
from core.search.lexical import LexicalIndex
from core.search.personal import PersonalScorer
from core.search.semantic import SemanticIndex
from core.text.cache import EmbeddingCache, TextEncoder
from core.text.product_text import product_texts

GATE = "gate"
# Columns a gate ranker adds to a result: the weight it gave each signal for that product.
GATE_WEIGHT_COLUMNS: tuple[str, ...] = tuple(f"weight_{signal}" for signal in SIGNALS)
MOVED = "moved"


@dataclass(frozen=True)
class Ranker:
    """One setting of :meth:`SearchIndex.search`: ``method``, ``alpha``, ``personal_weight``."""

    name: str
    method: str = "convex"
    alpha: float = 0.5
    personal_weight: float = PERSONAL_WEIGHT
    description: str = field(default="", compare=False)

    def search(
        self,
        index: SearchIndex,
        query: str,
        user_id: str | None = None,
        k: int = 20,
        filters: SearchFilters | None = None,
        drop_chips: Sequence[str] = (),
    ) -> SearchResult:
        """``index.search`` with this ranker's settings."""
        return index.search(
            query,
            user_id,
            k,
            filters,
            self.method,
            self.alpha,
            personal_weight=self.personal_weight,
            drop_chips=drop_chips,
        )


def available_rankers(index: SearchIndex) -> list[Ranker]:
    """The rankers ``index`` can run, best-informed first."""
    semantic = index.semantic is not None
    rankers = []
    if GATE in engine.METHODS and index.gate is not None and semantic:
        rankers.append(Ranker("gate", GATE, description="learned query-product gate"))
    if semantic:
        rankers.append(
            Ranker("hybrid", description="convex: 50% lexical, 50% semantic, 20% personal")
        )
    name = "hybrid rrf" if semantic else "rrf"
    rankers.append(Ranker(name, "rrf", description="reciprocal rank fusion, 20% personal"))
    rankers.append(Ranker("lexical + personal", alpha=0.0, description="BM25 with 20% personal"))
    rankers.append(Ranker("lexical", alpha=0.0, personal_weight=0.0, description="BM25 only"))
    if semantic:
        rankers.append(
            Ranker("semantic", alpha=1.0, personal_weight=0.0, description="encoder only")
        )
    return rankers


def build_index(
    workspace: Workspace,
    *,
    encoder: TextEncoder | None = None,
    personal_model: tuple[object, Sequence[str]] | None = None,
    expand: bool = False,
    callback: ProgressCallback | None = None,
) -> SearchIndex:
    """:meth:`SearchIndex.from_workspace` in steps, reporting each to ``callback``.

    Steps: the lexical index, the product vectors (through the workspace's embedding cache,
    one report per encoded batch), the personal scorer.
    """
    if not workspace.table_exists(CATALOG_TABLE):
        raise SearchError("this workspace has no catalogue: load one on the Data page first")

    def report(step: int, total: int, info: str) -> None:
        if callback is not None:
            callback(step, total, info)

    table = SearchIndex.prepare_catalog(workspace.read_table(CATALOG_TABLE))
    report(0, 3, f"indexing the words of {len(table):,} products")
    expansion = None
    if expand:
        from core.synth.store import accepted_query_pairs

        expansion = accepted_query_pairs(workspace).rename(columns={"query": "text"})
    lexical = LexicalIndex().fit(table, expansion)
    semantic = None
    if encoder is not None:
        texts = product_texts(table, table[ITEM_ID].to_numpy())

        def encoding(done: int, total: int, info: str) -> None:
            report(1 + (done / total if total else 1), 3, f"product vectors: {info}")

        cache = EmbeddingCache.for_workspace(workspace)
        semantic = SemanticIndex(encoder, cache.encode(encoder, texts, callback=encoding))
    report(2, 3, "personal scores")
    personal = None
    if personal_model is not None:
        model, user_ids = personal_model
        personal = PersonalScorer(model, user_ids, table)
    report(3, 3, "index ready")
    return SearchIndex(table, lexical, semantic, personal)


def explain(result: SearchResult) -> pd.DataFrame:
    """The results of ``result`` with their rank, one row each, best first.

    Columns: ``rank`` (1 = best), the result's columns; ``lexical``, ``semantic`` and
    ``personal`` are each signal's part of the score before the chip boost, so
    ``(lexical + semantic + personal) * boost == score``. A gate ranker's per-product weights
    (:data:`GATE_WEIGHT_COLUMNS`) are kept when the gate ranked the results.
    """
    frame = result.items.reset_index(drop=True).copy()
    if result.method != GATE:  # fixed weights, the same for every product: nothing to explain
        frame = frame.drop(columns=[c for c in GATE_WEIGHT_COLUMNS if c in frame.columns])
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    frame["chips"] = [", ".join(chips) for chips in frame["chips"]]
    return frame


def gate_weights(result: SearchResult) -> pd.DataFrame | None:
    """The gate's weight of each signal for each result, or None for a ranker without one."""
    present = [column for column in GATE_WEIGHT_COLUMNS if column in result.items.columns]
    if result.method != GATE or not present:
        return None
    return result.items[[ITEM_ID, *present]].reset_index(drop=True)


def compare_positions(left: Sequence[str], right: Sequence[str]) -> pd.DataFrame:
    """Where each item of the ``right`` ranking was in the ``left`` one.

    Returns
    -------
    pandas.DataFrame
        One row per item of ``right``, in its order: ``item_id``, ``rank`` (1-based),
        ``left_rank`` (NaN when absent from ``left``), ``change`` (``left_rank - rank``:
        positive when the item moved up) and ``moved``: ``"="``, ``"up n"``, ``"down n"`` or
        ``"new"``.
    """
    where = {str(item): position + 1 for position, item in enumerate(left)}
    rows = []
    for position, item in enumerate(right, start=1):
        before = where.get(str(item))
        if before is None:
            change, moved = np.nan, "new"
        else:
            change = before - position
            moved = "=" if change == 0 else (f"up {change}" if change > 0 else f"down {-change}")
        rows.append({ITEM_ID: str(item), "rank": position, "left_rank": before,
                     "change": change, MOVED: moved})  # fmt: skip
    columns = [ITEM_ID, "rank", "left_rank", "change", MOVED]
    frame = pd.DataFrame(rows, columns=columns)
    frame["left_rank"] = frame["left_rank"].astype(float)
    frame["change"] = frame["change"].astype(float)
    return frame


def recent_queries(workspace: Workspace, user_id: str, n: int = 10) -> pd.DataFrame:
    """The ``n`` latest searches of ``user_id`` in the cleaned log, newest first.

    Returns ``ts``, ``query``; empty when the user searched nothing (or the log has no events).
    """
    if n < 1:
        raise SearchError(f"n must be at least 1, got {n!r}")
    if not workspace.table_exists(EVENTS_TABLE):
        return pd.DataFrame({"ts": pd.Series(dtype="datetime64[ns]"), "query": []})
    sql = f"""
        SELECT ts, query FROM {EVENTS_TABLE}
        WHERE event = ? AND CAST(user_id AS VARCHAR) = ? AND query IS NOT NULL
          AND trim(query) <> ''
        ORDER BY ts DESC NULLS LAST LIMIT ?
    """
    with workspace.connect() as con:
        return con.execute(sql, [SEARCH, str(user_id), int(n)]).df()


def rank_function(
    index: SearchIndex, ranker: Ranker
) -> Callable[[list[str], list[str | None], int], np.ndarray]:
    """``ranker`` as ``rank(queries, user_ids, k) -> (n, k)`` catalogue rows (-1 padded).

    A ranker without a personal part ranks a query the same for every user, so each distinct
    query is searched once.
    """
    row_of = {item: row for row, item in enumerate(index.item_ids)}
    personal = ranker.personal_weight > 0 and index.personal is not None

    def rank(queries: list[str], user_ids: list[str | None], k: int) -> np.ndarray:
        lists = np.full((len(queries), k), -1, dtype=np.int64)
        done: dict[tuple[str, str | None], np.ndarray] = {}
        for position, (query, user) in enumerate(zip(queries, user_ids, strict=True)):
            key = (query, user if personal else None)
            if key not in done:
                items = ranker.search(index, query, key[1], k).items[ITEM_ID]
                done[key] = np.array([row_of[item] for item in items], dtype=np.int64)
            found = done[key]
            lists[position, : len(found)] = found
        return lists

    return rank


def encoder_label(spec: str | Path) -> str:
    """A short name for an encoder spec: the folder name of a fine-tuned encoder."""
    return Path(spec).name if isinstance(spec, Path) or "/" in str(spec) else str(spec)
