"""Generation runs: draw interactions with a generator and store them, or reuse a saved GRU."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.checks import check_choice
from core.data.runs import SYNTHETIC_INTERACTIONS_KIND
from core.data.splits import Split
from core.data.workspace import Workspace
from core.errors import SyntheticInteractionsError
from core.progress import ProgressCallback
from core.synth.interactions.gan import GAN, GANGenerator
from core.synth.interactions.gru import GENERATOR_META, GENERATOR_WEIGHTS, GRU, GRUGenerator
from core.synth.interactions.inputs import sparse_items
from core.synth.interactions.neighbours import NEIGHBOURS, neighbour_interactions
from core.synth.interactions.store import add_interactions, train_end

GENERATORS: tuple[str, ...] = (NEIGHBOURS, GRU, GAN)


def load_generator(ws: Workspace, run_id: str) -> GRUGenerator:
    """The GRU generator trained in run ``run_id`` (see :meth:`GRUGenerator.save`)."""
    row = ws.run_row(run_id, kind=SYNTHETIC_INTERACTIONS_KIND)
    if row is None:
        raise SyntheticInteractionsError(f"no synthetic interaction run {run_id!r}")
    return GRUGenerator.load(ws.runs_dir / run_id)


def saved_generators(ws: Workspace) -> pd.DataFrame:
    """GRU runs whose trained generator is saved: run_id, created_at, final training loss."""
    runs = ws.list_runs(kind=SYNTHETIC_INTERACTIONS_KIND)
    rows = []
    for run in runs.itertuples(index=False):
        folder = ws.runs_dir / run.run_id
        if (folder / GENERATOR_WEIGHTS).is_file() and (folder / GENERATOR_META).is_file():
            losses = json.loads((folder / GENERATOR_META).read_text()).get("losses") or [None]
            rows.append((run.run_id, run.created_at, losses[-1]))
    return pd.DataFrame(rows, columns=["run_id", "created_at", "train_loss"])


@dataclass(frozen=True)
class InteractionRun:
    """A stored batch of synthetic interactions: its run id, rows and metrics."""

    run_id: str
    generator: str
    rows: pd.DataFrame
    metrics: dict[str, Any]


def synthesize_interactions(
    ws: Workspace,
    split: Split,
    item_vectors: np.ndarray | sp.spmatrix,
    *,
    generator: str = NEIGHBOURS,
    target_items: Sequence[str] | np.ndarray | None = None,
    n_per_item: int = 20,
    temperature: float = 1.0,
    k: int = 10,
    gru_params: Mapping[str, Any] | None = None,
    gan_params: Mapping[str, Any] | None = None,
    reuse_run: str | None = None,
    random_state: int = 0,
    callback: ProgressCallback | None = None,
) -> InteractionRun:
    """Generate interactions for ``target_items`` with ``generator`` and store them as pending.

    ``target_items`` defaults to the items without training interactions
    (:func:`~core.synth.interactions.inputs.sparse_items`). ``k`` is the neighbour count of the
    ``neighbours`` generator,
    ``gru_params`` / ``gan_params`` the hyperparameters of :class:`GRUGenerator` /
    :class:`~core.synth.interactions.gan.GANGenerator`; ``callback`` reports their training
    and may cancel it (nothing is stored then). The trained GRU is saved with the run;
    ``reuse_run`` names an earlier GRU run whose generator generates instead of a new one (it
    must have been trained on the same item index).
    """
    check_choice("generator", generator, GENERATORS, SyntheticInteractionsError)
    targets = sparse_items(split.train) if target_items is None else np.asarray(target_items)
    began = time.perf_counter()
    params: dict[str, Any] = {
        "n_targets": len(targets),
        "n_per_item": n_per_item,
        "temperature": temperature,
        "random_state": random_state,
        "split": {"method": split.method, **split.params},
    }
    metrics: dict[str, Any] = {}
    write_files: Callable[[Path], None] | None = None
    if generator == NEIGHBOURS:
        params["k"] = k
        rows = neighbour_interactions(
            split.train,
            item_vectors,
            targets,
            k=k,
            n_per_item=n_per_item,
            temperature=temperature,
            random_state=random_state,
        )
    elif generator == GAN:
        gan = GANGenerator(**{"random_state": random_state, **dict(gan_params or {})})
        gan.fit(split.train, item_vectors, callback=callback)
        params["gan"] = gan.get_params()
        metrics["train_loss"] = gan.losses_
        rows = gan.generate_for_items(
            split.train,
            targets,
            n_per_item=n_per_item,
            temperature=temperature,
            random_state=random_state,
        )
    else:
        if reuse_run is not None:
            model = load_generator(ws, reuse_run)
            model.check_fitted(split.train)
            params["reused_generator"] = reuse_run
        else:
            model = GRUGenerator(**{"random_state": random_state, **dict(gru_params or {})})
            model.fit(split.train, item_vectors, callback=callback)
        params["gru"] = model.get_params()
        metrics["train_loss"] = model.losses_
        if getattr(model, "epsilon_", None) is not None:
            metrics["epsilon"] = model.epsilon_
            metrics["delta"] = model.delta
        write_files = model.save
        rows = model.generate_for_items(
            split.train,
            targets,
            n_per_item=n_per_item,
            temperature=temperature,
            random_state=random_state,
        )
    metrics.update(
        seconds=time.perf_counter() - began,
        n_items=int(rows["item_id"].nunique()),
        n_users=int(rows["user_id"].nunique()),
    )
    run_id = add_interactions(
        ws,
        rows,
        generator=generator,
        params=params,
        before=train_end(split),
        metrics=metrics,
        write_files=write_files,
    )
    return InteractionRun(run_id, generator, rows, metrics)
