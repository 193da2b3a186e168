"""Synthetic interactions for cold-start items, their review, and training data that uses them.

Two generators draw (user, item) interactions for items with no or few training interactions:

``neighbours`` (:func:`neighbour_interactions`)
    A content baseline. Each target item's ``k`` most similar warm items (cosine over product
    vectors: encoder embeddings or TF-IDF, see :func:`product_vectors`) vote for their users:
    user ``u`` scores ``s_u = sum_j sim(t, j) * w_uj`` over the neighbours ``j`` with a positive
    similarity, and ``n_per_item`` distinct users are drawn with probability proportional to
    ``s_u ** (1 / temperature)``.
``gru`` (:class:`GRUGenerator`)
    A session model: a GRU reads each user's training items in time order and predicts the next
    one. Items enter and leave the model only through a learned projection of their frozen
    product vectors, so the output logits ``hidden @ projected_vectors.T`` cover the whole
    catalogue, items never seen in the logs included. To generate for a target item ``t`` the
    model continues every user's real sequence by one step and users are drawn with
    probability proportional to ``p(next = t | u) ** (1 / temperature)``: under a uniform prior
    over users this is the posterior ``p(u | next = t)``, i.e. "continue the real sequences and
    keep the continuations that land on ``t``" without the wasted draws of rejection sampling.
    For chosen (sparse) users, :meth:`GRUGenerator.generate_for_users` samples their next items.

Every synthetic row carries the time of its user's latest training interaction, so it falls in
the training period and never after the split's cut-off. Rows are kept apart from the real data
in the workspace table ``synthetic_interactions`` (user_id, item_id, event, ts, weight,
generator, run_id, status, created_at), added as ``pending`` in one transaction with a run
record of kind :data:`RUN_KIND`; a GRU run also keeps its trained generator in the run's folder
(:meth:`GRUGenerator.save`), so it can generate again without training
(:func:`load_generator`, ``reuse_run`` of :func:`synthesize_interactions`). A reviewer accepts
or rejects them in bulk
(:func:`set_interaction_status`), and :func:`augment` / :func:`augmented_train` add the accepted
ones to a split's training interactions so that any model trains on them.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.interactions import Interactions
from core.data.runs import SYNTHETIC_INTERACTIONS_KIND as RUN_KIND
from core.data.splits import Split
from core.data.workspace import Workspace, atomic_write_json
from core.errors import SyntheticInteractionsError
from core.progress import EPOCH, TRAIN_LOSS, ProgressCallback, ProgressInfo
from core.schema import DEFAULT_EVENT_WEIGHTS, EVENT_TYPES, SEARCH
from core.text.product_text import product_texts

INTERACTIONS_TABLE = "synthetic_interactions"
NEIGHBOURS = "neighbours"
GRU = "gru"
GENERATORS: tuple[str, ...] = (NEIGHBOURS, GRU)

PENDING = "pending"
ACCEPTED = "accepted"
REJECTED = "rejected"
STATUSES: tuple[str, ...] = (PENDING, ACCEPTED, REJECTED)

ROW_COLUMNS: tuple[str, ...] = ("user_id", "item_id", "event", "ts", "weight")
COLUMNS: tuple[str, ...] = (*ROW_COLUMNS, "generator", "run_id", "status", "created_at")
_DDL = f"""CREATE TABLE IF NOT EXISTS {INTERACTIONS_TABLE} (
    user_id VARCHAR NOT NULL, item_id VARCHAR NOT NULL, event VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL, weight DOUBLE NOT NULL, generator VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL, status VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL)"""

RandomState = int | np.random.Generator | None

# Files of a saved GRU generator, in its run's folder.
GENERATOR_WEIGHTS = "generator.safetensors"
GENERATOR_META = "generator.json"


# --------------------------------------------------------------------------------------------
# Inputs


def _rng(random_state: RandomState) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


def _check_positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise SyntheticInteractionsError(f"{name} must be a number > 0, not {value!r}")
    if not math.isfinite(value):
        raise SyntheticInteractionsError(f"{name} must be finite, not {value!r}")
    return float(value)


def _check_whole(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise SyntheticInteractionsError(f"{name} must be a whole number >= {low}, not {value!r}")
    return int(value)


def _event_weight(event: str, weight: float | None) -> float:
    if event not in EVENT_TYPES or event == SEARCH:
        kinds = ", ".join(e for e in EVENT_TYPES if e != SEARCH)
        raise SyntheticInteractionsError(f"unknown event {event!r}; use one of {kinds}")
    return DEFAULT_EVENT_WEIGHTS[event] if weight is None else _check_positive("weight", weight)


def item_positions(train: Interactions, item_ids: Sequence[str] | np.ndarray) -> np.ndarray:
    """Column indices of ``item_ids`` in ``train`` (int64); raises for unknown ids."""
    ids = [str(item) for item in item_ids]
    unknown = [item for item in ids if item not in train.item_index]
    if unknown:
        raise SyntheticInteractionsError(
            f"{len(unknown)} item id(s) are not in the item index (e.g. {unknown[0]!r}); choose "
            "items of the catalogue"
        )
    return np.array([train.item_index[item] for item in ids], dtype=np.int64)


def user_positions(train: Interactions, user_ids: Sequence[str] | np.ndarray) -> np.ndarray:
    """Row indices of ``user_ids`` in ``train`` (int64); raises for unknown ids."""
    ids = [str(user) for user in user_ids]
    unknown = [user for user in ids if user not in train.user_index]
    if unknown:
        raise SyntheticInteractionsError(
            f"{len(unknown)} user id(s) are not in the user index (e.g. {unknown[0]!r})"
        )
    return np.array([train.user_index[user] for user in ids], dtype=np.int64)


def sparse_items(train: Interactions, max_users: int = 0) -> np.ndarray:
    """Ids of the items with at most ``max_users`` training users: the cold-start targets.

    Chosen from the training data alone, so the choice tells nothing about the test part.
    """
    _check_whole("max_users", max_users, 0)
    users_per_item = np.bincount(train.matrix.indices, minlength=train.n_items)
    return np.asarray(train.item_ids[users_per_item <= max_users], dtype=object)


def product_vectors(
    catalog: pd.DataFrame | None,
    item_ids: Sequence[str] | np.ndarray,
    *,
    method: str = "encoder",
    encoder: Any = None,
    cache_dir: str | Path | None = None,
    batch_size: int = 64,
    callback: ProgressCallback | None = None,
) -> np.ndarray | sp.csr_matrix:
    """Unit-length vectors of the products' texts, one row per id of ``item_ids``.

    Parameters
    ----------
    catalog : pandas.DataFrame or None
        Catalogue; texts come from :func:`core.text.product_text.product_texts`.
    item_ids : sequence of str
        The item index (e.g. ``split.train.item_ids``).
    method : {"encoder", "tfidf"}
        ``encoder``: sentence embeddings (dense float32); ``tfidf``: TF-IDF of word uni- and
        bigrams (sparse, for the neighbour baseline only).
    encoder : TextEncoder or str, optional
        An encoder object, or a spec for :func:`core.text.encoders.load_encoder` (``"minilm"``,
        ``"tiny"``, a folder); the default encoder when None.
    cache_dir : str or Path, optional
        Embedding cache folder (``<workspace>/artifacts/embeddings``); no cache if None.

    Returns
    -------
    numpy.ndarray or scipy.sparse.csr_matrix
        Products without any text get a zero row.
    """
    texts = product_texts(catalog, item_ids)
    with_text = np.flatnonzero([bool(text) for text in texts])
    if with_text.size == 0:
        raise SyntheticInteractionsError(
            "no product has a text: the catalogue needs titles, descriptions or categories"
        )
    chosen = [texts[row] for row in with_text]
    if method == "tfidf":
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(chosen)
        placed = sp.csr_matrix(
            (np.ones(with_text.size), (with_text, np.arange(with_text.size))),
            shape=(len(texts), with_text.size),
        )
        return (placed @ vectors).tocsr().astype(np.float32)
    if method != "encoder":
        raise SyntheticInteractionsError(f"unknown method {method!r}; use 'encoder' or 'tfidf'")
    if encoder is None or isinstance(encoder, str | Path):
        # Imported here: the encoders module loads torch and transformers.
        from core.text.encoders import load_encoder

        encoder = load_encoder(encoder)
    if cache_dir is None:
        encoded = encoder.encode(chosen, batch_size=batch_size, callback=callback)
    else:
        from core.text.cache import EmbeddingCache

        encoded = EmbeddingCache(Path(cache_dir)).encode(
            encoder, chosen, batch_size=batch_size, callback=callback
        )
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    out[with_text] = _unit_rows(np.asarray(encoded, dtype=np.float32))
    return out


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def _unit_vectors(item_vectors: np.ndarray | sp.spmatrix, n_items: int) -> Any:
    if item_vectors.shape[0] != n_items:
        raise SyntheticInteractionsError(
            f"item_vectors has {item_vectors.shape[0]} rows for {n_items} items; give one row "
            "per item of the training index"
        )
    if sp.issparse(item_vectors):
        matrix = sp.csr_matrix(item_vectors, dtype=np.float32)
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        return sp.diags(scale.astype(np.float32)) @ matrix
    return _unit_rows(np.asarray(item_vectors, dtype=np.float32))


def _latest_ts(train: Interactions) -> np.ndarray:
    """Time of each user's latest training interaction (NaT for users without one)."""
    rows, _ = train.entries()
    latest = np.full(train.n_users, np.datetime64("NaT"), dtype="datetime64[s]")
    if train.nnz:
        stamps = train.last_ts.astype("datetime64[s]")
        valid = ~np.isnat(stamps)
        order = np.lexsort((stamps[valid].astype(np.int64), rows[valid]))
        chosen_rows = rows[valid][order]
        last = np.r_[chosen_rows[1:] != chosen_rows[:-1], True]
        latest[chosen_rows[last]] = stamps[valid][order][last]
    return latest


