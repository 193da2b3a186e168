"""Matrix factorisation through implicit: the shared factor-model wrapper and implicit ALS.

:class:`MatrixFactorization` wraps an implicit factor model (ALS here, BPR in
:mod:`core.models.bpr`): it fits with BLAS limited to one thread (implicit parallelises over
users itself, and a threaded BLAS inside that slows fitting down), on the GPU only when asked
and implicit was built with CUDA, reports each iteration through the progress callback (with
the iteration's training measure as a curve point, and the factors so far in place so that the
caller may score the model between iterations), keeps the learned factors as plain arrays
(saved in the model's ``.npz``) and ranks the training users through implicit's own
multi-threaded top-k.

:class:`ALS` is implicit's conjugate-gradient Alternating Least Squares for implicit feedback
(Hu, Koren and Volinsky 2008): each stored weight ``r`` becomes a confidence ``c = alpha * r``
and the preference ``p = 1``; missing entries have ``c = 1`` and ``p = 0``.
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from typing import Any, ClassVar

import implicit.cpu.als
import implicit.gpu
import implicit.gpu.als
import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from core.checks import Constraint, Positive, Satisfies, Whole
from core.data.interactions import Interactions
from core.models.base import Catalog, ProgressCallback, Recommender, empty_lists
from core.progress import EPOCH, TRAIN_LOSS, ProgressInfo

# implicit's top-k gives items it filtered out (already seen) this score.
_FILTERED_SCORE = np.finfo(np.float32).min


class MatrixFactorization(Recommender):
    """A recommender whose scores are dot products of user and item factors learned by implicit.

    Subclasses set the hyperparameters ``factors``, ``regularization``, ``iterations``,
    ``random_state``, ``num_threads`` and ``use_gpu`` in ``__init__`` and implement
    :meth:`_new_model` (an unfitted implicit model), :meth:`_iteration_report` and
    :meth:`score_history` (scores of users unseen in training); :meth:`_training_matrix` may
    append rows to what implicit fits (their factors are dropped after fitting).

    With a callback, each iteration is reported as a :class:`core.progress.ProgressInfo`
    whose point holds the epoch (iterations done) and the training measure, and
    ``user_factors_`` / ``item_factors_`` hold the factors after that iteration while the
    callback runs (:attr:`scores_during_fit`).

    Attributes
    ----------
    user_factors_ : numpy.ndarray
        ``(n_users, d)`` float32 learned user factors.
    item_factors_ : numpy.ndarray
        ``(n_items, d)`` float32 learned item factors.
    device_ : str
        ``"cuda"`` when the model was fitted on the GPU, else ``"cpu"``.
    """

    factors: int
    regularization: float
    iterations: int
    random_state: int | None
    num_threads: int
    use_gpu: bool
    scores_during_fit = True
    scores_cold_items = False
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "factors": Whole(1),
        "regularization": Positive(allow_zero=True),
        "iterations": Whole(1),
        "num_threads": Whole(0),
        "random_state": Whole(0, optional=True),
        "use_gpu": Satisfies(lambda value: isinstance(value, bool), "True or False"),
    }

    @abstractmethod
    def _new_model(self, gpu: bool, training_loss: bool = False) -> Any:
        """An unfitted implicit model with this object's hyperparameters; ``training_loss``
        asks it to compute its training loss each iteration, where it can."""

    def _implicit_params(self, gpu: bool) -> dict[str, Any]:
        """The keyword arguments every implicit factor model takes, from the hyperparameters."""
        params = {
            "factors": self.factors,
            "regularization": float(self.regularization),
            "iterations": self.iterations,
            "random_state": self.random_state,
        }
        # implicit's GPU models have no thread setting.
        return params if gpu else {**params, "num_threads": self.num_threads}

    @abstractmethod
    def _iteration_report(self, iteration: int, elapsed: float, *extra: Any) -> ProgressInfo:
        """Progress text and curve point (``epoch`` = ``iteration + 1`` and a training
        measure) for one iteration, from the arguments implicit's callback receives."""

    def _fit(
        self, train: Interactions, catalog: Catalog, callback: ProgressCallback | None
    ) -> None:
        gpu = self.use_gpu and implicit.gpu.HAS_CUDA
        if self.use_gpu and not gpu:
            warnings.warn(
                f"{type(self).__name__}: use_gpu=True but implicit has no CUDA support here; "
                "fitting on the CPU",
                RuntimeWarning,
                stacklevel=3,
            )
        total = self.iterations
        device = "cuda" if gpu else "cpu"
        self.device_ = device

        def on_iteration(iteration: int, elapsed: float, *extra: Any) -> None:
            if callback is not None:
                self._take_factors(model.to_cpu() if gpu else model)
                callback(iteration + 1, total, self._iteration_report(iteration, elapsed, *extra))

        if callback is not None:
            callback(0, total, f"fitting {type(self).__name__} on the {device.upper()}")
        with threadpool_limits(1, "blas"):
            model = self._new_model(gpu, training_loss=callback is not None)
            model.fit(self._training_matrix(), show_progress=False, callback=on_iteration)
        if gpu:
            model = model.to_cpu()
            model.num_threads = self.num_threads
        self._take_factors(model)
        model.user_factors = self.user_factors_
        model.item_factors = self.item_factors_
        self._model = model

    def _take_factors(self, model: Any) -> None:
        """Set the fitted factors from implicit CPU ``model``, which is left unchanged.

        Rows past the training users (see :meth:`_training_matrix`) are dropped; the arrays
        are views of implicit's where their type allows, not copies.
        """
        self.user_factors_ = np.ascontiguousarray(
            model.user_factors[: self.n_users], dtype=np.float32
        )
        self.item_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        self._model = None

    def _training_matrix(self) -> sp.csr_matrix:
        """The matrix implicit fits: the training rows, then any rows a subclass appends."""
        return self.train_

    def _implicit_model(self) -> Any:
        """The fitted implicit CPU model (rebuilt from the factors after a load)."""
        model = getattr(self, "_model", None)
        if model is None:
            with threadpool_limits(1, "blas"):
                model = self._new_model(gpu=False)
            model.user_factors = self.user_factors_
            model.item_factors = self.item_factors_
            self._model = model
        return model

    # Scoring -------------------------------------------------------------------------------

    def _dot(self, user_factors: np.ndarray, item_idx: np.ndarray | None) -> np.ndarray:
        items = self.item_factors_ if item_idx is None else self.item_factors_[item_idx]
        return np.asarray(user_factors @ items.T, dtype=np.float32)

    def score(self, user_idx: np.ndarray | int, item_idx: np.ndarray | None = None) -> np.ndarray:
        """Dot products of the learned factors of training users with the item factors.

        A user without training interactions has zero factors in ALS (scores all 0) and
        a zero vector plus the bias column in BPR (scores = item biases).
        """
        self._check_fitted()
        users = self._user_array(user_idx)
        return self._dot(self.user_factors_[users], item_idx)

    # Ranking -------------------------------------------------------------------------------

    def _rank_training_users(
        self, users: np.ndarray, k: int, exclude_seen: bool, batch_size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Training users are ranked by implicit's multi-threaded top-k over the factors.

        It never builds the dense users x items score matrix. Its ``k + 1`` best items per
        user show whether a tie straddles the cut-off; such users are ranked again by the dense
        path, so the result is the one :meth:`Recommender.recommend` defines (ties to the lower
        item index, padding with ``-1`` / ``-inf``). ``batch_size`` is not used: implicit
        ranks all the users at once.
        """
        out_idx, out_scores = empty_lists(len(users), k)
        if len(users) == 0 or self.n_items == 0:
            return out_idx, out_scores
        take = min(k + 1, self.n_items)
        everyone = len(users) == self.n_users and np.array_equal(users, np.arange(self.n_users))
        rows = self.train_ if everyone else self.train_[users]
        # Users with an empty history keep their empty lists (see Recommender.recommend).
        ranked = np.flatnonzero(np.diff(rows.indptr) > 0)
        if ranked.size < len(users):
            if ranked.size:
                out_idx[ranked], out_scores[ranked] = self._rank_training_users(
                    users[ranked], k, exclude_seen, batch_size
                )
            return out_idx, out_scores
        ids, scores = self._implicit_model().recommend(
            users, rows, N=take, filter_already_liked_items=exclude_seen
        )
        ids = ids.astype(np.int64, copy=False)
        scores = scores.astype(np.float32, copy=False)
        valid = scores > _FILTERED_SCORE
        ids = np.where(valid, ids, -1)
        scores = np.where(valid, scores, -np.inf).astype(np.float32)
        # Best first, ties to the lower item index; invalid entries (-inf, -1) sort last.
        order = np.lexsort((np.where(valid, ids, np.iinfo(np.int64).max), -scores), axis=1)
        ids = np.take_along_axis(ids, order, axis=1)
        scores = np.take_along_axis(scores, order, axis=1)
        keep = min(k, take)
        out_idx[:, :keep] = ids[:, :keep]
        out_scores[:, :keep] = scores[:, :keep]
        if take > k:
            straddling = np.flatnonzero(
                (scores[:, k] > -np.inf) & (scores[:, k] == scores[:, k - 1])
            )
            if straddling.size:
                straddlers = users[straddling]
                dense_idx, dense_scores = self.rank_scores(
                    self.score(straddlers), self.train_[straddlers], k, exclude_seen
                )
                out_idx[straddling] = dense_idx
                out_scores[straddling] = dense_scores
        return out_idx, out_scores

    # Persistence ---------------------------------------------------------------------------

    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {"user_factors": self.user_factors_, "item_factors": self.item_factors_}
        return arrays, {"device": self.device_}

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.user_factors_ = np.ascontiguousarray(arrays["user_factors"], dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(arrays["item_factors"], dtype=np.float32)
        self.device_ = str(meta.get("device", "cpu"))
        self._model = None


class ALS(MatrixFactorization):
    """Alternating Least Squares for implicit feedback (implicit's conjugate-gradient solver).

    Parameters
    ----------
    factors : int
        Latent dimensions.
    regularization : float
        L2 penalty ``lambda`` on user and item factors.
    alpha : float
        Confidence scale: a stored weight ``r`` counts with confidence ``alpha * r``.
    iterations : int
        Alternating sweeps (users then items).
    random_state : int, optional
        Seed of the initial factors; the same seed gives the same factors (the solver is
        deterministic for any ``num_threads``).
    num_threads : int
        Threads for fitting and ranking; 0 uses every core.
    use_gpu : bool
        Fit on the GPU when implicit was built with CUDA; otherwise a warning is given and the
        CPU is used. Scoring always runs on the CPU.

    Notes
    -----
    A user unseen in training is folded in by :meth:`score_history`: their factors are the
    exact least-squares solution given the item factors,
    ``x = (YᵀY + Yᵀ(C - I)Y + lambda I)⁻¹ Yᵀ C p`` (implicit's ``recalculate_user``).

    When :meth:`fit` is given a callback, each iteration also computes implicit's training
    loss (the confidence-weighted squared error over all user x item cells plus the L2
    penalty, normalised by the total confidence) and reports it as ``train_loss``: about 15%
    more time per iteration.
    """

    name = "als"
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        **MatrixFactorization._parameter_constraints,
        "alpha": Positive(),
    }

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 1.0,
        alpha: float = 10.0,
        iterations: int = 15,
        random_state: int | None = 0,
        num_threads: int = 0,
        use_gpu: bool = False,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads
        self.use_gpu = use_gpu

    def _new_model(self, gpu: bool, training_loss: bool = False) -> Any:
        module = implicit.gpu.als if gpu else implicit.cpu.als
        return module.AlternatingLeastSquares(
            alpha=float(self.alpha),
            calculate_training_loss=training_loss,
            **self._implicit_params(gpu),
        )

    def _iteration_report(self, iteration: int, elapsed: float, *extra: Any) -> ProgressInfo:
        text = f"ALS iteration {iteration + 1}/{self.iterations} ({elapsed:.2f} s)"
        point: dict[str, float] = {EPOCH: iteration + 1}
        loss = extra[0] if extra else None
        if loss is not None:
            text += f", training loss {loss:.5f}"
            point[TRAIN_LOSS] = float(loss)
        return ProgressInfo(text, point)

    def score_history(
        self, history: sp.csr_matrix, item_idx: np.ndarray | None = None
    ) -> np.ndarray:
        self._check_fitted()
        rows = sp.csr_matrix(history, dtype=np.float32)
        if rows.shape[0] == 0:
            width = self.n_items if item_idx is None else len(item_idx)
            return np.zeros((0, width), dtype=np.float32)
        user_factors = self._implicit_model().recalculate_user(np.arange(rows.shape[0]), rows)
        return self._dot(user_factors, item_idx)
