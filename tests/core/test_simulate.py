"""Tests of the sample world generator on a small world (20,000 events)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from core.schema import CATALOG_COLUMNS, EVENT_COLUMNS
from core.simulate.catalog import number_words
from core.simulate.sampling import group_ranks, grouped_cumulative, sample_rows
from core.simulate.sessions import CONSUMABLE_TYPES
from core.simulate.size import MIN_EVENTS, PERIOD_DAYS, PERIOD_START, world_size
from core.simulate.vocabulary import CATEGORY_TREE
from core.simulate.world import build_catalog, main, simulate_world

N_EVENTS = 20_000
FILES = ("events", "catalog", "ground_truth_users", "ground_truth_sessions")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A 20k-event world: its summary, folder, progress calls and tables as DataFrames."""
    out = tmp_path_factory.mktemp("world")
    calls: list[tuple[int, int, str]] = []
    summary = simulate_world(N_EVENTS, out, callback=lambda *call: calls.append(call))
    tables = {name: pq.read_table(out / f"{name}.parquet").to_pandas() for name in FILES}
    return {"summary": summary, "out": out, "calls": calls, **tables}


def test_same_seed_writes_identical_files_and_another_seed_does_not(world, tmp_path):
    again = tmp_path / "again"
    other = tmp_path / "other"
    simulate_world(N_EVENTS, again)
    simulate_world(N_EVENTS, other, random_state=8)
    for name in FILES:
        first = (world["out"] / f"{name}.parquet").read_bytes()
        assert (again / f"{name}.parquet").read_bytes() == first, name
        assert (other / f"{name}.parquet").read_bytes() != first, name


def test_default_size_meets_the_minimums():
    size = world_size(300_000)
    assert size.n_users >= 5_000
    assert size.n_items >= 3_000
    assert size.n_days >= 60
    assert 0 < size.n_bots < size.n_users / 100


def test_category_tree_has_six_tops_with_four_subcategories_each():
    assert len(CATEGORY_TREE) >= 6
    for top in CATEGORY_TREE:
        assert len(top.subs) >= 4, top.name


def test_default_catalogue_has_products_with_attributes_and_varied_text():
    catalog = build_catalog().to_pandas()
    assert len(catalog) >= 3_000
    assert catalog["item_id"].is_unique
    assert list(catalog.columns[: len(CATALOG_COLUMNS)]) == list(CATALOG_COLUMNS)
    assert {"colour", "material", "size", "feature"} <= set(catalog.columns)
    assert catalog[["title", "description", "brand", "colour", "material"]].notna().all().all()
    assert (catalog["price"] > 0).all()

    paths = catalog["category"].str.split(" > ")
    assert (paths.str.len() == 3).all()
    assert paths.str[0].nunique() >= 6
    assert (paths.str[0] + paths.str[1]).nunique() >= 24

    sentences = catalog["description"].str.count(r"[.?!](?: |$)")
    assert sentences.between(2, 4).all()
    assert set(sentences.unique()) == {2, 3, 4}
    openings = catalog["description"].str.split().str[:2].str.join(" ")
    assert openings.nunique() >= 4  # several templates, not one shape


def test_prices_are_lognormal_within_a_product_type():
    catalog = build_catalog().to_pandas()
    log_price = np.log(catalog["price"])
    spread = log_price.groupby(catalog["category"]).std()
    assert spread.median() == pytest.approx(0.45, abs=0.2)
    medians = catalog.groupby("category")["price"].median()
    assert medians.max() / medians.min() > 20  # sofas and laptops cost more than pens


def test_number_words_numbers_each_word_once_in_order_of_first_appearance():
    words, ids = number_words([("bag", "box"), (), ("box", "cup")])
    assert words == ["bag", "box", "cup"]
    assert [i.tolist() for i in ids] == [[0, 1], [], [1, 2]]


def test_group_helpers_rank_and_sample_inside_groups():
    np.testing.assert_array_equal(group_ranks(np.array([2, 0, 3])), [0, 1, 0, 1, 2])
    # Group 0 holds weights 1 and 3, group 1 the weight 2: cumulative shares 1/4 and 1 of each.
    cumulative = grouped_cumulative(np.array([0, 0, 1]), np.array([1.0, 3.0, 2.0]))
    np.testing.assert_allclose(cumulative, [0.25, 1.0, 2.0])
    assert np.searchsorted(cumulative, [0.1, 0.3, 1.5], side="right").tolist() == [0, 1, 2]
    rows = np.array([[0.2, 0.7, 1.0], [0.0, 0.0, 1.0]])
    assert sample_rows(rows, np.array([0.5, 0.5])).tolist() == [1, 2]


def test_build_catalog_matches_the_world_catalogue(world):
    rebuilt = build_catalog(world["summary"].n_items).to_pandas()
    pd.testing.assert_frame_equal(rebuilt, world["catalog"], check_dtype=False)


def test_summary_counts_match_the_files(world):
    summary, events = world["summary"], world["events"]
    assert summary.n_events == len(events) == N_EVENTS
    assert summary.event_counts == events["event"].value_counts().to_dict()
    assert (
        summary.n_sessions == events["session_id"].nunique() == len(world["ground_truth_sessions"])
    )
    assert summary.n_users == len(world["ground_truth_users"])
    assert summary.n_items == len(world["catalog"])


