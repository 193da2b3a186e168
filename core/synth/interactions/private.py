"""Differentially private training of the GRU session model (DP-SGD, user-level) and its epsilon.

DP-SGD (Abadi et al. 2016): each step samples users independently with probability ``q``
(Poisson sampling), computes each sampled user's gradient of the mean next-item loss over
their whole sequence, clips it to L2 norm ``max_grad_norm`` (C), sums, adds Gaussian noise of
standard deviation ``noise_multiplier * C`` to every coordinate, and divides by the expected
batch size ``q * n_users``. One user is one record, so the guarantee covers everything a user
did. Epsilon at ``delta`` comes from Opacus's RDP accountant
(:class:`opacus.accountants.RDPAccountant`) over the steps taken.

Per-user gradients are computed one user at a time rather than with Opacus's per-sample hooks:
those need every layer's input to carry the batch as its first dimension, whereas the session
model projects the whole catalogue's product vectors once per step and shares the result across
users (``torch.func.vmap`` does not batch ``nn.GRU`` either).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from core.checks import check_positive
from core.errors import SyntheticInteractionsError

DELTA = 1e-5


def dp_epsilon(
    noise_multiplier: float, sample_rate: float, steps: int, delta: float = DELTA
) -> float:
    """Epsilon of ``steps`` Poisson-sampled Gaussian steps, from Opacus's RDP accountant."""
    from opacus.accountants import RDPAccountant

    check_positive("noise_multiplier", noise_multiplier, SyntheticInteractionsError)
    if steps == 0:
        return 0.0
    accountant = RDPAccountant()
    accountant.history = [(float(noise_multiplier), float(sample_rate), int(steps))]
    return float(accountant.get_epsilon(delta=delta))


def clip_and_noise(
    per_user: list[list[Any]],
    max_grad_norm: float,
    noise_multiplier: float,
    expected_batch_size: float,
    generator: Any,
) -> list[Any]:
    """The private gradient of one step: per-user gradients (one list of tensors per user)
    clipped to ``max_grad_norm``, summed, plus ``N(0, (noise_multiplier * max_grad_norm)^2)``
    noise per coordinate, divided by ``expected_batch_size``.

    ``per_user`` may be empty (a Poisson sample can draw nobody): the gradient is then noise.
    """
    import torch

    if not per_user:
        raise SyntheticInteractionsError("clip_and_noise needs the parameter shapes: one user")
    total = [torch.zeros_like(g) for g in per_user[0]]
    for grads in per_user:
        norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
        factor = min(1.0, max_grad_norm / (float(norm) + 1e-12))
        for accumulated, g in zip(total, grads, strict=True):
            accumulated.add_(g, alpha=factor)
    std = noise_multiplier * max_grad_norm
    return [
        (t + torch.normal(0.0, std, size=t.shape, generator=generator)) / expected_batch_size
        if std > 0
        else t / expected_batch_size
        for t in total
    ]


def private_epochs(
    module: Any,
    optimiser: Any,
    user_loss: Callable[[np.ndarray], Any],
    n_users: int,
    *,
    epochs: int,
    batch_size: int,
    max_grad_norm: float,
    noise_multiplier: float,
    random_state: int,
    on_step: Callable[[int, int], None] | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> tuple[list[float], int, float]:
    """Train ``module`` with DP-SGD over ``n_users`` records; returns the epoch losses (mean
    loss of the sampled users), the steps taken and the sample rate.

    ``user_loss(i)`` is the loss of record ``i`` alone. Each epoch takes ``ceil(n_users /
    batch_size)`` steps with sample rate ``batch_size / n_users``.
    """
    import torch

    max_grad_norm = check_positive("max_grad_norm", max_grad_norm, SyntheticInteractionsError)
    check_positive(
        "noise_multiplier", noise_multiplier, SyntheticInteractionsError, allow_zero=True
    )
    sample_rate = min(1.0, batch_size / n_users)
    steps_per_epoch = -(-n_users // batch_size)
    rng = np.random.default_rng(random_state)
    noise = torch.Generator().manual_seed(random_state)
    parameters = [p for p in module.parameters() if p.requires_grad]
    losses: list[float] = []
    step = 0
    for epoch in range(1, epochs + 1):
        module.train()
        loss_sum, count = 0.0, 0
        for _ in range(steps_per_epoch):
            chosen = np.flatnonzero(rng.random(n_users) < sample_rate)
            per_user = []
            for record in chosen:
                loss = user_loss(record)
                grads = torch.autograd.grad(loss, parameters)
                per_user.append([g.detach() for g in grads])
                loss_sum += float(loss.detach())
                count += 1
            if not per_user:
                per_user = [[torch.zeros_like(p) for p in parameters]]
            private = clip_and_noise(
                per_user, max_grad_norm, noise_multiplier, sample_rate * n_users, noise
            )
            for parameter, gradient in zip(parameters, private, strict=True):
                parameter.grad = gradient
            optimiser.step()
            step += 1
            if on_step is not None:
                on_step(step, epochs * steps_per_epoch)
        losses.append(loss_sum / max(count, 1))
        if on_epoch is not None:
            on_epoch(epoch, losses[-1])
    return losses, step, sample_rate
