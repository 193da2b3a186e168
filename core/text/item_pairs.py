"""Item-item training pairs from behaviour: products that go together in sessions or baskets.

The second pair source of bi-encoder fine-tuning (the first is search → click, in
:mod:`core.text.finetune`). Two products are a pair when the same user engaged with both in
one session (a basket, when sessions are orders), or, for logs without sessions, when they
are consecutive items of a user's sequence. Fine-tuning on such pairs with in-batch negatives
teaches the encoder the shop's own notion of similar products, which is what a cold product
needs: it has text but no interactions.

:func:`item_query_pairs` turns the pairs into the ``query`` / ``item_id`` frame that
:func:`core.text.finetune.finetune_encoder` trains on, the anchor product's text taking the
place of the query, so both sources share one training loop, one loss and one evaluation.
Mine the pairs from the training part only (:func:`workspace_item_pairs` with ``before`` set
to the split's first validation or test time), or held-out behaviour leaks into the encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from core.data.workspace import Workspace
from core.errors import FinetuneError
from core.schema import ADD_TO_CART, CLICK, EVENTS_TABLE, ITEM_ID, PURCHASE, SESSION_ID, TS, USER_ID
from core.text.product_text import product_texts

PAIR_EVENTS: tuple[str, ...] = (CLICK, ADD_TO_CART, PURCHASE)
PAIR_COLUMNS: tuple[str, ...] = ("anchor_id", ITEM_ID, "n_groups")


def cooccurrence_pairs(events: pd.DataFrame, *, max_group_items: int = 20) -> pd.DataFrame:
    """Ordered pairs of distinct products that share a session, or follow each other.

    Parameters
    ----------
    events : pandas.DataFrame
        ``user_id`` and ``item_id``, optionally ``session_id`` and ``ts``. Rows are taken in
        ``ts`` order within a user when ``ts`` is there, else in the given order.
    max_group_items : int
        Sessions are cut to their last ``max_group_items`` distinct products, which bounds
        the pairs of a session (``n * (n - 1)``) whatever its length.

    Returns
    -------
    pandas.DataFrame
        Columns ``anchor_id``, ``item_id`` and ``n_groups`` (sessions, or user sequences, in
        which the two are paired), both orders of every pair, sorted by anchor and item.
        With a ``session_id`` (non-null somewhere), every two distinct products of a session
        are a pair; rows without a session and logs without sessions pair each product with
        the next distinct product of the user's sequence.
    """
    missing = {USER_ID, ITEM_ID} - set(events.columns)
    if missing:
        raise FinetuneError(f"item pairs need the columns user_id and item_id (missing {missing})")
    if max_group_items < 2:
        raise FinetuneError(f"max_group_items must be at least 2, got {max_group_items}")
    frame = events[events[ITEM_ID].notna() & events[USER_ID].notna()].copy()
    frame["_order"] = np.arange(len(frame))
    order = [USER_ID, TS, "_order"] if TS in frame.columns else [USER_ID, "_order"]
    frame = frame.sort_values(order, kind="stable")
    frame[USER_ID] = frame[USER_ID].astype(str)
    frame[ITEM_ID] = frame[ITEM_ID].astype(str)
    has_session = SESSION_ID in frame.columns and frame[SESSION_ID].notna().any()
    parts = []
    if has_session:
        sessions = frame[frame[SESSION_ID].notna()]
        frame = frame[frame[SESSION_ID].isna()]
        parts.append(_session_pairs(sessions, max_group_items))
    if len(frame):
        parts.append(_sequence_pairs(frame))
    pairs = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["a", "b", "g"])
    if pairs.empty:
        return pd.DataFrame({"anchor_id": [], ITEM_ID: [], "n_groups": []}).astype(
            {"anchor_id": object, ITEM_ID: object, "n_groups": np.int64}
        )
    both = pd.concat(
        [pairs, pairs.rename(columns={"a": "b", "b": "a"})], ignore_index=True
    ).drop_duplicates()
    counted = both.groupby(["a", "b"], sort=True).size().rename("n_groups").reset_index()
    counted = counted.rename(columns={"a": "anchor_id", "b": ITEM_ID})
    return counted.astype({"n_groups": np.int64})


def _session_pairs(sessions: pd.DataFrame, max_group_items: int) -> pd.DataFrame:
    """Unordered pairs (a < b) of distinct products per session, with the session as group."""
    group = sessions[USER_ID] + "\x1f" + sessions[SESSION_ID].astype(str)
    distinct = pd.DataFrame({"g": group, "item": sessions[ITEM_ID]}).drop_duplicates(
        ["g", "item"], keep="last"
    )
    distinct = distinct.groupby("g", sort=False).tail(max_group_items)
    joined = distinct.merge(distinct, on="g", suffixes=("_a", "_b"))
    joined = joined[joined["item_a"] < joined["item_b"]]
    return pd.DataFrame(
        {"a": joined["item_a"].to_numpy(), "b": joined["item_b"].to_numpy(), "g": joined["g"]}
    )


def _sequence_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """Consecutive distinct products of each user's sequence, the user as group."""
    users = frame[USER_ID].to_numpy()
    items = frame[ITEM_ID].to_numpy()
    same_user = users[1:] == users[:-1]
    different = items[1:] != items[:-1]
    keep = same_user & different
    first, second = items[:-1][keep], items[1:][keep]
    low = np.where(first < second, first, second)
    high = np.where(first < second, second, first)
    return pd.DataFrame({"a": low, "b": high, "g": users[1:][keep]})


