"""Interaction matrices and splits on tiny hand-built event tables."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from core.data.interactions import Interactions, _entry_order, build_interactions
from core.data.splits import (
    Split,
    leave_last_n_split,
    make_split,
    random_split,
    temporal_split,
)
from core.data.workspace import Workspace
from core.errors import InteractionsError, WorkspaceError
from core.schema import DEFAULT_EVENT_WEIGHTS

T0 = datetime(2024, 5, 1)
DAY = timedelta(days=1)
COLUMNS = ["user_id", "item_id", "event", "ts", "session_id", "query", "value", "is_return"]


def write_events(ws: Workspace, rows: list[tuple], catalog: list[str] | None = None) -> None:
    """Write cleaned ``events`` (user, item, event, ts) and a ``catalog`` of item ids."""
    frame = pd.DataFrame([(*row, None, None, None, False) for row in rows], columns=COLUMNS).astype(
        {"ts": "datetime64[us]"}
    )
    items = pd.DataFrame({"item_id": catalog if catalog is not None else []}, dtype=object)
    with ws.connect() as con:
        con.execute(
            "CREATE OR REPLACE TABLE events (user_id VARCHAR, item_id VARCHAR, event VARCHAR, "
            "ts TIMESTAMP, session_id VARCHAR, query VARCHAR, value DOUBLE, is_return BOOLEAN)"
        )
        con.register("events_frame", frame)
        con.execute("INSERT INTO events SELECT * FROM events_frame")
        con.execute("CREATE OR REPLACE TABLE catalog (item_id VARCHAR, title VARCHAR)")
        con.register("catalog_frame", items)
        con.execute("INSERT INTO catalog SELECT item_id, NULL FROM catalog_frame")


BASIC = [
    ("u1", "i1", "view", T0),
    ("u1", "i1", "view", T0 + DAY),
    ("u1", "i1", "click", T0 + DAY),
    ("u1", "i2", "purchase", T0 + 2 * DAY),
    ("u2", "i1", "add_to_cart", T0 + 3 * DAY),
    ("u2", None, "search", T0 + 3 * DAY),
]


def test_weights_shape_and_id_maps(workspace: Workspace) -> None:
    write_events(workspace, BASIC, catalog=["i1", "i2", "i3"])
    result = build_interactions(workspace)
    # u1-i1: view + view + click = 1 + 1 + 2; u1-i2: purchase = 8; u2-i1: cart = 4.
    # i3 has no event but is in the catalogue: a cold column.
    expected = np.array([[4, 8, 0], [4, 0, 0]], dtype=np.float32)
    assert isinstance(result.matrix, sp.csr_matrix)
    assert result.matrix.dtype == np.float32
    assert result.matrix.has_canonical_format
    np.testing.assert_array_equal(result.matrix.toarray(), expected)
    assert result.user_ids.tolist() == ["u1", "u2"]
    assert result.item_ids.tolist() == ["i1", "i2", "i3"]
    assert (result.n_users, result.n_items, result.nnz) == (2, 3, 3)
    assert result.density == pytest.approx(3 / 6)
    for ids, index in ((result.user_ids, result.user_index), (result.item_ids, result.item_index)):
        assert all(ids[index[value]] == value for value in ids)
        assert sorted(index.values()) == list(range(len(ids)))
    assert result.last_ts.dtype == np.dtype("datetime64[s]")
    np.testing.assert_array_equal(
        result.last_ts, np.array([T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY], dtype="datetime64[s]")
    )
    frame = result.to_frame()
    assert list(zip(frame["user_id"], frame["item_id"], frame["weight"], strict=True)) == [
        ("u1", "i1", 4.0),
        ("u1", "i2", 8.0),
        ("u2", "i1", 4.0),
    ]


def test_default_weights_follow_the_funnel() -> None:
    funnel = [DEFAULT_EVENT_WEIGHTS[e] for e in ("view", "click", "add_to_cart", "purchase")]
    assert funnel == sorted(funnel) and len(set(funnel)) == 4


def test_custom_weights(workspace: Workspace) -> None:
    write_events(workspace, BASIC, catalog=["i1", "i2"])
    result = build_interactions(workspace, weights={"purchase": 1.0, "view": 0.5})
    # Left-out types weigh 0 and add nothing: only u1's views (2 x 0.5) and purchase stay.
    np.testing.assert_array_equal(result.matrix.toarray(), [[1.0, 1.0], [0.0, 0.0]])
    assert result.nnz == 2


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"purchse": 1.0}, "unknown event type"),
        ({"view": -1.0}, ">= 0"),
        ({"view": float("nan")}, "finite"),
        ({"view": 0.0}, "every event weight is 0"),
        ({"view": "1"}, "must be a number"),
    ],
)
def test_invalid_weights(workspace: Workspace, weights: dict, message: str) -> None:
    write_events(workspace, BASIC)
    with pytest.raises(InteractionsError, match=message):
        build_interactions(workspace, weights=weights)


def test_time_decay_by_hand(workspace: Workspace) -> None:
    latest = T0 + 10 * DAY
    rows = [
        ("u1", "i1", "view", latest - 2 * DAY),  # 1 * 0.5 ** (2 / 2) = 0.5
        ("u1", "i1", "click", latest - 4 * DAY),  # 2 * 0.5 ** (4 / 2) = 0.5
        ("u1", "i2", "purchase", latest),  # 8 * 1
        ("u2", "i1", "add_to_cart", latest - 1 * DAY),  # 4 * 0.5 ** 0.5
        ("u2", "i2", "view", latest - timedelta(hours=12)),  # 0.5 ** 0.25
    ]
    write_events(workspace, rows)
    result = build_interactions(workspace, half_life_days=2)
    expected = [[0.5 + 0.5, 8.0], [4 * 0.5**0.5, 0.5**0.25]]
    np.testing.assert_allclose(result.matrix.toarray(), expected, rtol=1e-6)
    # No decay: plain sums.
    plain = build_interactions(workspace, half_life_days=0)
    np.testing.assert_array_equal(plain.matrix.toarray(), [[3, 8], [4, 1]])
    with pytest.raises(InteractionsError, match="half_life_days"):
        build_interactions(workspace, half_life_days=-1)


def test_given_id_axes(workspace: Workspace) -> None:
    write_events(workspace, BASIC, catalog=["i1", "i2", "i3"])
    result = build_interactions(workspace, item_ids=["i3", "i1"], user_ids=["u2", "u9", "u1"])
    assert result.item_ids.tolist() == ["i3", "i1"]
    assert result.user_ids.tolist() == ["u2", "u9", "u1"]
    # Events on i2 fall outside the given items; u9 has no events.
    np.testing.assert_array_equal(result.matrix.toarray(), [[0, 4], [0, 0], [0, 4]])
    with pytest.raises(InteractionsError, match="repeat"):
        build_interactions(workspace, item_ids=["i1", "i1"])


def test_needs_cleaned_events(workspace: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="clean"):
        build_interactions(workspace)


def test_interactions_checks_its_parts() -> None:
    with pytest.raises(InteractionsError, match="last_ts"):
        Interactions.from_arrays(["u1"], ["i1"], np.array([0]), np.array([0]), np.ones(1), [])
    with pytest.raises(InteractionsError, match="shape"):
        Interactions(
            matrix=sp.csr_matrix((2, 2), dtype=np.float32),
            user_ids=np.array(["u1"], dtype=object),
            item_ids=np.array(["i1"], dtype=object),
            user_index={"u1": 0},
            item_index={"i1": 0},
            last_ts=np.array([], dtype="datetime64[s]"),
        )
    empty = Interactions.from_arrays([], ["i1"], np.array([]), np.array([]), np.array([]), [])
    assert (empty.n_users, empty.n_items, empty.nnz, empty.density) == (0, 1, 0, 0.0)


# --------------------------------------------------------------------------------------------
# Splits


def _pairs(matrix: sp.csr_matrix) -> set[tuple[int, int]]:
    coo = matrix.tocoo()
    return set(zip(coo.row.tolist(), coo.col.tolist(), strict=True))


def check_split(split: Split, full: Interactions | None = None) -> None:
    """Properties every split has, whatever its kind."""
    parts = [split.train, split.test] + ([split.valid] if split.valid is not None else [])
    for part in parts:
        assert part.user_ids is split.train.user_ids
        assert part.item_ids is split.train.item_ids
        assert part.matrix.has_canonical_format
        assert len(part.last_ts) == part.nnz
    binary = [(part.matrix > 0).astype(np.int8) for part in parts]
    # No (user, item) pair in two parts: the elementwise products are empty.
    for i in range(len(binary)):
        for j in range(i + 1, len(binary)):
            assert binary[i].multiply(binary[j]).nnz == 0
    train_users = np.diff(split.train.matrix.indptr) > 0
    test_users = np.diff(split.test.matrix.indptr) > 0
    np.testing.assert_array_equal(split.test_users, np.flatnonzero(test_users))
    np.testing.assert_array_equal(split.cold_users, test_users & ~train_users)
    train_items = split.train.matrix.getnnz(axis=0) > 0
    test_items = split.test.matrix.getnnz(axis=0) > 0
    np.testing.assert_array_equal(split.cold_items, test_items & ~train_items)
    if full is not None:  # pair-level splits partition the full matrix exactly
        total = sum((part.matrix for part in parts), sp.csr_matrix(full.matrix.shape))
        assert (total != full.matrix).nnz == 0


def random_log(seed: int, n_events: int = 400) -> list[tuple]:
    rng = np.random.default_rng(seed)
    kinds = ["view", "click", "add_to_cart", "purchase", "search"]
    rows = []
    for _ in range(n_events):
        kind = kinds[rng.choice(5, p=[0.5, 0.2, 0.1, 0.1, 0.1])]
        item = None if kind == "search" else f"i{int(rng.zipf(1.6)) % 40:02d}"
        seconds = int(rng.integers(0, 30 * 86_400))
        rows.append(
            (f"u{int(rng.integers(0, 25)):02d}", item, kind, T0 + timedelta(seconds=seconds))
        )
    return rows


def test_temporal_split_by_hand(workspace: Workspace) -> None:
    rows = [
        ("u1", "i1", "view", T0),
        ("u1", "i2", "view", T0 + DAY),
        ("u1", "i1", "purchase", T0 + 5 * DAY),  # after the cut, but i1 is known: not a test pair
        ("u1", "i3", "click", T0 + 6 * DAY),
        ("u2", "i2", "view", T0 + 2 * DAY),
        ("u3", "i3", "view", T0 + 7 * DAY),  # u3 only after the cut: cold user
        ("u3", "i4", "add_to_cart", T0 + 8 * DAY),  # i4 only after the cut: cold item
    ]
    write_events(workspace, rows, catalog=["i1", "i2", "i3", "i4", "i5"])
    split = temporal_split(workspace, cutoff=T0 + 4 * DAY)
    check_split(split)
    assert split.method == "temporal"
    assert split.params["cutoff"] == (T0 + 4 * DAY).isoformat()
    users, items = split.train.user_index, split.train.item_index
    np.testing.assert_array_equal(
        split.train.matrix.toarray(),
        [[1, 1, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0]],
    )
    np.testing.assert_array_equal(
        split.test.matrix.toarray(),
        [[0, 0, 2, 0, 0], [0, 0, 0, 0, 0], [0, 0, 1, 4, 0]],
    )
    assert split.cold_users.tolist() == [False, False, True]
    assert np.flatnonzero(split.cold_items).tolist() == [items["i3"], items["i4"]]
    assert split.test_users.tolist() == [users["u1"], users["u3"]]
    assert split.train.last_ts.max() < np.datetime64(T0 + 4 * DAY)


def test_temporal_split_keeps_repeats_in_test(workspace: Workspace) -> None:
    rows = [
        ("u1", "i1", "purchase", T0),
        ("u1", "i2", "view", T0 + DAY),
        ("u1", "i1", "purchase", T0 + 3 * DAY),  # validation: a repeat of a train pair
        ("u1", "i1", "purchase", T0 + 5 * DAY),  # test: bought a third time
        ("u1", "i1", "view", T0 + 6 * DAY),
        ("u1", "i3", "click", T0 + 6 * DAY),  # new to u1
        ("u2", "i2", "view", T0 + 2 * DAY),
        ("u2", "i2", "purchase", T0 + 7 * DAY),  # test repeat of u2's only train pair
    ]
    write_events(workspace, rows, catalog=["i1", "i2", "i3"])
    kept = temporal_split(
        workspace, cutoff=T0 + 4 * DAY, valid_cutoff=T0 + 3 * DAY, keep_repeats=True
    )
    assert kept.params["keep_repeats"] is True and kept.exclude_seen is False
    # Rows u1, u2; columns i1, i2, i3; purchase 8, view 1, click 2 (default weights).
    np.testing.assert_array_equal(kept.train.matrix.toarray(), [[8, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(kept.valid.matrix.toarray(), [[8, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(kept.test.matrix.toarray(), [[9, 0, 2], [0, 8, 0]])
    assert kept.test.last_ts.tolist() == [
        np.datetime64(T0 + 6 * DAY, "s"),
        np.datetime64(T0 + 6 * DAY, "s"),
        np.datetime64(T0 + 7 * DAY, "s"),
    ]
    assert kept.test_users.tolist() == [0, 1]
    assert not kept.cold_users.any() and np.flatnonzero(kept.cold_items).tolist() == [2]
    # The default drops the repeats from the later parts: only u1's new item i3 is left.
    dropped = temporal_split(workspace, cutoff=T0 + 4 * DAY, valid_cutoff=T0 + 3 * DAY)
    assert dropped.params["keep_repeats"] is False and dropped.exclude_seen is True
    check_split(dropped)
    np.testing.assert_array_equal(dropped.train.matrix.toarray(), kept.train.matrix.toarray())
    assert dropped.valid.nnz == 0
    np.testing.assert_array_equal(dropped.test.matrix.toarray(), [[0, 0, 2], [0, 0, 0]])
    with pytest.raises(InteractionsError, match="keep_repeats must be True or False"):
        temporal_split(workspace, cutoff=T0 + 4 * DAY, keep_repeats="yes")  # type: ignore[arg-type]


def test_make_split_passes_keep_repeats(workspace: Workspace) -> None:
    rows = [("u1", "i1", "purchase", T0 + k * DAY) for k in range(10)]
    write_events(workspace, rows)
    split = make_split(
        workspace, {"test_fraction": 0.2, "valid_fraction": 0.2, "keep_repeats": True}
    )
    assert split.exclude_seen is False
    assert (split.train.nnz, split.valid.nnz, split.test.nnz) == (1, 1, 1)
    np.testing.assert_array_equal(split.test.matrix.toarray(), [[16]])
    default = make_split(workspace, {"test_fraction": 0.2, "valid_fraction": 0.2})
    assert (default.train.nnz, default.valid.nnz, default.test.nnz) == (1, 0, 0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_temporal_split_train_events_precede_test_events(workspace: Workspace, seed: int) -> None:
    rows = random_log(seed)
    write_events(workspace, rows)
    split = temporal_split(workspace, test_fraction=0.25, valid_fraction=0.15)
    check_split(split)
    assert split.valid is not None
    cut = pd.Timestamp(split.params["cutoff"])
    valid_cut = pd.Timestamp(split.params["valid_cutoff"])
    # Recompute every part independently from the event list.
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "event", "ts"])
    events = events[events["event"] != "search"].copy()
    events["weight"] = events["event"].map(DEFAULT_EVENT_WEIGHTS)
    side = np.where(events["ts"] >= cut, 2, np.where(events["ts"] >= valid_cut, 1, 0))
    events["side"] = side
    # The cut-offs give 25% test and 15% validation events (up to ties at the cut).
    n = len(events)
    assert (side == 2).sum() >= round(0.25 * n)
    assert (side >= 1).sum() >= round(0.25 * n) + round(0.15 * n)
    first_side = events.groupby(["user_id", "item_id"])["side"].transform("min")
    for part, number in ((split.train, 0), (split.valid, 1), (split.test, 2)):
        chosen = events[(events["side"] == number) & (first_side == number)]
        expected = chosen.groupby(["user_id", "item_id"])["weight"].sum()
        got = part.to_frame().set_index(["user_id", "item_id"])["weight"]
        pd.testing.assert_series_equal(
            got.sort_index(), expected.sort_index().astype(np.float32), check_names=False
        )
    # Every train event precedes every validation event, which precedes every test event.
    train_events = events[events["side"] == 0]["ts"]
    valid_events = events[events["side"] == 1]["ts"]
    test_events = events[events["side"] == 2]["ts"]
    assert train_events.max() < valid_events.min() <= valid_events.max() < test_events.min()
    assert split.train.last_ts.max() < np.datetime64(valid_cut)


def test_temporal_cutoff_from_fraction(workspace: Workspace) -> None:
    rows = [("u1", f"i{k}", "view", T0 + k * DAY) for k in range(10)]
    write_events(workspace, rows)
    # 10 events; 30% test -> the cut is the time of event 7 (0-based): events 7, 8, 9 in test.
    split = temporal_split(workspace, test_fraction=0.3, valid_fraction=0.2)
    assert split.params["cutoff"] == (T0 + 7 * DAY).isoformat()
    assert split.params["valid_cutoff"] == (T0 + 5 * DAY).isoformat()
    assert (split.train.nnz, split.valid.nnz, split.test.nnz) == (5, 2, 3)
    with pytest.raises(InteractionsError, match="valid_cutoff"):
        temporal_split(workspace, cutoff=T0, valid_cutoff=T0 + DAY)
    with pytest.raises(InteractionsError, match="test_fraction"):
        temporal_split(workspace, test_fraction=1.0)


def test_temporal_decay_uses_each_parts_own_latest_event(workspace: Workspace) -> None:
    rows = [
        ("u1", "i1", "view", T0),
        ("u1", "i2", "view", T0 + 2 * DAY),  # latest train event
        ("u1", "i3", "view", T0 + 10 * DAY),
    ]
    write_events(workspace, rows)
    split = temporal_split(workspace, cutoff=T0 + 5 * DAY, half_life_days=2)
    np.testing.assert_allclose(split.train.matrix.toarray(), [[0.5, 1.0, 0.0]])
    np.testing.assert_allclose(split.test.matrix.toarray(), [[0.0, 0.0, 1.0]])


def test_leave_last_n_by_hand(workspace: Workspace) -> None:
    rows = [
        ("u1", "i1", "view", T0),
        ("u1", "i2", "view", T0 + DAY),
        ("u1", "i3", "view", T0 + 2 * DAY),
        ("u1", "i1", "click", T0 + 3 * DAY),  # i1 is now u1's most recent item
        ("u2", "i1", "view", T0),  # a single item: stays in train
        ("u3", "i1", "view", T0),
        ("u3", "i2", "view", T0 + DAY),
        ("u3", "i3", "view", T0 + DAY),  # tie with i2: the larger item index counts as later
    ]
    write_events(workspace, rows)
    split = leave_last_n_split(workspace, n=1)
    check_split(split, build_interactions(workspace))
    test = split.test.to_frame()
    assert list(zip(test["user_id"], test["item_id"], test["weight"], strict=True)) == [
        ("u1", "i1", 3.0),
        ("u3", "i3", 1.0),
    ]
    assert split.cold_users.sum() == 0

    with_valid = leave_last_n_split(workspace, n=1, valid_n=1)
    valid = with_valid.valid.to_frame()
    # Both have 3 items, one more than n + valid_n: each gets a test and a validation item.
    assert list(zip(valid["user_id"], valid["item_id"], strict=True)) == [
        ("u1", "i3"),
        ("u3", "i2"),
    ]
    assert with_valid.test.to_frame()["item_id"].tolist() == ["i1", "i3"]
    assert with_valid.train.nnz == 3  # u1-i2, u2-i1, u3-i1
    with pytest.raises(InteractionsError, match="n must"):
        leave_last_n_split(workspace, n=0)


def test_random_split_counts_and_seeds(workspace: Workspace) -> None:
    write_events(workspace, random_log(5, n_events=600))
    full = build_interactions(workspace)
    split = random_split(full, test_fraction=0.25, random_state=3)
    check_split(split, full)
    assert split.test.nnz == round(0.25 * full.nnz)
    again = random_split(full, test_fraction=0.25, random_state=3)
    assert _pairs(again.test.matrix) == _pairs(split.test.matrix)
    other = random_split(full, test_fraction=0.25, random_state=np.random.default_rng(4))
    assert _pairs(other.test.matrix) != _pairs(split.test.matrix)
    with_valid = random_split(workspace, 0.2, valid_fraction=0.1, random_state=0)
    check_split(with_valid, full)
    assert with_valid.valid.nnz == round(0.1 * full.nnz)


def test_random_split_by_user(workspace: Workspace) -> None:
    write_events(workspace, random_log(6, n_events=600))
    full = build_interactions(workspace)
    split = random_split(full, test_fraction=0.25, by_user=True, random_state=0)
    check_split(split, full)
    counts = np.diff(full.matrix.indptr)
    expected = np.minimum(np.floor(0.25 * counts + 0.5), np.maximum(counts - 1, 0))
    np.testing.assert_array_equal(np.diff(split.test.matrix.indptr), expected)
    assert (np.diff(split.train.matrix.indptr)[counts > 0] >= 1).all()
    assert split.cold_users.sum() == 0


def test_split_arguments(workspace: Workspace) -> None:
    write_events(workspace, BASIC)
    full = build_interactions(workspace)
    with pytest.raises(InteractionsError, match="already carry"):
        random_split(full, weights={"view": 1.0})
    with pytest.raises(InteractionsError, match="below 1"):
        random_split(full, 0.6, valid_fraction=0.4)
    with pytest.raises(InteractionsError, match="Workspace or an Interactions"):
        leave_last_n_split("events")  # type: ignore[arg-type]


def test_entries_are_ordered_by_side_user_and_item() -> None:
    rng = np.random.default_rng(7)
    keys = rng.choice(3 * 40 * 30, size=900, replace=False)
    side, user, item = keys // 1200, keys // 30 % 40, keys % 30
    order = _entry_order(side.astype(np.int8), user.astype(np.int32), item.astype(np.int32))
    np.testing.assert_array_equal(order, np.lexsort((item, user, side)))
    assert _entry_order(*(np.zeros(0, dtype=np.int32),) * 3).size == 0
