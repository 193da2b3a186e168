"""The Recommender contract every model follows, and the ranking and persistence it shares.

Subclasses declare their hyperparameters' ``_parameter_constraints`` (see
:mod:`core.checks`) and implement :meth:`Recommender._fit`, :meth:`Recommender.score_history`
(and :meth:`Recommender.score` when they keep per-user state such as latent factors) and the
pair :meth:`Recommender._state` / :meth:`Recommender._set_state`. The base class validates the
hyperparameters when :meth:`Recommender.fit` starts and implements ranking
(:meth:`Recommender.recommend`), hyperparameter introspection and a pickle-free save/load:
``params.json`` (model name and hyperparameters), ``state.npz`` (arrays) and ``meta.json``
(anything else JSON can hold). Loading a folder whose model is not known in advance is
:func:`core.models.registry.read_model`.
"""

from __future__ import annotations

import inspect
import io
import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.checks import Constraint, validate_params
from core.data.interactions import Interactions
from core.data.workspace import atomic_write_bytes, atomic_write_json
from core.errors import ModelError
from core.metrics.ranking import top_k
from core.progress import ProgressCallback

# The catalogue a model's fit may read (content models align it to the items), or None.
Catalog = pd.DataFrame | None
# How a served list was made: by the model (or fusion) itself, or by the cold-user fallback.
SOURCE_MODEL = "model"
SOURCE_POPULARITY_FALLBACK = "popularity fallback (no training history)"


@dataclass(frozen=True, eq=False)
class ServedLists:
    """Top-``k`` lists as served, with the users who got the cold-user fallback marked.

    Attributes
    ----------
    items : numpy.ndarray
        ``(n, k)`` int64 item indices, best first, ``-1`` padded.
    scores : numpy.ndarray
        ``(n, k)`` float32 scores of the list's source (training users per item for the
        fallback), ``-inf`` on padding.
    fallback : numpy.ndarray
        ``(n,)`` bool: the user has no training history and got the popularity fallback.
    """

    items: np.ndarray
    scores: np.ndarray
    fallback: np.ndarray

    @property
    def sources(self) -> np.ndarray:
        """``(n,)`` label of each user's list: :data:`SOURCE_MODEL` or the fallback's."""
        return np.where(self.fallback, SOURCE_POPULARITY_FALLBACK, SOURCE_MODEL)


