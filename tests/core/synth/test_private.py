"""Differentially private GRU training: clipping and noise by hand, epsilon from Opacus."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent
from opacus.accountants.rdp import RDPAccountant

from core.errors import SyntheticInteractionsError
from core.synth.interactions.gru import GRUGenerator
from core.synth.interactions.private import clip_and_noise, dp_epsilon
from tests.core.synth.test_interactions import _chain_world


def _direct_epsilon(noise: float, rate: float, steps: int, delta: float) -> float:
    orders = RDPAccountant.DEFAULT_ALPHAS
    rdp = compute_rdp(q=rate, noise_multiplier=noise, steps=steps, orders=orders)
    return float(get_privacy_spent(orders=orders, rdp=rdp, delta=delta)[0])


def test_epsilon_matches_a_direct_rdp_computation() -> None:
    assert dp_epsilon(1.1, 0.01, 1000, 1e-5) == pytest.approx(
        _direct_epsilon(1.1, 0.01, 1000, 1e-5)
    )
    # More noise, less epsilon; more steps, more epsilon.
    assert dp_epsilon(2.0, 0.01, 1000) < dp_epsilon(1.0, 0.01, 1000) < dp_epsilon(1.0, 0.01, 4000)
    assert dp_epsilon(1.0, 0.01, 0) == 0.0


def test_clipping_by_hand() -> None:
    # (3, 4) has norm 5: clipped to norm 1 it is (0.6, 0.8); (0.3, 0.4) has norm 0.5, kept.
    grads = [[torch.tensor([3.0, 4.0])], [torch.tensor([0.3, 0.4])]]
    out = clip_and_noise(grads, 1.0, 0.0, 2.0, torch.Generator().manual_seed(0))
    assert out[0].tolist() == pytest.approx([0.45, 0.6])


def test_noise_has_the_dp_sgd_scale() -> None:
    # Zero gradients: what is left is noise of std noise_multiplier * C / expected batch size.
    zeros = [[torch.zeros(20000)]]
    out = clip_and_noise(zeros, 2.0, 1.5, 10.0, torch.Generator().manual_seed(0))
    assert float(out[0].std()) == pytest.approx(1.5 * 2.0 / 10.0, rel=0.03)


def test_private_gru_reports_the_accountants_epsilon() -> None:
    chain = _chain_world(n_users=40)
    model = GRUGenerator(hidden_size=8, epochs=2, batch_size=10, num_threads=1,
                         noise_multiplier=1.0, max_grad_norm=1.0)  # fmt: skip
    model.fit(chain, np.eye(8, dtype=np.float32))
    # 40 users, expected batch 10: sample rate 1/4, 4 steps an epoch, 8 steps.
    expected = _direct_epsilon(1.0, 10 / 40, 8, 1e-5)
    assert model.epsilon_ == pytest.approx(expected)
    assert len(model.losses_) == 2 and all(math.isfinite(loss) for loss in model.losses_)
    assert (
        GRUGenerator(epochs=1, num_threads=1).fit(chain, np.eye(8, dtype=np.float32)).epsilon_
        is None
    )


def test_private_gru_still_learns_with_little_noise() -> None:
    chain = _chain_world(n_users=40)
    model = GRUGenerator(hidden_size=16, epochs=12, batch_size=8, learning_rate=2e-2,
                         num_threads=1, noise_multiplier=0.1, max_grad_norm=5.0)  # fmt: skip
    model.fit(chain, np.eye(8, dtype=np.float32))
    assert model.losses_[-1] < 0.8 * model.losses_[0]


def test_private_settings_are_checked() -> None:
    chain = _chain_world(n_users=10)
    with pytest.raises(SyntheticInteractionsError, match="noise_multiplier"):
        GRUGenerator(epochs=1, noise_multiplier=-1.0).fit(chain, np.eye(8, dtype=np.float32))
    with pytest.raises(SyntheticInteractionsError, match="max_grad_norm"):
        GRUGenerator(epochs=1, noise_multiplier=1.0, max_grad_norm=0).fit(
            chain, np.eye(8, dtype=np.float32)
        )
