"""Privacy measures: DCR, NNDR and the membership attack on planted copies and independent data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist
from sklearn.metrics import roc_auc_score

from core.data.workspace import Workspace
from core.errors import QualityError
from core.synth.privacy import (
    COSINE,
    JACCARD,
    audience_records,
    distance_ratio,
    membership_attack,
    nearest_distances,
    privacy_report,
    roc_auc,
    text_records,
)


def _gaussian(rng: np.random.Generator, n: int, d: int = 16) -> np.ndarray:
    return rng.normal(size=(n, d))


def test_nearest_distances_match_scipy_cosine() -> None:
    rng = np.random.default_rng(0)
    queries, reference = _gaussian(rng, 30), _gaussian(rng, 700)
    expected = np.sort(cdist(queries, reference, metric="cosine"), axis=1)[:, :3]
    got = nearest_distances(queries, reference, metric=COSINE, n=3)
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_nearest_distances_match_scipy_jaccard() -> None:
    rng = np.random.default_rng(1)
    queries = rng.random((20, 40)) < 0.2
    reference = rng.random((50, 40)) < 0.2
    reference[0] = False  # an empty set: distance 1 to every non-empty one
    expected = np.sort(cdist(queries, reference, metric="jaccard"), axis=1)[:, :2]
    got = nearest_distances(queries.astype(float), reference.astype(float), metric=JACCARD, n=2)
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_distance_ratio_by_hand() -> None:
    assert distance_ratio(np.array([[0.0, 0.0], [1.0, 2.0], [0.0, 0.5]])).tolist() == [
        0.0, 0.5, 0.0,
    ]  # fmt: skip


def test_auc_matches_sklearn_with_ties() -> None:
    members = np.array([0.9, 0.5, 0.5, 0.2, 0.7])
    others = np.array([0.5, 0.1, 0.3, 0.5])
    labels = np.r_[np.ones(members.size), np.zeros(others.size)]
    expected = roc_auc_score(labels, np.r_[members, others])
    assert roc_auc(members, others) == pytest.approx(expected)
    # By hand: 0.9 and 0.7 beat all 4 (8), each 0.5 beats 2 and ties 2 (2 x 3), 0.2 beats 1.
    assert roc_auc(members, others) == pytest.approx((8 + 6 + 1) / 20)


def test_planted_copy_of_training_records_leaks() -> None:
    rng = np.random.default_rng(2)
    train, holdout = _gaussian(rng, 200), _gaussian(rng, 200)
    report = privacy_report(train.copy(), train, holdout, n_resamples=200)
    assert report.copies == 200
    assert np.allclose(report.dcr_train, 0.0, atol=1e-6)
    assert report.closer_to_train == 1.0
    assert report.overfitting_protection == 0.0
    assert report.baseline_protection == pytest.approx(0.0, abs=1e-5)
    assert np.allclose(report.nndr, 0.0, atol=1e-5)
    # Every member has a synthetic copy at distance 0, no non-member has: a perfect attack.
    assert report.attack_auc == 1.0
    assert report.attack_low == 1.0


def test_independent_synthetic_records_do_not_leak() -> None:
    rng = np.random.default_rng(3)
    train, holdout, synthetic = (_gaussian(rng, 400, 8) for _ in range(3))
    report = privacy_report(synthetic, train, holdout, n_resamples=300, random_state=4)
    assert report.copies == 0
    assert report.attack_low < 0.5 < report.attack_high
    assert abs(report.attack_auc - 0.5) < 0.06
    assert abs(report.closer_to_train - 0.5) < 0.08
    assert report.overfitting_protection > 0.84
    assert report.baseline_protection > 0.85
    assert 0.5 < np.median(report.nndr) <= 1.0


def test_half_copied_attack_is_three_quarters() -> None:
    # Half the members have a copy (score wins against every non-member); the other half are
    # independent of the synthetic data, so they win against non-members about half the time.
    rng = np.random.default_rng(5)
    train, holdout = _gaussian(rng, 300, 8), _gaussian(rng, 300, 8)
    synthetic = np.r_[train[:150], _gaussian(rng, 150, 8)]
    report = privacy_report(synthetic, train, holdout, n_resamples=300)
    assert report.copies == 150
    assert report.attack_low < 0.75 < report.attack_high


def test_texts_planted_copy_and_fresh_texts() -> None:
    words = np.array(
        ["red", "blue", "green", "mug", "lamp", "chair", "desk", "sofa", "oak", "steel", "wool"]
    )
    rng = np.random.default_rng(6)
    texts = [" ".join(rng.choice(words, 4, replace=False)) for _ in range(240)]
    train, holdout = texts[:120], texts[120:]
    synthetic, train_vectors, holdout_vectors = text_records(train[:60], train, holdout)
    copied = privacy_report(synthetic, train_vectors, holdout_vectors, n_resamples=200)
    assert copied.copies == 60
    assert copied.attack_auc > 0.7
    fresh = [" ".join(rng.choice(words, 4, replace=False)) for _ in range(120)]
    synthetic, train_vectors, holdout_vectors = text_records(fresh, train, holdout)
    independent = privacy_report(synthetic, train_vectors, holdout_vectors, n_resamples=200)
    assert independent.attack_low < 0.5 < independent.attack_high


def test_audiences_planted_copy() -> None:
    rng = np.random.default_rng(7)

    def audiences(n_items: int, prefix: str) -> pd.DataFrame:
        rows = [(f"u{u}", f"{prefix}{i}") for i in range(n_items)
                for u in rng.choice(300, 8, replace=False)]  # fmt: skip
        return pd.DataFrame(rows, columns=["user_id", "item_id"])

    train, holdout = audiences(80, "a"), audiences(80, "b")
    copied = train[train["item_id"].isin([f"a{i}" for i in range(40)])].assign(
        item_id=lambda f: "s" + f["item_id"]
    )
    records = audience_records(copied, train, holdout)
    assert [r.shape[0] for r in records] == [40, 80, 80]
    report = privacy_report(*records, metric=JACCARD, n_resamples=200)
    assert report.copies == 40
    assert report.attack_auc > 0.7
    report = privacy_report(
        *audience_records(audiences(40, "s"), train, holdout), metric=JACCARD, n_resamples=200
    )
    assert report.copies == 0
    assert report.attack_low < 0.5 < report.attack_high


def test_bootstrap_interval_is_seeded_and_ordered() -> None:
    rng = np.random.default_rng(8)
    members, others = rng.random(50), rng.random(60)
    first = membership_attack(members, others, n_resamples=100, random_state=1)
    assert first == membership_attack(members, others, n_resamples=100, random_state=1)
    assert first[1] <= first[0] <= first[2]


def test_bad_input_raises_quality_error() -> None:
    with pytest.raises(QualityError, match="different widths"):
        nearest_distances(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(QualityError, match="train set needs at least two"):
        privacy_report(np.ones((2, 3)), np.ones((1, 3)), np.ones((2, 3)))
    with pytest.raises(QualityError, match="no holdout texts"):
        text_records(["a b"], ["c d"], [])
    with pytest.raises(QualityError, match="metric"):
        nearest_distances(np.ones((2, 3)), np.ones((2, 3)), metric="euclid")
    with pytest.raises(QualityError, match="user_id and item_id"):
        audience_records(pd.DataFrame({"x": [1]}), pd.DataFrame(), pd.DataFrame())


def test_workspace_periods_and_batches(workspace: Workspace) -> None:
    from core.data.splits import temporal_split
    from core.synth.privacy_sets import interaction_privacy, query_periods, text_privacy

    rows = [("u1", "A", "search", "red  Mug", 1), ("u1", "A", "click", None, 2),
            ("u2", "B", "search", "oak desk", 3), ("u2", "B", "click", None, 4),
            ("u3", "A", "search", "blue lamp", 5), ("u3", "B", "click", None, 6),
            ("u1", "C", "search", "red mug", 21), ("u1", "C", "click", None, 21),
            ("u2", "C", "search", "wool sofa", 22), ("u3", "C", "click", None, 22)]  # fmt: skip
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "event", "query", "day"])
    events["ts"] = pd.to_datetime("2025-01-01") + pd.to_timedelta(events.pop("day"), "D")
    with workspace.transaction() as con:
        con.register("events_frame", events)
        con.execute("CREATE TABLE events AS SELECT * FROM events_frame")
        con.register("catalog_frame", pd.DataFrame({"item_id": ["A", "B", "C"]}))
        con.execute("CREATE TABLE catalog AS SELECT * FROM catalog_frame")
    split = temporal_split(workspace, cutoff="2025-01-15")
    # "red mug" was issued before the cut-off, so its later repeat is not holdout.
    assert query_periods(workspace, split) == (["blue lamp", "oak desk", "red mug"], ["wool sofa"])
    report = text_privacy(workspace, split, ["red mug", "wool sofa"], n_resamples=50)
    assert report.copies == 1
    assert report.dcr_train.tolist() == pytest.approx([0.0, 1.0])
    copied = pd.DataFrame({"user_id": ["u1", "u2", "u3"], "item_id": ["S", "S", "T"]})
    report = interaction_privacy(split, copied, n_resamples=50)
    # Training audiences (clicks; searches carry no interaction): A {u1}, B {u2, u3}.
    # S {u1, u2} shares 1 of 2 users with A and with B; T {u3} shares 1 of 2 with B.
    assert report.dcr_train.tolist() == pytest.approx([1 / 2, 1 / 2])
    assert report.copies == 0