def test_events_have_the_canonical_columns_and_prefixed_ids(world):
    events = world["events"]
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert events["user_id"].str.fullmatch(r"U\d{6}").all()
    assert events["item_id"].dropna().str.fullmatch(r"P\d{5}").all()
    assert events["session_id"].str.fullmatch(r"S\d{7}").all()


def test_funnel_narrows_from_views_to_purchases(world):
    counts = world["events"]["event"].value_counts()
    assert counts["view"] >= counts["click"] >= counts["add_to_cart"] >= counts["purchase"] > 0
    assert counts["search"] > 0


def test_every_item_event_names_a_catalogue_product(world):
    items = world["events"]["item_id"].dropna()
    assert items.isin(set(world["catalog"]["item_id"])).all()


def test_search_rows_have_a_query_and_no_item_and_others_the_reverse(world):
    events = world["events"]
    search = events["event"] == "search"
    assert events.loc[search, "item_id"].isna().all()
    assert (events.loc[search, "query"].str.len() > 0).all()
    assert events.loc[~search, "item_id"].notna().all()
    assert events.loc[~search, "query"].isna().all()


def test_value_is_the_price_on_cart_and_purchase_rows_only(world):
    events = world["events"].merge(world["catalog"][["item_id", "price"]], on="item_id", how="left")
    priced = events["event"].isin(["add_to_cart", "purchase"])
    assert (events.loc[priced, "value"] == events.loc[priced, "price"]).all()
    assert events.loc[~priced, "value"].isna().all()


def test_events_are_in_time_order_over_the_whole_period(world):
    ts = world["events"]["ts"]
    assert ts.is_monotonic_increasing
    assert ts.min() >= pd.Timestamp(PERIOD_START)
    assert (ts.max() - ts.min()).days >= PERIOD_DAYS - 2
    assert ts.dt.date.nunique() >= 60


def test_late_products_exist_and_no_event_precedes_first_seen(world):
    catalog, events = world["catalog"], world["events"]
    last_fortnight = pd.Timestamp(PERIOD_START) + pd.Timedelta(days=PERIOD_DAYS - 14)
    late = catalog["first_seen"] >= last_fortnight
    assert late.sum() >= 10
    assert events["item_id"].isin(set(catalog.loc[late, "item_id"])).any()
    joined = events.dropna(subset=["item_id"]).merge(catalog[["item_id", "first_seen"]])
    assert len(joined) == events["item_id"].notna().sum()
    assert (joined["ts"] >= joined["first_seen"]).all()


def test_ground_truth_targets_are_catalogue_products_and_sessions_match(world):
    sessions, events = world["ground_truth_sessions"], world["events"]
    humans = sessions[~sessions["is_bot"]]
    assert humans["target_item_id"].notna().all()
    assert humans["target_item_id"].isin(set(world["catalog"]["item_id"])).all()
    assert sessions.loc[sessions["is_bot"], "target_item_id"].isna().all()
    per_session = events.groupby("session_id").agg(n=("event", "size"), user=("user_id", "first"))
    merged = sessions.set_index("session_id").join(per_session)
    assert (merged["n_events"] == merged["n"]).all()
    assert (merged["user_id"] == merged["user"]).all()
    bought = events.loc[events["event"] == "purchase", ["session_id", "item_id"]]
    checked = bought.merge(sessions[["session_id", "target_item_id", "purchased"]])
    assert (checked["item_id"] == checked["target_item_id"]).all()
    assert checked["purchased"].all()


def test_bots_produce_far_more_events_per_day_than_the_median_user(world):
    events, users = world["events"], world["ground_truth_users"]
    per_user = events.groupby("user_id").agg(
        n=("event", "size"), days=("ts", lambda t: t.dt.date.nunique())
    )
    rate = (per_user["n"] / per_user["days"]).rename("rate")
    rates = users.set_index("user_id").join(rate, how="inner")
    bots = rates.loc[rates["is_bot"], "rate"]
    assert len(bots) == world["summary"].n_bots >= 2
    assert bots.min() > 10 * rates.loc[~rates["is_bot"], "rate"].median()


def test_users_have_tastes_and_mostly_buy_in_their_favourite_category(world):
    users, events, catalog = world["ground_truth_users"], world["events"], world["catalog"]
    humans = users[~users["is_bot"]]
    affinity = humans.filter(like="affinity_")
    assert affinity.shape[1] == len(CATEGORY_TREE)
    np.testing.assert_allclose(affinity.sum(axis=1), 1.0, rtol=1e-9)
    assert humans["price_sensitivity"].between(0, 1).all()
    assert humans["brand_loyalty"].between(0, 1).all()
    assert users.loc[users["is_bot"], "price_sensitivity"].isna().all()

    buys = events[events["event"] == "purchase"].merge(catalog[["item_id", "category"]])
    buys = buys.merge(users[["user_id", "favourite_category"]])
    in_favourite = buys["category"].str.split(" > ").str[0] == buys["favourite_category"]
    assert in_favourite.mean() > 0.5


