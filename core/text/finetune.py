"""Bi-encoder fine-tuning on (query, product) pairs mined from search-then-click behaviour.

:func:`search_click_pairs` finds, in the workspace ``events`` table, every click, add-to-cart or
purchase that follows a search by the same user in the same session (the user when the session
is unknown) within ``window_minutes``, and attributes it to the latest such search. Each
distinct (normalised query, item) becomes a pair.

:func:`finetune_encoder` holds out a share of the distinct queries, trains the encoder on the
other queries' pairs with in-batch negatives (the multiple-negatives ranking loss: for a batch
of ``B`` pairs, each query must pick its own product among the ``B`` products of the batch),
and measures retrieval on the held-out queries before training and after each epoch:
Recall@k, MRR@k and NDCG@k of the query's products among a corpus of products. Each step's loss
and each evaluation reach the progress callback as curve points (:mod:`core.progress`). Nothing
is written until training ends: the encoder is then saved as safetensors with its tokenizer and
its training curve in ``<workspace>/artifacts/encoders/<name>/`` (see
:mod:`core.text.saved_encoders`), from where :func:`core.text.encoders.load_encoder` (and so
the semantic model) loads it offline.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import torch.nn.functional as F  # noqa: N812

from core.data.workspace import Workspace, check_name
from core.errors import FinetuneError
from core.metrics import hit_matrix, ndcg_at_k, recall_at_k, reciprocal_rank_at_k, relevant_counts
from core.metrics.ranking import top_k
from core.progress import EPOCH, TRAIN_LOSS, ProgressCallback, ProgressInfo
from core.schema import (
    ADD_TO_CART,
    CATALOG_TABLE,
    CLICK,
    EVENT_TYPES,
    EVENTS_TABLE,
    PURCHASE,
    SEARCH,
)
from core.text.encoders import BertEncoder, load_encoder
from core.text.product_text import product_texts
from core.text.saved_encoders import curve_frame, encoders_dir, load_encoder_meta

POSITIVE_EVENTS: tuple[str, ...] = (CLICK, ADD_TO_CART, PURCHASE)
METRIC_NAMES: tuple[str, ...] = ("recall", "mrr", "ndcg")


# --------------------------------------------------------------------------------------------
# Pairs


def search_click_pairs(
    workspace: Workspace,
    *,
    window_minutes: float = 30.0,
    events: Sequence[str] = POSITIVE_EVENTS,
) -> pd.DataFrame:
    """(query, product) pairs from searches followed by engagement in the same session.

    Parameters
    ----------
    workspace : Workspace
        Workspace with a cleaned ``events`` table.
    window_minutes : float
        Longest time from the search to the engagement.
    events : sequence of str
        Event types that count as engagement with the searched product.

    Returns
    -------
    pandas.DataFrame
        Columns ``query`` (lower-cased, single-spaced), ``item_id``, ``n_events`` (engagement
        events attributed to the pair) and ``n_sessions``; sorted by query and item.
    """
    if not window_minutes > 0:
        raise FinetuneError(f"window_minutes must be > 0, got {window_minutes}")
    unknown = sorted(set(events) - set(EVENT_TYPES) | ({SEARCH} & set(events)))
    if unknown or not events:
        raise FinetuneError(
            f"engagement events must be among {', '.join(POSITIVE_EVENTS)} (got "
            f"{', '.join(map(repr, events)) or 'none'})"
        )
    if not workspace.table_exists(EVENTS_TABLE):
        raise FinetuneError(
            f"no cleaned events in workspace {workspace.name!r}: load a dataset and clean it first"
        )
    placeholders = ", ".join("?" for _ in events)
    sql = f"""
        WITH searches AS (
            SELECT coalesce(CAST(session_id AS VARCHAR), CAST(user_id AS VARCHAR)) AS sess,
                   CAST(user_id AS VARCHAR) AS user_id, ts,
                   lower(trim(regexp_replace(query, '\\s+', ' ', 'g'))) AS query
            FROM {EVENTS_TABLE}
            WHERE event = '{SEARCH}' AND ts IS NOT NULL AND query IS NOT NULL
              AND trim(query) <> ''
        ), actions AS (
            SELECT coalesce(CAST(session_id AS VARCHAR), CAST(user_id AS VARCHAR)) AS sess,
                   CAST(user_id AS VARCHAR) AS user_id, ts, CAST(item_id AS VARCHAR) AS item_id
            FROM {EVENTS_TABLE}
            WHERE event IN ({placeholders}) AND ts IS NOT NULL AND item_id IS NOT NULL
        )
        SELECT s.query, a.item_id, count(*) AS n_events, count(DISTINCT a.sess) AS n_sessions
        FROM actions a ASOF JOIN searches s
          ON a.sess = s.sess AND a.user_id = s.user_id AND a.ts >= s.ts
        WHERE epoch_us(a.ts) - epoch_us(s.ts) <= ?
        GROUP BY s.query, a.item_id
        ORDER BY s.query, a.item_id
    """
    window_us = round(window_minutes * 60 * 1_000_000)
    with workspace.connect() as con:
        pairs = con.execute(sql, [*events, window_us]).df()
    return pairs.astype({"n_events": np.int64, "n_sessions": np.int64})


# --------------------------------------------------------------------------------------------
# Metrics


def retrieval_metrics(
    query_vectors: np.ndarray,
    corpus_vectors: np.ndarray,
    relevant: Sequence[np.ndarray],
    k: int = 10,
) -> dict[str, float]:
    r"""Mean Recall@k, MRR@k and NDCG@k of ranking a corpus by dot product for each query.

    For a query with relevant set :math:`R` and top-``k`` list :math:`d_1..d_k`
    (ties broken by the lower corpus index):

    .. math::
        \mathrm{Recall@k} = \frac{|R \cap \{d_1..d_k\}|}{|R|}, \quad
        \mathrm{MRR@k} = \frac{1}{\min\{r : d_r \in R\}} \ (0 \text{ if none}), \quad
        \mathrm{NDCG@k} = \frac{\sum_r [d_r \in R] / \log_2(r + 1)}
                               {\sum_{r=1}^{\min(|R|, k)} 1 / \log_2(r + 1)}

    Parameters
    ----------
    query_vectors : numpy.ndarray
        ``(n_queries, dim)``.
    corpus_vectors : numpy.ndarray
        ``(n_corpus, dim)``.
    relevant : sequence of numpy.ndarray
        Corpus indices relevant to each query (each non-empty).
    k : int
        Cut-off.

    Returns
    -------
    dict
        ``{"recall@k": ..., "mrr@k": ..., "ndcg@k": ...}`` averaged over the queries.
    """
    if len(relevant) != len(query_vectors):
        raise FinetuneError("one relevant set per query is needed")
    if len(relevant) == 0:
        raise FinetuneError("no query to evaluate")
    sets = [np.unique(np.asarray(items, dtype=np.int64)) for items in relevant]
    for row, items in enumerate(sets):
        if items.size == 0:
            raise FinetuneError(f"query {row} has no relevant item")
    matrix = sp.csr_matrix(
        (
            np.ones(sum(items.size for items in sets)),
            np.concatenate(sets),
            np.cumsum([0, *(items.size for items in sets)]),
        ),
        shape=(len(sets), len(corpus_vectors)),
    )
    scores = np.asarray(query_vectors, dtype=np.float32) @ np.asarray(corpus_vectors).T
    hits = hit_matrix(top_k(scores, k)[0], matrix)
    n_relevant = relevant_counts(matrix)
    recall = recall_at_k(hits, n_relevant, k)
    mrr = reciprocal_rank_at_k(hits, k)
    ndcg = ndcg_at_k(hits, n_relevant, k)
    return {f"recall@{k}": recall.mean(), f"mrr@{k}": mrr.mean(), f"ndcg@{k}": ndcg.mean()}


# --------------------------------------------------------------------------------------------
# Fine-tuning


@dataclass(frozen=True)
class FinetuneConfig:
    """Settings of a fine-tuning run.

    Attributes
    ----------
    base_encoder : str or None
        Encoder to start from (see :func:`core.text.encoders.load_encoder`); None: default.
    epochs : int
        Passes over the training pairs.
    batch_size : int
        Pairs per step; each query's negatives are the other ``batch_size - 1`` products.
    learning_rate : float
        Peak AdamW learning rate.
    warmup_fraction : float
        Share of the steps with a linear warm-up; the rate then decays linearly to 0.
    weight_decay : float
        AdamW weight decay.
    scale : float
        Similarity scale of the loss: logits are ``scale * cos(query, product)``.
    window_minutes : float
        Search-to-engagement window of :func:`search_click_pairs`.
    valid_fraction : float
        Share of the distinct queries held out for evaluation.
    max_pairs : int or None
        Train on at most this many pairs (a random subset); all when None.
    max_valid_queries : int or None
        Evaluate on at most this many held-out queries.
    eval_corpus_size : int
        Products ranked for each held-out query: every product of a pair, then random
        catalogue products up to this size (the whole catalogue when it is smaller).
    k : int
        Cut-off of the retrieval metrics.
    random_state : int
        Seed of the split, the subsets, the batches and dropout.
    device : str or None
        Torch device; CUDA when available if None.
    num_threads : int or None
        CPU threads; torch's setting if None.
    max_length : int or None
        Tokens kept of each text, in training and in the saved encoder; the base's if None.
    """

    base_encoder: str | None = None
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 2e-5
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    scale: float = 20.0
    window_minutes: float = 30.0
    valid_fraction: float = 0.2
    max_pairs: int | None = None
    max_valid_queries: int | None = 1000
    eval_corpus_size: int = 5000
    k: int = 10
    random_state: int = 0
    device: str | None = None
    num_threads: int | None = None
    max_length: int | None = None

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.batch_size >= 2, "batch_size must be at least 2 (in-batch negatives)"),
            (self.learning_rate > 0, "learning_rate must be > 0"),
            (0 <= self.warmup_fraction < 1, "warmup_fraction must be in [0, 1)"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (self.scale > 0, "scale must be > 0"),
            (self.window_minutes > 0, "window_minutes must be > 0"),
            (0 < self.valid_fraction < 1, "valid_fraction must be in (0, 1)"),
            (self.max_pairs is None or self.max_pairs >= 2, "max_pairs must be >= 2 or None"),
            (
                self.max_valid_queries is None or self.max_valid_queries >= 1,
                "max_valid_queries must be >= 1 or None",
            ),
            (self.eval_corpus_size >= 1, "eval_corpus_size must be at least 1"),
            (self.k >= 1, "k must be at least 1"),
            (self.max_length is None or self.max_length >= 2, "max_length must be >= 2 or None"),
        ]
        for ok, message in checks:
            if not ok:
                raise FinetuneError(message)


@dataclass(frozen=True)
class FinetuneResult:
    """Outcome of :func:`finetune_encoder`.

    Attributes
    ----------
    name : str
        Name of the saved encoder.
    path : Path
        Its folder: pass ``str(path)`` as the semantic model's ``encoder``.
    model_id : str
        Its id (embedding cache key).
    history : pandas.DataFrame
        One row per evaluation: ``epoch`` (0 = before training), ``train_loss`` (mean loss of
        the epoch; NaN for epoch 0), ``recall@k``, ``mrr@k``, ``ndcg@k``, ``seconds``.
    curve : pandas.DataFrame
        The training curve (see :func:`encoder_curve`).
    n_train_pairs, n_valid_queries, n_corpus : int
        Sizes of the training pairs, held-out queries and evaluation corpus.
    run_id : str
        Id of the run recorded in the workspace.
    config : FinetuneConfig
        The settings of the run.
    encoder : BertEncoder
        The fine-tuned encoder, ready to use (the same weights as the saved ones).
    """

    name: str
    path: Path
    model_id: str
    history: pd.DataFrame
    curve: pd.DataFrame
    n_train_pairs: int
    n_valid_queries: int
    n_corpus: int
    run_id: str
    config: FinetuneConfig = field(repr=False)
    encoder: BertEncoder = field(repr=False)


@dataclass(frozen=True)
class _Data:
    train_queries: list[str]
    train_texts: list[str]
    train_items: np.ndarray
    valid_queries: list[str]
    valid_relevant: list[np.ndarray]
    corpus_texts: list[str]


def _clean_pairs(pairs: pd.DataFrame, text_of: dict[str, str]) -> pd.DataFrame:
    missing = {"query", "item_id"} - set(pairs.columns)
    if missing:
        raise FinetuneError(f"pairs need the columns query and item_id (missing {missing})")
    pairs = pairs[["query", "item_id"]].dropna().astype(str)
    pairs = pairs.assign(query=pairs["query"].str.strip().str.lower().str.split().str.join(" "))
    pairs = pairs[pairs["query"] != ""].drop_duplicates(ignore_index=True)
    return pairs[pairs["item_id"].map(lambda item: bool(text_of.get(item)))]


def _prepare(
    pairs: pd.DataFrame,
    catalog: pd.DataFrame,
    config: FinetuneConfig,
    extra_pairs: pd.DataFrame | None = None,
    train_on_pairs: bool = True,
) -> tuple[_Data, dict[str, int]]:
    catalog_ids = catalog["item_id"].astype(str).drop_duplicates().to_numpy()
    text_of = dict(zip(catalog_ids, product_texts(catalog, catalog_ids), strict=True))
    pairs = _clean_pairs(pairs, text_of)
    queries = np.sort(pairs["query"].unique())
    if len(queries) < 2:
        raise FinetuneError(
            f"only {len(queries)} distinct quer{'y' if len(queries) == 1 else 'ies'} with a "
            "product that has text: fine-tuning needs searches followed by clicks, add-to-carts "
            "or purchases of catalogue products (or pairs given explicitly)"
        )
    rng = np.random.default_rng(config.random_state)
    n_valid = min(len(queries) - 1, max(1, round(config.valid_fraction * len(queries))))
    shuffled = rng.permutation(queries)
    valid_set = set(shuffled[:n_valid].tolist())
    is_valid = pairs["query"].isin(valid_set).to_numpy()
    train, valid = pairs[~is_valid], pairs[is_valid]
    if not train_on_pairs:
        train = train.iloc[:0]
    if extra_pairs is not None:
        # Extra (e.g. synthetic) pairs only train: a held-out query never enters training.
        extra = _clean_pairs(extra_pairs, text_of)
        extra = extra[~extra["query"].isin(valid_set)]
        train = pd.concat([train, extra]).drop_duplicates(ignore_index=True)
    if config.max_pairs is not None and len(train) > config.max_pairs:
        train = train.iloc[np.sort(rng.choice(len(train), config.max_pairs, replace=False))]
    if len(train) < 2:
        raise FinetuneError(f"only {len(train)} training pair(s): at least 2 are needed")
    valid_queries = sorted(valid_set)
    if config.max_valid_queries is not None and len(valid_queries) > config.max_valid_queries:
        chosen = rng.choice(len(valid_queries), config.max_valid_queries, replace=False)
        valid_queries = [valid_queries[i] for i in np.sort(chosen)]
        valid = valid[valid["query"].isin(valid_queries)]
    # Corpus: every product of a pair first, then random others up to eval_corpus_size.
    paired = pd.unique(pd.concat([valid["item_id"], train["item_id"]])).tolist()
    paired_set = set(paired)
    others = [item for item in catalog_ids if text_of[item] and item not in paired_set]
    room = max(0, config.eval_corpus_size - len(paired))
    if room < len(others):
        others = [others[i] for i in np.sort(rng.choice(len(others), room, replace=False))]
    corpus = paired + others
    position = {item: i for i, item in enumerate(corpus)}
    grouped = valid.groupby("query")["item_id"].agg(list)
    data = _Data(
        train_queries=train["query"].tolist(),
        train_texts=[text_of[item] for item in train["item_id"]],
        train_items=train["item_id"].to_numpy(),
        valid_queries=valid_queries,
        valid_relevant=[
            np.array([position[item] for item in grouped[query]], dtype=np.int64)
            for query in valid_queries
        ],
        corpus_texts=[text_of[item] for item in corpus],
    )
    sizes = {
        "n_pairs": len(pairs),
        "n_train_pairs": len(train),
        "n_valid_queries": len(valid_queries),
        "n_corpus": len(corpus),
    }
    return data, sizes


def _batches(
    queries: list[str], items: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Shuffled batches in which no query and no product appears twice.

    A repeated query or product inside a batch would be a false negative for the loss. Pairs
    that collide are deferred to a later batch; the last batch may be smaller.
    """
    pending = rng.permutation(len(queries)).tolist()
    batches: list[np.ndarray] = []
    while pending:
        batch: list[int] = []
        seen_queries: set[str] = set()
        seen_items: set[str] = set()
        deferred: list[int] = []
        for row in pending:
            full = len(batch) == batch_size
            if full or queries[row] in seen_queries or items[row] in seen_items:
                deferred.append(row)
            else:
                batch.append(row)
                seen_queries.add(queries[row])
                seen_items.add(items[row])
        batches.append(np.asarray(batch, dtype=np.int64))
        pending = deferred
    return [batch for batch in batches if len(batch) >= 2]


