"""Data-profile queries on a 13-event table whose every figure is counted by hand below."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from core.data import profile
from core.data.workspace import Workspace
from core.errors import WorkspaceError

# user, item, event, ts, session, query
EVENTS = [
    ("u1", "i1", "view", "2024-01-01 10:00:00", "s1", None),
    ("u1", "i1", "click", "2024-01-01 10:01:00", "s1", None),
    ("u1", "i1", "add_to_cart", "2024-01-01 10:02:00", "s1", None),
    ("u1", "i1", "purchase", "2024-01-01 10:03:00", "s1", None),
    ("u1", None, "search", "2024-01-01 09:59:00", "s1", "pan"),
    ("u2", "i1", "view", "2024-01-02 08:00:00", "s2", None),
    ("u2", "i2", "view", "2024-01-02 08:05:00", "s2", None),
    ("u2", "i2", "click", "2024-01-02 08:06:00", "s2", None),
    ("u3", "i3", "view", "2024-01-03 12:00:00", "s3", None),
    ("u3", "i2", "view", None, "s3", None),
    ("u3", "i4", "view", "2024-01-03 12:10:00", "s3", None),
    ("u3", "i5", "view", "2024-01-03 12:20:00", "s3", None),
    ("u4", None, "search", "2024-01-03 18:00:00", "s4", "mug"),
]
# item, category; i5 is missing from the catalogue and i6 has no event.
CATALOG = [
    ("i1", "Home > Kitchen > Pans"),
    ("i2", "Home > Decor"),
    ("i3", "Sports>Running"),
    ("i4", None),
    ("i6", "Garden"),
]


def _write_tables(ws: Workspace, events: str = "events", catalog: str = "catalog") -> None:
    with ws.transaction() as con:
        con.execute(
            f"""CREATE TABLE {events} (user_id VARCHAR, item_id VARCHAR, event VARCHAR,
                ts TIMESTAMP, session_id VARCHAR, query VARCHAR, value DOUBLE,
                is_return BOOLEAN)"""
        )
        con.executemany(
            f"INSERT INTO {events} VALUES (?, ?, ?, CAST(? AS TIMESTAMP), ?, ?, NULL, false)",
            [list(row) for row in EVENTS],
        )
        con.execute(
            f"""CREATE TABLE {catalog} (item_id VARCHAR, title VARCHAR, description VARCHAR,
                category VARCHAR, brand VARCHAR, price DOUBLE, first_seen TIMESTAMP)"""
        )
        con.executemany(
            f"INSERT INTO {catalog} VALUES (?, NULL, NULL, ?, NULL, NULL, NULL)",
            [list(row) for row in CATALOG],
        )


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The tables as ``events`` and ``catalog``; shared, so tests must only read them."""
    workspace = Workspace.open("profile", home=tmp_path_factory.mktemp("home"))
    _write_tables(workspace)
    return workspace


def test_dataset_counts(cleaned: Workspace) -> None:
    counts = profile.dataset_counts(cleaned)
    assert counts["n_events"] == 13
    assert counts["n_users"] == 4
    assert counts["n_items"] == 5
    assert counts["n_sessions"] == 4
    assert counts["n_searches"] == 2
    assert counts["n_missing_ts"] == 1
    # (u1,i1) (u2,i1) (u2,i2) (u3,i2) (u3,i3) (u3,i4) (u3,i5); u4 only searched.
    assert counts["n_pairs"] == 7
    assert counts["n_matrix_users"] == 3
    assert counts["density"] == pytest.approx(7 / 15)
    assert counts["sparsity"] == pytest.approx(8 / 15)
    assert counts["events_per_user"] == pytest.approx(13 / 4)
    assert counts["events_per_item"] == pytest.approx(11 / 5)
    assert counts["first_ts"] == datetime(2024, 1, 1, 9, 59)
    assert counts["last_ts"] == datetime(2024, 1, 3, 18, 0)
    assert counts["events_by_type"] == {
        "view": 7,
        "click": 2,
        "add_to_cart": 1,
        "purchase": 1,
        "search": 2,
    }
    assert counts["n_catalog_items"] == 5


def test_events_over_time_by_day(cleaned: Workspace) -> None:
    frame = profile.events_over_time(cleaned, freq="day")
    got = {
        (period.strftime("%Y-%m-%d"), event): n
        for period, event, n in frame.itertuples(index=False)
    }
    assert got == {
        ("2024-01-01", "add_to_cart"): 1,
        ("2024-01-01", "click"): 1,
        ("2024-01-01", "purchase"): 1,
        ("2024-01-01", "search"): 1,
        ("2024-01-01", "view"): 1,
        ("2024-01-02", "click"): 1,
        ("2024-01-02", "view"): 2,
        ("2024-01-03", "search"): 1,
        ("2024-01-03", "view"): 3,
    }
    # The event with a NULL timestamp is the only one left out.
    assert frame["n_events"].sum() == 12
    assert frame.attrs["freq"] == "day"


def test_events_over_time_auto_frequency(cleaned: Workspace) -> None:
    # 2 days 8 hours of data: hourly buckets.
    frame = profile.events_over_time(cleaned)
    assert frame.attrs["freq"] == "hour"
    assert frame["n_events"].sum() == 12


@pytest.mark.parametrize(
    ("days", "expected"),
    [(1, "hour"), (3, "hour"), (60, "day"), (180, "day"), (400, "week"), (2000, "month")],
)
def test_choose_frequency(days: int, expected: str) -> None:
    start = pd.Timestamp("2024-01-01")
    assert profile.choose_frequency(start, start + pd.Timedelta(days=days)) == expected