def test_activity_is_heavy_tailed_and_popularity_skewed(world):
    events = world["events"]
    humans = set(world["ground_truth_users"].query("~is_bot")["user_id"])
    per_user = events[events["user_id"].isin(humans)].groupby("user_id").size()
    assert per_user.max() > 8 * per_user.median()
    per_item = events["item_id"].value_counts()
    top_tenth = per_item.iloc[: len(per_item) // 10].sum()
    assert top_tenth / per_item.sum() > 0.3


def test_queries_relate_to_the_session_target(world):
    events, catalog = world["events"], world["catalog"]
    sessions = world["ground_truth_sessions"][["session_id", "target_item_id"]]
    searches = events.loc[events["event"] == "search", ["session_id", "query"]].merge(sessions)
    searches = searches.merge(catalog, left_on="target_item_id", right_on="item_id")
    synonyms = {
        f"{top.name} > {sub.name} > {t.name}": " ".join(t.synonyms)
        for top in CATEGORY_TREE
        for sub in top.subs
        for t in sub.types
    }
    text = (
        searches[["title", "category", "colour", "material", "size", "feature"]]
        .fillna("")
        .agg(" ".join, axis=1)
        + " "
        + searches["category"].map(synonyms)
    ).str.lower()
    shared = [
        bool(set(re.findall(r"[\w'-]+", q)) & set(re.findall(r"[\w'-]+", t)))
        for q, t in zip(searches["query"], text, strict=True)
    ]
    assert np.mean(shared) > 0.9
    assert searches["query"].nunique() > len(searches) / 4


def test_progress_callback_counts_up_to_its_total(world):
    calls = world["calls"]
    steps = [step for step, _, _ in calls]
    assert steps == sorted(steps)
    assert steps[-1] == calls[-1][1]
    assert all(isinstance(info, str) and info for _, _, info in calls)


def test_csv_format_writes_the_same_tables(tmp_path):
    simulate_world(3_000, tmp_path / "p", random_state=3)
    simulate_world(3_000, tmp_path / "c", random_state=3, fmt="csv")
    for name in FILES:
        parquet = pq.read_table(tmp_path / "p" / f"{name}.parquet")
        csv = pa_csv.read_csv(tmp_path / "c" / f"{name}.csv")
        assert csv.column_names == parquet.column_names
        assert csv.num_rows == parquet.num_rows
    events = pa_csv.read_csv(tmp_path / "c" / "events.csv").to_pandas()
    expected = pq.read_table(tmp_path / "p" / "events.parquet").to_pandas()
    assert (events["session_id"] == expected["session_id"]).all()
    assert (events["ts"].astype(str) == expected["ts"].astype(str)).all()


def test_invalid_arguments_raise_value_errors(tmp_path):
    with pytest.raises(ValueError, match="fmt"):
        simulate_world(5_000, tmp_path, fmt="xml")
    with pytest.raises(ValueError, match="n_events"):
        simulate_world(MIN_EVENTS - 1, tmp_path)
    with pytest.raises(ValueError, match="n_items"):
        build_catalog(5)
    assert not list(tmp_path.iterdir())


def test_command_line_writes_the_world(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["--events", "2000", "--out", str(out), "--seed", "5", "--format", "csv"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.csv" for name in FILES)
    assert "2,000 events" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--events", "2000", "--out", str(out), "--format", "xml"])
    with pytest.raises(SystemExit):
        main(["--events", "10", "--out", str(out)])


def test_no_partial_files_are_left_behind(world):
    assert not [p for p in Path(world["out"]).iterdir() if p.name.endswith(".partial")]


def test_consumables_are_bought_again_by_the_same_users(world):
    """A re-buy session targets a consumable its user bought in an earlier session (unless that
    purchase fell outside the event budget), and repeat purchases concentrate on consumables."""
    sessions, catalog = world["ground_truth_sessions"], world["catalog"]
    consumable_paths = {
        path for path in catalog["category"] if path.split(" > ")[-1] in CONSUMABLE_TYPES
    }
    rebuys = sessions[sessions["is_rebuy"]]
    assert len(rebuys) > 0 and not rebuys["is_bot"].any() and not rebuys["is_revisit"].any()
    assert rebuys["target_category"].isin(consumable_paths).all()
    bought = sessions[sessions["purchased"]].sort_values("start")
    first_bought = bought.groupby(["user_id", "target_item_id"])["start"].min()
    keys = pd.MultiIndex.from_frame(rebuys[["user_id", "target_item_id"]])
    earlier = first_bought.reindex(keys).to_numpy() < rebuys["start"].to_numpy()
    assert earlier.mean() > 0.9
    purchases = world["events"].query("event == 'purchase'")
    purchases = purchases.merge(catalog[["item_id", "category"]], on="item_id")
    repeated = purchases.duplicated(["user_id", "item_id"])
    is_consumable = purchases["category"].isin(consumable_paths)
    assert repeated[is_consumable].mean() > 5 * repeated[~is_consumable].mean()
