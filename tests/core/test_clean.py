"""Cleaning rules on tiny hand-built logs: every count below is worked out by hand."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pandas as pd
import pytest

from core.data.clean import clean_dataset, latest_report
from core.data.rules import RULES, CleaningConfig, catalog_was_given
from core.data.workspace import DatasetInfo, Workspace
from core.errors import CleaningError, WorkspaceError
from core.schema import REMOVED_FLAG

EVENT_DDL = (
    "CREATE OR REPLACE TABLE raw_events (user_id VARCHAR, item_id VARCHAR, event VARCHAR, "
    "ts TIMESTAMP, session_id VARCHAR, query VARCHAR, value DOUBLE, is_return BOOLEAN)"
)
T0 = datetime(2024, 3, 1, 12, 0, 0)

# Every rule off; each test switches on the rule it checks.
OFF = CleaningConfig(
    drop_missing_ids=False,
    drop_duplicates=False,
    drop_missing_ts=False,
    min_ts=None,
    auto_min_ts=False,
    drop_future=False,
    drop_returns=False,
    max_events_per_minute=None,
    max_events_per_user_day=None,
    max_events_per_session=None,
    drop_unknown_items=False,
    min_user_interactions=None,
)


def only(**changes: object) -> CleaningConfig:
    return dataclasses.replace(OFF, **changes)


def event(
    user: str | None,
    item: str | None,
    kind: str = "view",
    ts: datetime | None = T0,
    *,
    session: str | None = None,
    query: str | None = None,
    value: float | None = None,
    is_return: bool = False,
) -> dict:
    return {
        "user_id": user,
        "item_id": item,
        "event": kind,
        "ts": ts,
        "session_id": session,
        "query": query,
        "value": value,
        "is_return": is_return,
    }


def load(
    ws: Workspace,
    rows: list[dict],
    catalog: list[dict] | None = None,
) -> None:
    """Write ``raw_events`` (the exact contract columns) and ``raw_catalog`` into ``ws``."""
    frame = pd.DataFrame(rows, columns=list(event(None, None)))
    if catalog is None:
        catalog = [{"item_id": item} for item in sorted({r["item_id"] for r in rows} - {None})]
    catalog_frame = pd.DataFrame(catalog)
    with ws.connect() as con:
        con.execute(EVENT_DDL)
        con.register("raw_events_frame", frame)
        con.register("raw_catalog_frame", catalog_frame)
        con.execute("INSERT INTO raw_events SELECT * FROM raw_events_frame")
        con.execute("CREATE OR REPLACE TABLE raw_catalog AS SELECT * FROM raw_catalog_frame")


def events_of(ws: Workspace) -> pd.DataFrame:
    return ws.read_table("events")


def test_missing_ids(workspace: Workspace) -> None:
    rows = [
        event("u1", "i1"),
        event(None, "i1"),  # no user
        event("", "i1"),  # blank user
        event("   ", "i1"),  # blank user
        event("u1", None, "view"),  # no item on a view
        event("u1", "", "click"),  # blank item on a click
        event("u1", None, "search", query="red shoes"),  # searches need no item
        event("u1", "  ", "search", query="blue shoes"),  # blank item on a search: NULL
    ]
    load(workspace, rows)
    report = clean_dataset(workspace, only(drop_missing_ids=True))
    rule = report.rule("missing_ids")
    assert (rule.rows_before, rule.rows_after, rule.removed) == (8, 3, 5)
    kept = events_of(workspace)
    assert sorted(kept["event"]) == ["search", "search", "view"]
    assert kept.loc[kept["event"] == "search", "item_id"].isna().all()
    # Raw users: u1 only (blank ids are no ids); items: i1.
    assert (report.n_users_before, report.n_users_after) == (1, 1)
    assert (report.n_items_before, report.n_items_after) == (1, 1)


def test_exact_duplicates_keep_the_first_row(workspace: Workspace) -> None:
    second = T0 + timedelta(seconds=1)
    rows = [
        event("u1", "i1", value=1.0),
        event("u1", "i1", value=2.0),  # duplicate of the first row
        event("u1", "i1", value=3.0),  # duplicate of the first row
        event("u1", "i1", "click"),  # other event type: kept
        event("u1", "i1", ts=second),  # other time: kept
        event("u2", "i1"),  # other user: kept
        event("u1", None, "search", query="pan"),
        event("u1", None, "search", query="pan"),  # same search: duplicate
        event("u1", None, "search", query="pot"),  # other query: kept
    ]
    load(workspace, rows)
    report = clean_dataset(workspace, only(drop_duplicates=True))
    rule = report.rule("duplicates")
    assert (rule.rows_before, rule.removed, rule.rows_after) == (9, 3, 6)
    assert rule.parameter == "exact (user, item, event, ts)"
    kept = events_of(workspace)
    views = kept[(kept["user_id"] == "u1") & (kept["event"] == "view") & (kept["ts"] == T0)]
    assert views["value"].tolist() == [1.0]
    assert sorted(kept.loc[kept["event"] == "search", "query"]) == ["pan", "pot"]


def test_duplicate_window_collapses_bursts(workspace: Workspace) -> None:
    seconds = [0, 10, 25, 100, 105]
    rows = [event("u1", "i1", ts=T0 + timedelta(seconds=s)) for s in seconds]
    rows.append(event("u1", "i2", ts=T0 + timedelta(seconds=5)))  # other item: kept
    rows.append(event("u1", "i1", "click", ts=T0 + timedelta(seconds=5)))  # other type: kept
    load(workspace, rows)
    # Gaps 10, 15, 75, 5 seconds: with a 30 s window the repeats at 10, 25 and 105 go.
    report = clean_dataset(workspace, only(drop_duplicates=True, duplicate_window_seconds=30))
    rule = report.rule("duplicates")
    assert (rule.rows_before, rule.removed) == (7, 3)
    assert rule.parameter == "repeats within 30 s"
    kept = events_of(workspace)
    views = kept[(kept["item_id"] == "i1") & (kept["event"] == "view")]
    assert sorted(views["ts"]) == [T0, T0 + timedelta(seconds=100)]


def test_timestamp_rules(workspace: Workspace) -> None:
    rows = [
        event("u1", "i1", ts=None),  # missing
        event("u1", "i2", ts=datetime(1970, 1, 1)),  # epoch zero: before the minimum
        event("u1", "i3", ts=datetime(2024, 1, 1)),  # fine
        event("u1", "i4", ts=datetime(2024, 7, 1)),  # after max_ts
        event("u1", "i5", ts=datetime(2999, 1, 1)),  # future (and after max_ts)
    ]
    load(workspace, rows)
    report = clean_dataset(
        workspace, only(drop_missing_ts=True, min_ts="1990-01-01", max_ts=datetime(2024, 6, 1))
    )
    rule = report.rule("timestamps")
    assert (rule.rows_before, rule.removed, rule.rows_after) == (5, 4, 1)
    assert rule.parameter == "missing; before 1990-01-01; after 2024-06-01"
    assert events_of(workspace)["item_id"].tolist() == ["i3"]

    report = clean_dataset(workspace, only(drop_future=True))
    assert report.rule("timestamps").removed == 1  # only the year 2999


def test_missing_timestamps_are_kept_when_the_log_has_none(workspace: Workspace) -> None:
    load(workspace, [event("u1", "i1", ts=None), event("u1", "i2", ts=None)])
    report = clean_dataset(workspace, only(drop_missing_ts=True, min_ts="1990-01-01"))
    rule = report.rule("timestamps")
    assert rule.removed == 0
    assert "skipped" in rule.parameter


def test_returns_and_cancelled_purchases(workspace: Workspace) -> None:
    day = timedelta(days=1)
    rows = [
        event("u1", "i1", "purchase", T0),
        event("u1", "i1", "purchase", T0 + day, is_return=True),  # cancels the purchase above
        event("u1", "i2", "purchase", T0),  # never returned
        event("u2", "i1", "purchase", T0, is_return=True),
        event("u2", "i1", "purchase", T0 + day),  # bought after the return: stays
        event("u2", "i1", "view", T0 - day),  # not a purchase: stays
    ]
    load(workspace, rows)
    report = clean_dataset(workspace, only(drop_returns=True))
    assert report.rule("returns").removed == 2
    report = clean_dataset(workspace, only(drop_returns=True, drop_returned_purchases=True))
    rule = report.rule("returns")
    assert rule.removed == 3
    assert rule.parameter == "returns and the purchases they cancel"
    kept = events_of(workspace)
    assert sorted(zip(kept["user_id"], kept["item_id"], kept["event"], strict=True)) == [
        ("u1", "i2", "purchase"),
        ("u2", "i1", "purchase"),
        ("u2", "i1", "view"),
    ]


def _insert_burst(ws: Workspace, user: str, n: int, kind: str, *, seconds: int, session: str):
    with ws.connect() as con:
        con.execute(
            "INSERT INTO raw_events SELECT ?, 'i' || (range % 7), ?, "
            "? + to_seconds(range * ?), ?, NULL, NULL, false FROM range(?)",
            [user, kind, T0, seconds, session, n],
        )


def test_bots_by_day_and_by_session(workspace: Workspace) -> None:
    load(workspace, [event("human", "i1", session="h1"), event("human", "i2", session="h1")])
    _insert_burst(workspace, "bot", 600, "view", seconds=60, session="b1")  # 600 in 10 hours
    # 400 a day for two days (an event every 216 s): busy, not a bot.
    _insert_burst(workspace, "busy", 800, "view", seconds=216, session="s1")
    # Ratings are entered in bulk and do not count.
    _insert_burst(workspace, "rater", 700, "rating", seconds=1, session="r1")
    with workspace.connect() as con:  # the bot's searches go with it
        con.execute(
            "INSERT INTO raw_events VALUES ('bot', NULL, 'search', ?, 'b1', 'x', NULL, false)",
            [T0],
        )
    report = clean_dataset(workspace, only(max_events_per_user_day=500))
    rule = report.rule("bots")
    assert (rule.rows_before, rule.removed) == (2 + 601 + 800 + 700, 601)
    assert set(events_of(workspace)["user_id"]) == {"human", "busy", "rater"}

    # By session: "bot" has 601 events in session b1 and "busy" 800 in s1.
    report = clean_dataset(workspace, only(max_events_per_session=550))
    assert report.rule("bots").removed == 601 + 800
    assert report.rule("bots").parameter == (
        "> 550 browsing events per session; buyers (purchase share >= 0.5) kept"
    )


def test_unknown_items_with_a_catalogue_file(workspace: Workspace) -> None:
    rows = [
        event("u1", "i1"),
        event("u1", "i2"),
        event("u1", "i9"),  # not in the catalogue
        event("u2", "i9", "purchase"),  # not in the catalogue
        event("u1", None, "search", query="lamp"),  # searches have no item
    ]
    catalog = [{"item_id": "i1", "title": "Lamp"}, {"item_id": "i2", "title": "Desk"}]
    load(workspace, rows, catalog)
    report = clean_dataset(workspace, only(drop_unknown_items=True))
    rule = report.rule("unknown_items")
    assert (rule.rows_before, rule.removed, rule.rows_after) == (5, 2, 3)
    assert "i9" not in set(events_of(workspace)["item_id"])


def test_unknown_items_rule_follows_the_dataset_record(workspace: Workspace) -> None:
    rows = [event("u1", "i1"), event("u1", "i9")]
    load(workspace, rows, [{"item_id": "i1", "title": "Lamp"}])

    def record(catalog_source: str | None) -> None:
        info = DatasetInfo("d", "events.csv", "generic", {}, catalog_source, T0, 2, 1)
        with workspace.transaction() as con:
            Workspace.write_dataset_info(con, info)

    record(None)  # catalogue derived from the log: it says nothing about unknown items
    report = clean_dataset(workspace, only(drop_unknown_items=True))
    assert report.rule("unknown_items").removed == 0
    assert report.rule("unknown_items").parameter == "skipped: catalogue derived from the log"

    record("catalog.parquet")
    report = clean_dataset(workspace, only(drop_unknown_items=True))
    assert report.rule("unknown_items").removed == 1
    assert "catalog.parquet" in report.rule("unknown_items").parameter


def test_catalogue_with_ids_only_counts_as_derived(workspace: Workspace) -> None:
    load(workspace, [event("u1", "i1"), event("u1", "i2")], [{"item_id": "i1"}])
    with workspace.connect() as con:
        assert catalog_was_given(con) == (False, "catalogue has ids only")
    report = clean_dataset(workspace, only(drop_unknown_items=True))
    assert report.rule("unknown_items").removed == 0


def test_k_core_cascade(workspace: Workspace) -> None:
    # Pairs: u1-{i1,i2,i3}, u2-{i1,i2}, u3-{i3,i4}, u4-{i4}; every item starts with 2 users.
    # 2-core on both sides: u4 (1 item) goes -> i4 drops to 1 user and goes -> u3 drops to 1
    # item and goes -> i3 drops to 1 user and goes; u1 keeps i1, i2. Four removing rounds and
    # a fifth that removes nothing.
    rows = [
        event("u1", "i1"),
        event("u1", "i1", "purchase"),  # same pair: counts once
        event("u1", "i2"),
        event("u1", "i3"),
        event("u1", None, "search", query="mug"),
        event("u2", "i1"),
        event("u2", "i2"),
        event("u3", "i3"),
        event("u3", "i4", "click"),
        event("u3", None, "search", query="cup"),  # goes with u3
        event("u4", "i4"),
        event("u5", None, "search", query="tea"),  # searches only: no interaction
    ]
    catalog = [{"item_id": f"i{k}", "title": f"Item {k}"} for k in range(1, 6)]
    load(workspace, rows, catalog)
    report = clean_dataset(workspace, only(min_user_interactions=2, min_item_interactions=2))
    rule = report.rule("k_core")
    assert (rule.rows_before, rule.removed, rule.rows_after) == (12, 6, 6)
    assert rule.parameter == "users >= 2 distinct items, items >= 2 distinct users (5 rounds)"
    kept = events_of(workspace)
    pairs = set(zip(kept["user_id"], kept["item_id"].fillna("-"), strict=True))
    assert pairs == {("u1", "i1"), ("u1", "i2"), ("u1", "-"), ("u2", "i1"), ("u2", "i2")}
    assert (report.n_users_before, report.n_users_after) == (5, 2)
    assert (report.n_items_before, report.n_items_after) == (4, 2)
    # The catalogue keeps every item, including the ones k-core emptied and i5 (no events).
    assert (report.n_catalog_before, report.n_catalog_after) == (5, 5)
    assert sorted(workspace.read_table("catalog")["item_id"]) == [f"i{k}" for k in range(1, 6)]


# u1 has 3 distinct items, u2 has 2 (one of them twice), u3 has 1 (seen twice).
USER_CORE_ROWS = [
    event("u1", "i1"),
    event("u1", "i2"),
    event("u1", "i3"),
    event("u2", "i1"),
    event("u2", "i2"),
    event("u2", "i2", "purchase"),
    event("u3", "i1"),
    event("u3", "i1", "click"),
]


@pytest.mark.parametrize(
    ("min_user", "kept_users", "removed"), [(2, {"u1", "u2"}, 2), (3, {"u1"}, 5)]
)
def test_k_core_on_users_counts_distinct_items(
    workspace: Workspace, min_user: int, kept_users: set[str], removed: int
) -> None:
    load(workspace, USER_CORE_ROWS)
    report = clean_dataset(workspace, only(min_user_interactions=min_user))
    assert report.rule("k_core").removed == removed
    assert set(events_of(workspace)["user_id"]) == kept_users


def test_cleaning_again_starts_from_the_loaded_log(workspace: Workspace) -> None:
    load(workspace, USER_CORE_ROWS)
    clean_dataset(workspace, only(min_user_interactions=3))
    assert set(events_of(workspace)["user_id"]) == {"u1"}
    # Rows an earlier, stricter cleaning removed come back under looser rules.
    report = clean_dataset(workspace, only(min_user_interactions=2))
    assert report.n_events_before == len(USER_CORE_ROWS)
    assert len(events_of(workspace)) == 6
    assert set(events_of(workspace)["user_id"]) == {"u1", "u2"}


def test_k_core_on_users_only_keeps_searches_of_kept_users(workspace: Workspace) -> None:
    rows = [
        event("u1", "i1"),
        event("u1", "i2"),
        event("u1", None, "search", query="a"),
        event("u2", "i1"),
        event("u2", None, "search", query="b"),
        event("u3", None, "search", query="c"),
    ]
    load(workspace, rows)
    report = clean_dataset(workspace, only(min_user_interactions=2))
    assert report.rule("k_core").removed == 3
    assert report.rule("k_core").parameter == "users >= 2 distinct items (1 round)"
    assert set(events_of(workspace)["user_id"]) == {"u1"}


def test_k_core_on_items_only(workspace: Workspace) -> None:
    rows = [
        event("u1", "i1"),
        event("u2", "i1", "click"),
        event("u1", "i2"),  # i2 has one user: goes
        event("u1", "i2", "purchase"),
        event("u3", None, "search", query="c"),  # no user threshold: searches stay
    ]
    load(workspace, rows)
    report = clean_dataset(workspace, only(min_item_interactions=2))
    rule = report.rule("k_core")
    assert (rule.removed, rule.parameter) == (2, "items >= 2 distinct users (2 rounds)")
    assert sorted(events_of(workspace)["item_id"].fillna("-")) == ["-", "i1", "i1"]


def test_default_report_chain_and_round_trip(workspace: Workspace) -> None:
    rows = [
        event("u1", "i1", session="s1"),
        event("u1", "i1", session="s1"),  # duplicate
        event("u1", "i2", "purchase", session="s1"),
        event("u1", "i3", ts=datetime(1970, 1, 1)),  # before the minimum date
        event(None, "i1"),  # no user
        event("u2", "i1", session="s2"),  # one item only: k-core
        event("u3", "i1", "purchase", is_return=True),  # return
        event("u3", "i2"),
        event("u3", "i3", "click"),
    ]
    catalog = [{"item_id": i, "title": i.upper()} for i in ("i1", "i2", "i3", "i4")]
    load(workspace, rows, catalog)
    steps: list[tuple[int, int, str]] = []
    report = clean_dataset(workspace, callback=lambda s, t, info: steps.append((s, t, info)))
    frame = report.to_frame()
    assert frame["rule"].tolist() == list(RULES)
    assert frame["removed"].tolist() == [1, 1, 1, 1, 0, 0, 1]
    assert (frame["rows_before"] - frame["removed"] == frame["rows_after"]).all()
    assert (frame["rows_before"].iloc[1:].to_numpy() == frame["rows_after"].iloc[:-1]).all()
    assert (report.n_events_before, report.n_events_after) == (9, 4)
    assert workspace.row_count("events") == 4
    assert [s for s, _, _ in steps] == list(range(1, len(RULES) + 2))
    assert {t for _, t, _ in steps} == {len(RULES) + 1}

    stored = latest_report(workspace)
    assert stored is not None
    assert stored.to_frame().equals(frame)
    assert stored.config == report.config
    assert stored.summary() == report.summary()
    assert stored.report_id == report.report_id


def test_events_keep_the_raw_columns_and_catalogue_extras(workspace: Workspace) -> None:
    catalog = [
        {"item_id": "i1", "title": "Mug", "colour": "red"},
        {"item_id": "i1", "title": "Mug (again)", "colour": "blue"},  # repeated id: first kept
        {"item_id": "", "title": "no id", "colour": "green"},  # no id: dropped
        {"item_id": "i2", "title": "Cup", "colour": None},
    ]
    load(workspace, [event("u1", "i1"), event("u1", "i2")], catalog)
    report = clean_dataset(workspace)
    with workspace.connect() as con:
        raw = con.execute("DESCRIBE raw_events").fetchall()
        cleaned = con.execute("DESCRIBE events").fetchall()
    # The raw table also carries the cleaning's removal flag, which events leaves out.
    assert [(c[0], c[1]) for c in raw if c[0] == REMOVED_FLAG] == [(REMOVED_FLAG, "BOOLEAN")]
    assert [(c[0], c[1]) for c in cleaned] == [(c[0], c[1]) for c in raw if c[0] != REMOVED_FLAG]
    kept = workspace.read_table("catalog")
    assert list(kept.columns) == ["item_id", "title", "colour"]
    assert kept["title"].tolist() == ["Mug", "Cup"]
    assert (report.n_catalog_before, report.n_catalog_after) == (4, 2)


def test_failed_cleaning_changes_nothing(workspace: Workspace) -> None:
    load(workspace, [event("u1", "i1"), event("u2", "i2"), event("u2", "i3")])
    clean_dataset(workspace)
    tables = ("events", "catalog", "cleaning_reports")
    before = workspace.fingerprint(*tables)
    with pytest.raises(CleaningError, match="k_core"):
        clean_dataset(workspace, CleaningConfig(min_user_interactions=5))
    assert workspace.fingerprint(*tables) == before


def test_cleaning_needs_raw_events(workspace: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="load a dataset"):
        clean_dataset(workspace)
    assert latest_report(workspace) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_ts": "2024-02-01", "max_ts": "2024-01-01"}, "after max_ts"),
        ({"min_ts": "March"}, "not a date"),
        ({"max_events_per_user_day": -1}, "whole number"),
        ({"min_user_interactions": True}, "whole number"),
        ({"min_item_interactions": 2.5}, "whole number"),
        ({"duplicate_window_seconds": -5}, "seconds"),
    ],
)
def test_invalid_config(changes: dict, message: str) -> None:
    with pytest.raises(CleaningError, match=message):
        CleaningConfig(**changes)


def test_config_dict_round_trip() -> None:
    config = CleaningConfig(min_ts="2020-01-02", max_ts=datetime(2024, 1, 1, 8), drop_future=False)
    assert config.min_ts == datetime(2020, 1, 2)
    assert CleaningConfig.from_dict(config.to_dict()) == config
