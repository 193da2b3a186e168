"""Search sessions: graded engagement per search, the temporal split and segments, by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data.workspace import Workspace
from core.errors import SearchEvaluationError
from core.search.sessions import query_segments, search_sessions, split_searches

EVENT_COLUMNS = ["user_id", "item_id", "event", "ts", "session_id", "query"]


def write_events(workspace: Workspace, rows: list[tuple]) -> None:
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    frame["ts"] = pd.to_datetime(frame["ts"])
    with workspace.transaction() as con:
        con.register("frame", frame)
        con.execute(
            f"CREATE OR REPLACE TABLE events AS SELECT {', '.join(EVENT_COLUMNS)}, "
            "CAST(NULL AS DOUBLE) AS value FROM frame"
        )


# Three searches, one per day. Item B is first seen on day 3 (after the training part).
THREE_SEARCHES = [
    # Day 1, session s1: click then purchase A (grade 3); a view is no engagement.
    ("u1", "A", "view", "2025-01-01 09:00", "s1", None),
    ("u1", None, "search", "2025-01-01 10:00", "s1", "Red  Shoes"),
    ("u1", "A", "click", "2025-01-01 10:01", "s1", None),
    ("u1", "A", "purchase", "2025-01-01 11:30", "s1", None),  # in session: no window
    # Day 2, no session id: C carted within 30 min (grade 2); D clicked 40 min later: too late.
    ("u2", None, "search", "2025-01-02 10:00", None, "kettle"),
    ("u2", "C", "add_to_cart", "2025-01-02 10:10", None, None),
    ("u2", "D", "click", "2025-01-02 10:40", None, None),
    ("u9", "C", "click", "2025-01-02 10:05", None, None),  # another user: not attributed
    # Day 3, session s3: a repeat of the day-1 query; B clicked (1), A clicked (1).
    ("u3", None, "search", "2025-01-03 10:00", "s3", "red shoes"),
    ("u3", "B", "click", "2025-01-03 10:02", "s3", None),
    ("u3", "A", "click", "2025-01-03 10:03", "s3", None),
]


def test_three_searches_by_hand(workspace: Workspace) -> None:
    write_events(workspace, THREE_SEARCHES)
    sessions = search_sessions(workspace, valid_fraction=1 / 3, test_fraction=1 / 3)
    searches = sessions.searches
    assert searches["search_id"].tolist() == [0, 1, 2]
    assert searches["query"].tolist() == ["red shoes", "kettle", "red shoes"]
    assert searches["user_id"].tolist() == ["u1", "u2", "u3"]
    assert searches["session_id"].tolist() == ["s1", None, "s3"]
    # n = 3: round(1) test search, round(1) valid search; cuts at the 3rd and 2nd times.
    assert searches["part"].tolist() == ["train", "valid", "test"]
    assert sessions.valid_start == pd.Timestamp("2025-01-02 10:00")
    assert sessions.test_start == pd.Timestamp("2025-01-03 10:00")
    expected = [[0, "A", 3], [1, "C", 2], [2, "A", 1], [2, "B", 1]]
    assert sessions.judgements.values.tolist() == expected
    # Training holds only "red shoes" (1 search): the head; "kettle" is unseen: tail.
    assert searches["segment"].tolist() == ["head", "tail", "head"]
    # Search 1's C and search 2's A/B: A was seen before day 2, C and B were not.
    assert searches["cold"].tolist() == [False, True, False]


def test_a_search_whose_items_are_all_new_is_cold(workspace: Workspace) -> None:
    rows = [row for row in THREE_SEARCHES if row[1] != "A" or row[3] < "2025-01-03"]
    write_events(workspace, rows)
    sessions = search_sessions(workspace, valid_fraction=1 / 3, test_fraction=1 / 3)
    assert sessions.judgements.values.tolist()[-1] == [2, "B", 1]
    assert sessions.searches["cold"].tolist() == [False, True, True]


def test_wider_window_attributes_the_late_click(workspace: Workspace) -> None:
    write_events(workspace, THREE_SEARCHES)
    sessions = search_sessions(
        workspace, window_minutes=45, valid_fraction=1 / 3, test_fraction=1 / 3
    )
    assert [1, "D", 1] in sessions.judgements.values.tolist()


def test_split_ties_go_to_the_later_part() -> None:
    ts = pd.Series(pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-03"]))
    part, valid_start, test_start = split_searches(ts, valid_fraction=0.25, test_fraction=0.25)
    # n = 4: test starts at sorted[3] = day 3, which also holds sorted[2]; valid at sorted[2].
    assert part.tolist() == ["train", "train", "test", "test"]
    assert valid_start == test_start == pd.Timestamp("2025-01-03")


def test_query_segments_by_cumulative_share() -> None:
    train = pd.Series(["a"] * 5 + ["b"] * 3 + ["c"] * 1 + ["d"] * 1)
    # Ordered a(5) b(3) c(1) d(1); shares before: 0, .5, .8, .9.
    segments = query_segments(
        train, pd.Series(["a", "b", "c", "d", "e"]), head_share=0.5, torso_share=0.3
    )
    assert segments.tolist() == ["head", "torso", "tail", "tail", "tail"]


def test_bad_inputs_raise_clear_errors(workspace: Workspace) -> None:
    with pytest.raises(SearchEvaluationError, match="no cleaned events"):
        search_sessions(workspace)
    write_events(workspace, [row for row in THREE_SEARCHES if row[2] != "search"])
    with pytest.raises(SearchEvaluationError, match="no search events"):
        search_sessions(workspace)
    write_events(workspace, THREE_SEARCHES)
    with pytest.raises(SearchEvaluationError, match="cannot be split"):
        search_sessions(workspace, valid_fraction=0.5, test_fraction=0.5)
    with pytest.raises(SearchEvaluationError, match="window_minutes"):
        search_sessions(workspace, window_minutes=0)
