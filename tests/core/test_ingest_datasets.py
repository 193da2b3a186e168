"""Every public dataset in ../shared/datasets loads with its preset detected, and the row counts
match what its README states (the numbers are read from the README, not copied here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.data.ingest.load import load_dataset
from core.data.ingest.sniff import sniff
from core.data.workspace import Workspace
from core.errors import IngestError


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _readme(folder: Path) -> str:
    return (folder / "README.md").read_text(encoding="utf-8")


def _table_row(readme: str, filename: str) -> list[str]:
    """Cells of the README table row that starts with ``filename``."""
    for line in readme.splitlines():
        if line.startswith(f"| `{filename}`"):
            return [cell.strip() for cell in line.strip("|").split("|")]
    raise AssertionError(f"README has no table row for {filename}")


def _scalar(workspace: Workspace, sql: str) -> object:
    with workspace.connect() as con:
        return con.execute(sql).fetchone()[0]


@pytest.mark.parametrize("category", ["Beauty", "Sports"])
def test_amazon_sequences(shared_datasets: Path, workspace: Workspace, category: str) -> None:
    folder = shared_datasets / "amazon_5core_sequences"
    cells = _table_row(_readme(folder), f"{category}/user_sequence.txt")
    users, items, interactions = (_number(cell) for cell in cells[1:4])
    path = folder / category / "user_sequence.txt"
    assert sniff(path).preset == "amazon_sequences"
    result = load_dataset(workspace, path)
    assert result.preset == "amazon_sequences"
    assert (result.n_events, result.n_users, result.n_items) == (interactions, users, items)
    # Sequences are chronological: position 1 is the first item of every user.
    assert _scalar(workspace, "SELECT min(ts) FROM raw_events") == _scalar(
        workspace, "SELECT TIMESTAMP '1970-01-01 00:00:01'"
    )


def test_diginetica(shared_datasets: Path, workspace: Workspace) -> None:
    folder = shared_datasets / "diginetica_sample"
    readme = _readme(folder)
    stated = re.search(
        r"([\d,]+) rows \(views\), ([\d,]+) sessions, ([\d,]+) items, ([\d,]+) rows with a "
        r"user_id, eventdate (\S+) \.\. (\S+)",
        readme,
    )
    assert stated is not None
    rows, sessions, items, with_user = (_number(stated.group(i)) for i in range(1, 5))
    path = folder / "sample_train-item-views.csv"
    assert sniff(path).preset == "diginetica"
    result = load_dataset(workspace, path)
    assert result.preset == "diginetica"
    assert (result.n_events, result.n_items) == (rows, items)
    assert _scalar(workspace, "SELECT count(DISTINCT session_id) FROM raw_events") == sessions
    anonymous = _scalar(workspace, "SELECT count(*) FROM raw_events WHERE user_id LIKE 'session:%'")
    assert rows - anonymous == with_user
    first, last = stated.group(5), stated.group(6)
    assert str(_scalar(workspace, "SELECT min(ts)::DATE FROM raw_events")) == first
    assert str(_scalar(workspace, "SELECT max(ts)::DATE FROM raw_events")) == last
    assert any("session stands for the user" in w for w in result.warnings)


def test_movielens_recbole(shared_datasets: Path, workspace: Workspace) -> None:
    folder = shared_datasets / "movielens_100k"
    readme = _readme(folder)
    interactions = _number(_table_row(readme, "ml-100k.inter")[1])
    movies = _number(_table_row(readme, "ml-100k.item")[1])
    users = _number(_table_row(readme, "ml-100k.user")[1])
    events, catalog = folder / "ml-100k.inter", folder / "ml-100k.item"
    assert (sniff(events).preset, sniff(events).kind) == ("recbole", "events")
    assert (sniff(catalog).preset, sniff(catalog).kind) == ("recbole", "catalog")
    result = load_dataset(workspace, events, catalog_path=catalog)
    assert result.preset == "recbole"
    assert (result.n_events, result.n_users) == (interactions, users)
    assert workspace.row_count("raw_catalog") == movies
    assert not result.catalog_derived
    assert _scalar(workspace, "SELECT count(*) FROM raw_events WHERE event <> 'rating'") == 0
    assert _scalar(workspace, "SELECT title FROM raw_catalog WHERE item_id = '1'") == "Toy Story"


def test_esci_judgements_flat(shared_datasets: Path, workspace: Workspace) -> None:
    folder = shared_datasets / "esci_subset"
    readme = _readme(folder)
    rows = _number(_table_row(readme, "esci_us_judgments_flat.csv")[1])
    queries = _number(re.search(r"## opensearch/ — ([\d,]+) US queries", readme).group(1))
    products = _number(re.search(r"There are ([\d,]+) distinct products", readme).group(1))
    labels = {
        label: _number(count)
        for label, count in re.findall(r"([ESCI]) ([\d,]+)", readme.split("Label counts:")[1])
    }
    path = folder / "opensearch" / "esci_us_judgments_flat.csv"
    assert sniff(path).preset == "esci_examples"
    result = load_dataset(workspace, path)
    assert result.preset == "esci_examples"
    assert (result.n_events, result.n_users, result.n_items) == (rows, queries, products)
    with workspace.connect() as con:
        gains = dict(
            con.execute("SELECT value, count(*) FROM raw_events GROUP BY value").fetchall()
        )
    assert gains == {1.0: labels["E"], 0.1: labels["S"], 0.01: labels["C"], 0.0: labels["I"]}


def test_esci_examples_with_products(shared_datasets: Path, workspace: Workspace) -> None:
    folder = shared_datasets / "esci_subset"
    readme = _readme(folder)
    examples = _number(_table_row(readme, "test-sample.parquet")[1])
    products = _number(_table_row(readme, "sample-products.jsonl")[1])
    events = folder / "vespa" / "test-sample.parquet"
    catalog = folder / "vespa" / "sample-products.jsonl"
    assert sniff(events).preset == "esci_examples"
    assert (sniff(catalog).preset, sniff(catalog).kind) == ("esci_products", "catalog")
    result = load_dataset(workspace, events, catalog_path=catalog)
    assert result.preset == "esci_examples"
    assert result.n_events == examples
    assert workspace.row_count("raw_catalog") == products
    # "The 16 product ids in the two files are the same."
    missing = _scalar(
        workspace,
        "SELECT count(*) FROM raw_events e ANTI JOIN raw_catalog c USING (item_id)",
    )
    assert missing == 0
    assert _scalar(workspace, "SELECT count(title) FROM raw_catalog") == products


def test_nested_judgement_json_is_not_a_log(shared_datasets: Path, workspace: Workspace) -> None:
    path = shared_datasets / "esci_subset" / "opensearch" / "esci_us_judgments.json"
    with pytest.raises(IngestError, match="not JSON lines"):
        load_dataset(workspace, path)
    assert workspace.dataset_info() is None
