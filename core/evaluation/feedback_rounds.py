"""Feedback rounds on the sample world: deploy, let the simulated shoppers respond, retrain.

Each variant (a model and its settings) starts from the split's real training interactions and
keeps its own growing log. In every round it is trained on its log, shows each simulated shopper
(the sample world's non-bot users present in training) a top-``k`` list of items not in their
log (real or earlier responses), and the shoppers react with the simulated online A/B's choice model
(:mod:`core.evaluation.online`: position ``j`` is examined with probability
``POSITION_BIAS ** j``, an examined product is clicked with ``P(click | examined)`` and a click
becomes a purchase with ``P(purchase | click)``, both from
:func:`~core.evaluation.online.choice_probabilities`).
Clicks and purchases join that variant's log with their event weights, and the next round
retrains on it. A variant that shows only what is already popular is clicked only on popular
products, which grow more popular: the feedback loop the figures make visible.

Per round and variant (the lists of the round, before the shoppers respond):

``recall@k``
    Recall of the lists against the split's real test interactions (the same held-out data every
    round; items the user had in the real training data are never listed).
``ctr``, ``conversion_rate``
    Clicks and purchases per shopper in the round.
``coverage``, ``exposure_gini``, ``long_tail_share``
    :func:`~core.metrics.catalog_coverage`, :func:`~core.metrics.exposure_gini` and the mean
    :func:`~core.metrics.long_tail_share`, with the long tail fixed by the real training
    popularity (:func:`~core.metrics.long_tail_items`, 80% head) so that the rounds compare.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from core.checks import check_whole, random_generator
from core.data.interactions import Interactions
from core.data.splits import Split
from core.errors import ComparisonError
from core.evaluation.online import (
    POSITION_BIAS,
    choice_probabilities,
    is_sample_world,
    load_ground_truth,
)
from core.metrics import (
    catalog_coverage,
    exposure_gini,
    hit_matrix,
    long_tail_items,
    long_tail_share,
    recall_at_k,
    relevant_counts,
)
from core.models.registry import make_model
from core.progress import ProgressCallback
from core.schema import DEFAULT_EVENT_WEIGHTS, ITEM_ID, USER_ID

ROUND_COLUMNS: tuple[str, ...] = (
    "round", "variant", "recall@k", "ctr", "conversion_rate", "coverage", "exposure_gini",
    "long_tail_share", "n_interactions",
)  # fmt: skip
DEFAULT_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "popularity": ("popularity", {}),
    "als": ("als", {"factors": 32, "iterations": 15}),
}


def _add_responses(
    log: Interactions, users: np.ndarray, items: np.ndarray, weights: np.ndarray, when: Any
) -> Interactions:
    """``log`` plus (users, items) entries with ``weights`` at time ``when`` (summed by pair)."""
    rows, cols = log.entries()
    frame = pd.DataFrame(
        {
            "row": np.r_[rows, users],
            "col": np.r_[cols, items],
            "weight": np.r_[log.matrix.data.astype(np.float64), weights],
            "ts": np.r_[log.last_ts.astype("datetime64[s]"), np.full(users.size, when)],
        }
    )
    grouped = frame.groupby(["row", "col"], sort=True).agg(
        weight=("weight", "sum"), ts=("ts", "max")
    )
    index = grouped.index
    return Interactions.from_arrays(
        log.user_ids,
        log.item_ids,
        index.get_level_values(0).to_numpy(np.int64),
        index.get_level_values(1).to_numpy(np.int64),
        grouped["weight"].to_numpy(np.float32),
        grouped["ts"].to_numpy("datetime64[s]"),
    )


def _exclude_seen(scores: np.ndarray, real: Any, users: np.ndarray) -> np.ndarray:
    seen = real[users]
    scores[np.repeat(np.arange(users.size), np.diff(seen.indptr)), seen.indices] = -np.inf
    return scores


def feedback_rounds(
    split: Split,
    users_truth: pd.DataFrame,
    catalog: pd.DataFrame,
    *,
    variants: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None,
    n_rounds: int = 5,
    k: int = 20,
    max_users: int | None = 2000,
    random_state: int = 0,
    callback: ProgressCallback | None = None,
) -> pd.DataFrame:
    """Run ``n_rounds`` of deploy / respond / retrain for each variant (module docstring).

    Parameters
    ----------
    split : Split
        A split of the sample world; its training part seeds every variant's log.
    users_truth, catalog : pandas.DataFrame
        The sample world's ground truth (:func:`~core.evaluation.online.load_ground_truth`).
    variants : mapping, optional
        Variant name -> (model name, hyperparameters); default :data:`DEFAULT_VARIANTS`.
    n_rounds, k : int
        Rounds (the first is the model trained on real data only) and list length.
    max_users : int or None
        Shoppers drawn at random (seeded) among the eligible ones; all when None.
    random_state : int
        Seed of the shoppers' draw and their reactions (the same for every variant).

    Returns
    -------
    pandas.DataFrame
        One row per (round, variant) with :data:`ROUND_COLUMNS`.
    """
    n_rounds = check_whole("n_rounds", n_rounds, 1, ComparisonError)
    k = check_whole("k", k, 1, ComparisonError)
    variants = dict(DEFAULT_VARIANTS if variants is None else variants)
    if not variants:
        raise ComparisonError("no variants given; pass {name: (model name, parameters)}")
    train = split.train
    truth_users = users_truth.loc[~users_truth["is_bot"].astype(bool), USER_ID].astype(str)
    active = np.diff(train.matrix.indptr) > 0
    eligible = np.flatnonzero(active & pd.Index(train.user_ids).isin(truth_users))
    if eligible.size == 0:
        raise ComparisonError(
            "no training user is a simulated shopper: feedback rounds run on the sample world "
            "only (load it on the Data page)"
        )
    rng = random_generator(random_state)
    if max_users is not None and eligible.size > max_users:
        size = check_whole("max_users", max_users, 1, ComparisonError)
        eligible = np.sort(rng.choice(eligible, size, replace=False))
    known_items = pd.Index(train.item_ids).isin(catalog[ITEM_ID].astype(str))
    if not known_items.all():
        raise ComparisonError("the split's products are not all in the ground-truth catalogue")
    p_click, p_purchase = choice_probabilities(
        train.user_ids[eligible], train.item_ids, users_truth, catalog
    )
    tail = long_tail_items(np.diff(train.matrix.tocsc().indptr))
    relevant = split.test.matrix.tocsr()[eligible]
    n_relevant = relevant_counts(relevant)
    tested = n_relevant > 0
    reaction_seeds = rng.integers(0, 2**63, size=n_rounds)
    end = train.last_ts.astype("datetime64[s]").max() if train.nnz else np.datetime64(0, "s")
    weights = {
        "click": DEFAULT_EVENT_WEIGHTS["click"],
        "purchase": DEFAULT_EVENT_WEIGHTS["purchase"],
    }
    logs = {name: train for name in variants}
    rows = []
    total, step = n_rounds * len(variants), 0
    examine = POSITION_BIAS ** np.arange(k)
    for round_number in range(n_rounds):
        for name, (model_name, params) in variants.items():
            log = logs[name]
            model = make_model(model_name, **dict(params)).fit(log, catalog=catalog)
            scores = np.array(model.score(eligible), dtype=np.float64, copy=True)
            seen = log.matrix.tocsr()
            order = np.argsort(-_exclude_seen(scores, seen, eligible), axis=1, kind="stable")
            lists = order[:, :k]
            # Same random numbers for every variant in a round: differences come from the lists.
            reaction = np.random.default_rng(reaction_seeds[round_number])
            uniforms = reaction.random((3, eligible.size, k))
            picked_click = np.take_along_axis(p_click, lists, axis=1)
            picked_purchase = np.take_along_axis(p_purchase, lists, axis=1)
            clicked = (uniforms[0] < examine) & (uniforms[1] < picked_click)
            bought = clicked & (uniforms[2] < picked_purchase)
            hits = hit_matrix(lists[tested], relevant[tested])
            rows.append({
                "round": round_number, "variant": name,
                "recall@k": float(recall_at_k(hits, n_relevant[tested], k).mean())
                if tested.any() else float("nan"),
                "ctr": float(clicked.sum(axis=1).mean()),
                "conversion_rate": float(bought.sum(axis=1).mean()),
                "coverage": catalog_coverage(lists, train.n_items),
                "exposure_gini": exposure_gini(lists, train.n_items),
                "long_tail_share": float(long_tail_share(lists, tail).mean()),
                "n_interactions": int(log.nnz),
            })  # fmt: skip
            users = np.repeat(eligible[:, None], k, axis=1)
            when = end + np.timedelta64(round_number + 1, "s")
            responses = np.r_[np.full(int(clicked.sum()), weights["click"]),
                              np.full(int(bought.sum()), weights["purchase"])]  # fmt: skip
            logs[name] = _add_responses(
                log, np.r_[users[clicked], users[bought]], np.r_[lists[clicked], lists[bought]],
                responses, when,
            )  # fmt: skip
            step += 1
            if callback is not None:
                callback(step, total, f"round {round_number + 1}/{n_rounds}: {name}")
    return pd.DataFrame(rows, columns=list(ROUND_COLUMNS))


def sample_world_rounds(split: Split, catalog: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
    """:func:`feedback_rounds` with the sample world's ground truth, after checking that the
    split's data is the sample world (:func:`~core.evaluation.online.is_sample_world`)."""
    truth = load_ground_truth()
    if not is_sample_world(split.train.user_ids.astype(str), catalog, truth):
        raise ComparisonError(
            "feedback rounds need the sample world, whose simulated shoppers can respond: this "
            "workspace holds other data (load the sample world on the Data page)"
        )
    return feedback_rounds(split, truth.users, truth.catalog, **kwargs)
