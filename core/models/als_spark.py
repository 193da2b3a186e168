"""ALS on Apache Spark MLlib (implicit preferences) behind the Recommender contract.

The model fits on the process's Spark session (:func:`core.engines.spark.session.spark_session`:
the one a caller started, else ``local[*]``), brings the factors back as arrays and from then on
scores, ranks, saves and loads like :class:`core.models.als.ALS`: dot products of the factors,
``state.npz`` without pickles, no Spark needed after fitting. pyspark is imported only when
:meth:`fit` runs, so the registry lists the model without it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from core.checks import Constraint, Positive, Whole
from core.data.interactions import Interactions
from core.engines.spark.als import fit_als, fold_in
from core.engines.spark.session import spark_session
from core.models.base import Catalog, ProgressCallback, Recommender


class SparkALS(Recommender):
    """Alternating Least Squares for implicit feedback on Spark MLlib.

    Parameters
    ----------
    factors : int
        Latent dimensions (MLlib ``rank``).
    regularization : float
        MLlib ``regParam``: the L2 penalty per rating (a user with ``n`` ratings is penalised
        ``regularization * n``, unlike implicit's fixed ``lambda``).
    alpha : float
        Confidence scale: a stored weight ``r`` counts with confidence ``1 + alpha * r``.
    iterations : int
        Alternating sweeps (MLlib ``maxIter``).
    random_state : int, optional
        Seed of the initial factors (0 when None); with the same ``blocks`` on the same master
        the factors are the same.
    blocks : int
        User and item blocks of MLlib's solver, and partitions of the ratings.

    Attributes
    ----------
    user_factors_, item_factors_ : numpy.ndarray
        ``(n_users, d)`` and ``(n_items, d)`` float32 factors.
    spark_master_ : str
        The master the model was fitted on.
    """

    name = "als_spark"
    scores_cold_items = False
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "factors": Whole(1),
        "regularization": Positive(allow_zero=True),
        "alpha": Positive(),
        "iterations": Whole(1),
        "random_state": Whole(0, optional=True),
        "blocks": Whole(1),
    }

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 10.0,
        iterations: int = 15,
        random_state: int | None = 0,
        blocks: int = 2,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.blocks = blocks

    def _fit(
        self, train: Interactions, catalog: Catalog, callback: ProgressCallback | None
    ) -> None:
        spark = spark_session()
        self.spark_master_ = spark.sparkContext.master
        if callback is not None:
            callback(0, 1, f"fitting ALS on Spark ({self.spark_master_})")
        self.user_factors_, self.item_factors_ = fit_als(
            spark,
            self.train_,
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            random_state=self.random_state,
            blocks=self.blocks,
            callback=callback,
        )
        if callback is not None:
            callback(1, 1, f"ALS on Spark: {self.iterations} iterations done")

    def _dot(self, user_factors: np.ndarray, item_idx: np.ndarray | None) -> np.ndarray:
        items = self.item_factors_ if item_idx is None else self.item_factors_[item_idx]
        return np.asarray(user_factors @ items.T, dtype=np.float32)

    def score(self, user_idx: np.ndarray | int, item_idx: np.ndarray | None = None) -> np.ndarray:
        """Dot products of training users' factors with the item factors."""
        self._check_fitted()
        return self._dot(self.user_factors_[self._user_array(user_idx)], item_idx)

    def score_history(
        self, history: sp.csr_matrix, item_idx: np.ndarray | None = None
    ) -> np.ndarray:
        """Scores of users folded in from ``history`` by MLlib's own user step
        (:func:`core.engines.spark.als.fold_in`)."""
        self._check_fitted()
        users = fold_in(history, self.item_factors_, float(self.regularization), float(self.alpha))
        return self._dot(users, item_idx)

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {"user_factors": self.user_factors_, "item_factors": self.item_factors_}
        return arrays, {"spark_master": self.spark_master_}

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.user_factors_ = np.ascontiguousarray(arrays["user_factors"], dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(arrays["item_factors"], dtype=np.float32)
        self.spark_master_ = str(meta.get("spark_master", ""))
