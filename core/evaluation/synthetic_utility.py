"""Utility of synthetic interactions: does a model trained with them rank real test data better?

For each model, three variants are trained on one split and served to its real test users:

``real``
    The split's real training interactions.
``real+<set>``
    Real plus the accepted synthetic interactions of a set of generators (:func:`core.synth.
    interactions.augment.augment`).
``<set> only``
    The synthetic interactions alone (train on synthetic, test on real).

Every variant ranks from what it was trained on (a synthetic-only model knows a user only
through their synthetic rows) and leaves out only the user's real training items, so a
synthetic pair that happens to be a test pair is not hidden from the list. Metrics come per segment
(all users, cold-start items, long tail) with paired bootstrap intervals against ``real``
(:func:`core.evaluation.experiment.run_experiment`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.data.interactions import Interactions
from core.data.splits import Split
from core.data.workspace import Workspace
from core.evaluation.experiment import Variant, run_experiment
from core.metrics.ranking import top_k
from core.models.base import Recommender
from core.models.registry import make_model
from core.progress import ProgressCallback
from core.synth.interactions.augment import augment
from core.synth.store import ACCEPTED

REAL = "real"
MODEL = "model"
DEFAULT_MODELS: dict[str, dict[str, Any]] = {
    "als": {"factors": 32, "iterations": 15},
    "item_knn": {"k_neighbours": 50},
}


def _variant(model: Recommender, name: str, real_train: Interactions) -> Variant:
    real = real_train.matrix.tocsr()

    def recommend(users: np.ndarray, k: int) -> np.ndarray:
        scores = np.array(model.score(users), dtype=np.float32, copy=True)
        if not model.ranks_without_history:
            scores[np.diff(model.train_[users].indptr) == 0] = -np.inf
        seen = real[users]
        scores[np.repeat(np.arange(len(users)), np.diff(seen.indptr)), seen.indices] = -np.inf
        return top_k(scores, k)[0]

    return Variant(name, recommend, {"model": model.name})


def synthetic_utility(
    split: Split,
    ws: Workspace,
    *,
    models: Mapping[str, Mapping[str, Any]] | None = None,
    generator_sets: Mapping[str, Sequence[str] | None] | None = None,
    metrics: Sequence[str] = ("recall@20", "ndcg@10"),
    segments: Sequence[str] = ("all", "cold_items", "long_tail"),
    status: str = ACCEPTED,
    synthetic_only: bool = True,
    catalog: pd.DataFrame | None = None,
    n_resamples: int = 1000,
    random_state: int = 0,
    callback: ProgressCallback | None = None,
) -> pd.DataFrame:
    """Compare models trained with and without synthetic interactions on real test data.

    Parameters
    ----------
    split : Split
        The split; its test part is the real held-out data.
    ws : Workspace
        Holds the synthetic interactions.
    models : mapping, optional
        Model name (:func:`core.models.registry.make_model`) -> hyperparameters; default
        :data:`DEFAULT_MODELS`.
    generator_sets : mapping, optional
        Set name -> generators whose rows form the set (None: all); default
        ``{"synthetic": None}``.
    metrics, segments : sequences of str
        As in :func:`core.evaluation.experiment.run_experiment`.
    status : str
        Status of the synthetic rows used (``accepted``).
    synthetic_only : bool
        Also train on each set alone.
    catalog : pandas.DataFrame, optional
        For content models.
    n_resamples, random_state : int
        Paired bootstrap resamples and seed (the same seed for every model).
    callback : callable, optional
        ``callback(step, total, info)`` once per trained variant.

    Returns
    -------
    pandas.DataFrame
        ``model`` plus the columns of the experiment table (segment, metric, n_users,
        variant, mean, ci_low, ci_high, diff, diff_ci_low, diff_ci_high, lift, p_value,
        p_holm, significant), with ``real`` as the control, and the counts of synthetic
        rows used and skipped in ``n_synthetic`` (per variant; 0 for ``real``).
    """
    models = dict(DEFAULT_MODELS if models is None else models)
    sets = dict({"synthetic": None} if generator_sets is None else generator_sets)
    augmentations = {
        name: augment(split, ws, generators=generators, status=status)
        for name, generators in sets.items()
    }
    trains: dict[str, tuple[Interactions, int]] = {REAL: (split.train, 0)}
    for name, augmentation in augmentations.items():
        used = augmentation.synthetic.nnz
        trains[f"{REAL}+{name}"] = (augmentation.train, used)
        if synthetic_only:
            trains[f"{name} only"] = (augmentation.synthetic, used)
    total = len(models) * len(trains)
    step = 0
    frames = []
    for model_name, params in models.items():
        variants = []
        for variant_name, (train, _) in trains.items():
            model = make_model(model_name, **dict(params)).fit(train, catalog=catalog)
            variants.append(_variant(model, variant_name, split.train))
            step += 1
            if callback is not None:
                callback(step, total, f"trained {model_name} on {variant_name}")
        result = run_experiment(
            split,
            variants,
            metrics=metrics,
            control=REAL,
            segments=segments,
            n_resamples=n_resamples,
            random_state=random_state,
        )
        table = result.table.copy()
        table.insert(0, MODEL, model_name)
        table["n_synthetic"] = table["variant"].map({k: v[1] for k, v in trains.items()})
        frames.append(table)
    return pd.concat(frames, ignore_index=True)