def multiple_negatives_loss(
    query_vectors: torch.Tensor, product_vectors: torch.Tensor, scale: float
) -> torch.Tensor:
    r"""Cross-entropy of each query picking its own product among the batch's products.

    .. math:: L = -\frac{1}{B} \sum_i \log
              \frac{e^{s \cos(q_i, p_i)}}{\sum_j e^{s \cos(q_i, p_j)}}

    Inputs are unit vectors ``(B, dim)``; ``s`` is ``scale``.
    """
    logits = scale * query_vectors @ product_vectors.T
    labels = torch.arange(len(query_vectors), device=logits.device)
    return F.cross_entropy(logits, labels)


def evaluate_encoder(
    encoder: BertEncoder,
    queries: Sequence[str],
    relevant: Sequence[np.ndarray],
    corpus_texts: Sequence[str],
    *,
    k: int = 10,
    batch_size: int = 64,
    callback: ProgressCallback | None = None,
) -> dict[str, float]:
    """Retrieval metrics of ``encoder`` ranking ``corpus_texts`` for each query.

    ``callback(done, total, info)`` follows the encoding, which is nearly all of the time: the
    products, then the queries, ``done`` of ``total`` texts.
    """
    n_texts = len(corpus_texts) + len(queries)

    def encoding(offset: int, what: str) -> ProgressCallback | None:
        if callback is None:
            return None

        def report(done: int, _total: int, _info: str) -> None:
            callback(offset + done, n_texts, f"encoding {what}: {offset + done:,} of {n_texts:,}")

        return report

    corpus = encoder.encode(corpus_texts, batch_size=batch_size, callback=encoding(0, "products"))
    query_vectors = encoder.encode(
        queries, batch_size=batch_size, callback=encoding(len(corpus_texts), "queries")
    )
    return retrieval_metrics(query_vectors, corpus, relevant, k)


