"""Two rankers side by side on the same query, with the positions that moved marked, and the
recent queries of the shopper searched as."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.data.workspace import Workspace
from core.schema import ITEM_ID, TITLE
from core.search.engine import SearchFilters, SearchIndex
from core.search.explain import MOVED, compare_positions
from ui import search_cache, state
from ui.text import plain
from ui.views.search import K, Query, ranker_choice

UP, DOWN = "#d8f3dc", "#fde2e1"


def _colour(value: str) -> str:
    if value.startswith("up") or value == "new":
        return f"background-color: {UP}"
    if value.startswith("down"):
        return f"background-color: {DOWN}"
    return ""


def side_by_side(index: SearchIndex, query: Query, filters: SearchFilters) -> None:
    """The same query through two rankers; each list marks where its items were in the other."""
    left, right = st.columns(2)
    with left:
        first = ranker_choice(index, state.SEARCH_LEFT, "Left ranker", default=0)
    with right:
        second = ranker_choice(index, state.SEARCH_RIGHT, "Right ranker", default=1)
    found = [
        ranker.search(index, query.text, query.user_id, K, filters, query.drop_chips).items
        for ranker in (first, second)
    ]
    ids = [items[ITEM_ID].tolist() for items in found]
    for column, items, mine, other in (
        (left, found[0], ids[0], ids[1]),
        (right, found[1], ids[1], ids[0]),
    ):
        moves = compare_positions(other, mine)
        table = pd.DataFrame(
            {
                "#": moves["rank"],
                "Moved": moves[MOVED],
                "Score": items["score"].to_numpy(),
                "Title": items[TITLE].to_numpy(),
            }
        )
        column.dataframe(
            table.style.map(_colour, subset=["Moved"]).format({"Score": "{:.3f}"}),
            hide_index=True,
            width="stretch",
        )
    moved = int((compare_positions(ids[0], ids[1])["moved"] != "=").sum())
    st.caption(
        f"{moved} of {len(ids[1])} positions differ. Moved: the item's position in this list "
        "against the other (up: higher here; new: not in the other's top "
        f"{K})."
    )


def recent(ws: Workspace, user_id: str | None) -> None:
    """The latest searches of the shopper in the log."""
    if user_id is None:
        st.caption("Search as a user to see their recent queries.")
        return
    queries = search_cache.user_recent_queries(ws, user_id)
    if queries.empty:
        st.caption(f"User {plain(user_id)} has no search in the log.")
        return
    st.caption(f"Latest searches of user {plain(user_id)} in the log:")
    st.dataframe(
        queries.rename(columns={"ts": "Time", "query": "Query"}), hide_index=True, width="stretch"
    )
