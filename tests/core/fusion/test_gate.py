"""The softmax gate learns user-dependent weights; features by hand; save and load."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from core.data.interactions import Interactions
from core.errors import FusionError
from core.fusion import PreparedFusion, fuse, search_weights
from core.fusion.gate import FEATURE_NAMES, SoftmaxGate, user_features
from tests.core.fusion.conftest import candidate_set, relevance_matrix


def two_groups(n_users: int = 200, width: int = 20, seed: int = 0):
    """Signal A finds the relevant item of the even users, signal B that of the odd users.

    Each user's relevant item is the one its group's signal scores highest; the other
    signal's scores are noise for that user. The features say the group (and add noise).
    """
    rng = np.random.default_rng(seed)
    scores = rng.random((2, n_users, width)).astype(np.float32)
    group = np.arange(n_users) % 2
    best = scores[group, np.arange(n_users)].argmax(axis=1)
    relevant = sp.csr_matrix((np.ones(n_users), (np.arange(n_users), best)), shape=(n_users, width))
    features = np.column_stack([group, rng.normal(size=n_users)]).astype(np.float32)
    return candidate_set(scores, n_items=width), relevant, features


def fitted_gate(prepared, features, **params) -> SoftmaxGate:
    settings = {"epochs": 30, "batch_size": 50, "learning_rate": 0.05, "random_state": 0}
    settings.update(params)
    return SoftmaxGate(**settings).fit(prepared, features, feature_names=["group", "noise"])


def test_gate_learns_user_dependent_weights_and_beats_fixed_weights() -> None:
    candidates, relevant, features = two_groups()
    prepared = PreparedFusion(candidates, relevant)
    steps: list[tuple[int, float]] = []
    gate = SoftmaxGate(epochs=30, batch_size=50, learning_rate=0.05).fit(
        prepared,
        features,
        feature_names=["group", "noise"],
        callback=lambda step, total, info: steps.append((step, info.point["train_loss"])),
    )
    assert [step for step, _ in steps] == list(range(1, 31))
    assert gate.final_loss_ < 0.5 * gate.initial_loss_
    weights = gate.weights(features)
    np.testing.assert_allclose(weights.sum(axis=1), 1, rtol=1e-6)
    assert weights[0::2, 0].min() > 0.8 and weights[1::2, 1].min() > 0.8
    gate_ndcg = prepared.evaluate(weights, metrics=["ndcg@10"])["ndcg@10"]
    best_fixed = search_weights(prepared, metric="ndcg@10", step=0.05, metrics=[])
    assert gate_ndcg > best_fixed.best_metrics["ndcg@10"] + 0.1
    # Held-out users of the same world: the gate generalises.
    held_candidates, held_relevant, held_features = two_groups(seed=1)
    held_out = PreparedFusion(held_candidates, held_relevant)
    assert gate.loss(held_out, held_features) < 0.5 * gate.initial_loss_


def test_gate_is_seeded_and_saves(tmp_path) -> None:
    candidates, relevant, features = two_groups(n_users=60)
    prepared = PreparedFusion(candidates, relevant)
    first = fitted_gate(prepared, features, epochs=5)
    second = fitted_gate(prepared, features, epochs=5)
    np.testing.assert_array_equal(first.weights(features), second.weights(features))
    first.save(tmp_path / "gate")
    assert sorted(path.name for path in (tmp_path / "gate").iterdir()) == [
        "gate.json",
        "gate.safetensors",
    ]
    loaded = SoftmaxGate.load(tmp_path / "gate")
    np.testing.assert_allclose(loaded.weights(features), first.weights(features), rtol=1e-6)
    assert loaded.signal_names_ == ("A", "B")
    assert loaded.feature_names_ == ("group", "noise")
    assert loaded.loss_history_ == first.loss_history_
    assert loaded.loss(prepared, features) == pytest.approx(first.loss(prepared, features))


def test_gate_errors(tmp_path) -> None:
    candidates, relevant, features = two_groups(n_users=10)
    prepared = PreparedFusion(candidates, relevant)
    with pytest.raises(FusionError, match="not trained"):
        SoftmaxGate().weights(features)
    with pytest.raises(FusionError, match="one row per user"):
        SoftmaxGate().fit(prepared, features[:5], feature_names=["group", "noise"])
    nothing = PreparedFusion(candidates, sp.csr_matrix((10, candidates.n_items)))
    with pytest.raises(FusionError, match="no user has a relevant candidate"):
        SoftmaxGate().fit(nothing, features, feature_names=["group", "noise"])
    with pytest.raises(FusionError, match="cannot load"):
        SoftmaxGate.load(tmp_path / "missing")


def test_user_features_by_hand() -> None:
    day = np.timedelta64(86_400, "s")
    start = np.datetime64("2024-03-01T00:00:00", "s")
    # User 0: items 0 and 1 (last events on day 0 and day 2); user 1: item 1 on day 4;
    # user 2: nothing. Item 1 has two users, item 0 one.
    train = Interactions.from_arrays(
        ["u0", "u1", "u2"],
        ["i0", "i1"],
        np.array([0, 0, 1]),
        np.array([0, 1, 1]),
        np.ones(3, dtype=np.float32),
        np.array([start, start + 2 * day, start + 4 * day]),
    )
    features = user_features(train, np.array([0, 1, 2]), cold_item_max_users=1)
    # Reference: the latest training event (day 4).
    expected = [
        [np.log1p(2), np.log1p(2), 0.5, 0, 0],
        [np.log1p(1), 0, 0, 0, 0],
        [0, 0, 0, 0, 1],
    ]
    np.testing.assert_allclose(features, expected, rtol=1e-6)
    later = user_features(
        train, np.array([1]), reference_time="2024-03-15", has_query=True, cold_item_max_users=2
    )
    np.testing.assert_allclose(later, [[np.log1p(1), np.log1p(10), 1, 1, 0]], rtol=1e-6)
    assert len(FEATURE_NAMES) == features.shape[1]


def test_the_gate_loss_renormalises_over_the_signals_present() -> None:
    # One user, C cannot score the cold item 3 (see test_methods): min-max C -> [1, 0.5, 0, -],
    # T -> [0, 0.5, 1, 0.75]. The gate starts at equal weights: items 0..2 fuse to 0.5 and
    # item 3 to 0.75 (T alone). The relevant item 3 at sharpness 10:
    # loss = -log(e^7.5 / (3 e^5 + e^7.5)).
    nan = np.nan
    candidates = candidate_set([[[4.0, 2.0, 0.0, nan]], [[0.2, 0.6, 1.0, 0.8]]])
    prepared = PreparedFusion(candidates, relevance_matrix([[3]], 4))
    gate = SoftmaxGate(epochs=1).fit(prepared, np.zeros((1, 5), dtype=np.float32))
    expected = -math.log(math.exp(7.5) / (3 * math.exp(5) + math.exp(7.5)))
    assert gate.initial_loss_ == pytest.approx(expected, rel=1e-5)


# The gate and cold candidates -----------------------------------------------------------------

# One user, C cannot score the cold item 3 (see test_cold_weights): min-max C -> [1, 0.5, 0, -],
# T -> [0, 0.5, 1, 0.75].
MISSING = [[[4.0, 2.0, 0.0, np.nan]], [[0.2, 0.6, 1.0, 0.8]]]


def test_a_zero_gate_is_the_equal_weight_convex_combination() -> None:
    candidates = dataclasses.replace(
        candidate_set(MISSING), cold=np.array([[False, False, False, True]])
    )
    prepared = PreparedFusion(candidates, relevance_matrix([[3]], 4))
    features = np.zeros((1, 5), dtype=np.float32)
    gate = SoftmaxGate(epochs=1).fit(prepared, features)
    # The loss before training is the zero gate's: equal weights, warm items 0..2 fuse to 0.5;
    # the cold item 3 is not renormalised: 0.5 x 0.75 = 0.375. Sharpness 10:
    expected = -math.log(math.exp(3.75) / (3 * math.exp(5) + math.exp(3.75)))
    assert gate.initial_loss_ == pytest.approx(expected, rel=1e-5)
    with torch.no_grad():
        gate.network_[2].weight.zero_()
        gate.network_[2].bias.zero_()
        gate.log_sharpness_.fill_(math.log(10))
    warm, cold = gate.weights(features), gate.cold_weights(features)
    assert warm.shape == cold.shape == (1, 2)
    np.testing.assert_allclose(warm, [[0.5, 0.5]])
    np.testing.assert_allclose(cold, [[0.5, 0.5]])
    gated = fuse(candidates, warm, k=4, cold_weights=cold)
    convex = fuse(candidates, [0.5, 0.5], k=4, cold_weights=[0.5, 0.5])
    assert gated.items.tolist() == convex.items.tolist() == [[0, 1, 2, 3]]
    np.testing.assert_allclose(gated.scores, [[0.5, 0.5, 0.5, 0.375]], rtol=1e-6)
    assert gate.loss(prepared, features) == pytest.approx(expected, rel=1e-5)


def cold_world(n_users: int = 120, seed: int = 0):
    """Items 0..4 are warm (C and T score them), 5..9 cold (only T). Each user's relevant item
    is the cold item T scores highest: a gate must promote cold candidates to find it."""
    rng = np.random.default_rng(seed)
    scores = rng.random((2, n_users, 10)).astype(np.float32)
    cold = np.zeros((n_users, 10), dtype=bool)
    cold[:, 5:] = True
    scores[0][cold] = np.nan
    best = 5 + scores[1][:, 5:].argmax(axis=1)
    candidates = dataclasses.replace(candidate_set(scores, n_items=10), cold=cold)
    relevant = sp.csr_matrix((np.ones(n_users), (np.arange(n_users), best)), shape=(n_users, 10))
    features = rng.normal(size=(n_users, 5)).astype(np.float32)
    return candidates, relevant, features


def test_the_cold_flag_gives_cold_candidates_weights_of_their_own(tmp_path) -> None:
    candidates, relevant, features = cold_world()
    prepared = PreparedFusion(candidates, relevant)
    gate = SoftmaxGate(epochs=40, batch_size=40, learning_rate=0.05).fit(prepared, features)
    warm, cold = gate.weights(features), gate.cold_weights(features)
    np.testing.assert_allclose(cold.sum(axis=1), 1, rtol=1e-6)
    # Cold candidates: the weight moves to T (the only signal that scores them); warm ones
    # keep a share on C, so the two vectors differ for every user.
    assert cold[:, 1].min() > 0.9
    assert (cold[:, 1] - warm[:, 1]).min() > 0.2
    learned = prepared.evaluate(warm, "weighted", ["ndcg@10"], cold)["ndcg@10"]
    equal = prepared.evaluate([0.5, 0.5], "weighted", ["ndcg@10"], [0.5, 0.5])["ndcg@10"]
    assert learned > equal + 0.2
    gate.save(tmp_path / "gate")
    loaded = SoftmaxGate.load(tmp_path / "gate")
    assert loaded.cold_aware and loaded.feature_names_ == FEATURE_NAMES
    np.testing.assert_allclose(loaded.cold_weights(features), cold, rtol=1e-6)