def finetune_encoder(
    workspace: Workspace,
    name: str,
    config: FinetuneConfig | None = None,
    *,
    pairs: pd.DataFrame | None = None,
    catalog: pd.DataFrame | None = None,
    extra_pairs: pd.DataFrame | None = None,
    train_on_pairs: bool = True,
    callback: ProgressCallback | None = None,
) -> FinetuneResult:
    """Fine-tune an encoder on (query, product) pairs and save it as ``name``.

    Parameters
    ----------
    workspace : Workspace
        Source of the events and catalogue, and where the encoder is saved
        (``artifacts/encoders/<name>/``, replacing an encoder of that name only on success).
    name : str
        Name of the fine-tuned encoder (letters, digits, ``-`` and ``_``).
    config : FinetuneConfig, optional
        Settings; the defaults when omitted.
    pairs : pandas.DataFrame, optional
        ``query`` and ``item_id`` columns (e.g. accepted synthetic pairs) used instead of
        :func:`search_click_pairs` of the workspace.
    catalog : pandas.DataFrame, optional
        Products with their text; the workspace ``catalog`` table when omitted.
    extra_pairs : pandas.DataFrame, optional
        More ``query`` / ``item_id`` pairs for training only (e.g. accepted synthetic queries,
        :func:`core.synth.store.accepted_query_pairs`); the held-out queries still come from
        ``pairs``, and an extra pair whose query is held out is dropped.
    train_on_pairs : bool
        False trains on ``extra_pairs`` alone while still evaluating on the held-out part of
        ``pairs`` (train on synthetic, test on real).
    callback : callable, optional
        ``callback(step, total, info)`` after each training step and each evaluation; ``info``
        is a :class:`core.progress.ProgressInfo` whose point is a point of the curve (see
        :func:`encoder_curve`). It may raise :class:`core.errors.TrainingCancelled` to
        stop: nothing is then saved.

    Returns
    -------
    FinetuneResult
    """
    config = config or FinetuneConfig()
    check_name(name)
    began = time.perf_counter()
    if pairs is None:
        if callback is not None:
            callback(0, 1, "finding searches followed by engagement")
        pairs = search_click_pairs(workspace, window_minutes=config.window_minutes)
    if catalog is None:
        if not workspace.table_exists(CATALOG_TABLE):
            raise FinetuneError(
                f"no catalogue in workspace {workspace.name!r}: load and clean a dataset first"
            )
        catalog = workspace.read_table(CATALOG_TABLE)
    data, sizes = _prepare(pairs, catalog, config, extra_pairs, train_on_pairs)
    encoder = load_encoder(
        config.base_encoder, device=config.device, num_threads=config.num_threads
    )
    base_model_id = encoder.model_id
    if config.max_length is not None:
        encoder.max_length = config.max_length
    rng = np.random.default_rng(config.random_state)
    epoch_batches = [
        _batches(data.train_queries, data.train_items, config.batch_size, rng)
        for _ in range(config.epochs)
    ]
    n_steps = sum(len(batches) for batches in epoch_batches)
    # An evaluation encodes every product and held-out query: on the bar it weighs as many
    # steps as it has batches of texts (a step encodes a batch of queries and one of products).
    eval_steps = max(
        1, math.ceil((sizes["n_corpus"] + sizes["n_valid_queries"]) / 2 / config.batch_size)
    )
    total = n_steps + (config.epochs + 1) * eval_steps
    done = 0

    history: list[dict[str, float]] = []
    curve: list[dict[str, float]] = []

    def report(text: str, point: dict[str, float]) -> None:
        curve.append(point)
        if callback is not None:
            callback(done, total, ProgressInfo(text, point))

    def evaluate(epoch: int, loss: float) -> None:
        nonlocal done
        start = done
        measuring = (
            f"epoch {epoch}: measuring retrieval on {sizes['n_valid_queries']:,} held-out queries"
        )

        def encoding(texts_done: int, n_texts: int, info: str) -> None:
            if callback is not None:
                step = start + texts_done * eval_steps // max(n_texts, 1)
                callback(step, total, f"{measuring}, {info}")

        if callback is not None:
            callback(start, total, measuring)
        metrics = evaluate_encoder(
            encoder,
            data.valid_queries,
            data.valid_relevant,
            data.corpus_texts,
            k=config.k,
            callback=encoding,
        )
        row = {
            "epoch": epoch,
            "train_loss": loss,
            **metrics,
            "seconds": time.perf_counter() - began,
        }
        history.append(row)
        done = start + eval_steps
        report(
            f"epoch {epoch}: ndcg@{config.k} {metrics[f'ndcg@{config.k}']:.4f}",
            {EPOCH: epoch, **metrics},
        )

    evaluate(0, math.nan)
    model = encoder.model
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    warmup = int(config.warmup_fraction * n_steps)

    def rate(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (n_steps - step) / max(1, n_steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    devices = [encoder.device.index or 0] if encoder.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), encoder.threads():
        torch.manual_seed(config.random_state)
        for epoch, batches in enumerate(epoch_batches, start=1):
            model.train()
            losses = []
            for position, batch in enumerate(batches, start=1):
                query_vectors = encoder.embed_texts([data.train_queries[i] for i in batch])
                product_vectors = encoder.embed_texts([data.train_texts[i] for i in batch])
                loss = multiple_negatives_loss(query_vectors, product_vectors, config.scale)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                losses.append(float(loss.detach()))
                done += 1
                report(
                    f"epoch {epoch}/{config.epochs}: loss {losses[-1]:.4f}",
                    {EPOCH: epoch - 1 + position / len(batches), TRAIN_LOSS: losses[-1]},
                )
            model.eval()
            evaluate(epoch, float(np.mean(losses)) if losses else math.nan)
    frame = pd.DataFrame(history)
    params = asdict(config)
    folder = encoders_dir(workspace) / name
    encoder.save(
        folder,
        metadata={
            "name": name,
            "base_encoder": config.base_encoder or "default",
            "base_model_id": base_model_id,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": asdict(config),
            "history": _jsonable(history),
            "curve": curve,
            **sizes,
        },
    )
    # The weights changed: the encoder now goes by the saved checkpoint's id.
    encoder.model_id = load_encoder_meta(folder)["model_id"]
    final = {key: float(value) for key, value in history[-1].items() if "@" in key}
    run_id = workspace.add_run(
        "finetune",
        name,
        params,
        metrics={**final, "before": _jsonable([history[0]])[0], **sizes},
    )
    return FinetuneResult(
        name=name,
        path=folder,
        model_id=encoder.model_id,
        history=frame,
        curve=curve_frame(curve),
        n_train_pairs=sizes["n_train_pairs"],
        n_valid_queries=sizes["n_valid_queries"],
        n_corpus=sizes["n_corpus"],
        run_id=run_id,
        config=config,
        encoder=encoder,
    )


def _jsonable(rows: list[dict[str, float]]) -> list[dict[str, float | None]]:
    """History rows with NaN as None (JSON has no NaN)."""
    return [
        {
            key: (None if isinstance(value, float) and math.isnan(value) else value)
            for key, value in row.items()
        }
        for row in rows
    ]
