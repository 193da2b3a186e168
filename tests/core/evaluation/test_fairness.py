"""Item groups of the fairness metrics, built from the catalogue and the training times."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.interactions import Interactions
from core.data.splits import Split
from core.evaluation.compare import item_groups, metric_context
from core.evaluation.experiment import unavailable_metrics
from core.metrics import evaluate_lists

ITEMS = ["i0", "i1", "i2", "i3"]
DAY = np.timedelta64(1, "D")
END = np.datetime64("2024-03-01T00:00:00")


def _split() -> Split:
    # i0 first bought 60 days before the end, i1 and i2 10 days before, i3 never in training.
    users = np.array([0, 0, 1, 1], dtype=np.int64)
    items = np.array([0, 1, 0, 2], dtype=np.int64)
    times = np.array([END - 60 * DAY, END - 10 * DAY, END, END - 10 * DAY])
    train = Interactions.from_arrays(["a", "b"], ITEMS, users, items, np.ones(4, np.float32), times)
    test = Interactions.from_arrays(
        ["a", "b"], ITEMS, np.array([0, 1]), np.array([3, 3]), np.ones(2, np.float32),
        np.array([END, END]),
    )  # fmt: skip
    return Split.from_parts(train, test, None, "temporal", {})


CATALOG = pd.DataFrame(
    {
        "item_id": ["i3", "i2", "i1", "i0"],
        "brand": ["Acme", None, "Acme", "Zed"],
        "category": ["Home > Pans", "Home", "Toys > Cars", None],
        "price": [1.0, 2.0, 3.0, 4.0],
        "first_seen": [None, "2023-01-01", None, None],
    }
)


def test_item_groups_from_the_catalogue_and_training_times() -> None:
    groups = item_groups(_split(), CATALOG)
    assert groups["brand"].tolist() == ["Zed", "Acme", "(no brand)", "Acme"]
    assert groups["category"].tolist() == ["(no category)", "Toys", "Home", "Home"]
    # Quartiles of 1..4: one price per band, i0 the dearest.
    bands = groups["price"]
    assert len(set(bands.tolist())) == 4
    assert bands[3] < bands[2] < bands[1] < bands[0]
    # i2's catalogue first_seen (2023) beats its training time; i3 was never in training.
    assert groups["newness"].tolist() == ["established", "new", "established", "new"]


def test_groupings_the_data_lacks_are_left_out_and_reported() -> None:
    split = _split()
    context = metric_context(split, CATALOG[["item_id", "brand"]])
    assert set(context.item_groups) == {"brand", "newness"}
    reasons = unavailable_metrics(["exposure_gap_price@2", "exposure_gap_brand@2"], context)
    assert list(reasons) == ["exposure_gap_price@2"]
    assert "no price" in reasons["exposure_gap_price@2"]
    # Both test users have i3 (Acme) relevant; listing i0 (Zed) first for both gives all the
    # exposure at position 1 to Zed and 1 / log2(3) to the second item.
    lists = np.array([[0, 1], [0, 2]])
    relevant = split.test.matrix.tocsr()[split.test_users]
    values = evaluate_lists(lists, relevant, ["exposure_gap_brand@1"], context)
    assert values["exposure_gap_brand@1"] == 1.0
