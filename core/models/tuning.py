"""Choose a model's hyperparameters on the validation part of a split: random search.

Each model name has a search space (:data:`SEARCH_SPACES`): per hyperparameter a list of values
(:class:`OneOf`) or a range sampled uniformly, on a log scale where the useful values span
orders of magnitude (:class:`Uniform`, :class:`LogUniform`, :class:`IntLogUniform`). A search
(:func:`tune`) fits the model on ``split.train`` with the model's defaults first, then with
random settings drawn from a seeded generator, scores each fit on ``split.valid`` with
:func:`core.models.training.evaluate` (NDCG@10 decides, Recall@20 is kept), and stops at the
trial cap, when the seconds budget is spent (no trial starts after it, a running one ends),
or when the space has no untried setting left. The test part of the split is never read.

:func:`tune_workspace` runs the search on a workspace's model-run split and can record the
best setting as a trained model run (:func:`core.models.training.train_model`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.checks import RandomState, check_positive, check_whole, random_generator
from core.data.splits import Split, split_kwargs, temporal_split
from core.data.workspace import Workspace
from core.errors import ModelError
from core.models.knn import SIMILARITIES
from core.models.registry import available_models, make_model
from core.models.runs import NDCG_KEY, RECALL_KEY
from core.models.training import (
    CATALOG_MODELS,
    TrainedModel,
    evaluate,
    train_model,
    workspace_params,
)
from core.progress import ProgressCallback
from core.schema import CATALOG_TABLE

# Columns of the trials table besides the hyperparameters.
TRIAL = "trial"
STARTED = "started_seconds"
SECONDS = "seconds"
# Floats drawn from a range keep this many significant digits, so the settings read well and
# are given back exactly by a table or a JSON file.
_DIGITS = 3
# Draws tried for a setting not tried yet before the space counts as exhausted.
_DRAWS_PER_TRIAL = 50


@dataclass(frozen=True)
class OneOf:
    """One of the listed values, each as likely."""

    values: tuple[Any, ...]

    def sample(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]


@dataclass(frozen=True)
class Uniform:
    """A float drawn uniformly from ``[low, high]``."""

    low: float
    high: float

    def sample(self, rng: np.random.Generator) -> float:
        return _round(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class LogUniform:
    """A float whose logarithm is drawn uniformly from ``[log low, log high]``."""

    low: float
    high: float

    def sample(self, rng: np.random.Generator) -> float:
        return _round(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


@dataclass(frozen=True)
class IntLogUniform:
    """A whole number drawn log-uniformly from ``[low, high]``."""

    low: int
    high: int

    def sample(self, rng: np.random.Generator) -> int:
        value = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
        return min(int(value), self.high)


Distribution = OneOf | Uniform | LogUniform | IntLogUniform
SearchSpace = Mapping[str, Distribution]

# The hyperparameters worth searching for each model; the others keep their defaults.
SEARCH_SPACES: dict[str, dict[str, Distribution]] = {
    "als": {
        "factors": OneOf((16, 32, 64, 128, 256)),
        "regularization": LogUniform(0.01, 200.0),
        "alpha": LogUniform(0.5, 50.0),
        "iterations": OneOf((10, 15, 25)),
    },
    "bpr": {
        "factors": OneOf((32, 64, 128, 256)),
        "learning_rate": LogUniform(0.001, 0.1),
        "regularization": LogUniform(0.0001, 0.1),
        "iterations": OneOf((50, 100, 200)),
        "uniform_negatives": Uniform(0.0, 0.95),
    },
    "item_knn": {
        "similarity": OneOf(tuple(SIMILARITIES)),
        "k_neighbours": IntLogUniform(5, 500),
    },
    "popularity": {"window_days": OneOf((None, 1.0, 7.0, 30.0, 90.0, 365.0))},
    "buy_again": {"half_life_days": OneOf((None, 7.0, 14.0, 30.0, 90.0, 365.0))},
    "content_tfidf": {
        "half_life_days": OneOf((None, 7.0, 30.0, 90.0)),
        "word_ngram_max": OneOf((1, 2)),
        "char_weight": Uniform(0.0, 1.0),
    },
    "semantic_bert": {"half_life_days": OneOf((None, 7.0, 30.0, 90.0))},
}


@dataclass(frozen=True)
class TuningResult:
    """The trials of a search and the setting that scored best on validation.

    Attributes
    ----------
    model_name : str
        The model searched.
    trials : pandas.DataFrame
        One row per trial in the order run: ``trial`` (0 is the start setting), one column
        per searched hyperparameter, ``ndcg@10`` and ``recall@20`` on validation,
        ``started_seconds`` (when the trial started, counted from the start of the search)
        and ``seconds`` (fit and scoring).
    best_params : dict
        The searched hyperparameters of the best trial (highest validation NDCG@10, the
        earlier trial on ties), with the fixed ones given to the search.
    best_trial : int
        Its ``trial`` number.
    stopped : str
        Why the search ended: ``"trials"``, ``"budget"`` or ``"space"`` (no untried setting).
    """

    model_name: str
    trials: pd.DataFrame
    best_params: dict[str, Any]
    best_trial: int
    stopped: str

    @property
    def best_score(self) -> float:
        """Validation NDCG@10 of the best trial."""
        return float(self.trials.loc[self.trials[TRIAL] == self.best_trial, NDCG_KEY].iloc[0])


def _round(value: float) -> float:
    return float(f"{value:.{_DIGITS}g}")


def search_space(model_name: str) -> dict[str, Distribution]:
    """The search space of ``model_name``; ModelError when it is not a model or has none."""
    models = available_models()
    if model_name not in models:
        raise ModelError(f"unknown model {model_name!r}; use one of {', '.join(models)}")
    if model_name not in SEARCH_SPACES:
        raise ModelError(
            f"model {model_name!r} has no search space; tune one of {', '.join(SEARCH_SPACES)}"
        )
    return SEARCH_SPACES[model_name]


def _key(params: Mapping[str, Any]) -> tuple:
    return tuple(sorted((name, repr(value)) for name, value in params.items()))


def _draw(space: SearchSpace, rng: np.random.Generator, tried: set[tuple]) -> dict | None:
    """A setting not tried yet, or None when ``_DRAWS_PER_TRIAL`` draws found none."""
    for _ in range(_DRAWS_PER_TRIAL):
        params = {name: distribution.sample(rng) for name, distribution in space.items()}
        if _key(params) not in tried:
            return params
    return None


def _check_validation(split: Split) -> None:
    valid = split.valid
    if valid is None or valid.matrix.nnz == 0:
        raise ModelError(
            "tuning needs a validation part with interactions: split with a validation "
            "fraction (valid_fraction > 0) or carve one from the training part"
        )


def tune(
    split: Split,
    model_name: str,
    *,
    max_trials: int = 20,
    budget_seconds: float | None = 60.0,
    random_state: RandomState = 0,
    space: SearchSpace | None = None,
    fixed_params: Mapping[str, Any] | None = None,
    catalog: pd.DataFrame | None = None,
    start_params: Mapping[str, Any] | None = None,
    callback: ProgressCallback | None = None,
) -> TuningResult:
    """Random search of ``model_name``'s hyperparameters on ``split.valid``.

    Parameters
    ----------
    split : Split
        Fits read ``split.train``; scores read ``split.valid``; ``split.test`` is not read.
    model_name : str
        A model of :func:`core.models.registry.available_models`.
    max_trials : int
        At most this many fits (>= 1). The first is ``start_params`` (the model's defaults
        when None) with ``fixed_params``, the others random draws.
    budget_seconds : float or None
        No trial starts once this many seconds have passed since the search started; None
        for no time limit. The first trial always runs.
    random_state : int, numpy.random.Generator or None
        Seed of the draws: the same seed on the same split tries the same settings.
    space : mapping, optional
        Hyperparameter -> distribution; :data:`SEARCH_SPACES` of the model by default.
    fixed_params : mapping, optional
        Hyperparameters every trial uses (not searched).
    catalog : pandas.DataFrame, optional
        The catalogue, for the content models.
    start_params : mapping, optional
        The first trial's setting of the searched hyperparameters (e.g. the one in use, so
        that the search keeps it unless validation finds better); missing ones take the
        defaults. The random draws are the same as without it (unless one repeats it).
    callback : callable, optional
        ``callback(trial, max_trials, info)`` after each trial, ``info`` saying its score and
        the best so far. It may raise :class:`core.errors.TrainingCancelled` to stop.

    Returns
    -------
    TuningResult

    Raises
    ------
    ModelError
        Unknown model, no search space, no validation interactions, bad trial cap or budget,
        or a setting the model rejects.
    """
    space = dict(search_space(model_name) if space is None else space)
    fixed = dict(fixed_params or {})
    max_trials = check_whole("max_trials", max_trials, 1, ModelError)
    if budget_seconds is not None:
        budget_seconds = check_positive("budget_seconds", budget_seconds, ModelError)
    unknown = sorted(set(space) - set(available_models()[model_name]._param_names()))
    if unknown:
        raise ModelError(f"model {model_name!r} has no hyperparameter {', '.join(unknown)}")
    _check_validation(split)
    rng = random_generator(random_state)
    defaults = make_model(model_name, **fixed).get_params()
    start = dict(start_params or {})
    unknown = sorted(set(start) - set(space))
    if unknown:
        raise ModelError(f"start_params sets {', '.join(unknown)}, which the search does not vary")
    searched = {name: start.get(name, defaults[name]) for name in space}
    tried: set[tuple] = set()
    rows: list[dict[str, Any]] = []
    began = time.perf_counter()
    stopped = "trials"
    best: dict[str, Any] | None = None
    for trial in range(max_trials):
        started = time.perf_counter() - began
        if trial > 0 and budget_seconds is not None and started >= budget_seconds:
            stopped = "budget"
            break
        params = searched if trial == 0 else _draw(space, rng, tried)
        if params is None:
            stopped = "space"
            break
        tried.add(_key(params))
        model = make_model(model_name, **{**fixed, **params})
        model.fit(split.train, catalog=catalog)
        scores = evaluate(model, split)
        row = {
            TRIAL: trial,
            **params,
            NDCG_KEY: scores[NDCG_KEY],
            RECALL_KEY: scores[RECALL_KEY],
            STARTED: started,
            SECONDS: time.perf_counter() - began - started,
        }
        rows.append(row)
        if best is None or row[NDCG_KEY] > best[NDCG_KEY]:
            best = row
        if callback is not None:
            callback(
                trial + 1,
                max_trials,
                f"trial {trial + 1}: validation NDCG@10 {row[NDCG_KEY]:.4f}, "
                f"best {best[NDCG_KEY]:.4f} (trial {best[TRIAL] + 1})",
            )
    trials = pd.DataFrame(rows, columns=[TRIAL, *space, NDCG_KEY, RECALL_KEY, STARTED, SECONDS])
    assert best is not None  # the first trial always runs
    best_params = {**fixed, **{name: best[name] for name in space}}
    return TuningResult(model_name, trials, best_params, int(best[TRIAL]), stopped)


def tune_workspace(
    ws: Workspace,
    model_name: str,
    *,
    max_trials: int = 20,
    budget_seconds: float | None = 60.0,
    random_state: RandomState = 0,
    split_params: Mapping[str, Any] | None = None,
    record_best: bool = False,
    callback: ProgressCallback | None = None,
) -> tuple[TuningResult, TrainedModel | None]:
    """:func:`tune` on the workspace's model-run split (the split :func:`train_model` uses).

    With ``record_best``, the best setting is then trained and recorded as a model run named
    ``"<model> (tuned)"``; the second value is that run (None otherwise).
    """
    split = temporal_split(ws, **split_kwargs(split_params))
    has_catalog = model_name in CATALOG_MODELS and ws.table_exists(CATALOG_TABLE)
    catalog = ws.read_table(CATALOG_TABLE) if has_catalog else None
    result = tune(
        split,
        model_name,
        max_trials=max_trials,
        budget_seconds=budget_seconds,
        random_state=random_state,
        fixed_params=workspace_params(ws, model_name, {}),
        catalog=catalog,
        callback=callback,
    )
    trained = None
    if record_best:
        trained = train_model(
            ws,
            model_name,
            result.best_params,
            split_params=split_params,
            name=f"{model_name} (tuned)",
        )
    return result, trained
