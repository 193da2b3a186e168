r"""The learned softmax gate: signal weights that depend on the user and the candidate.

For user :math:`u` with features :math:`z_u` and a candidate :math:`c` with cold flag
:math:`\kappa_c` (1 for an item without training interactions), the weights are
:math:`w_{uc} = \mathrm{softmax}(g(z_u, \kappa_c))` over the signals and the fused score is
:math:`f_{uc} = \sum_s w_{ucs} x_{suc}`, with :math:`x` the normalised scores of a
:class:`~core.fusion.prepared.PreparedFusion` (the ``weighted`` rule with per-user weights).
Each user thus has two weight vectors, one for warm and one for cold candidates: the
segment-aware fusion of :mod:`core.fusion.methods`. For a warm candidate a signal that cannot
score it is left out and the weights renormalised over the others; a cold candidate's weights
are not renormalised, so the weight the gate puts on signals that cannot score cold items
(collaborative ones) discounts cold items against warm ones, and the weight on content signals
promotes them. Training and serving fuse alike.
:math:`g` is a small MLP (standardised user features and the raw cold flag, one ``tanh``
hidden layer); its last layer starts at zero, so training starts from equal weights: the
convex combination with equal weights of every signal.

Training uses the validation split: a listwise softmax cross-entropy over each user's
candidates,

.. math:: L_u = -\frac{1}{|P_u|} \sum_{p \in P_u}
          \log \frac{\exp(t f_{up})}{\sum_{c} \exp(t f_{uc})}

with :math:`P_u` the user's relevant candidates and :math:`t` a learned sharpness (it does not
change any ranking). Users with no relevant candidate give no gradient and are left out.

This module imports torch; :mod:`core.fusion` does not, so the rest of fusion loads fast.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from core.checks import Constraint, Positive, Whole, validate_params
from core.data.interactions import Interactions
from core.data.workspace import atomic_write_bytes, atomic_write_json
from core.errors import FusionError
from core.fusion.prepared import PreparedFusion
from core.progress import EPOCH, TRAIN_LOSS, ProgressCallback, ProgressInfo
from core.text.runtime import torch_threads

FEATURE_NAMES = (
    "log_activity",
    "log_days_since_last",
    "cold_item_share",
    "has_query",
    "user_is_cold",
)
# The per-candidate input of the gate, after the user features.
CANDIDATE_FEATURE = "candidate_is_cold"
WEIGHTS_FILE = "gate.safetensors"
META_FILE = "gate.json"
_SECONDS_PER_DAY = 86_400
_INITIAL_SHARPNESS = 10.0


def user_features(
    train: Interactions,
    user_idx: np.ndarray,
    *,
    reference_time: np.datetime64 | str | None = None,
    cold_item_max_users: int = 5,
    has_query: bool = False,
) -> np.ndarray:
    """``(n, 5)`` float32 gate features of training users, columns :data:`FEATURE_NAMES`.

    ``log_activity``
        ``log(1 + number of training interactions)``.
    ``log_days_since_last``
        ``log(1 + days from the user's latest training event to reference_time)``; 0 for a
        user without a timed interaction (``log_activity`` tells those apart).
    ``cold_item_share``
        Share of the user's training items that at most ``cold_item_max_users`` users
        interacted with in training (new or niche items); 0 without history.
    ``has_query``
        1 when the request comes with a search query, else 0 (0 for recommendation).
    ``user_is_cold``
        1 when the user has no training interaction, else 0.

    Parameters
    ----------
    train : Interactions
        The training part of the split (times of the latest event of each pair).
    user_idx : array-like of int
        Users, in the order of the rows returned.
    reference_time : datetime-like, optional
        The time the lists are made for; the latest training event by default (the
        validation cut-off of a temporal split).
    """
    users = np.atleast_1d(np.asarray(user_idx, dtype=np.int64))
    rows, items = train.entries()
    counts = np.bincount(rows, minlength=train.n_users)
    stamps = np.asarray(train.last_ts, dtype="datetime64[s]")
    dated = ~np.isnat(stamps)
    never = np.iinfo(np.int64).min
    latest = np.full(train.n_users, never, dtype=np.int64)
    np.maximum.at(latest, rows[dated], stamps[dated].astype(np.int64))
    if reference_time is not None:
        reference = np.datetime64(reference_time, "s").astype(np.int64)
    else:
        reference = latest.max() if dated.any() else 0
    known = latest > never
    days = np.where(known, np.maximum(reference - latest, 0) / _SECONDS_PER_DAY, 0.0)
    item_users = np.bincount(items, minlength=train.n_items)
    cold = item_users[items] <= cold_item_max_users
    cold_counts = np.bincount(rows, weights=cold, minlength=train.n_users)
    cold_share = np.divide(cold_counts, counts, out=np.zeros(len(counts)), where=counts > 0)
    features = np.column_stack(
        [
            np.log1p(counts[users]),
            np.log1p(days[users]),
            cold_share[users],
            np.full(len(users), 1.0 if has_query else 0.0),
            (counts[users] == 0).astype(np.float64),
        ]
    )
    return features.astype(np.float32)


class SoftmaxGate:
    """Per-user softmax weights over the signals, learned from validation lists.

    Parameters
    ----------
    hidden_size : int
        Units of the hidden layer.
    epochs : int
        Passes over the training users.
    learning_rate : float
        Adam step size.
    weight_decay : float
        L2 penalty (Adam's ``weight_decay``).
    batch_size : int
        Users per step.
    random_state : int
        Seed of the initialisation and the shuffling.
    num_threads : int
        Torch CPU threads while training. One is fastest for tensors this small: with more,
        each tiny operation pays for waking and syncing threads (20 times slower on a
        loaded two-core machine).

    Attributes
    ----------
    network_ : torch.nn.Sequential
        ``g``: user features and the candidate's cold flag -> one logit per signal.
    log_sharpness_ : torch.nn.Parameter
        Log of the sharpness ``t`` of the loss.
    feature_mean_, feature_scale_ : numpy.ndarray
        Standardisation of the features.
    signal_names_, feature_names_ : tuple of str
    candidate_features_ : tuple of str
        ``("candidate_is_cold",)``; empty for a gate saved before candidates were told apart
        (it weighs cold candidates like warm ones).
    normalisation_ : str
        Normalisation of the scores the gate was trained on.
    loss_history_ : list of float
        Mean training loss of each epoch.
    initial_loss_, final_loss_ : float
        Loss over all training users before and after training.
    """

    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "hidden_size": Whole(1),
        "epochs": Whole(1),
        "learning_rate": Positive(),
        "weight_decay": Positive(allow_zero=True),
        "batch_size": Whole(1),
        "num_threads": Whole(1),
    }

    def __init__(
        self,
        hidden_size: int = 16,
        epochs: int = 100,
        learning_rate: float = 0.01,
        weight_decay: float = 1e-4,
        batch_size: int = 512,
        random_state: int = 0,
        num_threads: int = 1,
    ) -> None:
        self.hidden_size = hidden_size
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.random_state = random_state
        self.num_threads = num_threads

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__``."""
        return {
            "hidden_size": self.hidden_size,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "batch_size": self.batch_size,
            "random_state": self.random_state,
            "num_threads": self.num_threads,
        }

    def _build(self, n_features: int, n_signals: int) -> None:
        n_inputs = n_features + len(self.candidate_features_)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            network = torch.nn.Sequential(
                torch.nn.Linear(n_inputs, self.hidden_size),
                torch.nn.Tanh(),
                torch.nn.Linear(self.hidden_size, n_signals),
            )
        torch.nn.init.zeros_(network[2].weight)
        torch.nn.init.zeros_(network[2].bias)
        self.network_ = network
        self.log_sharpness_ = torch.nn.Parameter(torch.tensor(np.log(_INITIAL_SHARPNESS)))

    def _standardised(self, features: np.ndarray) -> torch.Tensor:
        self._check_fitted()
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or features.shape[1] != len(self.feature_mean_):
            raise FusionError(
                f"features must have shape (n, {len(self.feature_mean_)}), not {features.shape}"
            )
        return torch.from_numpy((features - self.feature_mean_) / self.feature_scale_)

    def _weights(self, standardised: torch.Tensor, cold: bool) -> torch.Tensor:
        """``(n, s)`` softmax weights of warm (``cold`` False) or cold candidates."""
        if self.candidate_features_:
            flag = torch.full((standardised.shape[0], 1), float(cold), dtype=standardised.dtype)
            standardised = torch.cat([standardised, flag], dim=1)
        return torch.softmax(self.network_(standardised), dim=1)

    @property
    def cold_aware(self) -> bool:
        """True when the gate gives cold candidates weights of their own."""
        self._check_fitted()
        return bool(self.candidate_features_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise FusionError("the gate is not trained; call fit() or load() first")

    def fit(
        self,
        prepared: PreparedFusion,
        features: np.ndarray,
        *,
        feature_names: Sequence[str] = FEATURE_NAMES,
        callback: ProgressCallback | None = None,
    ) -> Self:
        """Learn the gate on the candidates and relevance of ``prepared`` (validation users).

        Parameters
        ----------
        prepared : PreparedFusion
            Candidates of the training users with their validation relevance; the gate
            weighs its normalised scores.
        features : numpy.ndarray
            ``(n, f)`` features of ``prepared``'s users (rows in the same order), e.g.
            :func:`user_features`.
        feature_names : sequence of str
            Names of the ``f`` columns.
        callback : callable, optional
            ``callback(epoch, epochs, info)`` after each epoch; ``info`` carries the point
            ``{"epoch", "train_loss"}``.
        """
        validate_params(self.get_params(), self._parameter_constraints, FusionError)
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or features.shape[0] != prepared.n_users:
            raise FusionError(f"features must have one row per user ({prepared.n_users})")
        if len(feature_names) != features.shape[1]:
            raise FusionError(
                f"feature_names has {len(feature_names)} names for {features.shape[1]} columns"
            )
        trainable = prepared.is_relevant.any(axis=1)
        if not trainable.any():
            raise FusionError("no user has a relevant candidate: nothing to learn the gate from")
        mean = features[trainable].mean(axis=0)
        scale = features[trainable].std(axis=0)
        self.feature_mean_ = mean.astype(np.float32)
        self.feature_scale_ = np.where(scale > 0, scale, 1).astype(np.float32)
        self.signal_names_ = tuple(prepared.candidates.signal_names)
        self.feature_names_ = tuple(str(name) for name in feature_names)
        self.normalisation_ = prepared.normalisation
        self.candidate_features_ = (CANDIDATE_FEATURE,)
        self._build(features.shape[1], len(self.signal_names_))
        data = self._tensors(prepared, features, trainable)
        parameters = [*self.network_.parameters(), self.log_sharpness_]
        optimiser = torch.optim.Adam(
            parameters, lr=self.learning_rate, weight_decay=self.weight_decay
        )
        with torch_threads(self.num_threads):
            self._train(data, optimiser, callback)
        return self

    def _train(
        self,
        data: tuple[torch.Tensor, ...],
        optimiser: torch.optim.Optimizer,
        callback: ProgressCallback | None,
    ) -> None:
        generator = torch.Generator().manual_seed(self.random_state)
        n = data[0].shape[0]
        self.initial_loss_ = self._full_loss(data)
        self.loss_history_: list[float] = []
        for epoch in range(1, self.epochs + 1):
            order = torch.randperm(n, generator=generator)
            total = 0.0
            for start in range(0, n, self.batch_size):
                batch = order[start : start + self.batch_size]
                optimiser.zero_grad()
                loss = self._loss(*(tensor[batch] for tensor in data))
                loss.backward()
                optimiser.step()
                total += float(loss.detach()) * len(batch)
            self.loss_history_.append(total / n)
            if callback is not None:
                point = {EPOCH: float(epoch), TRAIN_LOSS: self.loss_history_[-1]}
                text = f"gate epoch {epoch}/{self.epochs}: loss {self.loss_history_[-1]:.4f}"
                callback(epoch, self.epochs, ProgressInfo(text, point))
        self.final_loss_ = self._full_loss(data)

    def _tensors(
        self, prepared: PreparedFusion, features: np.ndarray, rows: np.ndarray
    ) -> tuple[torch.Tensor, ...]:
        terms = prepared.terms("weighted")[:, rows]
        present = prepared.candidates.present[:, rows] | ~prepared.candidates.valid[rows][None]
        return (
            torch.from_numpy((features[rows] - self.feature_mean_) / self.feature_scale_),
            torch.from_numpy(np.ascontiguousarray(terms.transpose(1, 2, 0))),
            torch.from_numpy(np.ascontiguousarray(present.transpose(1, 2, 0), np.float32)),
            torch.from_numpy(prepared.candidates.valid[rows]),
            torch.from_numpy(prepared.is_relevant[rows]),
            torch.from_numpy(prepared.candidates.cold[rows]),
        )

    def _loss(
        self,
        features: torch.Tensor,
        terms: torch.Tensor,
        present: torch.Tensor,
        valid: torch.Tensor,
        relevant: torch.Tensor,
        cold: torch.Tensor,
    ) -> torch.Tensor:
        weights = self._weights(features, cold=False)
        # Warm candidates: weights renormalised over the signals that scored each one.
        present_weight = torch.einsum("ncs,ns->nc", present, weights)
        fused = torch.einsum("ncs,ns->nc", terms, weights) / present_weight.clamp_min(1e-12)
        if self.candidate_features_:
            # Cold candidates: their own weights, not renormalised (see the module notes).
            cold_weights = self._weights(features, cold=True)
            cold_fused = torch.einsum("ncs,ns->nc", terms, cold_weights)
            cold_present = torch.einsum("ncs,ns->nc", present, cold_weights)
            fused = torch.where(cold, cold_fused, fused)
            present_weight = torch.where(cold, cold_present, present_weight)
        fused = fused * self.log_sharpness_.exp()
        fused = fused.masked_fill(~valid | (present_weight <= 0), float("-inf"))
        log_probability = torch.log_softmax(fused, dim=1)
        per_user = -log_probability.masked_fill(~relevant, 0).sum(dim=1)
        return (per_user / relevant.sum(dim=1)).mean()

    def _full_loss(self, data: tuple[torch.Tensor, ...]) -> float:
        with torch.no_grad():
            return float(self._loss(*data))

    def loss(self, prepared: PreparedFusion, features: np.ndarray) -> float:
        """The training loss of the gate on other users (e.g. a held-out part)."""
        self._check_fitted()
        features = np.asarray(features, dtype=np.float32)
        rows = prepared.is_relevant.any(axis=1)
        if not rows.any():
            raise FusionError("no user has a relevant candidate: the loss is undefined")
        with torch_threads(self.num_threads):
            return self._full_loss(self._tensors(prepared, features, rows))

    def weights(self, features: np.ndarray, *, cold: bool = False) -> np.ndarray:
        """``(n, s)`` float32 signal weights (rows sum to 1) for users with ``features``.

        ``cold`` True gives the weights of the users' cold candidates (items without training
        interactions), to fuse as ``cold_weights`` (see :mod:`core.fusion.methods`).
        """
        standardised = self._standardised(features)
        with torch_threads(self.num_threads), torch.no_grad():
            return self._weights(standardised, cold).numpy().astype(np.float32)

    def cold_weights(self, features: np.ndarray) -> np.ndarray | None:
        """The cold candidates' weights, or None for a gate that does not tell them apart."""
        return self.weights(features, cold=True) if self.cold_aware else None

    def save(self, folder: Path) -> Path:
        """Write ``gate.safetensors`` (network, sharpness, standardisation) and ``gate.json``."""
        self._check_fitted()
        folder = Path(folder)
        tensors = {f"network.{key}": value for key, value in self.network_.state_dict().items()}
        tensors["log_sharpness"] = self.log_sharpness_.detach().clone()
        tensors["feature_mean"] = torch.from_numpy(self.feature_mean_)
        tensors["feature_scale"] = torch.from_numpy(self.feature_scale_)
        atomic_write_bytes(folder / WEIGHTS_FILE, save_tensors(tensors))
        meta = {
            "params": self.get_params(),
            "signal_names": list(self.signal_names_),
            "feature_names": list(self.feature_names_),
            "candidate_features": list(self.candidate_features_),
            "normalisation": self.normalisation_,
            "loss_history": self.loss_history_,
            "initial_loss": self.initial_loss_,
            "final_loss": self.final_loss_,
        }
        atomic_write_json(folder / META_FILE, meta)
        return folder

    @classmethod
    def load(cls, folder: Path) -> SoftmaxGate:
        """Read a gate written by :meth:`save`."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / META_FILE).read_text())
            tensors = load_tensors((folder / WEIGHTS_FILE).read_bytes())
            gate = cls(**meta["params"])
            gate.signal_names_ = tuple(meta["signal_names"])
            gate.feature_names_ = tuple(meta["feature_names"])
            gate.candidate_features_ = tuple(meta.get("candidate_features", ()))
            gate.normalisation_ = str(meta["normalisation"])
            gate.loss_history_ = [float(value) for value in meta["loss_history"]]
            gate.initial_loss_ = float(meta["initial_loss"])
            gate.final_loss_ = float(meta["final_loss"])
            gate._build(len(gate.feature_names_), len(gate.signal_names_))
            network = {
                key.removeprefix("network."): value
                for key, value in tensors.items()
                if key.startswith("network.")
            }
            gate.network_.load_state_dict(network)
            with torch.no_grad():
                gate.log_sharpness_.copy_(tensors["log_sharpness"])
            gate.feature_mean_ = tensors["feature_mean"].numpy()
            gate.feature_scale_ = tensors["feature_scale"].numpy()
        except (OSError, ValueError, KeyError, RuntimeError) as error:
            raise FusionError(f"cannot load a gate from {folder}: {error}") from error
        return gate
