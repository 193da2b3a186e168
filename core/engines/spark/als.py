"""Alternating Least Squares for implicit feedback on Spark MLlib, as plain factor arrays.

MLlib's ``ALS(implicitPrefs=True)`` is Hu, Koren and Volinsky (2008) with confidence
``c = 1 + alpha * r`` and an L2 penalty scaled by each user's (item's) number of ratings
(``regParam * n``, "ALS-WR"). The factors come back to the driver as ``(n, d)`` float32 arrays
indexed like the training matrix, so the model saves them in its ``.npz`` like every other
factor model (no Spark model folders, no pickles).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from core.engines.spark.session import run_tracked, spark_errors
from core.progress import ProgressCallback


def matrix_frame(spark: Any, matrix: sp.csr_matrix, partitions: int) -> Any:
    """The stored entries of ``matrix`` as a DataFrame ``(user, item, rating)``."""
    import pandas as pd

    coo = sp.coo_matrix(matrix)
    frame = pd.DataFrame(
        {
            "user": coo.row.astype(np.int32),
            "item": coo.col.astype(np.int32),
            "rating": coo.data.astype(np.float32),
        }
    )
    return spark.createDataFrame(frame).repartition(partitions)


def factors_array(frame: Any, n: int, rank: int) -> np.ndarray:
    """MLlib's ``(id, features)`` factors as an ``(n, rank)`` array; missing ids stay 0."""
    out = np.zeros((n, rank), dtype=np.float32)
    rows = frame.toPandas()
    if len(rows):
        out[rows["id"].to_numpy()] = np.stack(rows["features"].to_numpy()).astype(np.float32)
    return out


def fit_als(
    spark: Any,
    matrix: sp.csr_matrix,
    *,
    factors: int,
    regularization: float,
    alpha: float,
    iterations: int,
    random_state: int | None,
    blocks: int,
    callback: ProgressCallback | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit MLlib ALS on ``matrix`` (users x items weights); return user and item factors.

    ``blocks`` user and item blocks (and as many partitions of the ratings) fix how the work is
    split, so a fixed ``random_state`` gives the same factors on the same master.
    """
    from pyspark.ml.recommendation import ALS

    n_users, n_items = matrix.shape
    with spark_errors("fitting ALS"):
        ratings = matrix_frame(spark, matrix, blocks).cache()
        estimator = ALS(
            rank=factors,
            maxIter=iterations,
            regParam=float(regularization),
            alpha=float(alpha),
            implicitPrefs=True,
            userCol="user",
            itemCol="item",
            ratingCol="rating",
            numUserBlocks=blocks,
            numItemBlocks=blocks,
            seed=0 if random_state is None else int(random_state),
            nonnegative=False,
            checkpointInterval=-1,
            coldStartStrategy="nan",
        )
        model = run_tracked(spark, lambda: estimator.fit(ratings), callback, 0, 1)
        users = factors_array(model.userFactors, n_users, factors)
        items = factors_array(model.itemFactors, n_items, factors)
        ratings.unpersist()
    return users, items


def fold_in(
    history: sp.csr_matrix, item_factors: np.ndarray, regularization: float, alpha: float
) -> np.ndarray:
    """User factors of ``history`` rows given fixed item factors: MLlib's user step, exactly.

    For a user with ratings ``r`` on items ``Y_u``: ``x = (YᵀY + Y_uᵀ (C_u - I) Y_u +
    lambda n_u I)⁻¹ Y_uᵀ C_u p_u`` with ``C_u = 1 + alpha |r|``, ``p = 1`` where ``r > 0`` and
    ``n_u`` the user's number of ratings; a user without ratings gets zeros.
    """
    rows = sp.csr_matrix(history, dtype=np.float64)
    item_factors = item_factors.astype(np.float64)
    rank = item_factors.shape[1]
    gram = item_factors.T @ item_factors
    out = np.zeros((rows.shape[0], rank), dtype=np.float32)
    for row in range(rows.shape[0]):
        start, stop = rows.indptr[row], rows.indptr[row + 1]
        if start == stop:
            continue
        items = rows.indices[start:stop]
        ratings = rows.data[start:stop]
        confidence = 1.0 + alpha * np.abs(ratings)
        y = item_factors[items]
        a = gram + (y.T * (confidence - 1.0)) @ y + regularization * len(items) * np.eye(rank)
        b = y.T @ (confidence * (ratings > 0))
        out[row] = np.linalg.solve(a, b)
    return out
