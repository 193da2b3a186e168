"""Top-k lists and ranking metrics computed per partition, for more users than one machine holds.

Users travel as rows (``user_idx``, their factors, the items they have seen); the item factors
are broadcast. Each partition scores its users in batches and ranks them with
:func:`core.metrics.ranking.top_k`, and each partition measures its lists with
:func:`core.metrics.registry.evaluate_lists`, so the lists and the per-user values are the ones
``core`` computes on the same inputs; only the means are reduced across partitions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.engines.spark.session import spark_errors
from core.metrics.ranking import top_k
from core.metrics.registry import evaluate_lists, parse_metric

USER_IDX = "user_idx"
FACTORS = "factors"
SEEN = "seen"
ITEMS = "items"
SCORES = "scores"
RELEVANT = "relevant"


def _rows_of(matrix: sp.csr_matrix, users: np.ndarray) -> list[list[int]]:
    return [
        matrix.indices[matrix.indptr[u] : matrix.indptr[u + 1]].astype(np.int64).tolist()
        for u in users
    ]


def users_frame(
    spark: Any, user_factors: np.ndarray, history: sp.csr_matrix, partitions: int = 2
) -> Any:
    """A DataFrame of ``user_idx``, ``factors`` and ``seen`` (the history's items) per user."""
    users = np.arange(user_factors.shape[0])
    frame = pd.DataFrame(
        {
            USER_IDX: users.astype(np.int64),
            FACTORS: list(user_factors.astype(np.float32)),
            SEEN: _rows_of(sp.csr_matrix(history), users),
        }
    )
    with spark_errors("distributing the users"):
        return spark.createDataFrame(frame).repartition(partitions)


def relevant_frame(spark: Any, relevant: sp.csr_matrix, partitions: int = 2) -> Any:
    """A DataFrame of ``user_idx`` and ``relevant`` items, for users with at least one."""
    matrix = sp.csr_matrix(relevant)
    users = np.flatnonzero(np.diff(matrix.indptr) > 0)
    frame = pd.DataFrame({USER_IDX: users.astype(np.int64), RELEVANT: _rows_of(matrix, users)})
    with spark_errors("distributing the relevant items"):
        return spark.createDataFrame(frame).repartition(partitions)


def recommend_frame(
    spark: Any,
    users: Any,
    item_factors: np.ndarray,
    k: int,
    exclude_seen: bool = True,
    batch_size: int = 2048,
) -> Any:
    """Top-``k`` lists per partition: ``user_idx``, ``items`` (``-1`` padded) and ``scores``.

    As :meth:`core.models.base.Recommender.recommend` ranks a factor model: dot products, seen
    items dropped, a user without history gets an empty list, ties to the lower item index.
    """
    items = spark.sparkContext.broadcast(np.ascontiguousarray(item_factors, dtype=np.float32))

    def rank(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        item_matrix = items.value
        for batch in batches:
            for start in range(0, len(batch), batch_size):
                part = batch.iloc[start : start + batch_size]
                factors = np.stack(part[FACTORS].to_numpy()).astype(np.float32)
                scores = factors @ item_matrix.T
                seen = part[SEEN].to_list()
                lengths = np.array([len(s) for s in seen])
                scores[lengths == 0] = -np.inf
                if exclude_seen and lengths.sum():
                    rows = np.repeat(np.arange(len(part)), lengths)
                    scores[rows, np.concatenate([np.asarray(s) for s in seen])] = -np.inf
                idx, values = top_k(scores, k)
                yield pd.DataFrame(
                    {USER_IDX: part[USER_IDX].to_numpy(), ITEMS: list(idx), SCORES: list(values)}
                )

    schema = f"{USER_IDX} long, {ITEMS} array<long>, {SCORES} array<float>"
    return users.select(USER_IDX, FACTORS, SEEN).mapInPandas(rank, schema)


def _metric_column(name: str) -> str:
    return name.replace("@", "_at_")


def ranking_metrics(
    lists: Any, relevant: Any, metrics: Sequence[str], n_items: int
) -> tuple[dict[str, float], Any]:
    """Per-user accuracy metrics per partition and their means over the users with relevance.

    ``lists`` holds ``user_idx`` and ``items`` (from :func:`recommend_frame`), ``relevant``
    holds ``user_idx`` and ``relevant`` (from :func:`relevant_frame`). A user with relevant
    items and no list counts with an empty list (zero), as in ``core``. Returns the means by
    metric name and the per-user DataFrame (``user_idx`` and one column per metric, ``@``
    written ``_at_``).
    """
    from pyspark.sql import functions as sf

    names = list(metrics)
    for name in names:
        parse_metric(name)
    width = max(parse_metric(name)[1] for name in names)
    columns = [_metric_column(name) for name in names]

    def measure(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            n = len(batch)
            recommended = np.full((n, width), -1, dtype=np.int64)
            for row, found in enumerate(batch[ITEMS].to_list()):
                if found is not None and len(found):
                    cut = np.asarray(found, dtype=np.int64)[:width]
                    recommended[row, : len(cut)] = cut
            wanted = batch[RELEVANT].to_list()
            lengths = np.array([len(w) for w in wanted])
            matrix = sp.csr_matrix(
                (
                    np.ones(int(lengths.sum()), dtype=np.float32),
                    np.concatenate([np.asarray(w, dtype=np.int64) for w in wanted])
                    if n
                    else np.zeros(0, dtype=np.int64),
                    np.concatenate([[0], np.cumsum(lengths)]),
                ),
                shape=(n, n_items),
            )
            values = evaluate_lists(recommended, matrix, names) if n else {}
            out = {USER_IDX: batch[USER_IDX].to_numpy()}
            for name, column in zip(names, columns, strict=True):
                out[column] = np.asarray(values.get(name, np.zeros(n)), dtype=np.float64)
            yield pd.DataFrame(out)

    schema = ", ".join([f"{USER_IDX} long"] + [f"{c} double" for c in columns])
    with spark_errors("measuring the lists"):
        joined = relevant.join(lists.select(USER_IDX, ITEMS), USER_IDX, "left")
        per_user = joined.mapInPandas(measure, schema)
        means = per_user.agg(*(sf.avg(c).alias(c) for c in columns)).collect()[0]
    return {name: float(means[c]) for name, c in zip(names, columns, strict=True)}, per_user
