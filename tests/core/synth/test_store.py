"""The synthetic-sample store: add, list, filter, review, edit, persisted in the workspace."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.data.workspace import Workspace
from core.errors import SampleStoreError
from core.synth.store import (
    SAMPLES_TABLE,
    accepted_descriptions,
    accepted_query_pairs,
    add_samples,
    count_samples,
    delete_run_samples,
    edit_text,
    list_samples,
    sample_summary,
    set_status,
)


def _queries() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["P01", "P01", "P02", "P03"],
            "text": ["red shoes", "Running  Shoes", "frying pan", "zzz"],
            "score": [0.9, 0.7, 0.8, 0.1],
            "rank": [1, 2, 1, 40],
            "flags": [[], ["copy_of_real"], [], ["too_short", "not_round_trip"]],
        }
    )


def test_add_list_review_edit_survive_reopening(tmp_path: Path) -> None:
    home = tmp_path / "home"
    workspace = Workspace.open("store", home=home)
    ids = add_samples(workspace, _queries(), kind="query", generator="template", run_id="r1")
    assert ids == ["r1-000000", "r1-000001", "r1-000002", "r1-000003"]
    more = add_samples(
        workspace,
        pd.DataFrame({"item_id": ["P04"], "text": ["A long description of headphones."]}),
        kind="description",
        generator="lm:desc",
        run_id="r2",
    )
    # A second batch of the same run continues its numbering.
    again = add_samples(
        workspace, _queries().iloc[:1], kind="query", generator="template", run_id="r1"
    )
    assert again == ["r1-000004"]

    assert set_status(workspace, "accepted", [ids[0], ids[1]]) == 2
    assert set_status(workspace, "rejected", [ids[3]]) == 1
    edit_text(workspace, ids[1], "running   shoes for men")
    set_status(workspace, "accepted", more)

    reopened = Workspace.open("store", home=home)
    samples = list_samples(reopened)
    assert samples["sample_id"].tolist() == [*ids, *more, *again]  # batches in time order
    by_id = samples.set_index("sample_id")
    assert by_id.loc[ids[0], "status"] == "accepted"
    assert by_id.loc[ids[2], "status"] == "pending"
    assert by_id.loc[ids[3], "status"] == "rejected"
    assert by_id.loc[ids[1], "text"] == "Running  Shoes"  # the generated text is kept
    assert by_id.loc[ids[1], "edited_text"] == "running shoes for men"
    assert by_id.loc[ids[3], "flags"] == ["too_short", "not_round_trip"]
    assert by_id.loc[ids[0], "flags"] == []
    assert by_id.loc[more[0], "score"] != by_id.loc[more[0], "score"]  # NaN: not scored
    assert pd.isna(by_id.loc[ids[2], "reviewed_at"])
    assert not pd.isna(by_id.loc[ids[0], "reviewed_at"])

    pairs = accepted_query_pairs(reopened)
    assert pairs.values.tolist() == [["red shoes", "P01"], ["running shoes for men", "P01"]]
    descriptions = accepted_descriptions(reopened)
    assert descriptions[["item_id", "description"]].values.tolist() == [
        ["P04", "A long description of headphones."]
    ]


def test_filters(workspace: Workspace) -> None:
    ids = add_samples(workspace, _queries(), kind="query", generator="template", run_id="r1")
    add_samples(
        workspace,
        pd.DataFrame({"item_id": ["P09"], "text": ["wallet"], "score": [0.95], "rank": [1]}),
        kind="query",
        generator="lm:q",
        run_id="r2",
    )

    def selected(**filters: object) -> list[str]:
        return list_samples(workspace, **filters)["text"].tolist()

    assert selected(generator="lm:q") == ["wallet"]
    assert selected(run_id="r1", flagged=False) == ["red shoes", "frying pan"]
    assert selected(flagged=True) == ["Running  Shoes", "zzz"]
    assert selected(flag="not_round_trip") == ["zzz"]
    assert selected(min_score=0.8) == ["red shoes", "frying pan", "wallet"]
    assert selected(max_rank=1) == ["red shoes", "frying pan", "wallet"]
    assert selected(item_id="P01") == ["red shoes", "Running  Shoes"]
    assert selected(kind="description") == []
    assert len(list_samples(workspace, limit=2)) == 2
    assert count_samples(workspace) == 5
    assert count_samples(workspace, run_id="r1", flagged=False) == 2
    assert count_samples(workspace, min_score=0.8, max_rank=1, generator="template") == 2
    assert count_samples(workspace, flag="copy_of_real", flagged=False) == 0
    # Bulk: accept every unflagged sample of run r1, then reject what is still pending.
    assert set_status(workspace, "accepted", run_id="r1", flagged=False) == 2
    assert set_status(workspace, "rejected", current_status="pending", run_id="r1") == 2
    assert selected(status="accepted") == ["red shoes", "frying pan"]
    assert selected(status="pending") == ["wallet"]
    summary = sample_summary(workspace).set_index("run_id")
    assert summary.loc["r1", ["n", "accepted", "rejected", "pending", "flagged"]].tolist() == [
        4, 2, 2, 0, 2,
    ]  # fmt: skip
    assert set_status(workspace, "pending", [ids[0]]) == 1
    assert delete_run_samples(workspace, "r1") == 4
    assert selected() == ["wallet"]


def test_bad_input_is_refused(workspace: Workspace) -> None:
    good = _queries()
    with pytest.raises(SampleStoreError, match="unknown kind"):
        add_samples(workspace, good, kind="image", generator="template", run_id="r1")
    with pytest.raises(SampleStoreError, match="has no text"):
        add_samples(
            workspace, good.assign(text=["a", " ", "b", "c"]), kind="query", generator="t",
            run_id="r1",
        )  # fmt: skip
    with pytest.raises(SampleStoreError, match="unknown flags"):
        add_samples(
            workspace, good.assign(flags=[["odd"], [], [], []]), kind="query", generator="t",
            run_id="r1",
        )  # fmt: skip
    with pytest.raises(SampleStoreError, match="missing"):
        add_samples(workspace, good[["text"]], kind="query", generator="t", run_id="r1")
    assert workspace.row_count(SAMPLES_TABLE) == 0  # nothing half-written
    ids = add_samples(workspace, good, kind="query", generator="t", run_id="r1")
    with pytest.raises(SampleStoreError, match="unknown status"):
        set_status(workspace, "maybe", ids)
    with pytest.raises(SampleStoreError, match="give sample ids or a filter"):
        set_status(workspace, "accepted")
    with pytest.raises(SampleStoreError, match="1 of the sample ids were not found"):
        set_status(workspace, "accepted", [ids[0], "nope"])
    with pytest.raises(SampleStoreError, match="no synthetic sample"):
        edit_text(workspace, "nope", "text")
    with pytest.raises(SampleStoreError, match="cannot be empty"):
        edit_text(workspace, ids[0], "   ")
    edit_text(workspace, ids[0], None)
    assert list_samples(workspace, status="accepted")["sample_id"].tolist() == [ids[0]]
