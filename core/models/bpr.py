"""Bayesian Personalised Ranking through implicit (Rendle et al. 2009).

BPR learns factors by stochastic gradient ascent on ``ln σ(x_ui - x_uj)`` over sampled
(user, seen item i, unseen item j) triples. Weights are read as binary: any stored entry is a
positive. implicit keeps an item bias in the last factor column (users have a constant 1
there), so a score is ``u · v_i + b_i``.

Negative items. implicit draws the positive pair and the negative item each as a uniformly
random stored entry of the matrix, so a negative is drawn in proportion to the item's
popularity (not uniformly over items as in the BPR paper), and it skips a triple whose
negative the user has interacted with. Popularity-weighted negatives push popular items down;
on data where popularity predicts well (MovieLens) that costs accuracy. ``uniform_negatives``
mixes in uniform negatives without changing implicit: the matrix handed to implicit gets
``R = ceil(s / (1 - s) * nnz / n_items)`` extra rows that each hold every item once. Every item
then has the same extra chance ``R / (nnz + R * n_items)`` of being drawn as the negative, a
share ``s`` of all draws; a triple whose positive falls in an extra row is always skipped
(that "user" has every item), so the extra rows never update a factor, and an epoch still
makes about ``nnz`` updates. The price is the sampling time and memory of ``R * n_items``
extra entries (``s / (1 - s)`` times the training entries).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import implicit.cpu.bpr
import implicit.gpu.bpr
import numpy as np
import scipy.sparse as sp

from core.checks import Constraint, Fraction, Positive
from core.models.als import MatrixFactorization
from core.progress import EPOCH, TRAIN_PREFIX, ProgressInfo

# Curve value of an epoch: the share of its sampled (user, positive, negative) triples in which
# the positive item scored above the negative one (implicit has no BPR loss to report).
RANKED_RIGHT = f"{TRAIN_PREFIX}ranked_right"


class BPR(MatrixFactorization):
    """Bayesian Personalised Ranking matrix factorisation.

    Parameters
    ----------
    factors : int
        Latent dimensions (implicit adds one column for the item bias).
    learning_rate : float
        SGD step size.
    regularization : float
        L2 penalty on the factors touched by each update.
    iterations : int
        Epochs; each makes about as many updates as there are stored entries.
    uniform_negatives : float
        Share ``s`` in ``[0, 1)`` of negative items drawn uniformly over items; the rest are
        drawn in proportion to popularity (implicit's sampling, ``s = 0``). See the module
        notes for how and at what cost.
    random_state : int, optional
        Seed of the initial factors and of the sampling.
    num_threads : int
        Threads for fitting and ranking; 0 uses every core. Fitting is bit-for-bit
        reproducible under ``random_state`` with 1 thread only: with more, the threads update
        shared factors without locks (Hogwild) and the result depends on their timing.
    use_gpu : bool
        Fit on the GPU when implicit was built with CUDA; otherwise a warning is given and the
        CPU is used. Scoring always runs on the CPU.

    Notes
    -----
    A user unseen in training is folded in by :meth:`score_history` as the unweighted mean
    of the factors of the items in their history, with the constant 1 in the bias column:
    ``u = (mean_{i ∈ H} v_i, 1)``. This is a heuristic (BPR has no closed-form fold-in): it
    places the user where the items they chose lie, and an empty history falls back to the
    item biases, a learned popularity.
    """

    name = "bpr"
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        **MatrixFactorization._parameter_constraints,
        "learning_rate": Positive(),
        "uniform_negatives": Fraction(allow_zero=True),
    }

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.05,
        regularization: float = 0.01,
        iterations: int = 100,
        uniform_negatives: float = 0.0,
        random_state: int | None = 0,
        num_threads: int = 1,
        use_gpu: bool = False,
    ) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.uniform_negatives = uniform_negatives
        self.random_state = random_state
        self.num_threads = num_threads
        self.use_gpu = use_gpu

    def _training_matrix(self) -> sp.csr_matrix:
        share = float(self.uniform_negatives)
        n_items = self.n_items
        if share == 0 or n_items == 0:
            self._n_sampled_entries = self.train_.nnz
            return self.train_
        n_rows = math.ceil(share / (1 - share) * self.train_.nnz / n_items)
        every_item = sp.csr_matrix(
            (
                np.ones(n_rows * n_items, dtype=np.float32),
                np.tile(np.arange(n_items, dtype=self.train_.indices.dtype), n_rows),
                np.arange(n_rows + 1, dtype=np.int64) * n_items,
            ),
            shape=(n_rows, n_items),
        )
        matrix = sp.vstack([self.train_, every_item], format="csr", dtype=np.float32)
        self._n_sampled_entries = matrix.nnz
        return matrix

    def _new_model(self, gpu: bool, training_loss: bool = False) -> Any:
        # implicit's BPR computes no training loss; the epoch report carries its own measure.
        module = implicit.gpu.bpr if gpu else implicit.cpu.bpr
        return module.BayesianPersonalizedRanking(
            learning_rate=float(self.learning_rate), **self._implicit_params(gpu)
        )

    def _iteration_report(self, iteration: int, elapsed: float, *extra: Any) -> ProgressInfo:
        text = f"BPR epoch {iteration + 1}/{self.iterations} ({elapsed:.2f} s)"
        point: dict[str, float] = {EPOCH: iteration + 1}
        if len(extra) == 2:
            correct, skipped = extra
            sampled = self._n_sampled_entries - skipped
            if sampled > 0:
                text += f", training pairs ranked right {correct / sampled:.1%}"
                point[RANKED_RIGHT] = correct / sampled
        return ProgressInfo(text, point)

    def score_history(
        self, history: sp.csr_matrix, item_idx: np.ndarray | None = None
    ) -> np.ndarray:
        self._check_fitted()
        rows = sp.csr_matrix(history, dtype=np.float32)
        rows.eliminate_zeros()
        rows.data = np.ones_like(rows.data)
        counts = np.diff(rows.indptr)
        mean = sp.diags(1.0 / np.maximum(counts, 1)) @ rows
        user_factors = np.asarray(mean @ self.item_factors_[:, :-1], dtype=np.float32)
        user_factors = np.hstack([user_factors, np.ones((rows.shape[0], 1), dtype=np.float32)])
        return self._dot(user_factors, item_idx)
