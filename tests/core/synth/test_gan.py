"""The conditional GAN generator: trains in seconds and sends a cold item to the right users."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.interactions import Interactions
from core.data.splits import Split, temporal_split
from core.data.workspace import Workspace
from core.errors import SyntheticInteractionsError
from core.synth.interactions.gan import GAN, GANGenerator
from core.synth.interactions.runs import synthesize_interactions
from core.synth.interactions.store import list_interactions


def _two_groups() -> tuple[Interactions, np.ndarray]:
    """20 warm items in two text clusters: group-A items (text along axis 0) are bought by users
    a0..a9, group-B items (axis 1) by b0..b9; items A_cold and B_cold have no users."""
    rng = np.random.default_rng(0)
    users = [f"a{u}" for u in range(10)] + [f"b{u}" for u in range(10)]
    items = [f"A{i}" for i in range(10)] + [f"B{i}" for i in range(10)] + ["A_cold", "B_cold"]
    rows, cols = [], []
    for item in range(20):
        group = 0 if item < 10 else 10
        for user in rng.choice(10, 6, replace=False):
            rows.append(group + user)
            cols.append(item)
    vectors = np.zeros((22, 4), dtype=np.float32)
    vectors[:10, 0] = 1.0
    vectors[10:20, 1] = 1.0
    vectors[20] = [1.0, 0.0, 0.0, 0.0]
    vectors[21] = [0.0, 1.0, 0.0, 0.0]
    vectors += rng.normal(scale=0.05, size=vectors.shape).astype(np.float32)
    stamps = np.full(len(rows), np.datetime64("2025-01-01"), dtype="datetime64[s]")
    order = np.lexsort((cols, rows))
    train = Interactions.from_arrays(
        np.array(users, dtype=object), np.array(items, dtype=object),
        np.array(rows)[order], np.array(cols)[order], np.ones(len(rows), dtype=np.float32), stamps,
    )  # fmt: skip
    return train, vectors


def _small(**params: object) -> GANGenerator:
    settings = {"hidden_size": 32, "noise_dim": 4, "epochs": 300, "batch_size": 10,
                "learning_rate": 2e-3, "num_threads": 1}  # fmt: skip
    return GANGenerator(**{**settings, **params})


def test_gan_sends_cold_items_to_their_text_group() -> None:
    train, vectors = _two_groups()
    model = _small().fit(train, vectors)
    assert len(model.losses_) == 300
    scores = model.user_scores(train, ["A_cold", "B_cold"])
    # The group's users score higher than the other group's, for each cold item.
    assert scores[0, :10].mean() > scores[0, 10:].mean() + 0.2
    assert scores[1, 10:].mean() > scores[1, :10].mean() + 0.2
    rows = model.generate_for_items(train, ["A_cold", "B_cold"], n_per_item=5, temperature=0.5)
    assert len(rows) == 10
    for item, prefix in (("A_cold", "a"), ("B_cold", "b")):
        drawn = rows.loc[rows["item_id"] == item, "user_id"]
        assert drawn.is_unique
        assert drawn.str.startswith(prefix).mean() >= 0.8


def test_gan_is_seeded_and_leaves_out_existing_users() -> None:
    train, vectors = _two_groups()
    first = _small(epochs=20).fit(train, vectors)
    second = _small(epochs=20).fit(train, vectors)
    np.testing.assert_allclose(first.losses_, second.losses_)
    rows = first.generate_for_items(train, ["A0"], n_per_item=20, random_state=3)
    owners = set(train.user_ids[train.matrix[:, train.item_index["A0"]].nonzero()[0]])
    assert not owners & set(rows["user_id"])
    # Users whose float32 score underflowed to 0 cannot be drawn; the others all are.
    assert 10 <= len(rows) <= 20 - len(owners)
    again = second.generate_for_items(train, ["A0"], n_per_item=20, random_state=3)
    pd.testing.assert_frame_equal(rows, again)


def test_gan_rejects_bad_input() -> None:
    train, vectors = _two_groups()
    with pytest.raises(SyntheticInteractionsError, match="not fitted"):
        GANGenerator().user_scores(train, ["A_cold"])
    with pytest.raises(SyntheticInteractionsError, match="pm_share"):
        _small(pm_share=1.5).fit(train, vectors)
    with pytest.raises(SyntheticInteractionsError, match="warm items"):
        _small(min_users=50).fit(train, vectors)
    with pytest.raises(SyntheticInteractionsError, match="rows"):
        _small().fit(train, vectors[:5])


def _stored_world(workspace: Workspace) -> tuple[Split, np.ndarray]:
    """The two-group world as a workspace log, with one later click on each cold item."""
    train, vectors = _two_groups()
    frame = train.to_frame()
    events = pd.DataFrame({"user_id": frame["user_id"], "item_id": frame["item_id"],
                           "event": "click", "ts": pd.Timestamp("2025-01-01")})  # fmt: skip
    later = pd.DataFrame({"user_id": ["a1", "b1"], "item_id": ["A_cold", "B_cold"],
                          "event": "click", "ts": pd.Timestamp("2025-02-01")})  # fmt: skip
    with workspace.transaction() as con:
        con.register("events_frame", pd.concat([events, later], ignore_index=True))
        con.execute("CREATE TABLE events AS SELECT * FROM events_frame")
        con.register("catalog_frame", pd.DataFrame({"item_id": list(train.item_ids)}))
        con.execute("CREATE TABLE catalog AS SELECT * FROM catalog_frame")
    split = temporal_split(workspace, cutoff="2025-01-15")
    return split, vectors[[train.item_index[item] for item in split.train.item_ids]]


def test_gan_run_is_stored(workspace: Workspace) -> None:
    split, vectors = _stored_world(workspace)
    run = synthesize_interactions(
        workspace, split, vectors, generator=GAN, n_per_item=3,
        gan_params={"hidden_size": 16, "epochs": 5, "num_threads": 1},
    )  # fmt: skip
    stored = list_interactions(workspace, run_id=run.run_id)
    assert sorted(stored["item_id"].unique()) == ["A_cold", "B_cold"]
    assert len(stored) == 6
    assert len(run.metrics["train_loss"]) == 5


def test_generators_compared_on_the_same_split(workspace: Workspace) -> None:
    from core.evaluation.generator_comparison import compare_generators

    split, vectors = _stored_world(workspace)
    comparison = compare_generators(
        split, vectors, n_per_item=4, models={"item_knn": {"k_neighbours": 5}},
        generator_params={"gru": {"hidden_size": 8, "epochs": 2, "num_threads": 1},
                          "gan": {"hidden_size": 8, "epochs": 2, "num_threads": 1}},
        metrics=("recall@20",), n_resamples=20,
    )  # fmt: skip
    assert set(comparison.rows) == {"neighbours", "gru", "gan"}
    for frame in comparison.rows.values():
        assert sorted(frame["item_id"].unique()) == ["A_cold", "B_cold"]
        assert frame.groupby("item_id").size().tolist() == [4, 4]
    table = comparison.utility
    assert set(table["variant"]) == {"real", "real+neighbours", "real+gru", "real+gan"}
    assert set(table["segment"]) == {"cold_items", "all"}
    # Two test users (a1, b1), each with one cold test item, in every variant.
    assert (table.loc[table["segment"] == "cold_items", "n_users"] == 2).all()
    assert table["mean"].between(0, 1).all()
    attack = comparison.fidelity[comparison.fidelity["measure"] == "membership attack AUC"]
    assert sorted(attack["generator"]) == ["gan", "gru", "neighbours"]
