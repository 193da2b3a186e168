"""Item-item pairs from sessions and sequences, and fine-tuning the encoder on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.workspace import Workspace
from core.errors import FinetuneError
from core.text.finetune import FinetuneConfig, finetune_encoder
from core.text.item_pairs import cooccurrence_pairs, item_query_pairs, workspace_item_pairs


def _expected(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["anchor_id", "item_id", "n_groups"])


def test_session_pairs_by_hand() -> None:
    events = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u1", "u1", "u2", "u2", "u2"],
            "item_id": ["A", "B", "A", "C", "B", "A", "B"],
            "session_id": ["s1", "s1", "s1", "s2", "s1", "s1", "s1"],
        }
    )
    # u1/s1 pairs A-B; u1/s2 holds C alone; u2/s1 (another user's s1) pairs B-A again.
    pd.testing.assert_frame_equal(
        cooccurrence_pairs(events),
        _expected([("A", "B", 2), ("B", "A", 2)]),
        check_dtype=False,
    )


def test_long_sessions_keep_their_last_items() -> None:
    events = pd.DataFrame({"user_id": "u", "item_id": ["A", "B", "C", "A"], "session_id": "s"})
    # Distinct items by last occurrence: B, C, A; the last two are C and A.
    pd.testing.assert_frame_equal(
        cooccurrence_pairs(events, max_group_items=2),
        _expected([("A", "C", 1), ("C", "A", 1)]),
        check_dtype=False,
    )


def test_sequences_without_sessions_pair_consecutive_items_in_time_order() -> None:
    events = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u1", "u1", "u2", "u2"],
            "item_id": ["C", "A", "A", "B", "A", "B"],
            "ts": pd.to_datetime(
                ["2025-01-04", "2025-01-01", "2025-01-02", "2025-01-03", "2025-01-01", "2025-01-02"]
            ),
        }
    )
    # u1 in time order: A A B C -> A-B, B-C; u2: A B -> A-B.
    pd.testing.assert_frame_equal(
        cooccurrence_pairs(events),
        _expected([("A", "B", 2), ("B", "A", 2), ("B", "C", 1), ("C", "B", 1)]),
        check_dtype=False,
    )


def test_pair_errors() -> None:
    with pytest.raises(FinetuneError, match="user_id and item_id"):
        cooccurrence_pairs(pd.DataFrame({"item_id": ["A"]}))
    with pytest.raises(FinetuneError, match="at least 2"):
        cooccurrence_pairs(pd.DataFrame({"user_id": ["u"], "item_id": ["A"]}), max_group_items=1)
    empty = cooccurrence_pairs(pd.DataFrame({"user_id": ["u"], "item_id": ["A"]}))
    assert empty.empty and empty.columns.tolist() == ["anchor_id", "item_id", "n_groups"]


def test_workspace_pairs_come_from_events_before_the_cut(workspace: Workspace) -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u1", "u1", "u1"],
            "item_id": ["A", "B", None, "C", "D"],
            "event": ["click", "purchase", "search", "view", "click"],
            "ts": pd.to_datetime(
                ["2025-01-01 10:00", "2025-01-01 10:05", "2025-01-01 10:06", "2025-01-01 10:07",
                 "2025-02-01 10:00"]
            ),
            "session_id": ["s1", "s1", "s1", "s1", "s1"],
        }
    )  # fmt: skip
    with workspace.transaction() as con:
        con.register("frame", frame)
        con.execute("CREATE TABLE events AS SELECT * FROM frame")
    # The view is no engagement and D falls after the cut: A-B only.
    pairs = workspace_item_pairs(workspace, before="2025-01-15")
    pd.testing.assert_frame_equal(
        pairs, _expected([("A", "B", 1), ("B", "A", 1)]), check_dtype=False
    )
    assert len(workspace_item_pairs(workspace)) == 6  # A, B, D pairwise


PRODUCTS = {
    "P01": "tent",
    "P02": "sleeping bag",
    "P03": "frying pan",
    "P04": "spatula",
    "P05": "yoga mat",
    "P06": "water bottle",
    "P07": "desk lamp",
    "P08": "light bulb",
    "P09": "dog lead",
    "P10": "dog bowl",
    "P11": "paint brush",
    "P12": "wall paint",
}


def test_item_query_pairs_and_finetuning_on_them(workspace: Workspace) -> None:
    catalog = pd.DataFrame({"item_id": list(PRODUCTS), "title": list(PRODUCTS.values())})
    ids = list(PRODUCTS)
    # Baskets of two consecutive products (P01+P02, P03+P04, ...), bought by many users.
    rows = [
        (f"u{user}-{basket}", ids[2 * basket + side], f"b{user}")
        for user in range(3)
        for basket in range(6)
        for side in range(2)
    ]
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "session_id"])
    pairs = cooccurrence_pairs(events)
    assert len(pairs) == 12 and (pairs["n_groups"] == 3).all()
    queries = item_query_pairs(pairs, catalog)
    assert queries.iloc[0].tolist() == ["tent", "P02"]
    assert queries.iloc[1].tolist() == ["sleeping bag", "P01"]
    assert item_query_pairs(pairs.iloc[:0], catalog).empty
    config = FinetuneConfig(
        base_encoder="tiny", epochs=4, batch_size=4, learning_rate=3e-3, warmup_fraction=0.0,
        valid_fraction=0.25, random_state=0,
    )  # fmt: skip
    result = finetune_encoder(workspace, "items", config, pairs=queries, catalog=catalog)
    assert result.n_valid_queries == 3 and result.n_train_pairs == 9
    losses = result.history["train_loss"].to_numpy()[1:]
    assert losses[-1] < losses[0]
    assert np.isfinite(result.history["ndcg@10"]).all()
