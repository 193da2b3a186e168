"""Rows of generated interactions: users drawn by score, stamped with their latest training time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.checks import check_positive
from core.data.interactions import Interactions
from core.errors import SyntheticInteractionsError
from core.schema import DEFAULT_EVENT_WEIGHTS, EVENT_TYPES, SEARCH
from core.synth.interactions.store import ROW_COLUMNS


def event_weight(event: str, weight: float | None) -> float:
    """Weight of generated ``event`` rows: ``weight`` (a number > 0), or the event's default
    when None; search events are not generated."""
    if event not in EVENT_TYPES or event == SEARCH:
        kinds = ", ".join(e for e in EVENT_TYPES if e != SEARCH)
        raise SyntheticInteractionsError(f"unknown event {event!r}; use one of {kinds}")
    if weight is None:
        return DEFAULT_EVENT_WEIGHTS[event]
    return check_positive("weight", weight, SyntheticInteractionsError)


def _latest_ts(train: Interactions) -> np.ndarray:
    """Time of each user's latest training interaction (NaT for users without one)."""
    rows, _ = train.entries()
    latest = np.full(train.n_users, np.datetime64("NaT"), dtype="datetime64[s]")
    if train.nnz:
        stamps = train.last_ts.astype("datetime64[s]")
        valid = ~np.isnat(stamps)
        order = np.lexsort((stamps[valid].astype(np.int64), rows[valid]))
        chosen_rows = rows[valid][order]
        last = np.r_[chosen_rows[1:] != chosen_rows[:-1], True]
        latest[chosen_rows[last]] = stamps[valid][order][last]
    return latest


def draw(scores: np.ndarray, n: int, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """Up to ``n`` distinct positions of positive ``scores``, with P proportional to
    ``scores ** (1 / temperature)``."""
    positive = np.flatnonzero(scores > 0)
    if positive.size == 0:
        return positive
    logs = np.log(scores[positive]) / temperature
    probabilities = np.exp(logs - logs.max())
    probabilities /= probabilities.sum()
    size = min(n, int(np.count_nonzero(probabilities)))
    return rng.choice(positive, size=size, replace=False, p=probabilities)


def rows_frame(
    train: Interactions,
    users: list[np.ndarray],
    items: list[np.ndarray],
    event: str,
    weight: float,
) -> pd.DataFrame:
    """Rows (:data:`~core.synth.interactions.store.ROW_COLUMNS`) of the drawn (user, item)
    index pairs, each at its user's latest training time; users without one are dropped."""
    user_idx = np.concatenate(users) if users else np.empty(0, dtype=np.int64)
    item_idx = np.concatenate(items) if items else np.empty(0, dtype=np.int64)
    latest = _latest_ts(train)
    frame = pd.DataFrame(
        {
            "user_id": train.user_ids[user_idx].astype(str),
            "item_id": train.item_ids[item_idx].astype(str),
            "event": event,
            "ts": pd.to_datetime(latest[user_idx]),
            "weight": np.full(user_idx.size, weight, dtype=np.float64),
        },
        columns=list(ROW_COLUMNS),
    )
    return frame[frame["ts"].notna()].reset_index(drop=True)
