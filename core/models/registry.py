"""The models the dashboard and the pipeline can train, by name.

Every concrete :class:`~core.models.base.Recommender` registers itself in
:data:`~core.models.base.MODEL_CLASSES` when its module is imported. This module imports every
module of the :mod:`core.models` package, so a model added in a new module there is available
without further wiring.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import core.models
from core.errors import ModelError
from core.models.base import MODEL_CLASSES, Recommender


def _import_model_modules() -> None:
    for module in pkgutil.iter_modules(core.models.__path__):
        importlib.import_module(f"{core.models.__name__}.{module.name}")


def available_models() -> dict[str, type[Recommender]]:
    """Model name -> class, sorted by name, for every model in :mod:`core.models`."""
    _import_model_modules()
    return dict(sorted(MODEL_CLASSES.items()))


def make_model(name: str, **params: Any) -> Recommender:
    """A new, unfitted model ``name`` with hyperparameters ``params`` (defaults for the rest).

    Raises
    ------
    ModelError
        When ``name`` is not a model, or ``params`` names a hyperparameter it does not have.
    """
    models = available_models()
    model_class = models.get(name)
    if model_class is None:
        raise ModelError(f"unknown model {name!r}; use one of {', '.join(models)}")
    unknown = sorted(set(params) - set(model_class._param_names()))
    if unknown:
        raise ModelError(
            f"model {name!r} has no hyperparameter {', '.join(map(repr, unknown))}; "
            f"it takes {', '.join(model_class._param_names())}"
        )
    return model_class(**params)
