"""Quality split by generator and status on a hand-made store, popularity of new products like
with like, and attribute consistency of hand-written descriptions."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data.workspace import Workspace
from core.errors import QualityError
from core.synth.quality_groups import (
    AGREES,
    CONTRADICTS,
    NOT_NAMED,
    attribute_consistency,
    attribute_summary,
    new_item_popularity,
    text_quality_by_group,
)
from core.synth.store import ACCEPTED, PENDING, REJECTED, add_samples, list_samples, set_status


@pytest.fixture
def store(workspace: Workspace) -> Workspace:
    """Two generators: "warm:q" with 3 samples (1 accepted, 1 pending, 1 rejected) and
    "template" with 2 (both pending)."""
    warm = pd.DataFrame(
        {"item_id": ["a", "b", "c"], "text": ["red mug", "blue cup", "mug"],
         "rank": [1, 30, 2], "score": [0.9, 0.2, 0.8]}
    )  # fmt: skip
    template = pd.DataFrame({"item_id": ["a", "b"], "text": ["mug", "cheap cup"], "rank": [5, 4]})
    warm_ids = add_samples(workspace, warm, kind="query", generator="warm:q", run_id="r1")
    add_samples(workspace, template, kind="query", generator="template", run_id="r2")
    set_status(workspace, ACCEPTED, [warm_ids[0]])
    set_status(workspace, REJECTED, [warm_ids[1]])
    return workspace


def _value(table: pd.DataFrame, generator: str, status: str, measure: str) -> float:
    rows = table[
        (table["generator"] == generator)
        & (table["status"] == status)
        & (table["measure"] == measure)
    ]
    assert len(rows) == 1
    return float(rows["value"].iloc[0])


def test_figures_are_split_by_generator_and_status_without_rejected(store: Workspace) -> None:
    samples = list_samples(store, kind="query")
    real = ["mug", "tea cup", "red mug"]
    table = text_quality_by_group(samples, real, k=3)
    groups = table[["generator", "status", "n"]].drop_duplicates().values.tolist()
    assert groups == [["template", PENDING, 2], ["warm:q", PENDING, 1], ["warm:q", ACCEPTED, 1]]
    copies = "exact copies of training texts"
    # template: "mug" is real, "cheap cup" is not -> 1/2; warm accepted "red mug" is real.
    assert _value(table, "template", PENDING, copies) == 0.5
    assert _value(table, "warm:q", ACCEPTED, copies) == 1.0
    assert _value(table, "warm:q", PENDING, copies) == 1.0
    # Round trip within top 3: template ranks 5 and 4 -> 0; warm pending rank 2 -> 1.
    assert _value(table, "template", PENDING, "round trip within top 3") == 0.0
    assert _value(table, "warm:q", PENDING, "round trip within top 3") == 1.0
    # distinct-1 of the template's "mug", "cheap cup": 3 distinct words of 3.
    assert _value(table, "template", PENDING, "distinct-1") == 1.0
    assert REJECTED not in set(table["status"])
    with_rejected = text_quality_by_group(samples, real, statuses=(REJECTED,), k=3)
    assert with_rejected[["generator", "n"]].drop_duplicates().values.tolist() == [["warm:q", 1]]
    assert _value(with_rejected, "warm:q", REJECTED, copies) == 0.0
    with pytest.raises(QualityError, match="unknown statuses"):
        text_quality_by_group(samples, real, statuses=("kept",))


def test_new_product_popularity_compares_like_with_like() -> None:
    ts = pd.Timestamp("2025-01-10")
    day = pd.Timedelta(days=1)
    real = pd.DataFrame(
        {
            "item_id": ["old", "old", "old", "new1", "new1", "new2", "old"],
            "ts": [ts - 5 * day, ts - day, ts + day, ts, ts + day, ts + 2 * day, ts + 3 * day],
        }
    )
    synthetic = pd.DataFrame({"item_id": ["s1"] * 3 + ["s2"] * 3})
    report, counts = new_item_popularity(real, synthetic, ts)
    # New since ts: new1 (2 rows) and new2 (1 row); "old" was first seen before.
    assert sorted(counts["real new products"].tolist()) == [1, 2]
    assert counts["synthetic products"].tolist() == [3, 3]
    values = dict(zip(report["measure"], report["value"], strict=True))
    assert values["rows per new product: median, real"] == 1.5
    assert values["rows per new product: median, synthetic"] == 3.0
    # No shared count value: total variation 1, Jensen-Shannon 1 bit, KS 1.
    assert values["rows per new product: total variation"] == pytest.approx(1.0)
    assert values["rows per new product: Jensen-Shannon (bits)"] == pytest.approx(1.0)
    assert values["rows per new product: KS statistic"] == pytest.approx(1.0)
    with pytest.raises(QualityError, match="nothing to compare"):
        new_item_popularity(real, synthetic, ts + 10 * day)


def test_attribute_consistency_of_hand_written_descriptions() -> None:
    catalog = pd.DataFrame(
        {
            "item_id": ["mug", "cream", "shirt"],
            "title": ["Stoneware Mug", "Briico Face Cream", "Cotton Shirt"],
            "brand": ["Potto", "Briico", "Linifield"],
            "colour": ["red", "white", "cream"],
            "material": ["stoneware", "vitamin E", "cotton"],
            "size": ["350 ml", "50 ml", "M"],
        }
    )
    texts = [
        "A red stoneware mug by Linifield, 350 ml.",  # brand contradicts
        "A white face cream from Briico, 50 ml.",  # "cream" is its own type: no colour claim
        "A blue cotton shirt, size M, by Linifield.",  # colour contradicts
        "A shirt for every day in stoneware.",  # material contradicts, size "M" not named
    ]
    table = attribute_consistency(texts, ["mug", "cream", "shirt", "shirt"], catalog)
    verdict = {(row.row, row.attribute): row.verdict for row in table.itertuples()}
    assert verdict[(0, "colour")] == AGREES and verdict[(0, "material")] == AGREES
    assert verdict[(0, "brand")] == CONTRADICTS and verdict[(0, "size")] == AGREES
    assert verdict[(1, "colour")] == AGREES and verdict[(1, "brand")] == AGREES
    # "blue" is no catalogue colour here, so nothing is read: not named.
    assert verdict[(2, "colour")] == NOT_NAMED
    assert verdict[(2, "size")] == AGREES and verdict[(2, "brand")] == AGREES
    assert verdict[(3, "material")] == CONTRADICTS and verdict[(3, "size")] == NOT_NAMED
    assert verdict[(3, "colour")] == NOT_NAMED
    named = table[(table["row"] == 0) & (table["attribute"] == "brand")]["named_values"]
    assert named.tolist() == ["linifield"]
    summary = attribute_summary(table).set_index("attribute")
    # brand: agrees in rows 1 and 2, contradicts in row 0, not named in row 3.
    assert summary.loc["brand", [AGREES, CONTRADICTS, NOT_NAMED, "n"]].tolist() == [2, 1, 1, 4]
    assert summary.loc["brand", "agreement"] == pytest.approx(2 / 3)
    assert summary.loc["material", "agreement"] == pytest.approx(2 / 3)
    with pytest.raises(QualityError, match="not in the catalogue"):
        attribute_consistency(["x"], ["nope"], catalog)
