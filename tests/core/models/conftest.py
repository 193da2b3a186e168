"""Fixtures of the model tests: a checker-board dataset with a catalogue, and model factories.

The checker board (after implicit's ``tests/recommender_base_test.py``): user ``u`` interacts
with item ``i`` when ``u + i`` is even, except the "diagonal" item ``u % N_ITEMS``, so every
user has unseen items of their own parity for a sensible model to recommend. The last
``N_COLD_USERS`` users have no training interactions (their recent items are given as a
separate history), and the last item has none either (a cold item for content models).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from core.data.interactions import Interactions
from core.models.base import Recommender
from core.models.registry import available_models

N_USERS = 40
N_ITEMS = 30
N_COLD_USERS = 4
COLD_ITEM = N_ITEMS - 1

# Small settings that keep the contract tests fast; every other hyperparameter is the default.
FAST_PARAMS: dict[str, dict[str, Any]] = {
    "als": {"factors": 8, "iterations": 10, "regularization": 0.1},
    "bpr": {"factors": 8, "iterations": 30},
    "als_spark": {"factors": 8, "iterations": 5, "regularization": 0.01, "blocks": 1},
    "semantic_bert": {"encoder": "tiny"},
}


@dataclass(frozen=True)
class CheckerBoard:
    """Training interactions, catalogue, and the users unseen in training with their history."""

    train: Interactions
    catalog: pd.DataFrame
    cold_users: np.ndarray
    cold_history: sp.csr_matrix


def _checker_board() -> CheckerBoard:
    users, items, weights = [], [], []
    history_rows, history_cols = [], []
    for user in range(N_USERS):
        cold = user >= N_USERS - N_COLD_USERS
        for item in range(user % 2, COLD_ITEM, 2):
            if item == user % N_ITEMS:
                continue
            if cold:
                # Their recent items: a few of their parity.
                if item < 8:
                    history_rows.append(user - (N_USERS - N_COLD_USERS))
                    history_cols.append(item)
                continue
            users.append(user)
            items.append(item)
            weights.append(1.0 + (user * item) % 3)
    n = len(users)
    start = np.datetime64("2024-01-01T00:00:00", "s")
    train = Interactions.from_arrays(
        [f"u{user:02d}" for user in range(N_USERS)],
        [f"i{item:02d}" for item in range(N_ITEMS)],
        np.asarray(users),
        np.asarray(items),
        np.asarray(weights, dtype=np.float32),
        start + np.arange(n).astype("timedelta64[h]"),
    )
    history = sp.csr_matrix(
        (np.ones(len(history_rows), dtype=np.float32), (history_rows, history_cols)),
        shape=(N_COLD_USERS, N_ITEMS),
    )
    even = {
        "title": "stainless steel frying pan {n}",
        "description": "a heavy pan for the kitchen, oven safe, induction ready",
        "category": "Home > Kitchen > Pans",
        "brand": "Ferro",
    }
    odd = {
        "title": "organic cotton t-shirt {n}",
        "description": "a soft shirt with short sleeves, machine washable",
        "category": "Fashion > Men > Shirts",
        "brand": "Loom",
    }
    rows = []
    for item in range(N_ITEMS):
        text = even if item % 2 == 0 else odd
        rows.append(
            {
                "item_id": f"i{item:02d}",
                "title": text["title"].format(n=item),
                "description": text["description"],
                "category": text["category"],
                "brand": text["brand"],
            }
        )
    return CheckerBoard(
        train=train,
        catalog=pd.DataFrame(rows),
        cold_users=np.arange(N_USERS - N_COLD_USERS, N_USERS),
        cold_history=history,
    )


def model_params(name: str, **overrides: Any) -> dict[str, Any]:
    """Hyperparameters for model ``name`` in tests: fast settings and ``random_state=0``."""
    model_class = available_models()[name]
    params = dict(FAST_PARAMS.get(name, {}))
    if "random_state" in model_class._param_names():
        params["random_state"] = 0
    params.update(overrides)
    return params


def new_model(name: str, **overrides: Any) -> Recommender:
    """An unfitted model ``name`` with :func:`model_params`."""
    return available_models()[name](**model_params(name, **overrides))


@pytest.fixture(scope="session")
def checker_board() -> CheckerBoard:
    """The checker-board dataset (shared: tests must not modify it)."""
    return _checker_board()


# Models that need an optional engine, and the pytest mark their tests carry.
ENGINE_MODELS = {"als_spark": "spark"}


def model_param(name: str) -> Any:
    """``name`` as a pytest parameter, marked with its engine (``spark``) when it needs one."""
    engine = ENGINE_MODELS.get(name)
    return pytest.param(name, marks=getattr(pytest.mark, engine)) if engine else name


def start_engine(name: str, request: pytest.FixtureRequest) -> None:
    """Start the engine model ``name`` needs (the shared Spark session), or skip without it."""
    if ENGINE_MODELS.get(name) == "spark":
        request.getfixturevalue("spark")
