"""The pipeline steps that span packages, called by both the command line and the dashboard.

Each step composes lower layers (data, models, synthetic data) so that neither front end
repeats the composition: training with accepted synthetic interactions lives here because a
model knows nothing of where its extra training rows come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.data.interactions import Interactions, Split
from core.data.workspace import Workspace
from core.errors import ModelError
from core.models.training import TrainedModel, train_model
from core.progress import ProgressCallback


def synthetic_augment(ws: Workspace, split: Split) -> tuple[Interactions, dict[str, int]]:
    """The split's training part plus the workspace's accepted synthetic interactions.

    Returns the training interactions and the counts a run records of them.

    Raises
    ------
    ModelError
        No accepted synthetic interaction falls in the training period.
    """
    from core.synth.interactions.augment import augment

    augmented = augment(split, ws)
    if augmented.synthetic.nnz == 0:
        raise ModelError(
            "no accepted synthetic interaction falls in the training period: generate and "
            "accept some on the Synthetic Data page, or train without them"
        )
    return augmented.train, {
        "n_rows": augmented.n_rows,
        "n_pairs": int(augmented.synthetic.nnz),
        "n_unknown_users": augmented.n_unknown_users,
        "n_unknown_items": augmented.n_unknown_items,
        "n_after_end": augmented.n_after_end,
    }


def train(
    ws: Workspace,
    model_name: str,
    params: Mapping[str, Any] | None = None,
    *,
    split_params: Mapping[str, Any] | None = None,
    name: str | None = None,
    eval_every: int | None = None,
    synthetic: bool = False,
    callback: ProgressCallback | None = None,
) -> TrainedModel:
    """Train and record ``model_name`` (:func:`core.models.training.train_model`).

    With ``synthetic``, the accepted synthetic interactions (:mod:`core.synth.interactions`)
    are added to the training part for the fit; the model still ranks from, and excludes,
    each user's real history, and it is validated on real interactions only.
    """
    return train_model(
        ws,
        model_name,
        params,
        split_params=split_params,
        name=name,
        eval_every=eval_every,
        augment=(lambda split: synthetic_augment(ws, split)) if synthetic else None,
        callback=callback,
    )
