"""Synthetic interactions: the neighbour baseline, the GRU generator, storage, review, the
augmented training data and its utility, on a five-item world with hand-made product vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.interactions import Interactions
from core.data.runs import SYNTHETIC_INTERACTIONS_KIND
from core.data.splits import Split, temporal_split
from core.data.workspace import Workspace
from core.errors import SyntheticInteractionsError, TrainingCancelled
from core.evaluation.synthetic_utility import REAL, synthetic_utility
from core.progress import point_of
from core.synth.interactions.augment import augment, augmented_train
from core.synth.interactions.gru import GRU, GRUGenerator, user_sequences
from core.synth.interactions.inputs import sparse_items
from core.synth.interactions.neighbours import NEIGHBOURS, neighbour_interactions
from core.synth.interactions.runs import load_generator, saved_generators, synthesize_interactions
from core.synth.interactions.store import (
    INTERACTIONS_TABLE,
    add_interactions,
    delete_interaction_run,
    interaction_summary,
    list_interactions,
    set_interaction_status,
    train_end,
)
from core.synth.store import ACCEPTED, PENDING, REJECTED

CUTOFF = "2025-01-20"
# user, item, day of January: training before the cut-off, then the test events.
TRAIN_EVENTS = [
    ("u1", "A", 1), ("u1", "B", 2),
    ("u2", "A", 3), ("u2", "B", 4),
    ("u3", "B", 2), ("u3", "C", 5),
    ("u4", "C", 3), ("u4", "D", 6),
    ("u5", "C", 4), ("u5", "D", 7),
]  # fmt: skip
TEST_EVENTS = [("u1", "T", 21), ("u3", "D", 22)]
ITEMS = ["A", "B", "C", "D", "T"]
# A and T point the same way, B nearly, C and D elsewhere.
VECTORS = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.2, 1.0], [1.0, 0.05]])


@pytest.fixture
def world(workspace: Workspace) -> Workspace:
    rows = [
        (user, item, "click", pd.Timestamp(2025, 1, day))
        for user, item, day in TRAIN_EVENTS + TEST_EVENTS
    ]
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "event", "ts"])
    catalog = pd.DataFrame({"item_id": ITEMS, "title": [f"product {i}" for i in ITEMS]})
    with workspace.transaction() as con:
        con.register("events_frame", events)
        con.execute("CREATE TABLE events AS SELECT * FROM events_frame")
        con.register("catalog_frame", catalog)
        con.execute("CREATE TABLE catalog AS SELECT * FROM catalog_frame")
    return workspace


@pytest.fixture
def split(world: Workspace) -> Split:
    return temporal_split(world, cutoff=CUTOFF)


def test_split_fixture_has_one_cold_item(split: Split) -> None:
    assert list(split.train.item_ids) == ITEMS
    assert list(split.train.item_ids[split.cold_items]) == ["T"]
    assert list(sparse_items(split.train)) == ["T"]
    assert train_end(split) == pd.Timestamp(CUTOFF).to_pydatetime()


# Neighbour baseline ---------------------------------------------------------------------------


def test_neighbours_draw_only_users_of_the_nearest_items(split: Split) -> None:
    rows = neighbour_interactions(split.train, VECTORS, ["T"], k=1, n_per_item=10)
    # T's one neighbour is A, whose users are u1 and u2: both are drawn, nobody else.
    assert sorted(rows["user_id"]) == ["u1", "u2"]
    assert set(rows["item_id"]) == {"T"}
    assert set(rows["event"]) == {"view"}
    assert set(rows["weight"]) == {1.0}


def test_neighbours_with_two_neighbours_reach_their_users(split: Split) -> None:
    rows = neighbour_interactions(split.train, VECTORS, ["T"], k=2, n_per_item=10)
    # A and B: u1, u2 (A and B) and u3 (B).
    assert sorted(rows["user_id"]) == ["u1", "u2", "u3"]


def test_neighbours_target_only_the_chosen_items(split: Split) -> None:
    rows = neighbour_interactions(split.train, VECTORS, ["T", "D"], k=2, n_per_item=1)
    assert sorted(rows["item_id"]) == ["D", "T"]
    d_users = set(rows.loc[rows["item_id"] == "D", "user_id"])
    # D's neighbours (T excluded as a target) are C and B; its own users u4, u5 are left out.
    assert d_users <= {"u1", "u2", "u3"}


def test_neighbour_timestamps_are_the_users_latest_training_time(split: Split) -> None:
    rows = neighbour_interactions(split.train, VECTORS, ["T"], k=1, n_per_item=10)
    latest = {"u1": pd.Timestamp(2025, 1, 2), "u2": pd.Timestamp(2025, 1, 4)}
    assert {r.user_id: r.ts for r in rows.itertuples()} == latest
    assert (rows["ts"] < pd.Timestamp(CUTOFF)).all()


def test_neighbours_are_seeded_and_sized(split: Split) -> None:
    first = neighbour_interactions(split.train, VECTORS, ["T"], k=2, n_per_item=2, random_state=3)
    again = neighbour_interactions(split.train, VECTORS, ["T"], k=2, n_per_item=2, random_state=3)
    assert len(first) == 2
    pd.testing.assert_frame_equal(first, again)


def test_low_temperature_draws_the_best_scored_user(split: Split) -> None:
    # k=2: u1 and u2 score sim(T,A)*2 + sim(T,B)*2, u3 only sim(T,B)*2; at a temperature
    # near 0 the single draw is (almost surely) one of the two best.
    for seed in range(10):
        rows = neighbour_interactions(
            split.train, VECTORS, ["T"], k=2, n_per_item=1, temperature=0.01, random_state=seed
        )
        assert rows["user_id"].iloc[0] in {"u1", "u2"}


def test_neighbours_accept_sparse_tfidf_like_vectors(split: Split) -> None:
    import scipy.sparse as sp

    rows = neighbour_interactions(split.train, sp.csr_matrix(VECTORS), ["T"], k=1, n_per_item=10)
    assert sorted(rows["user_id"]) == ["u1", "u2"]


def test_neighbours_reject_bad_input(split: Split) -> None:
    with pytest.raises(SyntheticInteractionsError, match="rows for 5 items"):
        neighbour_interactions(split.train, VECTORS[:3], ["T"])
    with pytest.raises(SyntheticInteractionsError, match="not in the item index"):
        neighbour_interactions(split.train, VECTORS, ["nope"])
    with pytest.raises(SyntheticInteractionsError, match="temperature"):
        neighbour_interactions(split.train, VECTORS, ["T"], temperature=0)
    with pytest.raises(SyntheticInteractionsError, match="unknown event"):
        neighbour_interactions(split.train, VECTORS, ["T"], event="search")


# GRU generator --------------------------------------------------------------------------------


def _chain_world(n_users: int = 40, n_items: int = 8) -> Interactions:
    """Users walk the items in a fixed cycle from a random start: item i is followed by i+1."""
    rng = np.random.default_rng(0)
    rows, cols, stamps = [], [], []
    for user in range(n_users):
        start = int(rng.integers(n_items))
        for step in range(4):
            rows.append(user)
            cols.append((start + step) % n_items)
            stamps.append(np.datetime64("2025-01-01") + np.timedelta64(step, "D"))
    order = np.lexsort((cols, rows))
    return Interactions.from_arrays(
        [f"u{u:02d}" for u in range(n_users)],
        [f"i{i}" for i in range(n_items)],
        np.asarray(rows)[order],
        np.asarray(cols)[order],
        np.ones(len(rows), dtype=np.float32),
        np.asarray(stamps, dtype="datetime64[s]")[order],
    )


def test_user_sequences_follow_time_and_keep_the_latest(split: Split) -> None:
    chain = _chain_world()
    sequences = user_sequences(chain, max_length=3)
    first = user_sequences(chain, max_length=10)[0]
    assert len(first) == 4
    assert all(np.diff(first) % 8 == 1)
    assert list(sequences[0]) == list(first[-3:])


def test_gru_training_lowers_the_loss_and_reports_progress() -> None:
    chain = _chain_world()
    points = []

    def callback(step: int, total: int, info: str) -> None:
        if point_of(info):
            points.append(point_of(info))

    model = GRUGenerator(hidden_size=16, epochs=8, batch_size=8, learning_rate=2e-2, num_threads=1)
    model.fit(chain, np.eye(8, dtype=np.float32), callback=callback)
    assert len(model.losses_) == 8
    assert model.losses_[-1] < 0.6 * model.losses_[0]
    assert [p["epoch"] for p in points] == list(range(1, 9))
    assert points[-1]["train_loss"] == pytest.approx(model.losses_[-1])


def test_gru_learns_the_next_item() -> None:
    chain = _chain_world()
    model = GRUGenerator(hidden_size=16, epochs=15, batch_size=8, learning_rate=2e-2, num_threads=1)
    model.fit(chain, np.eye(8, dtype=np.float32))
    log_probs = model.next_item_log_probs(chain, np.arange(chain.n_users))
    last = [user_sequences(chain, 50)[u][-1] for u in range(chain.n_users)]
    predicted = log_probs.argmax(axis=1)
    assert np.mean(predicted == (np.asarray(last) + 1) % 8) > 0.9


def test_gru_generates_only_targets_for_users_who_lack_them(split: Split) -> None:
    model = GRUGenerator(hidden_size=8, epochs=2, num_threads=1).fit(split.train, VECTORS)
    rows = model.generate_for_items(split.train, ["T", "A"], n_per_item=10)
    assert set(rows["item_id"]) == {"T", "A"}
    assert set(rows.loc[rows["item_id"] == "T", "user_id"]) == {"u1", "u2", "u3", "u4", "u5"}
    # u1 and u2 already have A.
    assert set(rows.loc[rows["item_id"] == "A", "user_id"]) == {"u3", "u4", "u5"}
    assert (rows["ts"] < pd.Timestamp(CUTOFF)).all()


def test_gru_generates_new_items_for_chosen_users(split: Split) -> None:
    model = GRUGenerator(hidden_size=8, epochs=2, num_threads=1).fit(split.train, VECTORS)
    rows = model.generate_for_users(split.train, ["u1", "u4"], n_per_user=2, random_state=1)
    assert sorted(rows["user_id"]) == ["u1", "u1", "u4", "u4"]
    assert set(rows.loc[rows["user_id"] == "u1", "item_id"]).isdisjoint({"A", "B"})
    only_t = model.generate_for_users(split.train, ["u1"], n_per_user=3, candidate_items=["T", "A"])
    assert list(only_t["item_id"]) == ["T"]


def test_gru_refuses_sparse_vectors_and_unfitted_use(split: Split) -> None:
    import scipy.sparse as sp

    with pytest.raises(SyntheticInteractionsError, match="dense"):
        GRUGenerator().fit(split.train, sp.csr_matrix(VECTORS))
    with pytest.raises(SyntheticInteractionsError, match="not fitted"):
        GRUGenerator().generate_for_items(split.train, ["T"])


def test_cancelled_gru_run_stores_nothing(world: Workspace, split: Split) -> None:
    def cancel(step: int, total: int, info: str) -> None:
        raise TrainingCancelled("stop")

    with pytest.raises(TrainingCancelled):
        synthesize_interactions(
            world, split, VECTORS, generator=GRU, gru_params={"epochs": 2}, callback=cancel
        )
    assert world.row_count(INTERACTIONS_TABLE) == 0
    assert world.list_runs(kind=SYNTHETIC_INTERACTIONS_KIND).empty


def test_saved_gru_generates_like_the_fitted_one(split: Split, tmp_path: Path) -> None:
    model = GRUGenerator(hidden_size=8, epochs=2, num_threads=1).fit(split.train, VECTORS)
    model.save(tmp_path / "gru")
    loaded = GRUGenerator.load(tmp_path / "gru")
    assert loaded.get_params() == model.get_params()
    assert loaded.losses_ == model.losses_
    users = np.arange(split.train.n_users)
    np.testing.assert_allclose(
        loaded.next_item_log_probs(split.train, users),
        model.next_item_log_probs(split.train, users),
        rtol=1e-6,
    )
    pd.testing.assert_frame_equal(
        loaded.generate_for_items(split.train, ["T"], n_per_item=3, random_state=4),
        model.generate_for_items(split.train, ["T"], n_per_item=3, random_state=4),
    )


def test_private_gru_run_records_epsilon(world: Workspace, split: Split) -> None:
    from core.synth.interactions.private import dp_epsilon

    run = synthesize_interactions(
        world, split, VECTORS, generator=GRU,
        gru_params={"epochs": 3, "hidden_size": 8, "batch_size": 2, "noise_multiplier": 1.5},
    )  # fmt: skip
    # Users with two or more training items: u1..u5 (5); expected batch 2: rate 2/5, 3 steps
    # an epoch, 9 steps.
    assert run.metrics["epsilon"] == pytest.approx(dp_epsilon(1.5, 2 / 5, 9, 1e-5))
    assert run.metrics["delta"] == 1e-5
    reloaded = load_generator(world, run.run_id)
    assert reloaded.epsilon_ == pytest.approx(run.metrics["epsilon"])
    assert reloaded.get_params()["noise_multiplier"] == 1.5


def test_gru_run_keeps_its_generator_for_reuse(world: Workspace, split: Split) -> None:
    first = synthesize_interactions(
        world, split, VECTORS, generator=GRU, gru_params={"epochs": 2, "hidden_size": 8}
    )
    assert list(saved_generators(world)["run_id"]) == [first.run_id]
    steps: list[int] = []
    again = synthesize_interactions(
        world,
        split,
        VECTORS,
        generator=GRU,
        reuse_run=first.run_id,
        callback=lambda step, total, info: steps.append(step),
    )
    # No training: no progress reported, and the same generator draws the same rows.
    assert steps == []
    pd.testing.assert_frame_equal(again.rows, first.rows)
    assert world.run_row(again.run_id)["params"]["reused_generator"] == first.run_id
    # A neighbour run keeps no generator, and deleting a run deletes its generator.
    plain = synthesize_interactions(world, split, VECTORS, generator=NEIGHBOURS, k=1)
    with pytest.raises(SyntheticInteractionsError, match="only GRU runs keep one"):
        load_generator(world, plain.run_id)
    delete_interaction_run(world, first.run_id)
    assert list(saved_generators(world)["run_id"]) == [again.run_id]
    with pytest.raises(SyntheticInteractionsError, match="no synthetic interaction run"):
        load_generator(world, first.run_id)


def test_a_generator_of_another_item_index_is_refused(world: Workspace, split: Split) -> None:
    run = synthesize_interactions(
        world, split, VECTORS, generator=GRU, gru_params={"epochs": 1, "hidden_size": 8}
    )
    other = Interactions.from_arrays(
        split.train.user_ids,
        ["A", "B", "C", "D", "X"],
        *split.train.entries(),
        split.train.matrix.data,
        split.train.last_ts,
    )
    with pytest.raises(SyntheticInteractionsError, match="another item index"):
        load_generator(world, run.run_id).generate_for_items(other, ["X"])


# Storage, review and augmented training data --------------------------------------------------


def _rows(*pairs: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [(user, item, "view", pd.Timestamp(day), 1.0) for user, item, day in pairs],
        columns=["user_id", "item_id", "event", "ts", "weight"],
    )


def test_synthesize_stores_pending_rows_with_their_marks(world: Workspace, split: Split) -> None:
    run = synthesize_interactions(world, split, VECTORS, generator=NEIGHBOURS, k=1, n_per_item=5)
    stored = list_interactions(world)
    assert len(stored) == 2 == len(run.rows)
    assert set(stored["status"]) == {PENDING}
    assert set(stored["generator"]) == {NEIGHBOURS}
    assert set(stored["run_id"]) == {run.run_id}
    assert set(stored["item_id"]) == {"T"}
    assert world.run_row(run.run_id, kind=SYNTHETIC_INTERACTIONS_KIND)["params"]["n_targets"] == 1
    # Real data is untouched.
    assert world.row_count("events") == len(TRAIN_EVENTS) + len(TEST_EVENTS)


def test_rows_at_or_after_the_cutoff_are_refused(world: Workspace, split: Split) -> None:
    late = _rows(("u1", "T", "2025-01-20"))
    with pytest.raises(SyntheticInteractionsError, match="before"):
        add_interactions(world, late, generator="manual", params={}, before=train_end(split))
    assert world.row_count(INTERACTIONS_TABLE) == 0
    assert world.list_runs(kind=SYNTHETIC_INTERACTIONS_KIND).empty


def test_augmented_train_holds_real_and_accepted_rows_only(world: Workspace, split: Split) -> None:
    kept = add_interactions(world, _rows(("u2", "T", "2025-01-04")), generator="a", params={})
    dropped = add_interactions(world, _rows(("u3", "T", "2025-01-05")), generator="b", params={})
    add_interactions(world, _rows(("u4", "T", "2025-01-06")), generator="a", params={})
    assert set_interaction_status(world, ACCEPTED, run_id=kept) == 1
    assert set_interaction_status(world, REJECTED, run_id=dropped) == 1

    train = augmented_train(split, world)
    real = split.train.to_frame()
    combined = train.to_frame()
    assert len(combined) == len(real) + 1
    added = combined.merge(real, how="left", on=["user_id", "item_id"], indicator=True)
    assert added.loc[added["_merge"] == "left_only", ["user_id", "item_id"]].values.tolist() == [
        ["u2", "T"]
    ]
    assert list(train.item_ids) == list(split.train.item_ids)
    assert list(train.user_ids) == list(split.train.user_ids)
    # Pending and rejected rows stay out; the test part is untouched.
    assert split.test.matrix[split.train.user_index["u1"]].nnz == 1
    summary = interaction_summary(world).set_index("run_id")
    assert summary.loc[kept, ["accepted", "rejected", "pending"]].tolist() == [1, 0, 0]
    assert summary.loc[dropped, ["accepted", "rejected", "pending"]].tolist() == [0, 1, 0]


def test_augment_sums_weights_and_counts_what_it_skips(world: Workspace, split: Split) -> None:
    rows = _rows(
        ("u1", "A", "2025-01-01"),  # a real pair: weight 2 + 1
        ("ghost", "T", "2025-01-01"),  # unknown user
        ("u1", "nope", "2025-01-01"),  # unknown item
        ("u2", "T", "2025-01-25"),  # after the training period
    )
    run = add_interactions(world, rows, generator="manual", params={})
    set_interaction_status(world, ACCEPTED, run_id=run)
    result = augment(split, world)
    assert (result.n_rows, result.n_unknown_users, result.n_unknown_items) == (4, 1, 1)
    assert result.n_after_end == 1
    user, item = split.train.user_index["u1"], split.train.item_index["A"]
    assert result.train.matrix[user, item] == pytest.approx(3.0)
    assert result.synthetic.nnz == 1
    assert result.train.nnz == split.train.nnz


def test_status_filters_and_deletion(world: Workspace) -> None:
    rows = _rows(("u1", "T", "2025-01-02"), ("u2", "C", "2025-01-03"))
    run = add_interactions(world, rows, generator="g", params={})
    assert set_interaction_status(world, ACCEPTED, item_ids=["T"]) == 1
    assert list(list_interactions(world, status=ACCEPTED)["item_id"]) == ["T"]
    assert len(list_interactions(world, generator=["g"], status=PENDING)) == 1
    with pytest.raises(SyntheticInteractionsError, match="name the rows"):
        set_interaction_status(world, ACCEPTED)
    with pytest.raises(SyntheticInteractionsError, match="unknown status"):
        set_interaction_status(world, "maybe", run_id=run)
    assert delete_interaction_run(world, run) == 2
    assert world.row_count(INTERACTIONS_TABLE) == 0
    assert world.run_row(run) is None


# Utility ---------------------------------------------------------------------------------------


def test_synthetic_rows_make_the_cold_item_recommendable(world: Workspace, split: Split) -> None:
    rows = pd.DataFrame(
        [("u2", "T", "view", pd.Timestamp("2025-01-04"), 1.0)],
        columns=["user_id", "item_id", "event", "ts", "weight"],
    )
    run = add_interactions(world, rows, generator="manual", params={})
    set_interaction_status(world, ACCEPTED, run_id=run)
    table = synthetic_utility(
        split,
        world,
        models={"item_knn": {"k_neighbours": 10, "num_threads": 1}},
        metrics=("recall@1",),
        segments=("all", "cold_items"),
        n_resamples=50,
    )
    cold = table[table["segment"] == "cold_items"].set_index("variant")
    assert set(cold.index) == {REAL, "real+synthetic", "synthetic only"}
    assert (cold["n_users"] == 1).all()
    # u1 (history A, B) tests on T. Without synthesis T has no neighbours and C wins; with
    # (u2, T), T is similar to A and B: 2*cos(A,T) + 2*cos(B,T) > 2*cos(B,C).
    assert cold.loc[REAL, "mean"] == 0.0
    assert cold.loc["real+synthetic", "mean"] == 1.0
    assert cold.loc["real+synthetic", "diff"] == pytest.approx(1.0)
    assert cold.loc["synthetic only", "mean"] == 0.0
    assert cold["n_synthetic"].tolist() == [0, 1, 1]
    assert set(table["model"]) == {"item_knn"}
