"""Train/test splits of the interactions: temporal, leave-last-n and random.

Splits return a :class:`Split`: train, test and an optional validation part on one shared
user and item index (the whole catalogue: items without any event included), with the users
and items that are cold in the test part marked.

- :func:`temporal_split` (the default protocol) cuts every event at one global time: train
  events all come strictly before test events.
- :func:`leave_last_n_split` holds out each user's ``n`` most recent items.
- :func:`random_split` holds out random (user, item) pairs.

A (user, item) pair never appears in both train and test. Random and leave-last-n splits assign
whole pairs, with all their events, to one side. A temporal split assigns events, so a pair can
have events on both sides of the cut: by default the pair then stays in train and leaves the
test (and validation) part, because evaluation ranks only items the user has not interacted
with and re-finding a known item would say nothing about the model. Test pairs are removed when
seen in train or validation, validation pairs when seen in train.

With ``keep_repeats=True`` a temporal split keeps such a pair on every side it has events on:
a repeat purchase after the cut is a test interaction like any other. The split records it
(:attr:`Split.exclude_seen` is then False), and models, experiments and fusion rank seen items
too, so that reorders can be recommended and scored.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from core.checks import RandomState, check_fraction, check_half_life, check_whole, random_generator
from core.data.interactions import (
    Interactions,
    aggregate_entries,
    build_interactions,
    check_weights,
    prepare_index,
    require_events,
    side_parts,
    weighted_events,
)
from core.data.workspace import Workspace
from core.errors import InteractionsError
from core.schema import EVENTS_TABLE

# The split of a model run: 70% train, 10% validation, 20% test of the timed events.
DEFAULT_SPLIT: dict[str, Any] = {"test_fraction": 0.2, "valid_fraction": 0.1}


@dataclass(frozen=True, eq=False)
class Split:
    """Train, test and optional validation interactions over one user and item index.

    Attributes
    ----------
    train, test : Interactions
        Disjoint in (user, item) pairs, unless a temporal split kept repeats.
    valid : Interactions or None
        Validation part, disjoint in pairs from train and test unless repeats were kept.
    cold_users : numpy.ndarray
        bool per user: has test interactions and no train interaction.
    cold_items : numpy.ndarray
        bool per item: has test interactions and no train interaction.
    test_users : numpy.ndarray
        Indices (int64, ascending) of the users with at least one test interaction.
    method : str
        ``"temporal"``, ``"leave_last_n"`` or ``"random"``.
    params : dict
        The split's parameters (cut-off times as ISO strings), for run records.
    """

    train: Interactions
    test: Interactions
    valid: Interactions | None
    cold_users: np.ndarray
    cold_items: np.ndarray
    test_users: np.ndarray
    method: str
    params: dict[str, Any]

    @classmethod
    def from_parts(
        cls,
        train: Interactions,
        test: Interactions,
        valid: Interactions | None,
        method: str,
        params: dict[str, Any],
    ) -> Split:
        """Derive the cold-start marks and test users from the parts."""
        train_users = np.diff(train.matrix.indptr) > 0
        test_users = np.diff(test.matrix.indptr) > 0
        train_items = np.bincount(train.matrix.indices, minlength=train.n_items) > 0
        test_items = np.bincount(test.matrix.indices, minlength=test.n_items) > 0
        return cls(
            train=train,
            test=test,
            valid=valid,
            cold_users=test_users & ~train_users,
            cold_items=test_items & ~train_items,
            test_users=np.flatnonzero(test_users).astype(np.int64),
            method=method,
            params=params,
        )

    @property
    def exclude_seen(self) -> bool:
        """Whether lists leave out the items of a user's training history.

        True unless the split kept repeat pairs in its later parts (``keep_repeats``): a
        held-out item is then never a training item, and ranking seen items would only waste
        list slots.
        """
        return not self.params.get("keep_repeats", False)


def _as_timestamp(
    value: datetime | date | str | np.datetime64 | None, name: str
) -> datetime | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as error:
        raise InteractionsError(
            f"{name}={value!r} is not a time; write it as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"
        ) from error
    if stamp is pd.NaT:
        raise InteractionsError(f"{name} must be a time, not NaT")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


def _from_source(
    data: Workspace | Interactions,
    weights: Mapping[str, float] | None,
    half_life_days: float | None,
) -> Interactions:
    if isinstance(data, Interactions):
        if weights is not None or half_life_days is not None:
            raise InteractionsError(
                "weights and half_life_days apply when splitting a workspace; the given "
                "Interactions already carry their weights"
            )
        return data
    if isinstance(data, Workspace):
        return build_interactions(data, weights=weights, half_life_days=half_life_days)
    raise InteractionsError(f"split a Workspace or an Interactions, not {type(data).__name__}")


def temporal_split(
    ws: Workspace,
    *,
    test_fraction: float = 0.2,
    valid_fraction: float = 0.0,
    cutoff: datetime | date | str | None = None,
    valid_cutoff: datetime | date | str | None = None,
    weights: Mapping[str, float] | None = None,
    half_life_days: float | None = None,
    keep_repeats: bool = False,
) -> Split:
    """Split the events of ``ws`` at one global time: train before, test from the cut-off on.

    Parameters
    ----------
    ws : Workspace
        Workspace with a cleaned ``events`` table.
    test_fraction : float
        Share of the interaction events (events with a positive weight and a timestamp) that
        fall at or after the cut-off. With ``n`` such events in time order, the cut-off is the
        time of event number ``n - round(test_fraction * n)`` (0-based), so ties at that time
        all go to test. Ignored when ``cutoff`` is given.
    valid_fraction : float
        Share of the interaction events held out for validation just before the test part;
        0 for no validation part. Ignored when ``valid_cutoff`` is given.
    cutoff : datetime or str, optional
        Explicit test cut-off: events at or after it are test events.
    valid_cutoff : datetime or str, optional
        Explicit validation cut-off (before ``cutoff``): events in ``[valid_cutoff, cutoff)``
        are validation events.
    weights, half_life_days
        As in :func:`build_interactions`. Each part is decayed from its own latest event, so
        train weights never depend on later events.
    keep_repeats : bool
        Keep a pair on every side it has events on (a repeat purchase after the cut stays in
        test) instead of only on the earliest; recorded in ``params`` and read back by
        :attr:`Split.exclude_seen`.

    Returns
    -------
    Split
        Every train event is strictly earlier than every validation event, and those than
        every test event. Without ``keep_repeats``, pairs with events on both sides stay on
        the earlier side only (see the module notes); events without a timestamp are left out
        of every part.
    """
    if not isinstance(keep_repeats, bool):
        raise InteractionsError(f"keep_repeats must be True or False, not {keep_repeats!r}")
    checked = check_weights(weights)
    half_life = check_half_life(half_life_days, InteractionsError)
    test_cut = _as_timestamp(cutoff, "cutoff")
    valid_cut = _as_timestamp(valid_cutoff, "valid_cutoff")
    if test_cut is None:
        test_fraction = check_fraction(
            "test_fraction", test_fraction, InteractionsError, allow_zero=False
        )
    valid_fraction = check_fraction(
        "valid_fraction", valid_fraction, InteractionsError, allow_zero=True
    )
    with ws.connect() as con:
        require_events(con, ws)
        users, items = prepare_index(con, None, None)
        timed = f"SELECT ts FROM {EVENTS_TABLE} WHERE ts IS NOT NULL AND {weighted_events(checked)}"
        n_events = int(con.execute(f"SELECT count(*) FROM ({timed})").fetchall()[0][0])
        if n_events == 0:
            raise InteractionsError(
                "no weighted event has a timestamp: a temporal split needs times; use "
                "random_split or leave_last_n_split"
            )
        if test_cut is None:
            n_test = round(test_fraction * n_events)
            test_cut = _time_at(con, timed, n_events - n_test, n_events)
        if valid_cut is None and valid_fraction > 0:
            before = con.execute(f"SELECT count(*) FROM ({timed}) WHERE ts < ?", [test_cut])
            n_before = int(before.fetchall()[0][0])
            position = n_before - round(valid_fraction * n_events)
            if position <= 0:
                raise InteractionsError(
                    f"valid_fraction {valid_fraction} leaves no training events before the "
                    "cut-off; lower it or the test fraction"
                )
            valid_cut = _time_at(con, timed, position, n_events)
        if valid_cut is not None and test_cut is not None and valid_cut > test_cut:
            raise InteractionsError(
                f"valid_cutoff {valid_cut} is after cutoff {test_cut}; it must come before"
            )
        if valid_cut is None:
            side = f"CASE WHEN ev.ts >= {_literal(test_cut)} THEN 1 ELSE 0 END"
        else:
            side = (
                f"CASE WHEN ev.ts >= {_literal(test_cut)} THEN 2 "
                f"WHEN ev.ts >= {_literal(valid_cut)} THEN 1 ELSE 0 END"
            )
        entries = aggregate_entries(
            con,
            checked,
            half_life_days=half_life,
            side_sql=side,
            where_sql="ev.ts IS NOT NULL",
            drop_seen=not keep_repeats,
        )
    n_sides = 2 if valid_cut is None else 3
    parts = side_parts(entries, users, items, n_sides)
    params = {
        "test_fraction": None if cutoff is not None else test_fraction,
        "valid_fraction": valid_fraction,
        "cutoff": test_cut.isoformat(),
        "valid_cutoff": None if valid_cut is None else valid_cut.isoformat(),
        "weights": checked,
        "half_life_days": half_life,
        "keep_repeats": keep_repeats,
    }
    valid = parts[1] if n_sides == 3 else None
    return Split.from_parts(parts[0], parts[-1], valid, "temporal", params)


def split_kwargs(split_params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Keyword arguments of :func:`temporal_split` for a model run, checked.

    A validation part is required: models are scored on it.
    """
    kwargs = dict(DEFAULT_SPLIT if split_params is None else split_params)
    allowed = {
        "test_fraction",
        "valid_fraction",
        "cutoff",
        "valid_cutoff",
        "weights",
        "half_life_days",
        "keep_repeats",
    }
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise InteractionsError(
            f"unknown split parameter {', '.join(map(repr, unknown))}; use {', '.join(allowed)}"
        )
    if not kwargs.get("valid_fraction") and kwargs.get("valid_cutoff") is None:
        raise InteractionsError(
            "models are scored on a validation part: set valid_fraction above 0"
        )
    return kwargs


