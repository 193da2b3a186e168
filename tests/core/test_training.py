"""Training, validation metrics and the trained-model records on a tiny event log."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from core.data.workspace import Workspace
from core.errors import InteractionsError, ModelError, TrainingCancelled
from core.metrics import hit_matrix, ndcg_at_k, recall_at_k, relevant_counts
from core.models.runs import (
    NDCG_KEY,
    RECALL_KEY,
    delete_model,
    list_models,
    load_model,
    run_curve,
    run_info,
    run_split,
    run_user_ids,
)
from core.models.training import train_model
from core.progress import point_of

T0 = datetime(2024, 5, 1)
COLUMNS = ["user_id", "item_id", "event", "ts", "session_id", "query", "value", "is_return"]
N_ITEMS = 30


def write_log(ws: Workspace, seed: int = 3, n_events: int = 600) -> None:
    """Cleaned ``events`` of 20 users over 30 items in 30 days, and a titled ``catalog``."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_events):
        user = int(rng.integers(0, 20))
        # Each user prefers items near their own number, so collaborative models learn.
        item = (user + int(rng.integers(0, 6))) % N_ITEMS
        kind = ["view", "click", "add_to_cart", "purchase"][int(rng.integers(0, 4))]
        ts = T0 + timedelta(seconds=int(rng.integers(0, 30 * 86_400)))
        rows.append((f"u{user:02d}", f"i{item:02d}", kind, ts, None, None, None, False))
    frame = pd.DataFrame(rows, columns=COLUMNS).astype({"ts": "datetime64[us]"})
    catalog = pd.DataFrame(
        {
            "item_id": [f"i{i:02d}" for i in range(N_ITEMS)],
            "title": [f"product {i}" for i in range(N_ITEMS)],
        }
    )
    with ws.connect() as con:
        con.execute(
            "CREATE OR REPLACE TABLE events (user_id VARCHAR, item_id VARCHAR, event VARCHAR, "
            "ts TIMESTAMP, session_id VARCHAR, query VARCHAR, value DOUBLE, is_return BOOLEAN)"
        )
        con.register("events_frame", frame)
        con.execute("INSERT INTO events SELECT * FROM events_frame")
        con.register("catalog_frame", catalog)
        con.execute("CREATE OR REPLACE TABLE catalog AS SELECT * FROM catalog_frame")


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    write_log(workspace)
    return workspace


def slow_metrics(recommended: np.ndarray, relevant: list[set[int]]) -> tuple[float, float]:
    """Mean Recall@20 and NDCG@10 written out with loops."""
    recalls, ndcgs = [], []
    for row, truth in zip(recommended, relevant, strict=True):
        top20 = [int(i) for i in row[:20] if i >= 0]
        recalls.append(len(set(top20) & truth) / len(truth))
        dcg = sum(1 / math.log2(rank + 2) for rank, i in enumerate(row[:10]) if int(i) in truth)
        idcg = sum(1 / math.log2(rank + 2) for rank in range(min(len(truth), 10)))
        ndcgs.append(dcg / idcg)
    return float(np.mean(recalls)), float(np.mean(ndcgs))


