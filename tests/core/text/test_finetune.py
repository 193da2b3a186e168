"""Fine-tuning: pair mining from events, metrics by hand, and a tiny-encoder training run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from core.data.workspace import Workspace
from core.errors import FinetuneError, TrainingCancelled
from core.models.semantic import SemanticRecommender
from core.progress import point_of
from core.text.encoders import load_encoder
from core.text.finetune import (
    FinetuneConfig,
    _batches,
    finetune_encoder,
    multiple_negatives_loss,
    retrieval_metrics,
    search_click_pairs,
)
from core.text.saved_encoders import (
    delete_encoder,
    encoder_curve,
    encoder_path,
    encoders_dir,
    list_encoders,
)

EVENT_COLUMNS = "user_id, item_id, event, ts, session_id, query"


def _write_events(workspace: Workspace, rows: list[tuple]) -> None:
    frame = pd.DataFrame(rows, columns=[c.strip() for c in EVENT_COLUMNS.split(",")])
    frame["ts"] = pd.to_datetime(frame["ts"])
    with workspace.transaction() as con:
        con.register("frame", frame)
        con.execute(
            f"CREATE OR REPLACE TABLE events AS SELECT {EVENT_COLUMNS}, "
            "CAST(NULL AS DOUBLE) AS value FROM frame"
        )


def test_search_click_pairs_by_hand(workspace: Workspace) -> None:
    _write_events(
        workspace,
        [
            # Session 1: a click and a purchase of A within 30 min; B's cart comes 40 min late.
            ("u1", None, "search", "2025-01-01 10:00", "s1", "Red  Shoes"),
            ("u1", "A", "view", "2025-01-01 10:01", "s1", None),
            ("u1", "A", "click", "2025-01-01 10:02", "s1", None),
            ("u1", "A", "purchase", "2025-01-01 10:03", "s1", None),
            ("u1", "B", "add_to_cart", "2025-01-01 10:40", "s1", None),
            # Session 2: a refined search; the click belongs to the latest search only.
            ("u2", "Z", "click", "2025-01-01 08:59", "s2", None),
            ("u2", None, "search", "2025-01-01 09:00", "s2", "kettle"),
            ("u2", None, "search", "2025-01-01 09:01", "s2", "steel kettle"),
            ("u2", "C", "click", "2025-01-01 09:02", "s2", None),
            # No session id: the same user's search counts; another user's does not.
            ("u3", None, "search", "2025-01-02 12:00", None, "mug"),
            ("u3", "D", "click", "2025-01-02 12:05", None, None),
            ("u4", "E", "click", "2025-01-02 12:06", None, None),
            # A second session with the same query and product.
            ("u5", None, "search", "2025-01-03 12:00", "s5", "red shoes"),
            ("u5", "A", "add_to_cart", "2025-01-03 12:01", "s5", None),
        ],
    )
    pairs = search_click_pairs(workspace)
    expected = pd.DataFrame(
        {
            "query": ["mug", "red shoes", "steel kettle"],
            "item_id": ["D", "A", "C"],
            "n_events": [1, 3, 1],
            "n_sessions": [1, 2, 1],
        }
    )
    pd.testing.assert_frame_equal(pairs, expected, check_dtype=False)
    wide = search_click_pairs(workspace, window_minutes=45, events=["add_to_cart"])
    assert wide[["query", "item_id"]].values.tolist() == [["red shoes", "A"], ["red shoes", "B"]]
    with pytest.raises(FinetuneError, match="engagement events"):
        search_click_pairs(workspace, events=["search"])
    with pytest.raises(FinetuneError, match="window_minutes"):
        search_click_pairs(workspace, window_minutes=0)


def test_pairs_need_cleaned_events(workspace: Workspace) -> None:
    with pytest.raises(FinetuneError, match="no cleaned events"):
        search_click_pairs(workspace)


def test_retrieval_metrics_by_hand() -> None:
    corpus = np.eye(4, dtype=np.float32)
    queries = np.array([[0.9, 0.1, 0.5, 0.0], [0.2, 0.8, 0.1, 0.3]], dtype=np.float32)
    relevant = [np.array([2, 3]), np.array([1])]
    metrics = retrieval_metrics(queries, corpus, relevant, k=2)
    # Query 1 ranks [0, 2]: one of two relevant found at rank 2. Query 2 ranks [1, 3]: a hit.
    ndcg_1 = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert metrics["recall@2"] == pytest.approx((0.5 + 1.0) / 2)
    assert metrics["mrr@2"] == pytest.approx((0.5 + 1.0) / 2)
    assert metrics["ndcg@2"] == pytest.approx((ndcg_1 + 1.0) / 2)
    with pytest.raises(FinetuneError, match="no relevant item"):
        retrieval_metrics(queries, corpus, [np.array([1]), np.array([], dtype=np.int64)], k=2)


def test_multiple_negatives_loss_by_hand() -> None:
    vectors = torch.eye(2)
    # Each query's own product scores s, the other one 0: loss = log(1 + e^-s).
    loss = multiple_negatives_loss(vectors, vectors, scale=1.0)
    assert float(loss) == pytest.approx(math.log(1 + math.exp(-1)), rel=1e-6)
    swapped = multiple_negatives_loss(vectors, vectors.flip(0), scale=2.0)
    assert float(swapped) == pytest.approx(math.log(1 + math.exp(2)), rel=1e-6)


def test_batches_hold_no_repeated_query_or_product() -> None:
    queries = ["a", "a", "b", "c", "d", "e"]
    items = np.array(["P1", "P2", "P1", "P3", "P4", "P5"])
    batches = _batches(queries, items, 3, np.random.default_rng(0))
    for batch in batches:
        assert len({queries[i] for i in batch}) == len(batch)
        assert len(set(items[batch])) == len(batch)
        assert 2 <= len(batch) <= 3
    covered = np.concatenate(batches)
    assert len(covered) == len(set(covered.tolist()))
    assert len(covered) >= len(queries) - 1  # at most a lone leftover pair is dropped


PRODUCTS = {
    "P01": ("red running shoes", "Footwear > Running"),
    "P02": ("steel frying pan", "Home > Kitchen"),
    "P03": ("cotton t-shirt", "Fashion > Shirts"),
    "P04": ("wireless headphones", "Electronics > Audio"),
    "P05": ("wooden puzzle", "Toys > Puzzles"),
    "P06": ("garden hose", "Garden > Watering"),
    "P07": ("yoga mat", "Sports > Yoga"),
    "P08": ("desk lamp", "Home > Lighting"),
    "P09": ("leather wallet", "Fashion > Accessories"),
    "P10": ("coffee grinder", "Home > Kitchen"),
    "P11": ("tent", "Sports > Camping"),
    "P12": ("face cream", "Beauty > Skin"),
}
QUERIES = {
    "P01": ["shoes for running", "red runners", "jogging shoes"],
    "P02": ["pan", "frying pan steel", "skillet"],
    "P03": ["tee", "cotton tee shirt", "shirt"],
    "P04": ["headphones", "bluetooth headset", "wireless earphones"],
    "P05": ["puzzle", "jigsaw", "wood puzzle"],
    "P06": ["hose", "garden water hose", "watering hose"],
    "P07": ["mat for yoga", "yoga", "exercise mat"],
    "P08": ["lamp", "reading light", "desk light"],
    "P09": ["wallet", "leather purse", "billfold"],
    "P10": ["grinder", "coffee mill", "bean grinder"],
    "P11": ["camping tent", "tent 2 person", "shelter"],
    "P12": ["cream", "moisturiser", "face moisturizer"],
}


def _catalog() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": list(PRODUCTS),
            "title": [title for title, _ in PRODUCTS.values()],
            "category": [category for _, category in PRODUCTS.values()],
            "brand": "Acme",
        }
    )


def _pairs() -> pd.DataFrame:
    rows = [(query, item) for item, queries in QUERIES.items() for query in queries]
    return pd.DataFrame(rows, columns=["query", "item_id"])


TINY_CONFIG = FinetuneConfig(
    base_encoder="tiny",
    epochs=4,
    batch_size=8,
    learning_rate=3e-3,
    warmup_fraction=0.0,
    valid_fraction=0.25,
    random_state=0,
)


def test_finetune_lowers_loss_and_reloads_identically(workspace: Workspace) -> None:
    calls: list[tuple[int, int, str]] = []
    result = finetune_encoder(
        workspace,
        "tiny-ft",
        TINY_CONFIG,
        pairs=_pairs(),
        catalog=_catalog(),
        callback=lambda *call: calls.append(call),
    )
    history = result.history
    assert history["epoch"].tolist() == [0, 1, 2, 3, 4]
    assert math.isnan(history["train_loss"].iloc[0])
    losses = history["train_loss"].iloc[1:].to_numpy()
    assert losses[-1] < losses[0]
    for metric in ("recall@10", "mrr@10", "ndcg@10"):
        assert history[metric].between(0, 1).all()
    # Every step reports its loss and every evaluation its metrics, as curve points.
    points = [point_of(info) for _, _, info in calls if point_of(info)]
    # The other reports follow the encoding of each evaluation.
    assert all("measuring retrieval" in info for _, _, info in calls if not point_of(info))
    evaluations = [point for point in points if "ndcg@10" in point]
    assert [point["epoch"] for point in evaluations] == [0, 1, 2, 3, 4]
    assert evaluations[-1]["ndcg@10"] == pytest.approx(history["ndcg@10"].iloc[-1])
    step_losses = [point["train_loss"] for point in points if "train_loss" in point]
    assert len(step_losses) == len(points) - 5
    first_epoch = [p["train_loss"] for p in points if "train_loss" in p and p["epoch"] <= 1]
    assert np.mean(first_epoch) == pytest.approx(history["train_loss"].iloc[1])
    epochs = [point["epoch"] for point in points]
    assert epochs == sorted(epochs)
    # The curve is saved with the encoder.
    curve = encoder_curve(workspace, "tiny-ft")
    pd.testing.assert_frame_equal(curve, result.curve)
    assert len(curve) == len(points)
    assert curve.columns.tolist() == ["epoch", "train_loss", "mrr@10", "ndcg@10", "recall@10"]
    assert result.n_valid_queries == 9 and result.n_train_pairs == 27
    assert result.n_corpus == len(PRODUCTS)
    steps = [step for step, _, _ in calls]
    assert steps == sorted(steps) and calls[-1][0] == calls[-1][1]
    # The saved checkpoint reloads to the same embeddings and id, offline.
    folder = encoder_path(workspace, "tiny-ft")
    assert folder == result.path
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    reloaded = load_encoder(str(folder))
    texts = ["red running shoes", "skillet", "a lamp for the desk"]
    np.testing.assert_array_equal(reloaded.encode(texts), result.encoder.encode(texts))
    assert reloaded.model_id == result.model_id == result.encoder.model_id
    assert result.model_id.startswith("tiny-ft/")
    listed = list_encoders(workspace)
    assert listed["name"].tolist() == ["tiny-ft"]
    assert listed["ndcg@10"].iloc[0] == pytest.approx(history["ndcg@10"].iloc[-1])
    runs = workspace.list_runs("finetune")
    assert runs["name"].tolist() == ["tiny-ft"]
    # The semantic model takes the checkpoint as its encoder.
    train_item_ids = list(PRODUCTS)
    from core.data.interactions import Interactions

    train = Interactions.from_arrays(
        ["u1"], train_item_ids, np.array([0]), np.array([1]), np.array([1.0]),
        np.array(["2025-01-01T00:00:00"], dtype="datetime64[s]"),
    )  # fmt: skip
    model = SemanticRecommender(encoder=str(folder)).fit(train, catalog=_catalog())
    assert model.encoder_id_ == result.model_id
    delete_encoder(workspace, "tiny-ft")
    assert list_encoders(workspace).empty
    with pytest.raises(FinetuneError, match="no fine-tuned encoder"):
        encoder_path(workspace, "tiny-ft")


def test_finetune_reads_pairs_and_catalogue_from_the_workspace(workspace: Workspace) -> None:
    rows = []
    minute = pd.Timedelta(minutes=1)
    start = pd.Timestamp("2025-01-01")
    for n, (item, queries) in enumerate(QUERIES.items()):
        for m, query in enumerate(queries):
            session, t = f"s{n}-{m}", start + (3 * n + m) * 60 * minute
            rows.append((f"u{n}", None, "search", t, session, query))
            rows.append((f"u{n}", item, "click", t + minute, session, None))
    _write_events(workspace, rows)
    with workspace.transaction() as con:
        con.register("catalog_frame", _catalog())
        con.execute("CREATE TABLE catalog AS SELECT * FROM catalog_frame")
    config = FinetuneConfig(
        base_encoder="tiny", epochs=1, batch_size=8, learning_rate=1e-3, max_length=5
    )
    result = finetune_encoder(workspace, "from-events", config)
    assert result.n_train_pairs + result.n_valid_queries == 36
    assert len(result.history) == 2
    # max_length holds in training and in the saved encoder.
    assert result.encoder.max_length == 5
    assert load_encoder(str(result.path)).max_length == 5
    assert len(result.encoder.tokenize(["a b c d e f g h"])[0]) == 5


def test_cancelled_finetune_saves_nothing(workspace: Workspace) -> None:
    def stop_in_second_epoch(step: int, total: int, info: str) -> None:
        if point_of(info).get("epoch", 0) > 1:
            raise TrainingCancelled("stopped")

    with pytest.raises(TrainingCancelled):
        finetune_encoder(
            workspace,
            "stopped",
            TINY_CONFIG,
            pairs=_pairs(),
            catalog=_catalog(),
            callback=stop_in_second_epoch,
        )
    assert list_encoders(workspace).empty
    assert workspace.list_runs("finetune").empty
    assert not list(encoders_dir(workspace).glob("*"))


def test_finetune_errors(workspace: Workspace) -> None:
    with pytest.raises(FinetuneError, match="batch_size"):
        FinetuneConfig(batch_size=1)
    with pytest.raises(FinetuneError, match="valid_fraction"):
        FinetuneConfig(valid_fraction=0)
    with pytest.raises(FinetuneError, match="max_length"):
        FinetuneConfig(max_length=1)
    lonely = pd.DataFrame({"query": ["pan"], "item_id": ["P02"]})
    with pytest.raises(FinetuneError, match="only 1 distinct query"):
        finetune_encoder(workspace, "x", TINY_CONFIG, pairs=lonely, catalog=_catalog())
    unknown = pd.DataFrame({"query": ["pan", "shoe"], "item_id": ["NOPE", "NADA"]})
    with pytest.raises(FinetuneError, match="distinct quer"):
        finetune_encoder(workspace, "x", TINY_CONFIG, pairs=unknown, catalog=_catalog())
    with pytest.raises(FinetuneError, match="no catalogue"):
        finetune_encoder(workspace, "x", TINY_CONFIG, pairs=_pairs())
    assert list_encoders(workspace).empty


def test_measuring_the_held_out_queries_reports_its_encoding(workspace: Workspace) -> None:
    calls: list[tuple[int, int, str]] = []
    result = finetune_encoder(
        workspace,
        "tiny-ft",
        TINY_CONFIG,
        pairs=_pairs(),
        catalog=_catalog(),
        callback=lambda *call: calls.append(call),
    )
    n_texts = result.n_corpus + result.n_valid_queries
    first_result = next(i for i, (_, _, info) in enumerate(calls) if "ndcg@10" in point_of(info))
    measuring = [str(info) for _, _, info in calls[:first_result]]
    prefix = f"epoch 0: measuring retrieval on {result.n_valid_queries:,} held-out queries"
    assert measuring[0] == prefix
    assert any(text.startswith(f"{prefix}, encoding products: ") for text in measuring)
    assert measuring[-1] == f"{prefix}, encoding queries: {n_texts:,} of {n_texts:,}"
    # The bar only moves forward, and ends full.
    steps = [step for step, _, _ in calls]
    assert steps == sorted(steps)
    assert {total for _, total, _ in calls} == {calls[-1][1]} and steps[-1] == calls[-1][1]
    assert steps[first_result - 1] > steps[0]