def make_split(ws: Workspace, split_params: Mapping[str, Any] | None = None) -> Split:
    """The temporal split a model run uses for ``split_params`` (:func:`split_kwargs`)."""
    return temporal_split(ws, **split_kwargs(split_params))


def _literal(value: datetime) -> str:
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"


def _time_at(con: duckdb.DuckDBPyConnection, timed_sql: str, position: int, n: int) -> datetime:
    """Time of the event at 0-based ``position`` in time order among ``n`` events."""
    position = min(max(position, 0), n - 1)
    # quantile_disc(q) is the element at index ceil(q * n) - 1 (the smallest value whose
    # cumulative share reaches q); aiming at the middle of the interval of q values that select
    # ``position`` keeps float rounding from moving it.
    quantile = (position + 0.5) / n
    rows = con.execute(f"SELECT quantile_disc(ts, {quantile!r}) FROM ({timed_sql})").fetchall()
    return rows[0][0]


def leave_last_n_split(
    data: Workspace | Interactions,
    n: int = 1,
    *,
    valid_n: int = 0,
    weights: Mapping[str, float] | None = None,
    half_life_days: float | None = None,
) -> Split:
    """Hold out, per user, the ``n`` items interacted with most recently.

    Items are ordered by the time of their latest event for the user (ties: the larger item
    index counts as later). The ``n`` most recent go to test with all their events, the
    ``valid_n`` before them to validation, the rest to train. Users with at most
    ``n + valid_n`` items stay entirely in train, so every test user has a training history.

    Parameters
    ----------
    data : Workspace or Interactions
        Cleaned events to aggregate, or interactions already built.
    n : int
        Items per user in the test part (>= 1).
    valid_n : int
        Items per user in the validation part (>= 0; 0 for none).
    weights, half_life_days
        As in :func:`build_interactions`, when ``data`` is a workspace.
    """
    check_whole("n", n, 1, InteractionsError)
    check_whole("valid_n", valid_n, 0, InteractionsError)
    full = _from_source(data, weights, half_life_days)
    rows, cols = full.entries()
    # NaT (no timestamp) is the smallest int64, so undated items count as the oldest.
    order = np.lexsort((cols, full.last_ts.view(np.int64), rows))
    counts = np.diff(full.matrix.indptr)
    position = np.empty(full.nnz, dtype=np.int64)
    position[order] = np.arange(full.nnz) - full.matrix.indptr[rows[order]]
    from_end = counts[rows] - 1 - position
    eligible = counts[rows] > n + valid_n
    test = eligible & (from_end < n)
    valid = eligible & (from_end >= n) & (from_end < n + valid_n)
    params = {"n": int(n), "valid_n": int(valid_n), "weights": _weights_param(data, weights)}
    params["half_life_days"] = half_life_days
    return Split.from_parts(
        full.select(~(test | valid)),
        full.select(test),
        full.select(valid) if valid_n else None,
        "leave_last_n",
        params,
    )