def _draw(scores: np.ndarray, n: int, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """Up to ``n`` distinct positions of positive ``scores``, with P proportional to
    ``scores ** (1 / temperature)``."""
    positive = np.flatnonzero(scores > 0)
    if positive.size == 0:
        return positive
    logs = np.log(scores[positive]) / temperature
    probabilities = np.exp(logs - logs.max())
    probabilities /= probabilities.sum()
    size = min(n, int(np.count_nonzero(probabilities)))
    return rng.choice(positive, size=size, replace=False, p=probabilities)


def _rows_frame(
    train: Interactions,
    users: list[np.ndarray],
    items: list[np.ndarray],
    event: str,
    weight: float,
) -> pd.DataFrame:
    user_idx = np.concatenate(users) if users else np.empty(0, dtype=np.int64)
    item_idx = np.concatenate(items) if items else np.empty(0, dtype=np.int64)
    latest = _latest_ts(train)
    frame = pd.DataFrame(
        {
            "user_id": train.user_ids[user_idx].astype(str),
            "item_id": train.item_ids[item_idx].astype(str),
            "event": event,
            "ts": pd.to_datetime(latest[user_idx]),
            "weight": np.full(user_idx.size, weight, dtype=np.float64),
        },
        columns=list(ROW_COLUMNS),
    )
    return frame[frame["ts"].notna()].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Content-neighbour baseline


def neighbour_interactions(
    train: Interactions,
    item_vectors: np.ndarray | sp.spmatrix,
    target_items: Sequence[str] | np.ndarray,
    *,
    k: int = 10,
    n_per_item: int = 20,
    temperature: float = 1.0,
    min_neighbour_users: int = 1,
    event: str = "view",
    weight: float | None = None,
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Interactions for ``target_items`` drawn from the users of their content neighbours.

    Parameters
    ----------
    train : Interactions
        Training interactions; users are drawn from them.
    item_vectors : numpy.ndarray or scipy.sparse matrix
        One row per item of ``train`` (see :func:`product_vectors`); cosine similarity.
    target_items : sequence of str
        Item ids to generate for (e.g. :func:`sparse_items`).
    k : int
        Neighbours per target: the most similar items with at least ``min_neighbour_users``
        training users, targets excluded. Neighbours with similarity <= 0 do not vote.
    n_per_item : int
        Distinct users drawn per target (fewer when fewer users have a positive score); users
        who already interacted with the target are left out.
    temperature : float
        > 0. Users are drawn with probability proportional to ``score ** (1 / temperature)``:
        below 1 the draw concentrates on the best-scored users, above 1 it flattens.
    event, weight : str, float
        Event type of the rows and their weight (the event's default weight when None).
    random_state : int or numpy.random.Generator
        Seed of the draw.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ROW_COLUMNS`; ``ts`` is the user's latest training interaction.
    """
    k = _check_whole("k", k, 1)
    n_per_item = _check_whole("n_per_item", n_per_item, 1)
    temperature = _check_positive("temperature", temperature)
    min_neighbour_users = _check_whole("min_neighbour_users", min_neighbour_users, 1)
    weight = _event_weight(event, weight)
    targets = item_positions(train, target_items)
    unit = _unit_vectors(item_vectors, train.n_items)
    rng = _rng(random_state)
    by_item = train.matrix.T.tocsr()
    users_per_item = np.diff(by_item.indptr)
    candidates = users_per_item >= min_neighbour_users
    candidates[targets] = False
    warm = np.flatnonzero(candidates)
    drawn_users: list[np.ndarray] = []
    drawn_items: list[np.ndarray] = []
    if warm.size == 0:
        return _rows_frame(train, drawn_users, drawn_items, event, weight)
    similarity = unit[targets] @ unit[warm].T
    similarity = similarity.toarray() if sp.issparse(similarity) else np.asarray(similarity)
    top = min(k, warm.size)
    for row, target in enumerate(targets):
        sims = similarity[row]
        nearest = np.argpartition(-sims, top - 1)[:top]
        nearest = nearest[sims[nearest] > 0]
        if nearest.size == 0:
            continue
        scores = sims[nearest].astype(np.float64) @ by_item[warm[nearest]].toarray()
        scores[by_item[target].indices] = 0.0
        chosen = _draw(scores, n_per_item, temperature, rng)
        drawn_users.append(np.sort(chosen))
        drawn_items.append(np.full(chosen.size, target, dtype=np.int64))
    return _rows_frame(train, drawn_users, drawn_items, event, weight)


# --------------------------------------------------------------------------------------------
# GRU session generator


@contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    import torch

    if n is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def user_sequences(train: Interactions, max_length: int) -> list[np.ndarray]:
    """Each user's training items in time order (latest event per pair; ties by item index),
    the last ``max_length`` kept."""
    rows, cols = train.entries()
    stamps = train.last_ts.astype("datetime64[s]").astype(np.int64)
    order = np.lexsort((cols, stamps, rows))
    bounds = np.searchsorted(rows[order], np.arange(train.n_users + 1))
    ordered = cols[order]
    return [ordered[bounds[u] : bounds[u + 1]][-max_length:] for u in range(train.n_users)]


def _session_module(text_dim: int, hidden_size: int) -> Any:
    import torch

    class SessionGRU(torch.nn.Module):
        """Next-item model whose item embeddings are a projection of the product vectors."""

        def __init__(self) -> None:
            super().__init__()
            self.project = torch.nn.Linear(text_dim, hidden_size)
            self.gru = torch.nn.GRU(hidden_size, hidden_size, batch_first=True)
            self.output = torch.nn.Linear(hidden_size, hidden_size)

        def forward(
            self, sequences: torch.Tensor, vectors: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            """Output states ``(batch, length, hidden)`` and item embeddings ``(n_items,
            hidden)``: the logits of a position are ``state @ items.T``. ``sequences`` are
            padded with ``n_items``."""
            items = self.project(vectors)
            padded = torch.cat([items, items.new_zeros(1, items.shape[1])])
            hidden, _ = self.gru(padded[sequences])
            return self.output(hidden), items

    return SessionGRU()


class GRUGenerator:
    """A GRU next-item model over product vectors, used to generate interactions.

    Parameters
    ----------
    hidden_size : int
        Size of the projected item embeddings and of the GRU state.
    max_length : int
        Most recent items of a user kept as their sequence.
    epochs, batch_size, learning_rate : int, int, float
        Adam training over the users' sequences (users with at least two items).
    random_state : int
        Seed of the initial weights and the batch order.
    num_threads : int or None
        CPU threads for torch; torch's setting if None.

    Attributes
    ----------
    module_ : torch.nn.Module
        The fitted network.
    losses_ : list of float
        Mean next-item cross-entropy of each epoch.
    """

    name = GRU

    def __init__(
        self,
        hidden_size: int = 64,
        max_length: int = 50,
        epochs: int = 5,
        batch_size: int = 64,
        learning_rate: float = 5e-3,
        random_state: int = 0,
        num_threads: int | None = None,
    ) -> None:
        self.hidden_size = hidden_size
        self.max_length = max_length
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.num_threads = num_threads

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__``."""
        return {
            "hidden_size": self.hidden_size,
            "max_length": self.max_length,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "random_state": self.random_state,
            "num_threads": self.num_threads,
        }

    def fit(
        self,
        train: Interactions,
        item_vectors: np.ndarray,
        *,
        callback: ProgressCallback | None = None,
    ) -> GRUGenerator:
        """Learn next-item prediction from ``train``'s per-user sequences.

        Parameters
        ----------
        train : Interactions
            Training interactions (their ``last_ts`` orders each user's items).
        item_vectors : numpy.ndarray
            ``(n_items, d)`` dense product vectors, frozen (see :func:`product_vectors`).
        callback : callable, optional
            ``callback(step, total, info)`` after every batch; at the end of an epoch ``info``
            is a :class:`core.progress.ProgressInfo` with ``epoch`` and ``train_loss``. It may
            raise :class:`core.errors.TrainingCancelled` to stop.

        Returns
        -------
        self
        """
        import torch

        hidden = _check_whole("hidden_size", self.hidden_size, 1)
        max_length = _check_whole("max_length", self.max_length, 2)
        epochs = _check_whole("epochs", self.epochs, 1)
        batch_size = _check_whole("batch_size", self.batch_size, 1)
        learning_rate = _check_positive("learning_rate", self.learning_rate)
        if sp.issparse(item_vectors):
            raise SyntheticInteractionsError(
                "the GRU generator needs dense product vectors: use product_vectors(..., "
                "method='encoder')"
            )
        vectors = _unit_vectors(item_vectors, train.n_items)
        sequences = [seq for seq in user_sequences(train, max_length) if seq.size >= 2]
        if not sequences:
            raise SyntheticInteractionsError(
                "no user has two training interactions: the GRU generator has nothing to learn"
            )
        rng = np.random.default_rng(self.random_state)
        lengths = np.array([seq.size for seq in sequences])
        n_batches = -(-len(sequences) // batch_size)
        total = epochs * n_batches
        losses: list[float] = []
        with _torch_threads(self.num_threads), torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            module = _session_module(vectors.shape[1], hidden)
            optimiser = torch.optim.Adam(module.parameters(), lr=learning_rate)
            text = torch.from_numpy(vectors)
            step = 0
            for epoch in range(1, epochs + 1):
                module.train()
                loss_sum, count = 0.0, 0
                for batch_rows in _length_batches(lengths, batch_size, rng):
                    batch = _pad([sequences[i] for i in batch_rows], train)
                    inputs = torch.from_numpy(batch[:, :-1])
                    targets = torch.from_numpy(batch[:, 1:])
                    # Logits only where there is a next item: padding costs no softmax.
                    valid = targets != train.n_items
                    states, items = module(inputs, text)
                    loss = torch.nn.functional.cross_entropy(
                        states[valid] @ items.T, targets[valid], reduction="sum"
                    )
                    n_targets = int(valid.sum())
                    optimiser.zero_grad()
                    (loss / n_targets).backward()
                    optimiser.step()
                    loss_sum += float(loss.detach())
                    count += n_targets
                    step += 1
                    if callback is not None and step % n_batches != 0:
                        callback(step, total, f"epoch {epoch}/{epochs}")
                losses.append(loss_sum / count)
                if callback is not None:
                    point = {EPOCH: float(epoch), TRAIN_LOSS: losses[-1]}
                    text_line = f"epoch {epoch}/{epochs}: loss {losses[-1]:.4f}"
                    callback(step, total, ProgressInfo(text_line, point))
        module.eval()
        self.module_ = module
        self.item_vectors_ = vectors
        self.losses_ = losses
        self.n_items_ = train.n_items
        self.item_ids_ = np.asarray(train.item_ids, dtype=object)
        return self

    def _check_fitted(self, train: Interactions) -> None:
        if not hasattr(self, "module_"):
            raise SyntheticInteractionsError("the GRU generator is not fitted; call fit() first")
        if train.n_items != self.n_items_:
            raise SyntheticInteractionsError(
                f"the generator was fitted on {self.n_items_} items, not {train.n_items}"
            )
        item_ids = getattr(self, "item_ids_", None)
        if item_ids is not None and not np.array_equal(item_ids, train.item_ids):
            raise SyntheticInteractionsError(
                "the generator was fitted on another item index than these interactions: "
                "train a new one on this split"
            )

    def save(self, folder: Path) -> None:
        """Write the fitted network, its product vectors and item ids, and its parameters.

        ``generator.safetensors`` holds the network's weights and the ``(n_items, d)`` product
        vectors it projects; ``generator.json`` the hyperparameters, the epoch losses and the
        item ids, in index order.
        """
        from safetensors.torch import save_file

        if not hasattr(self, "module_"):
            raise SyntheticInteractionsError("the GRU generator is not fitted; call fit() first")
        import torch

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {f"module.{k}": v.contiguous() for k, v in self.module_.state_dict().items()}
        tensors["item_vectors"] = torch.from_numpy(np.ascontiguousarray(self.item_vectors_))
        save_file(tensors, str(folder / GENERATOR_WEIGHTS))
        atomic_write_json(
            folder / GENERATOR_META,
            {
                "params": self.get_params(),
                "losses": list(self.losses_),
                "n_items": int(self.n_items_),
                "item_ids": [str(i) for i in getattr(self, "item_ids_", [])],
            },
        )

    @classmethod
    def load(cls, folder: Path) -> GRUGenerator:
        """A generator written by :meth:`save`, ready to generate."""
        from safetensors.torch import load_file

        folder = Path(folder)
        if not (folder / GENERATOR_WEIGHTS).is_file() or not (folder / GENERATOR_META).is_file():
            raise SyntheticInteractionsError(
                f"no saved GRU generator in {folder}: only GRU runs keep one"
            )
        meta = json.loads((folder / GENERATOR_META).read_text())
        tensors = load_file(str(folder / GENERATOR_WEIGHTS))
        model = cls(**meta["params"])
        vectors = tensors.pop("item_vectors").numpy()
        module = _session_module(vectors.shape[1], int(model.hidden_size))
        module.load_state_dict({k.removeprefix("module."): v for k, v in tensors.items()})
        module.eval()
        model.module_ = module
        model.item_vectors_ = vectors
        model.losses_ = list(meta["losses"])
        model.n_items_ = int(meta["n_items"])
        if meta.get("item_ids"):
            model.item_ids_ = np.asarray(meta["item_ids"], dtype=object)
        return model

    def next_item_log_probs(self, train: Interactions, user_idx: np.ndarray) -> np.ndarray:
        """``(len(user_idx), n_items)`` log-probabilities of each user's next item, after
        their training sequence (rows of users without one are NaN)."""
        import torch

        self._check_fitted(train)
        users = np.asarray(user_idx, dtype=np.int64)
        sequences = user_sequences(train, int(self.max_length))
        out = np.full((users.size, train.n_items), np.nan, dtype=np.float32)
        text = torch.from_numpy(self.item_vectors_)
        with _torch_threads(self.num_threads), torch.no_grad():
            for start in range(0, users.size, 256):
                chunk = users[start : start + 256]
                chosen = [row for row, user in enumerate(chunk) if sequences[user].size]
                if not chosen:
                    continue
                batch = _pad([sequences[chunk[row]] for row in chosen], train)
                lengths = np.array([sequences[chunk[row]].size for row in chosen])
                states, items = self.module_(torch.from_numpy(batch), text)
                last = states[torch.arange(len(chosen)), torch.from_numpy(lengths - 1)]
                out[start + np.asarray(chosen)] = torch.log_softmax(last @ items.T, dim=1).numpy()
        return out

    def generate_for_items(
        self,
        train: Interactions,
        target_items: Sequence[str] | np.ndarray,
        *,
        n_per_item: int = 20,
        temperature: float = 1.0,
        event: str = "view",
        weight: float | None = None,
        random_state: RandomState = 0,
    ) -> pd.DataFrame:
        """Users for each target item, drawn with P proportional to
        ``p(next = item | user) ** (1 / temperature)`` (see the module notes).

        Users with a training sequence who have not interacted with the item are candidates.
        Returns a frame of :data:`ROW_COLUMNS`.
        """
        n_per_item = _check_whole("n_per_item", n_per_item, 1)
        temperature = _check_positive("temperature", temperature)
        weight = _event_weight(event, weight)
        targets = item_positions(train, target_items)
        rng = _rng(random_state)
        users = np.flatnonzero(np.diff(train.matrix.indptr) > 0)
        log_probs = self.next_item_log_probs(train, users)[:, targets].astype(np.float64)
        by_item = train.matrix.T.tocsr()
        drawn_users: list[np.ndarray] = []
        drawn_items: list[np.ndarray] = []
        for column, target in enumerate(targets):
            scores = np.exp(log_probs[:, column] - log_probs[:, column].max())
            scores[np.isin(users, by_item[target].indices)] = 0.0
            chosen = users[_draw(scores, n_per_item, temperature, rng)]
            drawn_users.append(np.sort(chosen))
            drawn_items.append(np.full(chosen.size, target, dtype=np.int64))
        return _rows_frame(train, drawn_users, drawn_items, event, weight)

    def generate_for_users(
        self,
        train: Interactions,
        user_ids: Sequence[str] | np.ndarray,
        *,
        n_per_user: int = 5,
        temperature: float = 1.0,
        candidate_items: Sequence[str] | np.ndarray | None = None,
        event: str = "view",
        weight: float | None = None,
        random_state: RandomState = 0,
    ) -> pd.DataFrame:
        """Next items for chosen users: ``n_per_user`` distinct items sampled without
        replacement from ``p(next | user) ** (1 / temperature)`` over ``candidate_items``
        (every item when None), items of the user's history excluded.

        Users without a training sequence get nothing. Returns a frame of :data:`ROW_COLUMNS`.
        """
        n_per_user = _check_whole("n_per_user", n_per_user, 1)
        temperature = _check_positive("temperature", temperature)
        weight = _event_weight(event, weight)
        users = user_positions(train, user_ids)
        allowed = np.ones(train.n_items, dtype=bool)
        if candidate_items is not None:
            allowed[:] = False
            allowed[item_positions(train, candidate_items)] = True
        rng = _rng(random_state)
        log_probs = self.next_item_log_probs(train, users).astype(np.float64)
        drawn_users: list[np.ndarray] = []
        drawn_items: list[np.ndarray] = []
        for row, user in enumerate(users):
            if np.isnan(log_probs[row]).all():
                continue
            keys = log_probs[row] / temperature + rng.gumbel(size=train.n_items)
            keys[~allowed] = -np.inf
            keys[train.matrix[user].indices] = -np.inf
            size = min(n_per_user, int(np.isfinite(keys).sum()))
            chosen = np.argsort(-keys, kind="stable")[:size]
            drawn_users.append(np.full(chosen.size, user, dtype=np.int64))
            drawn_items.append(chosen.astype(np.int64))
        return _rows_frame(train, drawn_users, drawn_items, event, weight)


def _length_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Batches of sequences of similar length (little padding), in a random order."""
    order = np.lexsort((rng.random(lengths.size), lengths))
    batches = [order[start : start + batch_size] for start in range(0, order.size, batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _pad(sequences: list[np.ndarray], train: Interactions) -> np.ndarray:
    width = max(seq.size for seq in sequences)
    batch = np.full((len(sequences), width), train.n_items, dtype=np.int64)
    for row, seq in enumerate(sequences):
        batch[row, : seq.size] = seq
    return batch


# --------------------------------------------------------------------------------------------
# Storage and review


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def train_end(split: Split) -> datetime | None:
    """End of a temporal split's training period (the validation cut-off, else the test
    cut-off); None for other splits, whose parts are not separated in time."""
    if split.method != "temporal":
        return None
    value = split.params.get("valid_cutoff") or split.params.get("cutoff")
    return None if value is None else pd.Timestamp(value).to_pydatetime()


def add_interactions(
    ws: Workspace,
    rows: pd.DataFrame,
    *,
    generator: str,
    params: Mapping[str, Any],
    before: datetime | None = None,
    metrics: Mapping[str, Any] | None = None,
    write_files: Callable[[Path], None] | None = None,
) -> str:
    """Store generated ``rows`` as pending synthetic interactions of a new run; return its id.

    Parameters
    ----------
    ws : Workspace
        Where to store them (table :data:`INTERACTIONS_TABLE`); real tables are not touched.
    rows : pandas.DataFrame
        Columns :data:`ROW_COLUMNS`.
    generator : str
        Name of the generator (:data:`GENERATORS` or another label).
    params : mapping
        Generation parameters for the run record.
    before : datetime, optional
        Every ``ts`` must be earlier (the split's :func:`train_end`).
    metrics : mapping, optional
        Counts and timings for the run record.
    write_files : callable, optional
        ``write_files(folder)`` writes files kept with the run (e.g. its generator); the run
        is recorded only when it succeeds.
    """
    missing = set(ROW_COLUMNS) - set(rows.columns)
    if missing:
        raise SyntheticInteractionsError(
            f"rows need the columns {', '.join(ROW_COLUMNS)} (missing {', '.join(sorted(missing))})"
        )
    if not generator:
        raise SyntheticInteractionsError("name the generator of the rows")
    frame = rows[list(ROW_COLUMNS)].copy()
    frame["ts"] = pd.to_datetime(frame["ts"])
    if frame[["user_id", "item_id", "event", "ts", "weight"]].isna().any().any():
        raise SyntheticInteractionsError("a row has an empty user, item, event, time or weight")
    if before is not None and (frame["ts"] >= pd.Timestamp(before)).any():
        raise SyntheticInteractionsError(
            f"synthetic rows must fall before {before} (the end of the training period)"
        )
    frame = frame.astype({"user_id": str, "item_id": str, "event": str, "weight": float})
    run_id = ws.record_run(
        kind=RUN_KIND,
        name=generator,
        params={"generator": generator, **dict(params)},
        metrics={"n_rows": len(frame), **dict(metrics or {})},
        write_files=write_files or (lambda folder: None),
    )
    try:
        with ws.transaction() as con:
            con.execute(_DDL)
            con.register("new_interactions", frame)
            con.execute(
                f"""INSERT INTO {INTERACTIONS_TABLE}
                SELECT user_id, item_id, event, CAST(ts AS TIMESTAMP), weight, ?, ?, ?, ?
                FROM new_interactions""",
                [generator, run_id, PENDING, _now()],
            )
            con.unregister("new_interactions")
    except BaseException:
        ws.delete_run(run_id)
        raise
    return run_id


def _where(
    run_id: str | None, generator: str | Sequence[str] | None, status: str | None
) -> tuple[str, list[Any]]:
    clauses, args = [], []
    if run_id is not None:
        clauses.append("run_id = ?")
        args.append(run_id)
    if generator is not None:
        names = [generator] if isinstance(generator, str) else list(generator)
        clauses.append(f"generator IN ({', '.join('?' * len(names))})" if names else "false")
        args.extend(names)
    if status is not None:
        if status not in STATUSES:
            raise SyntheticInteractionsError(
                f"unknown status {status!r}; use one of {', '.join(STATUSES)}"
            )
        clauses.append("status = ?")
        args.append(status)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def list_interactions(
    ws: Workspace,
    *,
    run_id: str | None = None,
    generator: str | Sequence[str] | None = None,
    status: str | None = None,
) -> pd.DataFrame:
    """Stored synthetic interactions (columns :data:`COLUMNS`), filtered, in a stable order."""
    where, args = _where(run_id, generator, status)
    with ws.connect() as con:
        con.execute(_DDL)
        return con.execute(
            f"SELECT {', '.join(COLUMNS)} FROM {INTERACTIONS_TABLE}{where} "
            "ORDER BY created_at, run_id, item_id, user_id",
            args,
        ).df()


def set_interaction_status(
    ws: Workspace,
    status: str,
    *,
    run_id: str | None = None,
    generator: str | Sequence[str] | None = None,
    item_ids: Sequence[str] | None = None,
    current_status: str | None = None,
) -> int:
    """Accept, reject or reset every synthetic interaction matching the filters; return how
    many changed. At least one filter is needed, so nothing changes everything by accident."""
    if status not in STATUSES:
        raise SyntheticInteractionsError(
            f"unknown status {status!r}; use one of {', '.join(STATUSES)}"
        )
    where, args = _where(run_id, generator, current_status)
    if item_ids is not None:
        ids = [str(item) for item in item_ids]
        clause = f"item_id IN ({', '.join('?' * len(ids))})" if ids else "false"
        where = f"{where} AND {clause}" if where else f" WHERE {clause}"
        args.extend(ids)
    if not where:
        raise SyntheticInteractionsError("name the rows to change: give a run, generator or items")
    with ws.transaction() as con:
        con.execute(_DDL)
        (count,) = con.execute(
            f"SELECT count(*) FROM {INTERACTIONS_TABLE}{where}", args
        ).fetchall()[0]
        con.execute(f"UPDATE {INTERACTIONS_TABLE} SET status = ?{where}", [status, *args])
    return int(count)


def interaction_summary(ws: Workspace) -> pd.DataFrame:
    """One row per run: run_id, generator, created_at, rows, items, users and status counts."""
    with ws.connect() as con:
        con.execute(_DDL)
        return con.execute(
            f"""SELECT run_id, any_value(generator) AS generator, min(created_at) AS created_at,
                count(*) AS n_rows, count(DISTINCT item_id) AS n_items,
                count(DISTINCT user_id) AS n_users,
                count(*) FILTER (WHERE status = '{PENDING}') AS pending,
                count(*) FILTER (WHERE status = '{ACCEPTED}') AS accepted,
                count(*) FILTER (WHERE status = '{REJECTED}') AS rejected
            FROM {INTERACTIONS_TABLE} GROUP BY run_id ORDER BY created_at DESC, run_id"""
        ).df()


def delete_interaction_run(ws: Workspace, run_id: str) -> int:
    """Delete the synthetic interactions of ``run_id`` and its run record; return the rows."""
    with ws.transaction() as con:
        con.execute(_DDL)
        (count,) = con.execute(
            f"SELECT count(*) FROM {INTERACTIONS_TABLE} WHERE run_id = ?", [run_id]
        ).fetchall()[0]
        con.execute(f"DELETE FROM {INTERACTIONS_TABLE} WHERE run_id = ?", [run_id])
    ws.delete_run(run_id)
    return int(count)


# --------------------------------------------------------------------------------------------
# Generation runs


def load_generator(ws: Workspace, run_id: str) -> GRUGenerator:
    """The GRU generator trained in run ``run_id`` (see :meth:`GRUGenerator.save`)."""
    row = ws.run_row(run_id, kind=RUN_KIND)
    if row is None:
        raise SyntheticInteractionsError(f"no synthetic interaction run {run_id!r}")
    return GRUGenerator.load(ws.runs_dir / run_id)


def saved_generators(ws: Workspace) -> pd.DataFrame:
    """GRU runs whose trained generator is saved: run_id, created_at, final training loss."""
    runs = ws.list_runs(kind=RUN_KIND)
    rows = []
    for run in runs.itertuples(index=False):
        folder = ws.runs_dir / run.run_id
        if (folder / GENERATOR_WEIGHTS).is_file() and (folder / GENERATOR_META).is_file():
            losses = json.loads((folder / GENERATOR_META).read_text()).get("losses") or [None]
            rows.append((run.run_id, run.created_at, losses[-1]))
    return pd.DataFrame(rows, columns=["run_id", "created_at", "train_loss"])


@dataclass(frozen=True)
class InteractionRun:
    """A stored batch of synthetic interactions: its run id, rows and metrics."""

    run_id: str
    generator: str
    rows: pd.DataFrame
    metrics: dict[str, Any]


def synthesize_interactions(
    ws: Workspace,
    split: Split,
    item_vectors: np.ndarray | sp.spmatrix,
    *,
    generator: str = NEIGHBOURS,
    target_items: Sequence[str] | np.ndarray | None = None,
    n_per_item: int = 20,
    temperature: float = 1.0,
    k: int = 10,
    gru_params: Mapping[str, Any] | None = None,
    reuse_run: str | None = None,
    random_state: int = 0,
    callback: ProgressCallback | None = None,
) -> InteractionRun:
    """Generate interactions for ``target_items`` with ``generator`` and store them as pending.

    ``target_items`` defaults to the items without training interactions
    (:func:`sparse_items`). ``k`` is the neighbour count of the ``neighbours`` generator,
    ``gru_params`` the hyperparameters of :class:`GRUGenerator`; ``callback`` reports the GRU's
    training and may cancel it (nothing is stored then). The trained GRU is saved with the
    run; ``reuse_run`` names an earlier GRU run whose generator generates instead of a new
    one (it must have been trained on the same item index).
    """
    if generator not in GENERATORS:
        raise SyntheticInteractionsError(
            f"unknown generator {generator!r}; use one of {', '.join(GENERATORS)}"
        )
    targets = sparse_items(split.train) if target_items is None else np.asarray(target_items)
    began = time.perf_counter()
    params: dict[str, Any] = {
        "n_targets": len(targets),
        "n_per_item": n_per_item,
        "temperature": temperature,
        "random_state": random_state,
        "split": {"method": split.method, **split.params},
    }
    metrics: dict[str, Any] = {}
    write_files: Callable[[Path], None] | None = None
    if generator == NEIGHBOURS:
        params["k"] = k
        rows = neighbour_interactions(
            split.train,
            item_vectors,
            targets,
            k=k,
            n_per_item=n_per_item,
            temperature=temperature,
            random_state=random_state,
        )
    else:
        if reuse_run is not None:
            model = load_generator(ws, reuse_run)
            model._check_fitted(split.train)
            params["reused_generator"] = reuse_run
        else:
            model = GRUGenerator(**{"random_state": random_state, **dict(gru_params or {})})
            model.fit(split.train, item_vectors, callback=callback)
        params["gru"] = model.get_params()
        metrics["train_loss"] = model.losses_
        write_files = model.save
        rows = model.generate_for_items(
            split.train,
            targets,
            n_per_item=n_per_item,
            temperature=temperature,
            random_state=random_state,
        )
    metrics.update(
        seconds=time.perf_counter() - began,
        n_items=int(rows["item_id"].nunique()),
        n_users=int(rows["user_id"].nunique()),
    )
    run_id = add_interactions(
        ws,
        rows,
        generator=generator,
        params=params,
        before=train_end(split),
        metrics=metrics,
        write_files=write_files,
    )
    return InteractionRun(run_id, generator, rows, metrics)


# --------------------------------------------------------------------------------------------
# Training data with synthetic interactions


@dataclass(frozen=True)
class Augmentation:
    """A split's training interactions plus synthetic ones, with what was left out.

    Attributes
    ----------
    train : Interactions
        Real training entries plus the synthetic pairs, on the split's index; a pair present
        in both gets the sum of the weights.
    synthetic : Interactions
        The synthetic pairs alone, on the same index.
    n_rows : int
        Synthetic rows read.
    n_unknown_users, n_unknown_items : int
        Rows skipped because their user or item is not in the split's index.
    n_after_end : int
        Rows skipped because they fall at or after the end of the training period.
    """

    train: Interactions
    synthetic: Interactions
    n_rows: int
    n_unknown_users: int
    n_unknown_items: int
    n_after_end: int


def _merge(
    train: Interactions,
    rows: np.ndarray,
    cols: np.ndarray,
    weights: np.ndarray,
    stamps: np.ndarray,
) -> Interactions:
    """``train``'s index with entries (rows, cols) summed by pair, latest time kept."""
    frame = pd.DataFrame({"row": rows, "col": cols, "weight": weights, "ts": stamps})
    grouped = frame.groupby(["row", "col"], sort=True).agg(
        weight=("weight", "sum"), ts=("ts", "max")
    )
    index = grouped.index
    return Interactions.from_arrays(
        train.user_ids,
        train.item_ids,
        index.get_level_values(0).to_numpy(np.int64),
        index.get_level_values(1).to_numpy(np.int64),
        grouped["weight"].to_numpy(np.float32),
        grouped["ts"].to_numpy("datetime64[s]"),
    )


def augment(
    split: Split,
    ws: Workspace,
    *,
    generators: str | Sequence[str] | None = None,
    status: str = ACCEPTED,
    run_id: str | None = None,
) -> Augmentation:
    """The split's training interactions plus the stored synthetic ones with ``status``.

    Parameters
    ----------
    split : Split
        Its training part and index are used; test and validation parts are untouched.
    ws : Workspace
        Holds the synthetic interactions.
    generators : str or sequence of str, optional
        Only these generators' rows; all when None.
    status : str
        Rows of this status (``accepted`` by default; rejected rows are never meant to train).
    run_id : str, optional
        Only this run's rows.
    """
    stored = list_interactions(ws, run_id=run_id, generator=generators, status=status)
    users = stored["user_id"].map(split.train.user_index)
    items = stored["item_id"].map(split.train.item_index)
    end = train_end(split)
    stamps = pd.to_datetime(stored["ts"])
    in_time = np.ones(len(stored), dtype=bool) if end is None else (stamps < end).to_numpy()
    known = users.notna().to_numpy() & items.notna().to_numpy()
    keep = known & in_time
    rows = users[keep].to_numpy(np.int64)
    cols = items[keep].to_numpy(np.int64)
    weights = stored["weight"][keep].to_numpy(np.float64)
    times = stamps[keep].to_numpy("datetime64[s]")
    real_rows, real_cols = split.train.entries()
    train = _merge(
        split.train,
        np.r_[real_rows, rows],
        np.r_[real_cols, cols],
        np.r_[split.train.matrix.data.astype(np.float64), weights],
        np.r_[split.train.last_ts.astype("datetime64[s]"), times],
    )
    synthetic = _merge(split.train, rows, cols, weights, times)
    return Augmentation(
        train=train,
        synthetic=synthetic,
        n_rows=len(stored),
        n_unknown_users=int(users.isna().sum()),
        n_unknown_items=int((users.notna() & items.isna()).sum()),
        n_after_end=int((known & ~in_time).sum()),
    )


def augmented_train(
    split: Split,
    ws: Workspace,
    generators: str | Sequence[str] | None = None,
    status: str = ACCEPTED,
) -> Interactions:
    """The split's training interactions plus the synthetic ones with ``status`` (see
    :func:`augment`, which also counts the rows it skipped)."""
    return augment(split, ws, generators=generators, status=status).train
