"""Ingest on tiny hand-written files: mapping, presets, timestamps, formats, derived catalogue."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.data.ingest.load import SAMPLE_DIR, load_dataset, load_sample_world
from core.data.ingest.presets import PRESETS, suggest_mapping
from core.data.ingest.sniff import sniff
from core.data.workspace import Workspace
from core.errors import IngestError, SchemaError

RAW_EVENT_COLUMNS = [
    "user_id",
    "item_id",
    "event",
    "ts",
    "session_id",
    "query",
    "value",
    "is_return",
]


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _rows(workspace: Workspace, sql: str) -> list[tuple]:
    with workspace.connect() as con:
        return con.execute(sql).fetchall()


def _events(workspace: Workspace, columns: str = "user_id, item_id, event, ts") -> list[tuple]:
    return _rows(workspace, f"SELECT {columns} FROM raw_events ORDER BY ts, user_id, item_id")


# Column mapping ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (
            ["Customer ID", "StockCode", "InvoiceDate", "Quantity"],
            {
                "user_id": "Customer ID",
                "item_id": "StockCode",
                "ts": "InvoiceDate",
                "quantity": "Quantity",
            },
        ),
        (
            ["userId", "productId", "eventType", "time", "searchTerm", "sessionId"],
            {
                "user_id": "userId",
                "item_id": "productId",
                "event": "eventType",
                "ts": "time",
                "query": "searchTerm",
                "session_id": "sessionId",
            },
        ),
        (
            ["VISITOR-ID", "ASIN", "Action", "Date", "keywords", "user_session"],
            {
                "user_id": "VISITOR-ID",
                "item_id": "ASIN",
                "event": "Action",
                "ts": "Date",
                "query": "keywords",
                "session_id": "user_session",
            },
        ),
        (
            ["visitor_uuid", "ProductKey", "ts"],
            {"user_id": "visitor_uuid", "item_id": "ProductKey", "ts": "ts"},
        ),
        (
            ["user_id:token", "item_id:token", "rating:float"],
            {"user_id": "user_id:token", "item_id": "item_id:token", "rating": "rating:float"},
        ),
        (["a", "b"], {}),
    ],
)
def test_suggest_mapping_for_events(columns: list[str], expected: dict[str, str]) -> None:
    assert suggest_mapping(columns) == expected


def test_suggest_mapping_for_catalog() -> None:
    columns = ["product_id", "Product Name", "Brand", "Category", "Price", "colour"]
    assert suggest_mapping(columns, kind="catalog") == {
        "item_id": "product_id",
        "title": "Product Name",
        "brand": "Brand",
        "category": "Category",
        "price": "Price",
    }


def test_suggest_mapping_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        suggest_mapping(["a"], kind="users")


def test_explicit_mapping_overrides_and_drops(workspace: Workspace, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "odd.csv",
        "who,what,when,other_time\nalice,p1,2024-01-02,2024-03-01\nbob,p2,2024-01-01,2024-03-02\n",
    )
    result = load_dataset(
        workspace, path, mapping={"user_id": "who", "item_id": "what", "ts": "other_time"}
    )
    assert result.mapping == {"user_id": "who", "item_id": "what", "ts": "other_time"}
    assert _events(workspace, "user_id, ts") == [
        ("alice", datetime(2024, 3, 1)),
        ("bob", datetime(2024, 3, 2)),
    ]
    result = load_dataset(
        workspace, path, mapping={"user_id": "who", "item_id": "what", "ts": None}
    )
    assert "ts" not in result.mapping
    assert any("row order gives the time" in w for w in result.warnings)
    # Row order: 1970-01-01 plus one second per row.
    assert _events(workspace, "user_id, ts") == [
        ("alice", datetime(1970, 1, 1, 0, 0, 1)),
        ("bob", datetime(1970, 1, 1, 0, 0, 2)),
    ]


def test_mapping_to_a_missing_column_names_the_columns(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = _write(tmp_path, "e.csv", "user,item,ts\nu1,i1,2024-01-01\n")
    with pytest.raises(
        SchemaError,
        match=r"column 'timestamp' not found in 'e.csv'; map ts to one of: user, item, ts",
    ):
        load_dataset(workspace, path, mapping={"ts": "timestamp"})
    with pytest.raises(SchemaError, match="unknown mapping target 'colour'"):
        load_dataset(workspace, path, mapping={"colour": "user"})


def test_session_stands_for_a_missing_user(workspace: Workspace, tmp_path: Path) -> None:
    path = _write(
        tmp_path, "clicks.csv", "session,item,timestamp\ns1,i1,2024-01-01\ns1,i2,2024-01-02\n"
    )
    result = load_dataset(workspace, path)
    assert result.mapping["session_id"] == "session"
    assert _events(workspace, "user_id, session_id") == [("s1", "s1"), ("s1", "s1")]
    assert any("each session (column 'session') is used as a user" in w for w in result.warnings)


# Sniffing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delimiter", "name"), [(";", "a.csv"), ("\t", "a.tsv"), ("|", "a.txt"), (",", "a.csv")]
)
def test_sniff_finds_delimiter_header_and_preview(
    tmp_path: Path, delimiter: str, name: str
) -> None:
    rows = [["user", "item", "title"], ["u1", "i1", "Red, small"], ["u2", "i2", "Blue"]]
    text = "\n".join(delimiter.join(f'"{c}"' if "," in c else c for c in row) for row in rows)
    result = sniff(_write(tmp_path, name, text + "\n"))
    assert result.format == "csv"
    assert result.delimiter == delimiter
    assert result.has_header
    assert result.columns == ["user", "item", "title"]
    assert result.preview["title"].tolist() == ["Red, small", "Blue"]
    assert result.mapping == {"user_id": "user", "item_id": "item", "title": "title"}
    assert (result.preset, result.kind) == ("generic", "events")


def test_sniff_honours_excel_separator_line(tmp_path: Path) -> None:
    result = sniff(_write(tmp_path, "x.csv", "sep=;\nuser;item\nu1;i1\n"))
    assert (result.delimiter, result.columns) == (";", ["user", "item"])
    assert len(result.preview) == 1


def test_presets_are_all_there() -> None:
    expected = {
        "shopsynth",
        "retailrocket",
        "recbole",
        "diginetica",
        "amazon_sequences",
        "esci_examples",
        "esci_products",
        "invoice",
        "generic",
    }
    assert set(PRESETS) == expected


RETAILROCKET = (
    "timestamp,visitorid,event,itemid,transactionid\n"
    "1433221332117,257597,view,355908,\n"
    "1433224214164,992329,addtocart,248676,\n"
    "1433221999827,111016,transaction,318965,4000\n"
)
DIGINETICA = (
    "sessionId;userId;itemId;timeframe;eventdate\n"
    "1;NA;81766;526309;2016-05-09\n"
    "1;;31331;1031018;2016-05-09\n"
    "2;5;9654;75848;2016-05-10\n"
)
RECBOLE_INTER = (
    "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    "196\t242\t3\t881250949\n"
    "186\t302\t5\t891717742\n"
)
RECBOLE_ITEM = (
    "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    "242\tKolya\t1996\tComedy\n"
    "302\tL.A. Confidential\t1997\tCrime Film-Noir Mystery Thriller\n"
)
SEQUENCES = "A1 B01 B02 B03\nA2 B02 B04\nA3 B05 B01 B02 B03 B04\n"
ESCI_EXAMPLES = (
    "example_id,query,query_id,product_id,product_locale,esci_label,small_version,large_version,split\n"
    "1,red shoes,7,P1,us,E,1,1,train\n"
    "2,red shoes,7,P2,us,S,1,1,train\n"
    "3,red shoes,7,P3,us,C,1,1,train\n"
    "4,blue hat,8,P1,us,I,1,1,train\n"
)
ESCI_PRODUCTS = (
    "product_id,product_title,product_description,product_bullet_point,product_brand,"
    "product_color,product_locale\n"
    "P1,Red Shoe,A shoe.,Comfy,Acme,red,us\n"
    "P2,Crimson Shoe,,Light,Bolt,crimson,us\n"
    "P3,Shoe Polish,Shiny.,,Acme,,us\n"
)
INVOICE = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
    "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom\n"
    "C536379,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-1,12/1/2010 9:41,2.55,14527,"
    "United Kingdom\n"
    "536380,71053,WHITE METAL LANTERN,2,12/13/2010 10:00,3.5,,France\n"
)
GENERIC = "visitor,product,date\nu1,i1,2024-01-01\n"


@pytest.mark.parametrize(
    ("name", "text", "preset", "kind"),
    [
        ("events.csv", RETAILROCKET, "retailrocket", "events"),
        ("train-item-views.csv", DIGINETICA, "diginetica", "events"),
        ("x.inter", RECBOLE_INTER, "recbole", "events"),
        ("x.item", RECBOLE_ITEM, "recbole", "catalog"),
        ("user_sequence.txt", SEQUENCES, "amazon_sequences", "events"),
        ("examples.csv", ESCI_EXAMPLES, "esci_examples", "events"),
        ("products.csv", ESCI_PRODUCTS, "esci_products", "catalog"),
        ("Online Retail.csv", INVOICE, "invoice", "events"),
        (
            "events.csv",
            "user_id,item_id,event,ts,session_id,query,value\nu,i,view,2024-01-01,s,,\n",
            "shopsynth",
            "events",
        ),
        ("generic.csv", GENERIC, "generic", "events"),
    ],
)
def test_preset_detection(tmp_path: Path, name: str, text: str, preset: str, kind: str) -> None:
    result = sniff(_write(tmp_path, name, text))
    assert (result.preset, result.kind) == (preset, kind)


# Presets: mapped values --------------------------------------------------------------------------


def test_retailrocket_events_and_epoch_milliseconds(workspace: Workspace, tmp_path: Path) -> None:
    result = load_dataset(workspace, _write(tmp_path, "events.csv", RETAILROCKET))
    assert result.preset == "retailrocket"
    assert _events(workspace) == [
        ("257597", "355908", "view", datetime(2015, 6, 2, 5, 2, 12, 117000)),
        ("111016", "318965", "purchase", datetime(2015, 6, 2, 5, 13, 19, 827000)),
        ("992329", "248676", "add_to_cart", datetime(2015, 6, 2, 5, 50, 14, 164000)),
    ]
    assert (result.n_events, result.n_users, result.n_items) == (3, 3, 3)


def test_diginetica_falls_back_to_sessions(workspace: Workspace, tmp_path: Path) -> None:
    result = load_dataset(workspace, _write(tmp_path, "views.csv", DIGINETICA))
    assert result.preset == "diginetica"
    assert _events(workspace, "user_id, item_id, event, ts, session_id") == [
        ("session:1", "81766", "view", datetime(2016, 5, 9, 0, 8, 46, 309000), "1"),
        ("session:1", "31331", "view", datetime(2016, 5, 9, 0, 17, 11, 18000), "1"),
        ("5", "9654", "view", datetime(2016, 5, 10, 0, 1, 15, 848000), "2"),
    ]
    assert "rows without a user id: 2 of 3; their session stands for the user" in " ".join(
        result.warnings
    )


def test_recbole_ratings_and_item_file(workspace: Workspace, tmp_path: Path) -> None:
    events = _write(tmp_path, "ml.inter", RECBOLE_INTER)
    items = _write(tmp_path, "ml.item", RECBOLE_ITEM)
    result = load_dataset(workspace, events, catalog_path=items)
    assert result.preset == "recbole"
    assert result.mapping == {
        "user_id": "user_id",
        "item_id": "item_id",
        "rating": "rating",
        "ts": "timestamp",
    }
    assert _events(workspace, "user_id, item_id, event, ts, value") == [
        ("196", "242", "rating", datetime(1997, 12, 4, 15, 55, 49), 3.0),
        ("186", "302", "rating", datetime(1998, 4, 4, 19, 22, 22), 5.0),
    ]
    catalog = _rows(
        workspace,
        "SELECT item_id, title, category, genres, release_year, first_seen FROM raw_catalog "
        "ORDER BY item_id",
    )
    assert catalog == [
        ("242", "Kolya", "Comedy", "Comedy", "1996", datetime(1997, 12, 4, 15, 55, 49)),
        (
            "302",
            "L.A. Confidential",
            "Crime",
            "Crime Film-Noir Mystery Thriller",
            "1997",
            datetime(1998, 4, 4, 19, 22, 22),
        ),
    ]
    assert not result.catalog_derived


def test_amazon_sequences_explode_with_positions(workspace: Workspace, tmp_path: Path) -> None:
    result = load_dataset(workspace, _write(tmp_path, "user_sequence.txt", SEQUENCES))
    assert result.preset == "amazon_sequences"
    assert (result.n_events, result.n_users, result.n_items) == (3 + 2 + 5, 3, 5)
    rows = _rows(
        workspace, "SELECT item_id, epoch(ts)::INT FROM raw_events WHERE user_id = 'A3' ORDER BY ts"
    )
    assert rows == [("B05", 1), ("B01", 2), ("B02", 3), ("B03", 4), ("B04", 5)]


def test_esci_examples_and_products(workspace: Workspace, tmp_path: Path) -> None:
    events = _write(tmp_path, "examples.csv", ESCI_EXAMPLES)
    products = _write(tmp_path, "products.csv", ESCI_PRODUCTS)
    result = load_dataset(workspace, events, catalog_path=products)
    assert result.preset == "esci_examples"
    assert _rows(
        workspace, "SELECT user_id, item_id, event, query, value FROM raw_events ORDER BY ts"
    ) == [
        ("7", "P1", "rating", "red shoes", 1.0),
        ("7", "P2", "rating", "red shoes", 0.1),
        ("7", "P3", "rating", "red shoes", 0.01),
        ("8", "P1", "rating", "blue hat", 0.0),
    ]
    catalog = _rows(
        workspace,
        "SELECT item_id, title, description, brand, product_bullet_point, product_color "
        "FROM raw_catalog ORDER BY item_id",
    )
    assert catalog == [
        ("P1", "Red Shoe", "A shoe.", "Acme", "Comfy", "red"),
        ("P2", "Crimson Shoe", None, "Bolt", "Light", "crimson"),
        ("P3", "Shoe Polish", "Shiny.", "Acme", None, None),
    ]


def test_invoice_lines_returns_value_and_derived_titles(
    workspace: Workspace, tmp_path: Path
) -> None:
    result = load_dataset(workspace, _write(tmp_path, "retail.csv", INVOICE))
    assert result.preset == "invoice"
    assert result.catalog_derived
    rows = _rows(
        workspace,
        "SELECT user_id, item_id, event, ts, session_id, value, is_return FROM raw_events "
        "ORDER BY ts, item_id",
    )
    assert rows == [
        (
            "17850",
            "71053",
            "purchase",
            datetime(2010, 12, 1, 8, 26),
            "536365",
            pytest.approx(6 * 3.39),
            False,
        ),
        (
            "17850",
            "85123A",
            "purchase",
            datetime(2010, 12, 1, 8, 26),
            "536365",
            pytest.approx(6 * 2.55),
            False,
        ),
        (
            "14527",
            "85123A",
            "purchase",
            datetime(2010, 12, 1, 9, 41),
            "C536379",
            pytest.approx(-2.55),
            True,
        ),
        (
            None,
            "71053",
            "purchase",
            datetime(2010, 12, 13, 10, 0),
            "536380",
            pytest.approx(7.0),
            False,
        ),
    ]
    catalog = _rows(
        workspace, "SELECT item_id, title, price, first_seen FROM raw_catalog ORDER BY item_id"
    )
    assert catalog == [
        ("71053", "WHITE METAL LANTERN", 3.5, datetime(2010, 12, 1, 8, 26)),
        ("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 2.55, datetime(2010, 12, 1, 8, 26)),
    ]
    assert any("rows without a user id: 1 of 4" in w for w in result.warnings)


def _sample_world(folder: Path) -> Path:
    folder.mkdir()
    events = pa.table(
        {
            "user_id": ["u1", "u1", "u2", "u2"],
            "item_id": [None, "p1", "p1", "p2"],
            "event": ["search", "view", "add_to_cart", "purchase"],
            "ts": pa.array(
                [
                    datetime(2024, 1, 1, 9),
                    datetime(2024, 1, 1, 10),
                    datetime(2024, 1, 2),
                    datetime(2024, 1, 3),
                ],
                pa.timestamp("us"),
            ),
            "session_id": ["s1", "s1", "s2", "s2"],
            "query": ["red pan", None, None, None],
            "value": [None, None, 19.5, 19.5],
        }
    )
    catalog = pa.table(
        {
            "item_id": ["p1", "p2", "p3"],
            "title": ["Red pan", "Blue pot", "Green lid"],
            "description": ["A pan.", "A pot.", "A lid."],
            "category": ["Home > Kitchen > Pans", "Home > Kitchen > Pots", "Home > Kitchen > Lids"],
            "brand": ["Acme", "Bolt", "Acme"],
            "price": [19.5, 25.0, 4.0],
            "first_seen": pa.array([datetime(2023, 12, 1)] * 3, pa.timestamp("us")),
            "colour": ["red", "blue", "green"],
        }
    )
    pq.write_table(events, folder / "events.parquet")
    pq.write_table(catalog, folder / "catalog.parquet")
    return folder


def test_load_sample_world(workspace: Workspace, tmp_path: Path) -> None:
    folder = _sample_world(tmp_path / "sample")
    steps = []
    result = load_sample_world(
        workspace, folder, callback=lambda step, total, info: steps.append((step, total))
    )
    assert result.preset == "shopsynth"
    assert (result.n_events, result.n_users, result.n_items) == (4, 2, 2)
    assert not result.catalog_derived
    assert result.warnings == []
    assert _rows(
        workspace, "SELECT user_id, item_id, event, query, value FROM raw_events ORDER BY ts"
    ) == [
        ("u1", None, "search", "red pan", None),
        ("u1", "p1", "view", None, None),
        ("u2", "p1", "add_to_cart", None, 19.5),
        ("u2", "p2", "purchase", None, 19.5),
    ]
    with workspace.connect() as con:
        columns = [row[0] for row in con.execute("DESCRIBE raw_events").fetchall()]
        catalog = con.execute("SELECT * FROM raw_catalog ORDER BY item_id").df()
    assert columns == RAW_EVENT_COLUMNS
    assert catalog.columns.tolist() == [
        "item_id",
        "title",
        "description",
        "category",
        "brand",
        "price",
        "first_seen",
        "colour",
    ]
    assert catalog["colour"].tolist() == ["red", "blue", "green"]
    info = workspace.dataset_info()
    assert (info.name, info.preset, info.n_events, info.n_items) == (
        "ShopSynth sample world",
        "shopsynth",
        4,
        2,
    )
    assert info.catalog_source == str(folder / "catalog.parquet")
    assert steps[0][0] == 0 and steps[-1] == (4, 4)
    assert [s for s, _ in steps] == sorted(s for s, _ in steps)


def test_load_sample_world_without_files_says_how_to_make_them(
    workspace: Workspace, tmp_path: Path
) -> None:
    with pytest.raises(IngestError, match="python -m core simulate"):
        load_sample_world(workspace, tmp_path)


# Timestamps --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1704103200", "1704106800"], [datetime(2024, 1, 1, 10), datetime(2024, 1, 1, 11)]),
        (
            ["1704103200000", "1704106800500"],
            [datetime(2024, 1, 1, 10), datetime(2024, 1, 1, 11, 0, 0, 500000)],
        ),
        (
            ["2024-01-01T10:00:00Z", "2024-01-01T13:00:00+02:00"],
            [datetime(2024, 1, 1, 10), datetime(2024, 1, 1, 11)],
        ),
        (
            ["31/01/2024 10:00", "01/02/2024 11:30"],
            [datetime(2024, 1, 31, 10), datetime(2024, 2, 1, 11, 30)],
        ),
        (["01.02.2024", "15.02.2024"], [datetime(2024, 2, 1), datetime(2024, 2, 15)]),
        (["20240101", "20240102"], [datetime(2024, 1, 1), datetime(2024, 1, 2)]),
        (["1 Jan 2024", "2 Feb 2024"], [datetime(2024, 1, 1), datetime(2024, 2, 2)]),
    ],
)
def test_timestamp_formats(
    workspace: Workspace, tmp_path: Path, values: list[str], expected: list[datetime]
) -> None:
    body = "".join(f"u{i},i{i},{v}\n" for i, v in enumerate(values))
    load_dataset(workspace, _write(tmp_path, "t.csv", "user_id,item_id,ts\n" + body))
    assert [
        row[0] for row in _rows(workspace, "SELECT ts FROM raw_events ORDER BY user_id")
    ] == expected


def test_numeric_epoch_column_in_parquet(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    pq.write_table(
        pa.table({"user": [1, 2], "item": [10.0, 11.0], "time": [1704103200000, 1704103260000]}),
        path,
    )
    load_dataset(workspace, path)
    assert _events(workspace) == [
        ("1", "10", "view", datetime(2024, 1, 1, 10)),
        ("2", "11", "view", datetime(2024, 1, 1, 10, 1)),
    ]


# Formats -----------------------------------------------------------------------------------------


def test_gzip_by_extension_and_by_magic_bytes(workspace: Workspace, tmp_path: Path) -> None:
    data = gzip.compress(RETAILROCKET.encode())
    for name in ("events.csv.gz", "events.csv"):
        path = tmp_path / name
        path.write_bytes(data)
        sniffed = sniff(path)
        assert (sniffed.compression, sniffed.preset) == ("gzip", "retailrocket")
        assert load_dataset(workspace, path).n_events == 3


def test_json_lines_plain_gzip_and_array(workspace: Workspace, tmp_path: Path) -> None:
    records = [
        {
            "user": "u1",
            "sku": 101,
            "action": "Add-To-Cart",
            "time": "2024-01-01 10:00:00",
            "meta": {"a": 1},
        },
        {"user": "u2", "sku": "A7", "action": "buy", "time": "2024-01-02 10:00:00", "meta": None},
    ]
    lines = "\n".join(json.dumps(r) for r in records) + "\n"
    expected = [
        ("u1", "101", "add_to_cart", datetime(2024, 1, 1, 10)),
        ("u2", "A7", "purchase", datetime(2024, 1, 2, 10)),
    ]
    (tmp_path / "e.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    for path in (
        _write(tmp_path, "e.jsonl", lines),
        tmp_path / "e.jsonl.gz",
        _write(tmp_path, "a.json", json.dumps(records)),
    ):
        assert sniff(path).format == "json"
        load_dataset(workspace, path)
        assert _events(workspace) == expected


def test_derived_catalogue_takes_most_frequent_text_and_latest_price(
    workspace: Workspace, tmp_path: Path
) -> None:
    text = (
        "user,item,ts,product_name,category,brand,price\n"
        "u1,p1,2024-01-01,Red pan,Kitchen,Acme,10\n"
        "u2,p1,2024-01-02,Red pan,Kitchen,Acme,12\n"
        "u3,p1,2024-01-03,red pan (typo),Kitchen,Acme,\n"
        "u1,p2,2024-01-01,Blue pot,,Bolt,5\n"
    )
    result = load_dataset(workspace, _write(tmp_path, "log.csv", text))
    assert result.catalog_derived
    assert _rows(workspace, "SELECT * FROM raw_catalog ORDER BY item_id") == [
        ("p1", "Red pan", None, "Kitchen", "Acme", 12.0, datetime(2024, 1, 1)),
        ("p2", "Blue pot", None, None, "Bolt", 5.0, datetime(2024, 1, 1)),
    ]
    with workspace.connect() as con:
        columns = [row[0] for row in con.execute("DESCRIBE raw_events").fetchall()]
    assert columns == RAW_EVENT_COLUMNS


def test_catalogue_without_text_holds_item_ids(workspace: Workspace, tmp_path: Path) -> None:
    load_dataset(workspace, _write(tmp_path, "log.csv", GENERIC))
    assert _rows(workspace, "SELECT item_id, title, first_seen FROM raw_catalog") == [
        ("i1", None, datetime(2024, 1, 1))
    ]


def test_catalogue_file_duplicates_are_reduced_to_first_row(
    workspace: Workspace, tmp_path: Path
) -> None:
    events = _write(tmp_path, "log.csv", "user,item,ts\nu1,i1,2024-01-05\n")
    catalog = _write(
        tmp_path, "items.csv", "item_id,title\ni1,First\ni1,Second\n,Nobody\ni2,Other\n"
    )
    result = load_dataset(workspace, events, catalog_path=catalog)
    assert _rows(
        workspace, "SELECT item_id, title, first_seen FROM raw_catalog ORDER BY item_id"
    ) == [
        ("i1", "First", datetime(2024, 1, 5)),
        ("i2", "Other", None),
    ]
    assert any(
        "rows without an item id (1) and repeated item ids (1)" in w for w in result.warnings
    )


# Events ------------------------------------------------------------------------------------------


def test_unknown_event_names_take_the_default(workspace: Workspace, tmp_path: Path) -> None:
    text = (
        "user,item,event,ts\nu1,i1,PageView,2024-01-01\nu1,i1,wishlist,2024-01-02\n"
        "u1,i1,CART,2024-01-03\n"
    )
    result = load_dataset(workspace, _write(tmp_path, "e.csv", text), default_event="click")
    assert [row[0] for row in _rows(workspace, "SELECT event FROM raw_events ORDER BY ts")] == [
        "view",
        "click",
        "add_to_cart",
    ]
    assert any("(e.g. 'wishlist'); they were stored as 'click'" in w for w in result.warnings)


def test_rows_with_a_query_and_no_item_are_searches(workspace: Workspace, tmp_path: Path) -> None:
    text = "user,item,search_term,ts\nu1,,red pan,2024-01-01\nu1,p1,,2024-01-02\n"
    result = load_dataset(workspace, _write(tmp_path, "e.csv", text))
    assert _rows(workspace, "SELECT item_id, event, query FROM raw_events ORDER BY ts") == [
        (None, "search", "red pan"),
        ("p1", "view", None),
    ]
    assert (result.n_events, result.n_items) == (2, 1)


def test_bad_default_event_and_preset(workspace: Workspace, tmp_path: Path) -> None:
    path = _write(tmp_path, "e.csv", GENERIC)
    with pytest.raises(IngestError, match="default_event 'like' is not an event type"):
        load_dataset(workspace, path, default_event="like")
    with pytest.raises(IngestError, match="unknown preset 'movielens'; choose one of"):
        load_dataset(workspace, path, preset="movielens")
    with pytest.raises(SchemaError, match="preset 'esci_products' describes catalog files"):
        load_dataset(workspace, path, preset="esci_products")


def test_catalogue_given_as_log_says_so(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(
        SchemaError, match="looks like a product catalogue: pass it as the catalogue"
    ):
        load_dataset(workspace, _write(tmp_path, "products.csv", ESCI_PRODUCTS))


def test_reload_replaces_tables_and_records_dataset(workspace: Workspace, tmp_path: Path) -> None:
    load_dataset(workspace, _write(tmp_path, "rr.csv", RETAILROCKET), name="rr")
    result = load_dataset(workspace, _write(tmp_path, "g.csv", GENERIC))
    assert workspace.row_count("raw_events") == 1
    assert workspace.row_count("raw_catalog") == 1
    info = workspace.dataset_info()
    assert (info.name, info.preset, info.n_events, info.n_items) == ("g.csv", "generic", 1, 1)
    assert (
        info.mapping == result.mapping == {"user_id": "visitor", "item_id": "product", "ts": "date"}
    )
    with workspace.connect() as con:
        tables = {
            row[0]
            for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
    assert not any(t.startswith("_ingest") for t in tables)


def test_ids_keep_leading_zeros_and_lose_float_suffix(workspace: Workspace, tmp_path: Path) -> None:
    text = "user,item,ts\n00123,17850.0,2024-01-01\n 00124 ,17851.0,2024-01-02\n"
    load_dataset(workspace, _write(tmp_path, "e.csv", text))
    assert _events(workspace, "user_id, item_id") == [("00123", "17850"), ("00124", "17851")]


def test_preview_is_a_dataframe_of_first_rows(tmp_path: Path) -> None:
    body = "".join(f"u{i},i{i},2024-01-01\n" for i in range(50))
    result = sniff(_write(tmp_path, "e.csv", "user,item,ts\n" + body))
    assert isinstance(result.preview, pd.DataFrame)
    assert len(result.preview) == 20
    assert result.preview.iloc[0].tolist() == ["u0", "i0", "2024-01-01"]


def test_space_separated_table(workspace: Workspace, tmp_path: Path) -> None:
    path = _write(
        tmp_path, "u.data", "user item rating time\n196 242 3 881250949\n186 302 5 891717742\n"
    )
    sniffed = sniff(path)
    assert (sniffed.format, sniffed.delimiter, sniffed.columns) == (
        "csv",
        " ",
        ["user", "item", "rating", "time"],
    )
    load_dataset(workspace, path)
    assert _events(workspace, "user_id, item_id, event, value") == [
        ("196", "242", "rating", 3.0),
        ("186", "302", "rating", 5.0),
    ]


def test_repository_sample_world_loads_cleanly(workspace: Workspace) -> None:
    events = SAMPLE_DIR / "events.parquet"
    if not events.is_file():
        pytest.skip("sample_data/events.parquet not generated yet")
    result = load_sample_world(workspace)
    assert result.preset == "shopsynth"
    assert result.warnings == []
    assert result.n_events == pq.ParquetFile(events).metadata.num_rows
    catalog_rows = pq.ParquetFile(SAMPLE_DIR / "catalog.parquet").metadata.num_rows
    assert workspace.row_count("raw_catalog") == catalog_rows


def test_catalog_mapping_and_return_flags(workspace: Workspace, tmp_path: Path) -> None:
    events = _write(
        tmp_path,
        "orders.csv",
        "customer,sku,order_date,returned\nc1,A,2024-01-01,no\nc1,B,2024-01-02,yes\n",
    )
    catalog = _write(tmp_path, "items.csv", "sku,name_en,maker\nA,Kettle,Acme\nB,Toaster,Bolt\n")
    result = load_dataset(
        workspace, events, catalog_path=catalog, catalog_mapping={"title": "name_en"}
    )
    assert result.mapping == {
        "user_id": "customer",
        "item_id": "sku",
        "ts": "order_date",
        "is_return": "returned",
    }
    assert _events(workspace, "item_id, is_return") == [("A", False), ("B", True)]
    assert _rows(workspace, "SELECT item_id, title, brand FROM raw_catalog ORDER BY item_id") == [
        ("A", "Kettle", "Acme"),
        ("B", "Toaster", "Bolt"),
    ]
    assert workspace.dataset_info().catalog_source == str(catalog)


@pytest.mark.parametrize("filler_rows", [0, 40_000])
def test_quoted_fields_spanning_lines(
    workspace: Workspace, tmp_path: Path, filler_rows: int
) -> None:
    # 40,000 filler rows push the multi-line field past the first megabyte that sniffing reads.
    filler = "".join(f"u{i},a{i % 7},Plain ASCII title\n" for i in range(filler_rows))
    text = "user,item,title\n" + filler + 'u1,i1,"Two\nlines"\nu2,i2\nu3,i3,Last\n'
    result = load_dataset(workspace, _write(tmp_path, "multi.csv", text))
    assert result.n_events == filler_rows + 2
    titles = _rows(
        workspace, "SELECT item_id, title FROM raw_catalog WHERE item_id LIKE 'i%' ORDER BY 1"
    )
    assert titles == [("i1", "Two\nlines"), ("i3", "Last")]
    assert any(
        "lines of 'multi.csv' that could not be parsed and were skipped: 1" in w
        for w in result.warnings
    )
