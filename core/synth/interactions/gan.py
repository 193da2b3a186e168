"""A conditional GAN that maps a product's text vector to the users who would interact with it.

CFGAN-style (Chae et al. 2018, "CFGAN: A Generic Collaborative Filtering Framework based on
Generative Adversarial Networks"), conditioned on product text instead of a user's history so
that it reaches cold items. Each warm item ``i`` is a real example: its 0/1 vector ``r_i`` over
the users and its unit text vector ``c_i``. The generator ``G(c, z)`` (an MLP, sigmoid outputs)
maps the text vector and noise to a vector over users; the discriminator ``D(r, c)`` (an MLP)
tells real vectors from generated ones, given the same text.

The two devices of CFGAN keep the generator from the trivial all-ones answer:

* partial masking: the discriminator sees ``G(c_i, z) * (r_i + k_i)``, the generated values at
  the item's real users plus a random share ``pm_share`` of its other users (``k_i``), so it
  judges the pattern on real users and the sampled negatives, not on the rest;
* zero reconstruction: ``zr_weight`` times the mean squared output at another random share
  ``zr_share`` of the item's non-users is added to the generator's loss.

For a cold item ``t`` the generator's output averaged over a few noise draws scores every user,
and users are drawn with probability proportional to ``score ** (1 / temperature)``, those who
already interacted with ``t`` left out (as the other generators do).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.checks import RandomState, check_fraction, check_positive, check_whole, random_generator
from core.data.interactions import Interactions
from core.errors import SyntheticInteractionsError
from core.progress import EPOCH, TRAIN_LOSS, ProgressCallback, ProgressInfo
from core.synth.interactions.inputs import item_positions, unit_vectors
from core.synth.interactions.rows import draw, event_weight, rows_frame
from core.text.runtime import torch_threads

GAN = "gan"


def _networks(text_dim: int, n_users: int, noise_dim: int, hidden: int) -> tuple[Any, Any]:
    import torch

    generator = torch.nn.Sequential(
        torch.nn.Linear(text_dim + noise_dim, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, n_users),
        torch.nn.Sigmoid(),
    )
    discriminator = torch.nn.Sequential(
        torch.nn.Linear(n_users + text_dim, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 1),
    )
    return generator, discriminator


class GANGenerator:
    """Conditional GAN over item audiences (see the module docstring).

    Parameters
    ----------
    hidden_size, noise_dim : int
        Width of both networks' hidden layers; size of the noise ``z``.
    epochs, batch_size, learning_rate : int, int, float
        Adam training of both networks over the warm items, one discriminator and one
        generator step per batch.
    pm_share, zr_share : float
        Shares of an item's non-users sampled for partial masking and zero reconstruction.
    zr_weight : float
        Weight of the zero-reconstruction term in the generator's loss.
    min_users : int
        Items with at least this many training users are the real examples.
    n_noise : int
        Noise draws averaged when scoring users for a target.
    random_state : int
        Seed of the weights, the noise and the masks.
    num_threads : int or None
        CPU threads for torch; torch's setting if None.

    Attributes
    ----------
    generator_, discriminator_ : torch.nn.Module
    losses_ : list of float
        Generator loss (adversarial plus zero reconstruction) of each epoch.
    discriminator_losses_ : list of float
    """

    name = GAN

    def __init__(
        self,
        hidden_size: int = 256,
        noise_dim: int = 16,
        epochs: int = 60,
        batch_size: int = 64,
        learning_rate: float = 1e-3,
        pm_share: float = 0.3,
        zr_share: float = 0.3,
        zr_weight: float = 0.1,
        min_users: int = 2,
        n_noise: int = 8,
        random_state: int = 0,
        num_threads: int | None = None,
    ) -> None:
        self.hidden_size = hidden_size
        self.noise_dim = noise_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.pm_share = pm_share
        self.zr_share = zr_share
        self.zr_weight = zr_weight
        self.min_users = min_users
        self.n_noise = n_noise
        self.random_state = random_state
        self.num_threads = num_threads

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__``."""
        names = ("hidden_size", "noise_dim", "epochs", "batch_size", "learning_rate",
                 "pm_share", "zr_share", "zr_weight", "min_users", "n_noise", "random_state",
                 "num_threads")  # fmt: skip
        return {name: getattr(self, name) for name in names}

    def _check(self) -> dict[str, Any]:
        error = SyntheticInteractionsError
        return {
            "hidden": check_whole("hidden_size", self.hidden_size, 1, error),
            "noise": check_whole("noise_dim", self.noise_dim, 1, error),
            "epochs": check_whole("epochs", self.epochs, 1, error),
            "batch": check_whole("batch_size", self.batch_size, 1, error),
            "lr": check_positive("learning_rate", self.learning_rate, error),
            "pm": check_fraction("pm_share", self.pm_share, error, allow_zero=True),
            "zr": check_fraction("zr_share", self.zr_share, error, allow_zero=True),
            "zr_weight": check_positive("zr_weight", self.zr_weight, error, allow_zero=True),
            "min_users": check_whole("min_users", self.min_users, 1, error),
            "n_noise": check_whole("n_noise", self.n_noise, 1, error),
        }

    def fit(
        self,
        train: Interactions,
        item_vectors: np.ndarray,
        *,
        callback: ProgressCallback | None = None,
    ) -> GANGenerator:
        """Train both networks on the warm items of ``train``.

        ``item_vectors``: ``(n_items, d)`` dense product vectors (see
        :func:`~core.synth.interactions.inputs.product_vectors`); ``callback(step, total,
        info)`` after every batch, with a :class:`core.progress.ProgressInfo` carrying
        ``epoch`` and ``train_loss`` (the generator's) at the end of an epoch; it may raise
        :class:`core.errors.TrainingCancelled`.
        """
        import torch

        settings = self._check()
        if sp.issparse(item_vectors):
            raise SyntheticInteractionsError(
                "the GAN generator needs dense product vectors: use product_vectors(..., "
                "method='encoder')"
            )
        vectors = unit_vectors(item_vectors, train.n_items)
        audiences = sp.csr_matrix(train.matrix.T, dtype=np.float32)
        audiences.data[:] = 1.0
        warm = np.flatnonzero(np.diff(audiences.indptr) >= settings["min_users"])
        if warm.size < 2:
            raise SyntheticInteractionsError(
                f"{warm.size} item(s) have at least {settings['min_users']} training users: the "
                "GAN needs two or more warm items to learn from"
            )
        rng = np.random.default_rng(self.random_state)
        n_batches = -(-warm.size // settings["batch"])
        total = settings["epochs"] * n_batches
        losses: list[float] = []
        d_losses: list[float] = []
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        with torch_threads(self.num_threads), torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            generator, discriminator = _networks(
                vectors.shape[1], train.n_users, settings["noise"], settings["hidden"]
            )
            g_optimiser = torch.optim.Adam(generator.parameters(), lr=settings["lr"])
            d_optimiser = torch.optim.Adam(discriminator.parameters(), lr=settings["lr"])
            step = 0
            for epoch in range(1, settings["epochs"] + 1):
                g_sum = d_sum = 0.0
                for batch in np.array_split(rng.permutation(warm), n_batches):
                    real = torch.from_numpy(audiences[batch].toarray())
                    text = torch.from_numpy(vectors[batch])
                    negatives = 1.0 - real
                    pm_mask = negatives * torch.from_numpy(
                        (rng.random(real.shape) < settings["pm"]).astype(np.float32)
                    )
                    zr_mask = negatives * torch.from_numpy(
                        (rng.random(real.shape) < settings["zr"]).astype(np.float32)
                    )
                    noise = torch.from_numpy(
                        rng.standard_normal((batch.size, settings["noise"])).astype(np.float32)
                    )
                    fake = generator(torch.cat([text, noise], dim=1))
                    masked = fake * (real + pm_mask)
                    ones, zeros = torch.ones(batch.size, 1), torch.zeros(batch.size, 1)
                    d_loss = bce(discriminator(torch.cat([real, text], 1)), ones) + bce(
                        discriminator(torch.cat([masked.detach(), text], 1)), zeros
                    )
                    d_optimiser.zero_grad()
                    d_loss.backward()
                    d_optimiser.step()
                    reconstruction = (fake.pow(2) * zr_mask).sum() / zr_mask.sum().clamp(min=1)
                    g_loss = (
                        bce(discriminator(torch.cat([masked, text], 1)), ones)
                        + settings["zr_weight"] * reconstruction
                    )
                    g_optimiser.zero_grad()
                    g_loss.backward()
                    g_optimiser.step()
                    g_sum += float(g_loss.detach()) * batch.size
                    d_sum += float(d_loss.detach()) * batch.size
                    step += 1
                    if callback is not None and step % n_batches != 0:
                        callback(step, total, f"epoch {epoch}/{settings['epochs']}")
                losses.append(g_sum / warm.size)
                d_losses.append(d_sum / warm.size)
                if callback is not None:
                    point = {EPOCH: float(epoch), TRAIN_LOSS: losses[-1]}
                    text_line = f"epoch {epoch}/{settings['epochs']}: loss {losses[-1]:.4f}"
                    callback(step, total, ProgressInfo(text_line, point))
        generator.eval()
        self.generator_, self.discriminator_ = generator, discriminator
        self.item_vectors_ = vectors
        self.losses_, self.discriminator_losses_ = losses, d_losses
        self.n_items_, self.n_users_ = train.n_items, train.n_users
        return self

    def user_scores(self, train: Interactions, target_items: Sequence[str] | np.ndarray) -> Any:
        """``(len(target_items), n_users)`` generator outputs, averaged over ``n_noise`` noise
        draws (seeded by ``random_state``)."""
        import torch

        if not hasattr(self, "generator_"):
            raise SyntheticInteractionsError("the GAN generator is not fitted; call fit() first")
        if (train.n_items, train.n_users) != (self.n_items_, self.n_users_):
            raise SyntheticInteractionsError(
                f"the GAN was fitted on {self.n_items_} items and {self.n_users_} users, not "
                f"{train.n_items} and {train.n_users}: train it on this split"
            )
        targets = item_positions(train, target_items)
        noise_rng = np.random.default_rng(self.random_state + 1)
        text = torch.from_numpy(self.item_vectors_[targets])
        scores = np.zeros((targets.size, train.n_users), dtype=np.float64)
        with torch_threads(self.num_threads), torch.no_grad():
            for _ in range(int(self.n_noise)):
                noise = noise_rng.standard_normal((targets.size, int(self.noise_dim)))
                out = self.generator_(
                    torch.cat([text, torch.from_numpy(noise.astype(np.float32))], 1)
                )
                scores += out.numpy()
        return scores / int(self.n_noise)

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
        """Users for each target item, drawn with P proportional to ``score ** (1 /
        temperature)`` among users with a training interaction who lack the item. Returns a
        frame of :data:`~core.synth.interactions.store.ROW_COLUMNS`."""
        n_per_item = check_whole("n_per_item", n_per_item, 1, SyntheticInteractionsError)
        temperature = check_positive("temperature", temperature, SyntheticInteractionsError)
        weight = event_weight(event, weight)
        targets = item_positions(train, target_items)
        scores = self.user_scores(train, target_items)
        active = np.diff(train.matrix.indptr) > 0
        by_item = train.matrix.T.tocsr()
        rng = random_generator(random_state)
        drawn_users: list[np.ndarray] = []
        drawn_items: list[np.ndarray] = []
        for row, target in enumerate(targets):
            candidate = np.where(active, scores[row], 0.0)
            candidate[by_item[target].indices] = 0.0
            chosen = draw(candidate, n_per_item, temperature, rng)
            drawn_users.append(np.sort(chosen))
            drawn_items.append(np.full(chosen.size, target, dtype=np.int64))
        return rows_frame(train, drawn_users, drawn_items, event, weight)