def workspace_item_pairs(
    workspace: Workspace,
    *,
    before: datetime | str | None = None,
    events: Sequence[str] = PAIR_EVENTS,
    max_group_items: int = 20,
) -> pd.DataFrame:
    """:func:`cooccurrence_pairs` of the workspace's engagement events earlier than ``before``.

    ``before`` is the split's first held-out time (validation, else test cut-off), so the pairs
    come from the training part only; None takes every event.
    """
    if not workspace.table_exists(EVENTS_TABLE):
        raise FinetuneError(
            f"no cleaned events in workspace {workspace.name!r}: load a dataset and clean it first"
        )
    placeholders = ", ".join("?" for _ in events)
    where = f"event IN ({placeholders}) AND item_id IS NOT NULL"
    params: list[object] = [*events]
    if before is not None:
        where += " AND ts < CAST(? AS TIMESTAMP)"
        params.append(str(before))
    with workspace.connect() as con:
        columns = {row[0] for row in con.execute(f"DESCRIBE {EVENTS_TABLE}").fetchall()}
        session = SESSION_ID if SESSION_ID in columns else f"NULL AS {SESSION_ID}"
        frame = con.execute(
            f"SELECT CAST(user_id AS VARCHAR) AS user_id, CAST(item_id AS VARCHAR) AS item_id, "
            f"CAST({session} AS VARCHAR) AS session_id, ts FROM {EVENTS_TABLE} WHERE {where}",
            params,
        ).df()
    return cooccurrence_pairs(frame, max_group_items=max_group_items)


def item_query_pairs(pairs: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    """``query`` (the anchor product's text) / ``item_id`` pairs for fine-tuning.

    Pairs whose anchor has no text are left out; the fine-tuning drops those whose product
    has none.
    """
    if pairs.empty:
        return pd.DataFrame({"query": [], ITEM_ID: []}, dtype=object)
    anchors = pd.unique(pairs["anchor_id"].astype(str))
    text_of = dict(zip(anchors, product_texts(catalog, anchors), strict=True))
    queries = pairs["anchor_id"].astype(str).map(text_of)
    out = pd.DataFrame({"query": queries, ITEM_ID: pairs[ITEM_ID].astype(str)})
    return out[out["query"] != ""].reset_index(drop=True)
