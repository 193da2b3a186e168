"""Search sessions from a workspace's cleaned events, split by time, with query segments.

Each ``search`` event with a non-empty query is one search. A click, add-to-cart or purchase
belongs to the latest earlier search (at the same time or before) of the same user in the same
session; when the event has no session id, to the latest earlier search of the same user
without a session id, if that search is at most ``window_minutes`` older. This is the rule of
:func:`core.text.finetune.search_click_pairs` (which sums the pairs over all searches and so
cannot give the per-search rows needed here), without its window inside known sessions. An item's
grade for a search is its strongest engagement: click 1, add-to-cart 2, purchase 3.

Searches are split by time (:func:`split_searches`): the latest ``test_fraction`` of them
form the test part, the ``valid_fraction`` before those the validation part, the rest the
training part; searches at the same time as a cut go to the later part. Segments come from the
training part only: a query is ``head``, ``torso`` or ``tail`` by how often it was searched in
training (:func:`query_segments`), and a search is ``cold`` when none of its engaged items had
any event (view, click, cart, purchase) before the training part ended.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.workspace import Workspace
from core.errors import SearchEvaluationError
from core.schema import ADD_TO_CART, CLICK, EVENTS_TABLE, PURCHASE, SEARCH, VIEW

GRADES: dict[str, int] = {CLICK: 1, ADD_TO_CART: 2, PURCHASE: 3}
TRAIN, VALID, TEST = "train", "valid", "test"
PARTS: tuple[str, ...] = (TRAIN, VALID, TEST)
HEAD, TORSO, TAIL = "head", "torso", "tail"
FREQUENCY_SEGMENTS: tuple[str, ...] = (HEAD, TORSO, TAIL)

# Columns of SearchSessions.searches and .judgements.
SEARCH_ID = "search_id"
PART = "part"
SEGMENT = "segment"
COLD = "cold"
GRADE = "grade"


@dataclass(frozen=True)
class SearchSessions:
    """Searches with graded engaged items, split by time.

    Attributes
    ----------
    searches : pandas.DataFrame
        One row per search, in time order: ``search_id`` (0..n-1), ``user_id``,
        ``session_id`` (None when unknown), ``ts``, ``query`` (lower-cased, single-spaced),
        ``part`` (train/valid/test), ``segment`` (head/torso/tail) and ``cold``.
    judgements : pandas.DataFrame
        ``search_id``, ``item_id``, ``grade`` (1 click, 2 cart, 3 purchase), one row per
        engaged item of a search; searches without engagement have none.
    valid_start, test_start : pandas.Timestamp
        First times of the validation and test parts (the training part ends at
        ``valid_start``).
    """

    searches: pd.DataFrame
    judgements: pd.DataFrame
    valid_start: pd.Timestamp
    test_start: pd.Timestamp


def _read(
    workspace: Workspace, window_minutes: float
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(searches, judgements, first event time of each item) from the ``events`` table."""
    if not workspace.table_exists(EVENTS_TABLE):
        raise SearchEvaluationError(
            f"no cleaned events in workspace {workspace.name!r}: load a dataset and clean it first"
        )
    grade_case = " ".join(f"WHEN '{event}' THEN {grade}" for event, grade in GRADES.items())
    engaged = ", ".join(f"'{event}'" for event in GRADES)
    item_events = ", ".join(f"'{event}'" for event in (VIEW, *GRADES))
    # A prefix keeps a session id from matching a user id of the same spelling.
    key = (
        "CASE WHEN session_id IS NULL THEN 'u:' || CAST(user_id AS VARCHAR) "
        "ELSE 's:' || CAST(session_id AS VARCHAR) END"
    )
    searches_sql = f"""
        SELECT CAST(user_id AS VARCHAR) AS user_id, CAST(session_id AS VARCHAR) AS session_id,
               ts, lower(trim(regexp_replace(query, '\\s+', ' ', 'g'))) AS query, {key} AS sess
        FROM {EVENTS_TABLE}
        WHERE event = '{SEARCH}' AND ts IS NOT NULL AND query IS NOT NULL
          AND trim(query) <> '' AND user_id IS NOT NULL
        ORDER BY ts, user_id, sess, query
    """
    judgements_sql = f"""
        WITH actions AS (
            SELECT {key} AS sess, CAST(user_id AS VARCHAR) AS user_id, ts,
                   CAST(item_id AS VARCHAR) AS item_id, event,
                   session_id IS NULL AS no_session
            FROM {EVENTS_TABLE}
            WHERE event IN ({engaged}) AND ts IS NOT NULL AND item_id IS NOT NULL
        )
        SELECT s.search_id, a.item_id, max(CASE a.event {grade_case} END) AS grade
        FROM actions a ASOF JOIN search_rows s
          ON a.sess = s.sess AND a.user_id = s.user_id AND a.ts >= s.ts
        WHERE NOT a.no_session OR epoch_us(a.ts) - epoch_us(s.ts) <= ?
        GROUP BY s.search_id, a.item_id
        ORDER BY s.search_id, a.item_id
    """
    first_sql = f"""
        SELECT CAST(item_id AS VARCHAR) AS item_id, min(ts) AS first_ts FROM {EVENTS_TABLE}
        WHERE event IN ({item_events}) AND ts IS NOT NULL AND item_id IS NOT NULL
        GROUP BY item_id
    """
    window_us = round(window_minutes * 60 * 1_000_000)
    with workspace.connect() as con:
        searches = con.execute(searches_sql).df()
        searches.insert(0, SEARCH_ID, np.arange(len(searches), dtype=np.int64))
        con.register("search_rows", searches)
        judgements = con.execute(judgements_sql, [window_us]).df()
        con.unregister("search_rows")
        first_seen = con.execute(first_sql).df()
    searches = searches.drop(columns="sess")
    searches["session_id"] = searches["session_id"].astype(object)
    searches.loc[searches["session_id"].isna(), "session_id"] = None
    judgements = judgements.astype({SEARCH_ID: np.int64, GRADE: np.int64})
    return searches, judgements, first_seen


