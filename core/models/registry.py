"""The models the dashboard and the pipeline can train, by name.

:data:`MODELS` lists every model class. A model written in a new module of
:mod:`core.models` becomes available (to :func:`make_model`, :func:`read_model`, the Models
page and the pipeline) by importing its class here and adding it to that tuple.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import ModelError
from core.models.als import ALS
from core.models.als_spark import SparkALS
from core.models.base import Recommender, saved_model_name
from core.models.bpr import BPR
from core.models.buy_again import BuyAgain
from core.models.content import ContentRecommender
from core.models.knn import ItemKNN
from core.models.popularity import Popularity
from core.models.semantic import SemanticRecommender

MODELS: tuple[type[Recommender], ...] = (
    ALS,
    BPR,
    BuyAgain,
    ContentRecommender,
    ItemKNN,
    Popularity,
    SemanticRecommender,
    SparkALS,
)


def available_models() -> dict[str, type[Recommender]]:
    """Model name -> class, sorted by name, for every model in :data:`MODELS`."""
    return {model.name: model for model in sorted(MODELS, key=lambda model: model.name)}


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


def read_model(folder: Path) -> Recommender:
    """The model :meth:`Recommender.save` wrote in ``folder``, of the class it names."""
    model_name = saved_model_name(folder)
    model_class = available_models().get(model_name)
    if model_class is None:
        raise ModelError(f"unknown model {model_name!r} in {Path(folder) / 'params.json'}")
    return model_class.load(folder)
