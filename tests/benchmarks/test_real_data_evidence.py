"""The pure helpers of benchmarks/real_data_evidence.py, and the loaders it reads data with."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from core.data.datasets import GAMES_FOLDER, completejourney_catalog, load_games_titles

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "real_data_evidence.py"
_spec = importlib.util.spec_from_file_location("real_data_evidence", SCRIPT)
evidence = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(evidence)


def test_cold_relevance_keeps_only_items_without_training_entries():
    train = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 1, 0, 0]]))
    part = sp.csr_matrix(np.array([[0, 1, 1, 0], [1, 0, 0, 1]]))
    cold = evidence.cold_relevance(train, part)
    assert cold.toarray().tolist() == [[0, 0, 1, 0], [0, 0, 0, 1]]
    assert evidence.users_with_items(cold).tolist() == [0, 1]
    assert evidence.users_with_items(sp.csr_matrix((3, 4))).tolist() == []


def test_list_ndcg_by_hand():
    lists = np.array([[2, 0], [1, -1], [3, 1]])
    relevant = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 1]]))
    # User 0: one relevant item, hit at rank 2 -> (1 / log2 3) / 1. User 1: nothing relevant.
    # User 2: hits at ranks 1 and 2, two relevant -> 1.
    expected = [1 / np.log2(3), 0.0, 1.0]
    np.testing.assert_allclose(evidence.list_ndcg(lists, relevant), expected)


def test_best_on_validation_takes_the_highest_and_the_first_on_ties():
    scores = {"a": 0.2, "b": 0.5, "c": 0.5, "d": 0.9}
    assert evidence.best_on_validation(scores, ["a", "b", "c"]) == "b"
    assert evidence.best_on_validation(scores, ["c", "b"]) == "c"
    with pytest.raises(ValueError):
        evidence.best_on_validation(scores, [])


def test_paired_difference_is_the_mean_difference_with_an_interval():
    control = np.array([0.0, 0.5, 1.0, 0.25, 0.0, 0.0])
    treatment = control + np.array([0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    shifted = evidence.paired_difference(treatment, control)
    # A constant difference of 0.1 for every user: every resample gives exactly 0.1.
    assert shifted == {"diff": 0.1, "ci_low": 0.1, "ci_high": 0.1}
    varied = evidence.paired_difference(np.array([1.0, 0, 0, 1, 0, 0]), np.zeros(6))
    assert varied["diff"] == pytest.approx(2 / 6, abs=1e-6)
    assert 0 <= varied["ci_low"] < varied["diff"] < varied["ci_high"] <= 1


def test_games_loader_keeps_each_sampled_users_sequence_in_order(shared_datasets):
    interactions, catalog = load_games_titles(shared_datasets, n_users=30, random_state=1)
    assert interactions.n_users == 30
    assert set(catalog["item_id"]) == set(interactions.item_ids)
    raw = pd.read_csv(
        shared_datasets / GAMES_FOLDER / "Games-6k.test.inter",
        sep="\t", quoting=csv.QUOTE_NONE, dtype=str,
    )  # fmt: skip
    raw.columns = ["user_id", "history", "last"]
    row = raw[raw["user_id"] == interactions.user_ids[0]].iloc[0]
    sequence = f"{row['history']} {row['last']}".split()
    rows, cols = interactions.entries()
    mine = rows == 0
    items = interactions.item_ids[cols[mine]]
    assert set(items) == set(sequence)
    # The last item of the sequence has the latest time: leave-last-one holds it out.
    latest = items[np.argmax(interactions.last_ts[mine])]
    assert latest == sequence[-1]


def test_completejourney_catalog_has_every_text_field(shared_datasets):
    catalog = completejourney_catalog(shared_datasets)
    products = pd.read_parquet(shared_datasets / "completejourney_sample" / "products.parquet")
    assert len(catalog) == len(products)
    first = catalog.iloc[2]
    assert first["item_id"] == str(products["product_id"].iloc[2])
    assert first["title"] == products["product_type"].iloc[2]
    assert first["category"] == f"{products['department'].iloc[2]} > " + str(
        products["product_category"].iloc[2]
    )