def test_validation_metrics_by_hand() -> None:
    """The metrics training scores validation with, on lists worked out by hand."""
    relevant = sp.csr_matrix(np.array([[1, 0, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]))
    recommended = np.array([[2, 1, -1], [0, 1, 3], [0, 1, 2]])
    hits, counts = hit_matrix(recommended, relevant), relevant_counts(relevant)
    np.testing.assert_allclose(recall_at_k(hits, counts, 3), [0.5, 0.0, 0.0])
    np.testing.assert_allclose(recall_at_k(hits, counts, 1), [0.5, 0.0, 0.0])
    # User 0: hit at rank 1, two relevant items -> 1 / (1 + 1/log2(3)).
    expected = 1.0 / (1.0 + 1.0 / math.log2(3))
    np.testing.assert_allclose(ndcg_at_k(hits, counts, 3), [expected, 0.0, 0.0])
    # Hit at rank 2 with one relevant item (ideal DCG over min(|R|, k) = 1 position).
    one = sp.csr_matrix(np.array([[0, 0, 0, 0, 1]]))
    second = ndcg_at_k(hit_matrix(np.array([[0, 4]]), one), relevant_counts(one), 2)
    np.testing.assert_allclose(second, [1 / math.log2(3)])


@pytest.mark.parametrize(
    ("model_name", "params"),
    [("popularity", {}), ("als", {"factors": 8, "iterations": 3, "num_threads": 1})],
)
def test_train_records_metrics_equal_to_a_slow_recount(
    ws: Workspace, model_name: str, params: dict
) -> None:
    steps: list[tuple[int, int]] = []
    trained = train_model(ws, model_name, params, callback=lambda s, t, _: steps.append((s, t)))
    assert steps[-1] == (100, 100)
    assert all(0 <= s <= t for s, t in steps)
    valid = trained.split.valid.matrix.tocsr()
    users = np.flatnonzero(np.diff(valid.indptr) > 0)
    assert users.size > 0
    recommended, _ = trained.model.recommend(users, 20, exclude_seen=True)
    truth = [set(valid[u].indices.tolist()) for u in users]
    recall, ndcg = slow_metrics(recommended, truth)
    assert trained.metrics[RECALL_KEY] == pytest.approx(recall)
    assert trained.metrics[NDCG_KEY] == pytest.approx(ndcg)
    assert trained.metrics["fit_seconds"] >= 0
    assert trained.params["data_fingerprint"] == ws.fingerprint("events")
    assert trained.params["hyperparameters"] == trained.model.get_params()

    listed = list_models(ws)
    assert listed["run_id"].tolist() == [trained.run_id]
    row = listed.iloc[0]
    assert row["model"] == model_name
    assert row[RECALL_KEY] == pytest.approx(recall)
    assert row[NDCG_KEY] == pytest.approx(ndcg)

    loaded = load_model(ws, trained.run_id)
    np.testing.assert_array_equal(
        loaded.recommend(users, 20)[0], trained.model.recommend(users, 20)[0]
    )
    assert run_user_ids(ws, trained.run_id).tolist() == trained.split.train.user_ids.tolist()


def test_split_is_reproducible(ws: Workspace) -> None:
    first = train_model(ws, "popularity")
    second = train_model(ws, "popularity")
    assert first.params["split"] == second.params["split"]
    rebuilt = run_split(ws, first.run_id)
    for part in ("train", "valid", "test"):
        a, b = getattr(first.split, part).matrix, getattr(rebuilt, part).matrix
        assert (a != b).nnz == 0
    assert first.metrics[RECALL_KEY] == second.metrics[RECALL_KEY]


def test_list_and_delete_round_trip(ws: Workspace) -> None:
    first = train_model(ws, "popularity", name="first")
    second = train_model(ws, "popularity", {"use_weights": True}, name="second")
    assert set(list_models(ws)["name"]) == {"first", "second"}
    delete_model(ws, first.run_id)
    assert list_models(ws)["run_id"].tolist() == [second.run_id]
    assert not (ws.runs_dir / first.run_id).exists()
    assert (ws.runs_dir / second.run_id / "model" / "params.json").is_file()
    with pytest.raises(ModelError, match="no trained model"):
        load_model(ws, first.run_id)
    with pytest.raises(ModelError, match="no trained model"):
        delete_model(ws, first.run_id)


def test_failed_training_leaves_earlier_runs(ws: Workspace) -> None:
    kept = train_model(ws, "popularity")
    before = sorted(path.name for path in ws.runs_dir.iterdir())
    with pytest.raises(ModelError):
        train_model(ws, "als", {"factors": 0})
    with pytest.raises(ModelError, match="no hyperparameter"):
        train_model(ws, "als", {"no_such_thing": 1})
    with pytest.raises(ModelError, match="unknown model"):
        train_model(ws, "nope")
    assert list_models(ws)["run_id"].tolist() == [kept.run_id]
    assert sorted(path.name for path in ws.runs_dir.iterdir()) == before
    assert load_model(ws, kept.run_id).get_params() == kept.model.get_params()


def test_content_model_gets_the_catalogue(ws: Workspace) -> None:
    trained = train_model(ws, "content_tfidf")
    assert trained.metrics[RECALL_KEY] is not None


def test_split_needs_a_validation_part(ws: Workspace) -> None:
    with pytest.raises(InteractionsError, match="valid_fraction"):
        train_model(ws, "popularity", split_params={"test_fraction": 0.2})


ALS_SMALL = {"factors": 8, "iterations": 5, "num_threads": 1}


def test_als_curve_with_validation_every_two_epochs(ws: Workspace) -> None:
    points: list[dict[str, float]] = []
    trained = train_model(
        ws,
        "als",
        ALS_SMALL,
        eval_every=2,
        callback=lambda step, total, info: points.append(point_of(info)),
    )
    curve = trained.curve
    assert curve.columns.tolist() == ["epoch", "train_loss", NDCG_KEY, RECALL_KEY]
    assert curve["epoch"].tolist() == [1, 2, 3, 4, 5]
    losses = curve["train_loss"].to_numpy()
    assert (np.diff(losses) < 0).all()
    # Validated at epochs 2 and 4, and after the last one (whose scores are the run's).
    assert curve[RECALL_KEY].notna().tolist() == [False, True, False, True, True]
    assert curve[NDCG_KEY].iloc[-1] == trained.metrics[NDCG_KEY]
    assert curve[RECALL_KEY].iloc[-1] == trained.metrics[RECALL_KEY]
    # Scores measured during training are those of a model trained for that many epochs.
    two = train_model(ws, "als", {**ALS_SMALL, "iterations": 2})
    assert curve[NDCG_KEY].iloc[1] == pytest.approx(two.metrics[NDCG_KEY])
    assert curve[RECALL_KEY].iloc[1] == pytest.approx(two.metrics[RECALL_KEY])
    # The callback saw the same points as they came; the run keeps the curve.
    fit_points = [point for point in points if "epoch" in point]
    assert [point["epoch"] for point in fit_points] == [1, 2, 3, 4, 5, 5]
    assert fit_points[1][NDCG_KEY] == curve[NDCG_KEY].iloc[1]
    pd.testing.assert_frame_equal(run_curve(ws, trained.run_id), curve)
    assert run_info(ws, trained.run_id)["params"]["eval_every"] == 2
    # Without validation during training the curve holds the training loss only.
    plain = train_model(ws, "als", ALS_SMALL)
    assert run_curve(ws, plain.run_id).columns.tolist() == ["epoch", "train_loss"]
    np.testing.assert_allclose(plain.curve["train_loss"], losses, rtol=1e-6)


def test_bpr_curve_and_one_pass_models(ws: Workspace) -> None:
    trained = train_model(ws, "bpr", {"factors": 8, "iterations": 4}, eval_every=1)
    curve = run_curve(ws, trained.run_id)
    assert curve.columns.tolist() == ["epoch", "train_ranked_right", NDCG_KEY, RECALL_KEY]
    assert curve["epoch"].tolist() == [1, 2, 3, 4]
    assert curve["train_ranked_right"].between(0, 1).all()
    assert curve[NDCG_KEY].notna().all()
    popularity = train_model(ws, "popularity", eval_every=1)
    assert run_curve(ws, popularity.run_id).empty
    with pytest.raises(ModelError, match="eval_every"):
        train_model(ws, "als", ALS_SMALL, eval_every=-1)


@pytest.mark.parametrize("stop_at", ["fit: ALS iteration 2/5", "evaluate:", "save: writing"])
def test_cancelled_training_leaves_no_trace(ws: Workspace, stop_at: str) -> None:
    kept = train_model(ws, "popularity")
    before = sorted(path.name for path in ws.runs_dir.iterdir())

    def stop(step: int, total: int, info: str) -> None:
        if info.startswith(stop_at):
            raise TrainingCancelled("stopped by the analyst")

    with pytest.raises(TrainingCancelled):
        train_model(ws, "als", ALS_SMALL, eval_every=1, callback=stop)
    assert list_models(ws)["run_id"].tolist() == [kept.run_id]
    assert sorted(path.name for path in ws.runs_dir.iterdir()) == before


def test_error_inside_the_fit_leaves_earlier_runs(ws: Workspace) -> None:
    kept = train_model(ws, "als", ALS_SMALL)
    before = sorted(path.name for path in ws.runs_dir.iterdir())

    def fail(step: int, total: int, info: str) -> None:
        if point_of(info).get("epoch") == 3:
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        train_model(ws, "bpr", {"factors": 8, "iterations": 5}, callback=fail)
    assert list_models(ws)["run_id"].tolist() == [kept.run_id]
    assert sorted(path.name for path in ws.runs_dir.iterdir()) == before
    pd.testing.assert_frame_equal(run_curve(ws, kept.run_id), kept.curve)


def test_semantic_model_records_the_encoder_it_used(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPSYNTH_ENCODER", "tiny")
    trained = train_model(ws, "semantic_bert", {"half_life_days": None})
    assert trained.params["hyperparameters"]["encoder"] == "tiny"
    assert load_model(ws, trained.run_id).get_params()["encoder"] == "tiny"


def test_model_list_of_a_workspace_without_runs_has_its_columns(workspace: Workspace) -> None:
    # An empty run list once lost its columns (an empty list selects columns in pandas).
    assert "kind" in workspace.list_runs().columns
    assert list_models(workspace).empty