def test_events_over_time_rejects_unknown_frequency(cleaned: Workspace) -> None:
    with pytest.raises(ValueError, match="freq"):
        profile.events_over_time(cleaned, freq="fortnight")


def test_funnel(cleaned: Workspace) -> None:
    frame = profile.funnel(cleaned)
    assert frame["stage"].tolist() == ["view", "click", "add_to_cart", "purchase"]
    assert frame["n_events"].tolist() == [7, 2, 1, 1]
    assert frame["n_users"].tolist() == [3, 2, 1, 1]
    assert frame["rate_from_previous"].tolist() == pytest.approx([1.0, 2 / 7, 1 / 2, 1.0])
    assert frame["rate_from_first"].tolist() == pytest.approx([1.0, 2 / 7, 1 / 7, 1 / 7])


def test_funnel_without_views_gives_nan_rates(workspace: Workspace) -> None:
    with workspace.transaction() as con:
        con.execute(
            "CREATE TABLE events AS SELECT 'u1' AS user_id, 'i1' AS item_id, "
            "'purchase' AS event, TIMESTAMP '2024-01-01' AS ts"
        )
    frame = profile.funnel(workspace)
    assert frame["n_events"].tolist() == [0, 0, 0, 1]
    assert frame["rate_from_first"].isna().all()
    assert frame["rate_from_previous"].iloc[1:].isna().all()


def test_item_popularity_keeps_ends_of_each_step(cleaned: Workspace) -> None:
    # Counts per item: i1 5, i2 3, i3 1, i4 1, i5 1 -> ranks 3 to 5 share the count 1.
    frame = profile.item_popularity(cleaned)
    assert list(frame.itertuples(index=False, name=None)) == [(1, 5), (2, 3), (3, 1), (5, 1)]


def test_popularity_concentration(cleaned: Workspace) -> None:
    shares = profile.popularity_concentration(cleaned)
    # ceil(5 * 1%) = ceil(5 * 20%) = 1 item: i1 with 5 of the 11 item events.
    assert shares["top_1pct_share"] == pytest.approx(5 / 11)
    assert shares["top_20pct_share"] == pytest.approx(5 / 11)
    # Ascending counts 1,1,1,3,5: sum (2i - 6) x_i = -4 - 2 + 0 + 6 + 20 = 20, over 5 * 11.
    assert shares["gini"] == pytest.approx(20 / 55)


def test_user_activity_power_of_two_bins(cleaned: Workspace) -> None:
    # Events per user: u1 5, u2 3, u3 4, u4 1.
    frame = profile.user_activity(cleaned)
    assert frame["label"].tolist() == ["1", "2-3", "4-7"]
    assert frame["bin_low"].tolist() == [1, 2, 4]
    assert frame["bin_high"].tolist() == [1, 3, 7]
    assert frame["n_users"].tolist() == [1, 1, 2]


def test_category_mix(cleaned: Workspace) -> None:
    frame = profile.category_mix(cleaned)
    assert frame["category"].tolist() == ["Home", "(no category)", "Sports", "Garden"]
    assert frame["n_items"].tolist() == [2, 1, 1, 1]
    # Home: i1 5 + i2 3; no category: i4 (NULL) 1 + i5 (not in the catalogue) 1.
    assert frame["n_events"].tolist() == [8, 2, 1, 0]
    assert frame["event_share"].tolist() == pytest.approx([8 / 11, 2 / 11, 1 / 11, 0.0])


def test_raw_tables_are_profiled_before_cleaning(workspace: Workspace) -> None:
    _write_tables(workspace, events="raw_events", catalog="raw_catalog")
    assert profile.profile_table(workspace) == "raw_events"
    counts = profile.dataset_counts(workspace, table="raw_events")
    assert counts["n_events"] == 13
    assert counts["n_catalog_items"] == 5
    assert profile.category_mix(workspace, table="raw_events")["n_events"].sum() == 11


def _record(ws: Workspace, table: str, at: str) -> None:
    with ws.transaction() as con:
        if table == "dataset":
            con.execute(
                "INSERT INTO dataset VALUES ('d', 'f.csv', 'generic', '{}', NULL, "
                "CAST(? AS TIMESTAMP), 13, 5, '')",
                [at],
            )
        else:
            con.execute(
                "INSERT INTO cleaning_reports VALUES ('r', CAST(? AS TIMESTAMP), 1, 'k_core', "
                "'', 13, 13, 0, '')",
                [at],
            )


def test_cleaned_events_are_profiled_only_when_current(workspace: Workspace) -> None:
    _write_tables(workspace, events="raw_events", catalog="raw_catalog")
    _write_tables(workspace)
    # No cleaning report: the events table cannot be trusted to describe this load.
    assert not profile.is_cleaned(workspace)
    assert profile.profile_table(workspace) == "raw_events"
    _record(workspace, "dataset", "2024-02-01 10:00:00")
    _record(workspace, "cleaning_reports", "2024-02-01 10:05:00")
    assert profile.is_cleaned(workspace)
    assert profile.profile_table(workspace) == "events"
    # A later load replaces the raw tables only: the cleaned ones are stale until recleaned.
    _record(workspace, "dataset", "2024-02-02 09:00:00")
    assert not profile.is_cleaned(workspace)
    assert profile.profile_table(workspace) == "raw_events"


def test_empty_workspace_raises_with_the_fix(workspace: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="load a dataset"):
        profile.profile_table(workspace)
    with pytest.raises(WorkspaceError, match="clean"):
        profile.dataset_counts(workspace)


def test_unknown_table_name_is_refused(cleaned: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="unknown events table"):
        profile.funnel(cleaned, table="runs")
