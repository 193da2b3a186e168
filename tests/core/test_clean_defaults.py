"""Cleaning defaults that keep real data: every preset cleans with its defaults, position-only
logs skip the time rules, buyers are not bots, chosen users stay, no rule empties a dataset,
and id spellings merge. Every count below is worked out by hand."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.__main__ import main as cli_main
from core.data.clean import clean_dataset, latest_report
from core.data.ingest.load import load_dataset
from core.data.ingest.presets import PRESETS
from core.data.rules import CleaningConfig
from core.data.workspace import HOME_ENV_VAR, Workspace
from core.errors import CleaningError
from tests.core.test_clean import T0, event, events_of, load

# One tiny file per preset; every user has at least two distinct items (the k-core default).
PRESET_FILES: dict[str, tuple[str, str, int]] = {
    # name: (file name, text, events kept by the default cleaning)
    "amazon_sequences": ("user_sequence.txt", "A1 B01 B02 B03\nA2 B02 B04\n", 5),
    "recbole": (
        "ml.inter",
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        "196\t242\t3\t881250949\n196\t302\t4\t881250999\n186\t302\t5\t891717742\n"
        "186\t242\t2\t891717800\n",
        4,
    ),
    "diginetica": (
        "train-item-views.csv",
        "sessionId;userId;itemId;timeframe;eventdate\n1;NA;81766;526309;2016-05-09\n"
        "1;;31331;1031018;2016-05-09\n2;5;9654;75848;2016-05-10\n2;5;81766;95848;2016-05-10\n",
        4,
    ),
    "retailrocket": (
        "events.csv",
        "timestamp,visitorid,event,itemid,transactionid\n1433221332117,257597,view,355908,\n"
        "1433224214164,257597,addtocart,248676,\n1433221999827,111016,transaction,318965,4000\n"
        "1433222999827,111016,view,355908,\n",
        4,
    ),
    "esci_examples": (
        "examples.csv",
        "example_id,query,query_id,product_id,product_locale,esci_label,small_version,"
        "large_version,split\n1,red shoes,7,P1,us,E,1,1,train\n2,red shoes,7,P2,us,S,1,1,train\n"
        "3,blue hat,8,P1,us,I,1,1,train\n4,blue hat,8,P3,us,E,1,1,train\n",
        4,
    ),
    "invoice": (
        "Online Retail.csv",
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,85123A,WHITE HANGING HEART,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
        "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom\n"
        "536366,85123a,WHITE HANGING HEART,2,12/2/2010 9:00,2.55,14527,United Kingdom\n"
        "536366,71053,WHITE METAL LANTERN,2,12/2/2010 9:00,3.39,14527,United Kingdom\n",
        4,
    ),
    "shopsynth": (
        "events.csv",
        "user_id,item_id,event,ts,session_id,query,value\nu1,i1,view,2024-01-01,s1,,\n"
        "u1,i2,purchase,2024-01-01,s1,,\nu2,i1,view,2024-01-02,s2,,\nu2,i3,click,2024-01-02,s2,,\n",
        4,
    ),
    "generic": (
        "generic.csv",
        "visitor,product,date\nu1,i1,2024-01-01\nu1,i2,2024-01-01\nu2,i1,2024-01-03\n"
        "u2,i2,2024-01-04\n",
        4,
    ),
}
ESCI_PRODUCTS = (
    "product_id,product_title,product_description,product_bullet_point,product_brand,"
    "product_color,product_locale\nP1,Red Shoe,A shoe.,Comfy,Acme,red,us\n"
    "P2,Crimson Shoe,,Light,Bolt,crimson,us\nP3,Shoe Polish,Shiny.,,Acme,,us\n"
)


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_preset_has_a_tiny_file() -> None:
    # esci_products is a catalogue layout: it is cleaned beside the esci_examples log.
    assert set(PRESET_FILES) | {"esci_products"} == set(PRESETS)


@pytest.mark.parametrize("preset", sorted(PRESET_FILES))
def test_every_preset_cleans_with_its_defaults(
    workspace: Workspace, tmp_path: Path, preset: str
) -> None:
    name, text, kept = PRESET_FILES[preset]
    catalog = _write(tmp_path, "products.csv", ESCI_PRODUCTS) if preset == "esci_examples" else None
    result = load_dataset(workspace, _write(tmp_path, name, text), catalog_path=catalog)
    assert result.preset == preset
    if catalog is not None:
        assert workspace.dataset_info().catalog_source is not None
    report = clean_dataset(workspace)
    assert report.config == CleaningConfig.for_preset(preset)
    assert report.n_events_after == kept == report.n_events_before


def test_position_only_log_keeps_its_one_day_user(workspace: Workspace, tmp_path: Path) -> None:
    # 600 items in one line: 600 positions within ten minutes of 1970-01-01, one "day".
    items = " ".join(f"B{i:03d}" for i in range(600))
    path = _write(tmp_path, "user_sequence.txt", f"A1 {items}\nA2 B001 B002\n")
    load_dataset(workspace, path)
    busy = CleaningConfig(max_events_per_user_day=500, min_ts=datetime(1990, 1, 1))
    report = clean_dataset(workspace, busy)
    assert report.rule("timestamps").removed == 0
    assert "positions" in report.rule("timestamps").parameter
    assert report.rule("bots").removed == 0
    assert (report.n_events_after, report.n_users_after) == (602, 2)


def test_derived_minimum_drops_placeholder_dates_of_any_era(workspace: Workspace) -> None:
    old = datetime(1975, 6, 1)
    rows = [event("u1", "i1", ts=datetime(1970, 1, 1))]  # epoch zero, alone before the gap
    rows += [event("u1", f"i{k}", ts=old + timedelta(days=k)) for k in range(2, 6)]
    load(workspace, rows)
    report = clean_dataset(workspace, CleaningConfig())
    assert report.rule("timestamps").removed == 1
    assert "before 1975-06-03" in report.rule("timestamps").parameter
    assert sorted(events_of(workspace)["item_id"]) == ["i2", "i3", "i4", "i5"]


def _wholesale_and_bot(ws: Workspace) -> None:
    """A wholesale buyer: 3 invoices of 200 lines, every line at its invoice's time; a bot:
    120 views in one session, one every 1.5 s (40 in each of 3 minutes); a shopper."""
    rows = [
        event(
            "wholesale",
            f"i{line}",
            "purchase",
            T0 + timedelta(days=invoice),
            session=f"inv{invoice}",
        )
        for invoice in range(3)
        for line in range(200)
    ]
    rows += [
        event("bot", f"i{k % 50}", "view", T0 + timedelta(seconds=1.5 * k), session="b1")
        for k in range(120)
    ]
    rows += [event("shopper", "i1", session="s1"), event("shopper", "i2", "purchase", session="s1")]
    load(ws, rows)


def test_buyers_are_kept_and_fast_browsers_removed(workspace: Workspace) -> None:
    _wholesale_and_bot(workspace)
    # The old rule (500 events a day, purchases counted) removed the wholesale buyer.
    report = clean_dataset(workspace, CleaningConfig())
    rule = report.rule("bots")
    assert rule.removed == 120  # 40 views a minute > 30: the bot only
    assert set(events_of(workspace)["user_id"]) == {"wholesale", "shopper"}
    bots = [r for r in report.removed_users if r.rule == "bots"]
    assert [(r.total, r.users) for r in bots] == [(1, (("bot", 120),))]
    stored = latest_report(workspace)
    assert stored is not None and stored.removed_users == report.removed_users
    assert stored.removed_users_frame().values.tolist() == [["bots", "bot", 120]]


def test_chosen_users_are_kept(workspace: Workspace) -> None:
    _wholesale_and_bot(workspace)
    load_more = [event("solo", "i1", session="x")]  # one item: the k-core default removes it
    with workspace.connect() as con:
        for row in load_more:
            con.execute(
                "INSERT INTO raw_events VALUES (?, ?, ?, ?, ?, NULL, NULL, false)",
                [row["user_id"], row["item_id"], row["event"], row["ts"], row["session_id"]],
            )
    report = clean_dataset(workspace, CleaningConfig())
    assert {(r.rule, r.users) for r in report.removed_users} == {
        ("bots", (("bot", 120),)),
        ("k_core", (("solo", 1),)),
    }
    report = clean_dataset(workspace, CleaningConfig(keep_users=("bot", "solo")))
    assert report.removed == 0
    assert report.removed_users == ()


def test_no_rule_empties_a_dataset(workspace: Workspace) -> None:
    rows = [
        event("bot", f"i{k}", "view", T0 + timedelta(seconds=k), session="b") for k in range(40)
    ]
    load(workspace, rows)
    with pytest.raises(CleaningError, match=r"refused: rule bots .* would remove all 40 events"):
        clean_dataset(workspace, CleaningConfig())
    assert latest_report(workspace) is None


def test_id_spellings_merge_with_the_count_in_the_report(workspace: Workspace) -> None:
    rows = [
        event("u1", "85123A"),
        event("u1", "71053"),
        event("u2", " 85123a"),
        event("u2", "71053"),
    ]
    catalog = [{"item_id": "85123A", "title": "Heart"}, {"item_id": " 85123a", "title": "heart"}]
    catalog.append({"item_id": "71053", "title": "Lantern"})
    load(workspace, rows, catalog)
    plain = clean_dataset(workspace, CleaningConfig())
    assert (plain.n_items_after, plain.n_catalog_after, plain.n_ids_merged) == (3, 3, 0)
    report = clean_dataset(workspace, dataclasses.replace(CleaningConfig(), normalise_ids=True))
    # Raw spellings: 85123A, " 85123a", 71053 -> 85123A, 71053: one merged away.
    assert report.n_ids_merged == 1
    assert (report.n_items_before, report.n_items_after) == (3, 2)
    assert sorted(events_of(workspace)["item_id"]) == ["71053", "71053", "85123A", "85123A"]
    catalog_rows = workspace.read_table("catalog")
    assert catalog_rows[["item_id", "title"]].values.tolist() == [
        ["85123A", "Heart"],
        ["71053", "Lantern"],
    ]
    assert latest_report(workspace).n_ids_merged == 1


def test_cli_clean_keeps_users(
    workspace: Workspace, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _wholesale_and_bot(workspace)
    monkeypatch.setenv(HOME_ENV_VAR, str(workspace.path.parent))
    args = ["clean", "--workspace", workspace.name]
    assert cli_main(args) == 0
    assert "bot (120 rows)" in capsys.readouterr().out
    assert cli_main([*args, "--keep-users", "bot"]) == 0
    assert set(events_of(workspace)["user_id"]) == {"wholesale", "shopper", "bot"}