def popularity_lists(
    train: sp.csr_matrix, user_idx: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The cold-user fallback: items by their number of training users, the same list for
    every user of ``user_idx`` (who have no history to exclude); ties to the lower index."""
    counts = np.bincount(sp.csr_matrix(train).indices, minlength=train.shape[1])
    scores = np.broadcast_to(counts.astype(np.float32), (len(user_idx), train.shape[1]))
    return top_k(scores, k)


class Recommender(ABC):
    """Base class of every recommender.

    Conventions follow scikit-learn: hyperparameters are stored by ``__init__`` as given and
    nothing else happens there; :meth:`fit` returns ``self``; fitted attributes end in ``_``.
    Users and items are contiguous indices of the training :class:`Interactions`.
    """

    name: ClassVar[str] = ""
    # True when the model can be scored from inside its fit callback: when a report carries
    # a point with an epoch (see core.progress), the fitted attributes hold the state after
    # that epoch, so a caller can measure validation metrics while training runs.
    scores_during_fit: ClassVar[bool] = False
    # False for models that rank from the user's history: a user with an empty history gets
    # an empty list (-1 padding) rather than an arbitrary order of equal scores.
    ranks_without_history: ClassVar[bool] = False
    # Whether the model can score an item without training interactions (a cold item):
    # True for models that score items from their content (text), which fusion also asks for
    # their best cold items; False for models that learn items from interactions only (their
    # score of a cold item is a 0 or a random factor, which fusion treats as missing); None
    # where undeclared: scores are used as given.
    scores_cold_items: ClassVar[bool | None] = None
    # Hyperparameter name -> constraint, checked when fit starts (see _validate_params).
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {}

    # Hyperparameters -----------------------------------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p for p in signature.parameters if p != "self"]

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def _validate_params(self) -> None:
        """Raise :class:`ModelError` for a hyperparameter its constraint rejects.

        Subclasses extend it for rules that tie several hyperparameters together.
        """
        validate_params(self.get_params(), self._parameter_constraints, ModelError)

    # Fitting -------------------------------------------------------------------------------

    def fit(
        self,
        train: Interactions,
        *,
        catalog: pd.DataFrame | None = None,
        callback: ProgressCallback | None = None,
    ) -> Self:
        """Learn from ``train`` (users x items weights) and, where used, the ``catalog``.

        Parameters
        ----------
        train : Interactions
            Training interactions; their user and item indices are the model's.
        catalog : pandas.DataFrame, optional
            Catalogue rows; content models align them to ``train.item_ids`` by ``item_id``.
        callback : callable, optional
            ``callback(step, total, info)`` reporting progress; iterative models pass a
            :class:`core.progress.ProgressInfo` whose ``point`` holds the epoch and its
            training measures. A :class:`core.errors.TrainingCancelled` (or any error)
            raised by the callback stops the fit.

        Returns
        -------
        self
        """
        self._validate_params()
        start = time.perf_counter()
        self.train_ = train.matrix.tocsr().astype(np.float32)
        self.item_ids_ = np.asarray(train.item_ids, dtype=object)
        self._fit(train, catalog, callback)
        self.fit_seconds_ = time.perf_counter() - start
        return self

    @abstractmethod
    def _fit(
        self, train: Interactions, catalog: Catalog, callback: ProgressCallback | None
    ) -> None:
        """Model-specific training; ``self.train_`` is already set."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "train_"):
            raise ModelError(f"{type(self).__name__} is not fitted; call fit() first")

    @property
    def n_users(self) -> int:
        self._check_fitted()
        return self.train_.shape[0]

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return self.train_.shape[1]

    # Scoring -------------------------------------------------------------------------------

    @abstractmethod
    def score_history(
        self, history: sp.csr_matrix, item_idx: np.ndarray | None = None
    ) -> np.ndarray:
        """Scores for users described only by their interaction rows.

        Parameters
        ----------
        history : scipy.sparse.csr_matrix
            ``(n, n_items)`` weights of each user's interactions (a fold-in for users unseen
            in training, or a training row).
        item_idx : numpy.ndarray, optional
            Items to score; all items when omitted.

        Returns
        -------
        numpy.ndarray
            ``(n, len(item_idx) or n_items)`` float32 scores, higher is better.
        """

    def score(self, user_idx: np.ndarray | int, item_idx: np.ndarray | None = None) -> np.ndarray:
        """Scores of training users (rows) for items (columns); see :meth:`score_history`."""
        self._check_fitted()
        users = self._user_array(user_idx)
        return self.score_history(self.train_[users], item_idx)

    def _user_array(self, user_idx: np.ndarray | int) -> np.ndarray:
        users = np.atleast_1d(np.asarray(user_idx, dtype=np.int64))
        if users.size and (users.min() < 0 or users.max() >= self.n_users):
            raise ModelError(f"user index out of range 0..{self.n_users - 1}")
        return users

    # Ranking -------------------------------------------------------------------------------

    def recommend(
        self,
        user_idx: np.ndarray | int,
        k: int,
        exclude_seen: bool = True,
        *,
        history: sp.csr_matrix | None = None,
        batch_size: int = 2048,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items for each user.

        Parameters
        ----------
        user_idx : array-like of int or int
            Training user indices.
        k : int
            Length of each list. When fewer than ``k`` items can be ranked the tail is padded
            with item index ``-1`` and score ``-inf``. A user with an empty history gets an
            empty list from a model that ranks from the history (``ranks_without_history``
            False): its scores are all equal, and any order would be arbitrary.
        exclude_seen : bool
            Drop items in the user's history (training row, or ``history`` when given).
        history : scipy.sparse.csr_matrix, optional
            ``(len(user_idx), n_items)`` rows to score from instead of the training rows
            (fold-in of new or updated users).
        batch_size : int
            Users scored at once, bounding memory at ``batch_size x n_items`` floats.

        Returns
        -------
        item_idx : numpy.ndarray
            ``(n_users, k)`` int64, best first; ties broken by lower item index.
        scores : numpy.ndarray
            ``(n_users, k)`` float32.
        """
        self._check_fitted()
        if k < 1:
            raise ModelError(f"k must be at least 1, got {k}")
        users = self._user_array(user_idx)
        if history is not None and history.shape != (len(users), self.n_items):
            raise ModelError(f"history must have shape ({len(users)}, {self.n_items})")
        if history is None:
            return self._rank_training_users(users, k, exclude_seen, batch_size)
        return self._rank_batches(users, k, exclude_seen, history, batch_size)

    def serve(self, user_idx: np.ndarray | int, k: int, exclude_seen: bool = True) -> ServedLists:
        """:meth:`recommend` for training users, with the cold-user fallback.

        A user without training history gets the model's list when the model ranks without
        history (popularity), else the popularity fallback (:func:`popularity_lists`),
        marked in :attr:`ServedLists.fallback` so every view can label it.
        """
        items, scores = self.recommend(user_idx, k, exclude_seen)
        users = self._user_array(user_idx)
        fallback = np.zeros(len(users), dtype=bool)
        if not self.ranks_without_history:
            fallback = np.diff(self.train_[users].indptr) == 0
        if fallback.any():
            items[fallback], scores[fallback] = popularity_lists(self.train_, users[fallback], k)
        return ServedLists(items, scores, fallback)

    def _rank_training_users(
        self, users: np.ndarray, k: int, exclude_seen: bool, batch_size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`recommend` of checked training users; subclasses override it to rank faster
        where their scores allow it."""
        return self._rank_batches(users, k, exclude_seen, None, batch_size)

    def _rank_batches(
        self,
        users: np.ndarray,
        k: int,
        exclude_seen: bool,
        history: sp.csr_matrix | None,
        batch_size: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores ``batch_size`` users at a time (from ``history`` when given) and ranks them."""
        out_idx, out_scores = empty_lists(len(users), k)
        for start in range(0, len(users), batch_size):
            stop = min(start + batch_size, len(users))
            if history is None:
                rows = self.train_[users[start:stop]]
                scores = self.score(users[start:stop])
            else:
                rows = history[start:stop]
                scores = self.score_history(rows)
            out_idx[start:stop], out_scores[start:stop] = self.rank_scores(
                scores, rows, k, exclude_seen
            )
        return out_idx, out_scores

    def rank_scores(
        self, scores: np.ndarray, rows: sp.csr_matrix, k: int, exclude_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` of a dense score matrix, as :meth:`recommend` ranks it.

        Parameters
        ----------
        scores : numpy.ndarray
            ``(n, n_items)`` scores from :meth:`score` or :meth:`score_history`; not modified.
        rows : scipy.sparse.csr_matrix
            ``(n, n_items)`` histories of the same users, for ``exclude_seen`` and for users
            without history.
        k : int
            Length of each list.
        exclude_seen : bool
            Drop items in the history.

        Returns
        -------
        item_idx, scores : numpy.ndarray
            As :meth:`recommend` returns them.
        """
        scores = np.array(scores, dtype=np.float32, copy=True)
        if not self.ranks_without_history:
            scores[np.diff(rows.indptr) == 0] = -np.inf
        if exclude_seen:
            row_of_entry = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
            scores[row_of_entry, rows.indices] = -np.inf
        return top_k(scores, k)

    # Persistence ---------------------------------------------------------------------------

    @abstractmethod
    def _state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Fitted arrays and JSON-able metadata that :meth:`_set_state` restores."""

    @abstractmethod
    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore the fitted state written by :meth:`_state`."""

    def save(self, folder: Path) -> Path:
        """Write the model to ``folder`` (params.json, state.npz, meta.json); no pickles."""
        self._check_fitted()
        folder = Path(folder)
        arrays, meta = self._state()
        arrays = {
            **arrays,
            **sparse_arrays("_train_", self.train_.tocsr()),
            "_item_ids": np.asarray(self.item_ids_, dtype=str),
        }
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(folder / "state.npz", buffer.getvalue())
        atomic_write_json(folder / "meta.json", {**meta, "fit_seconds": self.fit_seconds_})
        atomic_write_json(folder / "params.json", {"model": self.name, **self.get_params()})
        return folder

    @classmethod
    def load(cls, folder: Path) -> Self:
        """Read a model of this class written by :meth:`save`.

        :func:`core.models.registry.read_model` reads a model of any class.
        """
        folder = Path(folder)
        params = _read_json(folder / "params.json")
        meta = _read_json(folder / "meta.json")
        try:
            with np.load(folder / "state.npz", allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
        except (OSError, ValueError) as error:
            raise ModelError(f"cannot load a model from {folder}: {error}") from error
        model_name = params.pop("model", None)
        if model_name != cls.name:
            raise ModelError(
                f"{folder / 'params.json'} holds a model {model_name!r}, not {cls.name!r}"
            )
        model = cls(**params)
        model.train_ = sparse_from_arrays("_train_", arrays)
        model.item_ids_ = arrays.pop("_item_ids").astype(object)
        model.fit_seconds_ = float(meta.pop("fit_seconds", 0.0))
        model._set_state(arrays, meta)
        return model


def saved_model_name(folder: Path) -> Any:
    """The model name that :meth:`Recommender.save` wrote in ``folder`` (None if missing)."""
    return _read_json(Path(folder) / "params.json").get("model")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ModelError(f"cannot load a model from {path.parent}: {error}") from error


def empty_lists(n_users: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(n_users, k)`` top-``k`` lists holding only padding: item ``-1``, score ``-inf``."""
    return (
        np.full((n_users, k), -1, dtype=np.int64),
        np.full((n_users, k), -np.inf, dtype=np.float32),
    )


def sparse_arrays(prefix: str, matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    """The arrays of a CSR ``matrix`` for a model's ``state.npz``, keys starting ``prefix``."""
    return {
        f"{prefix}data": matrix.data,
        f"{prefix}indices": matrix.indices,
        f"{prefix}indptr": matrix.indptr,
        f"{prefix}shape": np.asarray(matrix.shape, dtype=np.int64),
    }


def sparse_from_arrays(prefix: str, arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    """The CSR matrix :func:`sparse_arrays` stored under ``prefix``, taken out of ``arrays``."""
    return sp.csr_matrix(
        (
            arrays.pop(f"{prefix}data"),
            arrays.pop(f"{prefix}indices"),
            arrays.pop(f"{prefix}indptr"),
        ),
        shape=tuple(int(n) for n in arrays.pop(f"{prefix}shape")),
    )
