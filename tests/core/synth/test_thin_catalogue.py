"""A catalogue of short names only (an invoice log): the generators say so and write from the
name's words, the category and the products bought together, not boilerplate."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data.workspace import Workspace
from core.synth.catalog_fields import co_purchased_names, thin_catalogue_note
from core.synth.descriptions import synthesize_descriptions, template_descriptions
from core.synth.queries import template_queries, warm_sources
from tests.core.synth.conftest import make_catalog, write_catalog

NAMES = {
    "H1": "WHITE HANGING HEART T-LIGHT HOLDER",
    "B1": "JUMBO BAG RED RETROSPOT",
    "C1": "REGENCY CAKESTAND 3 TIER",
    "W1": "WRAP, PACK OF 12",
}


@pytest.fixture
def invoices(workspace: Workspace) -> Workspace:
    """Names only; H1 is bought with B1 in two invoices and with C1 in one."""
    catalog = pd.DataFrame({"item_id": list(NAMES), "title": list(NAMES.values())})
    write_catalog(workspace, catalog)
    t = pd.Timestamp("2025-01-01")
    rows = [
        ("u1", "H1", "i1"), ("u1", "B1", "i1"), ("u2", "H1", "i2"), ("u2", "B1", "i2"),
        ("u2", "C1", "i2"), ("u3", "W1", "i3"),
    ]  # fmt: skip
    frame = pd.DataFrame(
        [(user, item, "purchase", t, session, None) for user, item, session in rows],
        columns=["user_id", "item_id", "event", "ts", "session_id", "query"],
    )
    with workspace.transaction() as con:
        con.register("events_frame", frame)
        con.execute("CREATE OR REPLACE TABLE events AS SELECT * FROM events_frame")
    return workspace


def test_a_names_only_catalogue_is_called_thin() -> None:
    catalog = pd.DataFrame({"item_id": list(NAMES), "title": list(NAMES.values())})
    note = thin_catalogue_note(catalog)
    assert note is not None and "4 of 4 products have only a name (4 words on median)" in note
    assert thin_catalogue_note(make_catalog()) is None


def test_co_purchased_names_count_shared_invoices(invoices: Workspace) -> None:
    names = co_purchased_names(invoices, ["H1", "W1", "C1"], k=1)
    # H1: B1 twice, C1 once -> B1; W1 shares no invoice; C1: H1 and B1 once each -> B1 first
    # by id on the tie.
    assert names == {"H1": ["JUMBO BAG RED RETROSPOT"], "C1": ["JUMBO BAG RED RETROSPOT"]}
    assert co_purchased_names(invoices, ["H1"], k=2)["H1"] == [
        "JUMBO BAG RED RETROSPOT", "REGENCY CAKESTAND 3 TIER",
    ]  # fmt: skip
    assert warm_sources(invoices, invoices.read_table("catalog"), ["H1", "W1"]) == [
        "WHITE HANGING HEART T-LIGHT HOLDER | bought with: JUMBO BAG RED RETROSPOT, "
        "REGENCY CAKESTAND 3 TIER",
        "WRAP, PACK OF 12",
    ]


def test_template_texts_use_the_name_and_its_basket() -> None:
    catalog = pd.DataFrame({"item_id": list(NAMES), "title": list(NAMES.values())})
    written = template_descriptions(
        catalog, item_ids=["H1", "W1"],
        bought_with={"H1": ["JUMBO BAG RED RETROSPOT", "REGENCY CAKESTAND 3 TIER"]},
    )  # fmt: skip
    assert written["text"].tolist() == [
        "White hanging heart t-light holder. Often bought with jumbo bag red retrospot and "
        "regency cakestand 3 tier.",
        "Wrap, pack of 12.",
    ]
    queries = template_queries(catalog, n_per_product=5, random_state=0)
    by_item = queries.groupby("item_id")["text"].agg(set)
    assert by_item["W1"] == {"wrap"}  # never "pack of" or "of 12"
    assert "t-light holder" in by_item["H1"]
    for texts in by_item:
        assert not any(text.split()[0] in {"of", "pack"} or text.endswith(" of") for text in texts)


def test_synthesis_says_the_catalogue_is_thin(invoices: Workspace) -> None:
    run = synthesize_descriptions(invoices, "template", item_ids=["H1"])
    assert "little text" in run.metrics["note"]
    assert run.samples["text"].tolist() == [
        "White hanging heart t-light holder. Often bought with jumbo bag red retrospot and "
        "regency cakestand 3 tier."
    ]


def test_a_warm_description_model_needs_descriptions_and_says_why(invoices: Workspace) -> None:
    from core.errors import DescriptionGenerationError
    from core.synth.descriptions import train_warm_description_model

    with pytest.raises(DescriptionGenerationError, match="little text"):
        train_warm_description_model(invoices, "wd")