def split_searches(
    ts: pd.Series, *, valid_fraction: float, test_fraction: float
) -> tuple[np.ndarray, pd.Timestamp, pd.Timestamp]:
    """Part of each search by time, and the first times of the validation and test parts.

    With ``n`` searches sorted by time, the test part starts at the time of search
    ``n - round(n * test_fraction)`` and the validation part at that of search
    ``n - round(n * test_fraction) - round(n * valid_fraction)`` (0-based); a search at a cut's
    time goes to the later part.
    """
    for name, value in (("valid_fraction", valid_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise SearchEvaluationError(f"{name} must lie in [0, 1), got {value!r}")
    times = np.sort(pd.to_datetime(ts).to_numpy())
    n = len(times)
    n_test = round(n * test_fraction)
    n_valid = round(n * valid_fraction)
    if n_test < 1 or n - n_test - n_valid < 1:
        raise SearchEvaluationError(
            f"{n} searches cannot be split into train, valid ({valid_fraction:g}) and test "
            f"({test_fraction:g}) parts with at least one training and one test search: load "
            "more searches or change the fractions"
        )
    test_start = pd.Timestamp(times[n - n_test])
    valid_start = pd.Timestamp(times[n - n_test - n_valid])
    values = pd.to_datetime(ts).to_numpy()
    part = np.where(
        values >= test_start.to_datetime64(),
        TEST,
        np.where(values >= valid_start.to_datetime64(), VALID, TRAIN),
    )
    if not (part == TRAIN).any():
        raise SearchEvaluationError(
            "every search falls at or after the validation cut (they share one time): the "
            "log needs searches at several times"
        )
    return part.astype(object), valid_start, test_start


def query_segments(
    train_queries: pd.Series, queries: pd.Series, *, head_share: float, torso_share: float
) -> np.ndarray:
    """Head, torso or tail for each of ``queries`` by its frequency among ``train_queries``.

    The distinct training queries are ordered by count (descending, then alphabetically); a
    query is ``head`` when the training searches of the queries before it make up less than
    ``head_share`` of all training searches, ``torso`` when less than
    ``head_share + torso_share``, else ``tail``. A query never searched in training is ``tail``.
    """
    if not (head_share > 0 and torso_share >= 0 and head_share + torso_share <= 1):
        raise SearchEvaluationError(
            "head_share must be > 0, torso_share >= 0 and their sum at most 1, got "
            f"{head_share!r} and {torso_share!r}"
        )
    counts = train_queries.value_counts()
    frame = pd.DataFrame({"query": counts.index, "n": counts.to_numpy()})
    frame = frame.sort_values(["n", "query"], ascending=[False, True])
    before = (frame["n"].cumsum() - frame["n"]) / max(int(frame["n"].sum()), 1)
    segment = np.where(
        before < head_share, HEAD, np.where(before < head_share + torso_share, TORSO, TAIL)
    )
    of_query = dict(zip(frame["query"], segment, strict=True))
    return np.array([of_query.get(query, TAIL) for query in queries], dtype=object)


def search_sessions(
    workspace: Workspace,
    *,
    window_minutes: float = 30.0,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.2,
    head_share: float = 0.5,
    torso_share: float = 0.3,
) -> SearchSessions:
    """Searches of ``workspace`` with their graded engaged items, split by time, segmented.

    Parameters
    ----------
    workspace : Workspace
        Workspace with a cleaned ``events`` table.
    window_minutes : float
        Longest time from a search to an engagement that has no session id.
    valid_fraction, test_fraction : float
        Shares of the searches (the latest ones) held out for validation and test.
    head_share, torso_share : float
        Shares of the training searches covered by the head and torso queries.
    """
    if not window_minutes > 0:
        raise SearchEvaluationError(f"window_minutes must be > 0, got {window_minutes!r}")
    searches, judgements, first_seen = _read(workspace, window_minutes)
    if searches.empty:
        raise SearchEvaluationError(
            f"workspace {workspace.name!r} has no search events with a query and a time: load "
            "a log with 'search' rows (event, query, ts) to evaluate search"
        )
    part, valid_start, test_start = split_searches(
        searches["ts"], valid_fraction=valid_fraction, test_fraction=test_fraction
    )
    searches[PART] = part
    searches[SEGMENT] = query_segments(
        searches.loc[part == TRAIN, "query"],
        searches["query"],
        head_share=head_share,
        torso_share=torso_share,
    )
    seen = set(first_seen.loc[first_seen["first_ts"] < valid_start, "item_id"])
    warm = judgements.loc[judgements["item_id"].isin(seen), SEARCH_ID].unique()
    engaged = judgements[SEARCH_ID].unique()
    searches[COLD] = searches[SEARCH_ID].isin(engaged) & ~searches[SEARCH_ID].isin(warm)
    return SearchSessions(searches, judgements, valid_start, test_start)