def random_split(
    data: Workspace | Interactions,
    test_fraction: float = 0.2,
    *,
    valid_fraction: float = 0.0,
    by_user: bool = False,
    random_state: RandomState = 0,
    weights: Mapping[str, float] | None = None,
    half_life_days: float | None = None,
) -> Split:
    """Hold out random (user, item) pairs, each with all its events.

    Parameters
    ----------
    data : Workspace or Interactions
        Cleaned events to aggregate, or interactions already built.
    test_fraction : float
        Share of the pairs in the test part: exactly ``round(test_fraction * nnz)`` pairs.
    valid_fraction : float
        Share of the pairs in the validation part (0 for none).
    by_user : bool
        Split each user's pairs separately (the "stratified" protocol): a user with ``m``
        pairs gets ``floor(test_fraction * m + 0.5)`` test pairs and likewise validation
        pairs, always leaving at least one pair in train.
    random_state : int, numpy.random.Generator or None
        Seed or generator; the same seed gives the same split.
    weights, half_life_days
        As in :func:`build_interactions`, when ``data`` is a workspace.
    """
    test_fraction = check_fraction(
        "test_fraction", test_fraction, InteractionsError, allow_zero=False
    )
    valid_fraction = check_fraction(
        "valid_fraction", valid_fraction, InteractionsError, allow_zero=True
    )
    if test_fraction + valid_fraction >= 1:
        raise InteractionsError("test_fraction + valid_fraction must be below 1")
    full = _from_source(data, weights, half_life_days)
    rng = random_generator(random_state)
    if by_user:
        rows, _ = full.entries()
        keys = rng.random(full.nnz)
        order = np.lexsort((keys, rows))
        rank = np.empty(full.nnz, dtype=np.int64)
        rank[order] = np.arange(full.nnz) - full.matrix.indptr[rows[order]]
        counts = np.diff(full.matrix.indptr)
        n_test = np.floor(test_fraction * counts + 0.5).astype(np.int64)
        n_valid = np.floor(valid_fraction * counts + 0.5).astype(np.int64)
        n_test = np.minimum(n_test, np.maximum(counts - 1, 0))
        n_valid = np.minimum(n_valid, np.maximum(counts - 1 - n_test, 0))
        test = rank < n_test[rows]
        valid = (rank >= n_test[rows]) & (rank < (n_test + n_valid)[rows])
    else:
        permutation = rng.permutation(full.nnz)
        n_test = round(test_fraction * full.nnz)
        n_valid = round(valid_fraction * full.nnz)
        test = np.zeros(full.nnz, dtype=bool)
        valid = np.zeros(full.nnz, dtype=bool)
        test[permutation[:n_test]] = True
        valid[permutation[n_test : n_test + n_valid]] = True
    params = {
        "test_fraction": test_fraction,
        "valid_fraction": valid_fraction,
        "by_user": by_user,
        "random_state": (int(random_state) if isinstance(random_state, numbers.Integral) else None),
        "weights": _weights_param(data, weights),
        "half_life_days": half_life_days,
    }
    return Split.from_parts(
        full.select(~(test | valid)),
        full.select(test),
        full.select(valid) if valid_fraction > 0 else None,
        "random",
        params,
    )


def _weights_param(
    data: Workspace | Interactions, weights: Mapping[str, float] | None
) -> dict[str, float] | None:
    """Weights to record: the defaults when a workspace was aggregated without any."""
    if isinstance(data, Interactions):
        return None
    return check_weights(weights)
