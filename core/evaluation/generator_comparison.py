"""Interaction generators side by side: the same cold items, the same models, the same test data.

Each generator (content neighbours, GRU session model, conditional GAN) draws ``n_per_item``
users for every item without training interactions; nothing is stored. For each model, one
variant trains on the real training data and one per generator on the real data plus that
generator's rows; all are served to the split's real test users and compared with the real
variant per segment (Recall@20 on cold-start items first) with paired bootstrap intervals
(:func:`core.evaluation.experiment.run_experiment`). Fidelity rows
(:func:`core.synth.quality.quality_report`: item popularity, category mix, nearest audience)
and privacy rows (:func:`core.synth.privacy_sets.interaction_privacy`) describe each
generator's batch.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.checks import check_choice
from core.data.splits import Split
from core.errors import SyntheticInteractionsError
from core.evaluation.experiment import run_experiment
from core.evaluation.synthetic_utility import MODEL, REAL, _variant
from core.models.registry import make_model
from core.progress import ProgressCallback
from core.synth.interactions.augment import augment_rows
from core.synth.interactions.gan import GANGenerator
from core.synth.interactions.gru import GRU, GRUGenerator
from core.synth.interactions.inputs import sparse_items
from core.synth.interactions.neighbours import NEIGHBOURS, neighbour_interactions
from core.synth.interactions.runs import GENERATORS
from core.synth.privacy_sets import interaction_privacy
from core.synth.quality import quality_report

GENERATOR = "generator"


@dataclass(frozen=True)
class GeneratorComparison:
    """Utility (experiment rows with ``model``), fidelity and privacy (``generator``,
    ``measure``, ``value``, ``detail``), the generated rows and the seconds of each generator."""

    utility: pd.DataFrame
    fidelity: pd.DataFrame
    rows: dict[str, pd.DataFrame]
    seconds: dict[str, float]


def generate_rows(
    split: Split,
    item_vectors: np.ndarray,
    generator: str,
    targets: np.ndarray,
    *,
    n_per_item: int = 20,
    temperature: float = 1.0,
    k: int = 10,
    params: Mapping[str, Any] | None = None,
    random_state: int = 0,
) -> pd.DataFrame:
    """Rows of ``generator`` for ``targets`` (trained on ``split.train`` when it learns),
    not stored."""
    check_choice("generator", generator, GENERATORS, SyntheticInteractionsError)
    settings = {"random_state": random_state, **dict(params or {})}
    draw = {"n_per_item": n_per_item, "temperature": temperature, "random_state": random_state}
    if generator == NEIGHBOURS:
        return neighbour_interactions(split.train, item_vectors, targets, k=k, **draw)
    model = (GRUGenerator if generator == GRU else GANGenerator)(**settings)
    return model.fit(split.train, item_vectors).generate_for_items(split.train, targets, **draw)


def compare_generators(
    split: Split,
    item_vectors: np.ndarray,
    *,
    generators: Sequence[str] = GENERATORS,
    catalog: pd.DataFrame | None = None,
    models: Mapping[str, Mapping[str, Any]] | None = None,
    n_per_item: int = 20,
    temperature: float = 1.0,
    k: int = 10,
    generator_params: Mapping[str, Mapping[str, Any]] | None = None,
    metrics: Sequence[str] = ("recall@20", "ndcg@10"),
    segments: Sequence[str] = ("cold_items", "all"),
    n_resamples: int = 500,
    random_state: int = 0,
    callback: ProgressCallback | None = None,
) -> GeneratorComparison:
    """Generate with each of ``generators`` for the split's cold items and compare them.

    ``item_vectors`` are dense product vectors (one row per item of ``split.train``);
    ``generator_params`` maps ``gru`` / ``gan`` to their hyperparameters; ``models`` maps a
    model name to its hyperparameters (default ``{"als": {"factors": 32, "iterations":
    15}}``). ``callback(step, total, info)`` after each generator and each trained model.
    """
    models = dict(models or {"als": {"factors": 32, "iterations": 15}})
    targets = sparse_items(split.train)
    if targets.size == 0:
        raise SyntheticInteractionsError(
            "no item lacks training interactions under this split: there is nothing to generate"
        )
    total = len(generators) + len(models) * (len(generators) + 1)
    step = 0
    rows: dict[str, pd.DataFrame] = {}
    seconds: dict[str, float] = {}
    for name in generators:
        began = time.perf_counter()
        rows[name] = generate_rows(
            split, item_vectors, name, targets, n_per_item=n_per_item, temperature=temperature,
            k=k, params=(generator_params or {}).get(name), random_state=random_state,
        )  # fmt: skip
        seconds[name] = time.perf_counter() - began
        step += 1
        if callback is not None:
            callback(step, total, f"{name}: {len(rows[name]):,} rows")
    trains = {REAL: split.train} | {
        f"{REAL}+{name}": augment_rows(split, frame).train for name, frame in rows.items()
    }
    frames = []
    for model_name, params in models.items():
        variants = []
        for variant_name, train in trains.items():
            model = make_model(model_name, **dict(params)).fit(train, catalog=catalog)
            variants.append(_variant(model, variant_name, split.train))
            step += 1
            if callback is not None:
                callback(step, total, f"trained {model_name} on {variant_name}")
        result = run_experiment(
            split, variants, metrics=metrics, control=REAL, segments=segments,
            n_resamples=n_resamples, random_state=random_state,
        )  # fmt: skip
        frames.append(result.table.assign(**{MODEL: model_name}))
    real_pairs = split.train.to_frame()[["user_id", "item_id"]]
    described = []
    for name, frame in rows.items():
        if frame.empty:
            continue
        report = quality_report(real_interactions=real_pairs, synthetic_interactions=frame,
                                catalog=catalog, random_state=random_state)  # fmt: skip
        privacy = interaction_privacy(split, frame, n_resamples=n_resamples)
        described.append(pd.concat([report, privacy.table()]).assign(**{GENERATOR: name}))
    fidelity = pd.concat(described, ignore_index=True) if described else pd.DataFrame()
    return GeneratorComparison(pd.concat(frames, ignore_index=True), fidelity, rows, seconds)
