"""GRU session model over product vectors that generates interactions for cold items and users."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.checks import RandomState, check_positive, check_whole, random_generator
from core.data.interactions import Interactions
from core.data.workspace import atomic_write_json
from core.errors import SyntheticInteractionsError
from core.progress import EPOCH, TRAIN_LOSS, ProgressCallback, ProgressInfo
from core.synth.interactions.inputs import item_positions, unit_vectors, user_positions
from core.synth.interactions.rows import draw, event_weight, rows_frame
from core.text.runtime import torch_threads

GRU = "gru"

# Files of a saved GRU generator, in its run's folder.
GENERATOR_WEIGHTS = "generator.safetensors"
GENERATOR_META = "generator.json"


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
    noise_multiplier : float or None
        None: ordinary training. A number >= 0: differentially private training (DP-SGD with
        user-level clipping, :mod:`~core.synth.interactions.private`), ``batch_size`` then the
        expected size of Poisson-sampled batches.
    max_grad_norm, delta : float
        Clipping norm of each user's gradient and the delta of the reported epsilon.

    Attributes
    ----------
    module_ : torch.nn.Module
        The fitted network.
    losses_ : list of float
        Mean next-item cross-entropy of each epoch.
    epsilon_ : float or None
        Epsilon at ``delta`` of a private fit (Opacus's RDP accountant); None otherwise.
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
        noise_multiplier: float | None = None,
        max_grad_norm: float = 1.0,
        delta: float = 1e-5,
    ) -> None:
        self.hidden_size = hidden_size
        self.max_length = max_length
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.num_threads = num_threads
        self.noise_multiplier = noise_multiplier
        self.max_grad_norm = max_grad_norm
        self.delta = delta

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
            "noise_multiplier": self.noise_multiplier,
            "max_grad_norm": self.max_grad_norm,
            "delta": self.delta,
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
            ``(n_items, d)`` dense product vectors, frozen (see
            :func:`~core.synth.interactions.inputs.product_vectors`).
        callback : callable, optional
            ``callback(step, total, info)`` after every batch; at the end of an epoch ``info``
            is a :class:`core.progress.ProgressInfo` with ``epoch`` and ``train_loss``. It may
            raise :class:`core.errors.TrainingCancelled` to stop.

        Returns
        -------
        self
        """
        import torch

        hidden = check_whole("hidden_size", self.hidden_size, 1, SyntheticInteractionsError)
        max_length = check_whole("max_length", self.max_length, 2, SyntheticInteractionsError)
        epochs = check_whole("epochs", self.epochs, 1, SyntheticInteractionsError)
        batch_size = check_whole("batch_size", self.batch_size, 1, SyntheticInteractionsError)
        learning_rate = check_positive(
            "learning_rate", self.learning_rate, SyntheticInteractionsError
        )
        if sp.issparse(item_vectors):
            raise SyntheticInteractionsError(
                "the GRU generator needs dense product vectors: use product_vectors(..., "
                "method='encoder')"
            )
        vectors = unit_vectors(item_vectors, train.n_items)
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
        with torch_threads(self.num_threads), torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            module = _session_module(vectors.shape[1], hidden)
            optimiser = torch.optim.Adam(module.parameters(), lr=learning_rate)
            text = torch.from_numpy(vectors)
            step = 0
            self.epsilon_ = None
            if self.noise_multiplier is not None:
                losses = self._fit_private(module, optimiser, text, sequences, train, callback)
                epochs = 0
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

    def _fit_private(
        self,
        module: Any,
        optimiser: Any,
        text: Any,
        sequences: list[np.ndarray],
        train: Interactions,
        callback: ProgressCallback | None,
    ) -> list[float]:
        """DP-SGD epochs over the users' sequences; sets ``epsilon_``."""
        import torch

        from core.synth.interactions.private import dp_epsilon, private_epochs

        def user_loss(record: int) -> torch.Tensor:
            batch = torch.from_numpy(_pad([sequences[record]], train))
            states, items = module(batch[:, :-1], text)
            return torch.nn.functional.cross_entropy(states[0] @ items.T, batch[0, 1:])

        def on_step(step: int, total: int) -> None:
            if callback is not None:
                callback(step, total, f"private step {step}/{total}")

        def on_epoch(epoch: int, loss: float) -> None:
            if callback is not None:
                point = {EPOCH: float(epoch), TRAIN_LOSS: loss}
                callback(0, 1, ProgressInfo(f"epoch {epoch}: loss {loss:.4f}", point))

        noise = check_positive(
            "noise_multiplier", self.noise_multiplier, SyntheticInteractionsError, allow_zero=True
        )
        losses, steps, sample_rate = private_epochs(
            module, optimiser, user_loss, len(sequences), epochs=int(self.epochs),
            batch_size=int(self.batch_size), max_grad_norm=self.max_grad_norm,
            noise_multiplier=noise, random_state=int(self.random_state),
            on_step=on_step, on_epoch=on_epoch,
        )  # fmt: skip
        self.epsilon_ = (
            float("inf") if noise == 0 else dp_epsilon(noise, sample_rate, steps, self.delta)
        )
        return losses

    def check_fitted(self, train: Interactions) -> None:
        """Raise unless the generator is fitted on the item index of ``train``."""
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
                "epsilon": getattr(self, "epsilon_", None),
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
        model.epsilon_ = meta.get("epsilon")
        model.n_items_ = int(meta["n_items"])
        if meta.get("item_ids"):
            model.item_ids_ = np.asarray(meta["item_ids"], dtype=object)
        return model

    def next_item_log_probs(self, train: Interactions, user_idx: np.ndarray) -> np.ndarray:
        """``(len(user_idx), n_items)`` log-probabilities of each user's next item, after
        their training sequence (rows of users without one are NaN)."""
        import torch

        self.check_fitted(train)
        users = np.asarray(user_idx, dtype=np.int64)
        sequences = user_sequences(train, int(self.max_length))
        out = np.full((users.size, train.n_items), np.nan, dtype=np.float32)
        text = torch.from_numpy(self.item_vectors_)
        with torch_threads(self.num_threads), torch.no_grad():
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
        ``p(next = item | user) ** (1 / temperature)`` (see :mod:`core.synth.interactions`).

        Users with a training sequence who have not interacted with the item are candidates.
        Returns a frame of :data:`~core.synth.interactions.store.ROW_COLUMNS`.
        """
        n_per_item = check_whole("n_per_item", n_per_item, 1, SyntheticInteractionsError)
        temperature = check_positive("temperature", temperature, SyntheticInteractionsError)
        weight = event_weight(event, weight)
        targets = item_positions(train, target_items)
        rng = random_generator(random_state)
        users = np.flatnonzero(np.diff(train.matrix.indptr) > 0)
        log_probs = self.next_item_log_probs(train, users)[:, targets].astype(np.float64)
        by_item = train.matrix.T.tocsr()
        drawn_users: list[np.ndarray] = []
        drawn_items: list[np.ndarray] = []
        for column, target in enumerate(targets):
            scores = np.exp(log_probs[:, column] - log_probs[:, column].max())
            scores[np.isin(users, by_item[target].indices)] = 0.0
            chosen = users[draw(scores, n_per_item, temperature, rng)]
            drawn_users.append(np.sort(chosen))
            drawn_items.append(np.full(chosen.size, target, dtype=np.int64))
        return rows_frame(train, drawn_users, drawn_items, event, weight)

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

        Users without a training sequence get nothing. Returns a frame of
        :data:`~core.synth.interactions.store.ROW_COLUMNS`.
        """
        n_per_user = check_whole("n_per_user", n_per_user, 1, SyntheticInteractionsError)
        temperature = check_positive("temperature", temperature, SyntheticInteractionsError)
        weight = event_weight(event, weight)
        users = user_positions(train, user_ids)
        allowed = np.ones(train.n_items, dtype=bool)
        if candidate_items is not None:
            allowed[:] = False
            allowed[item_positions(train, candidate_items)] = True
        rng = random_generator(random_state)
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
        return rows_frame(train, drawn_users, drawn_items, event, weight)


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
