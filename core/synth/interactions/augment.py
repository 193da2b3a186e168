"""Training data with synthetic interactions: a split's training part plus the accepted rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.interactions import Interactions
from core.data.splits import Split
from core.data.workspace import Workspace
from core.synth.interactions.store import list_interactions, train_end
from core.synth.store import ACCEPTED


@dataclass(frozen=True)
class Augmentation:
    """A split's training interactions plus synthetic ones, with what was left out.

    Attributes
    ----------
    train : Interactions
        Real training entries plus the synthetic pairs, on the split's index; a pair present
        in both gets the sum of the weights.
    synthetic : Interactions
        The synthetic pairs alone, on the same index.
    n_rows : int
        Synthetic rows read.
    n_unknown_users, n_unknown_items : int
        Rows skipped because their user or item is not in the split's index.
    n_after_end : int
        Rows skipped because they fall at or after the end of the training period.
    """

    train: Interactions
    synthetic: Interactions
    n_rows: int
    n_unknown_users: int
    n_unknown_items: int
    n_after_end: int


def _merge(
    train: Interactions,
    rows: np.ndarray,
    cols: np.ndarray,
    weights: np.ndarray,
    stamps: np.ndarray,
) -> Interactions:
    """``train``'s index with entries (rows, cols) summed by pair, latest time kept."""
    frame = pd.DataFrame({"row": rows, "col": cols, "weight": weights, "ts": stamps})
    grouped = frame.groupby(["row", "col"], sort=True).agg(
        weight=("weight", "sum"), ts=("ts", "max")
    )
    index = grouped.index
    return Interactions.from_arrays(
        train.user_ids,
        train.item_ids,
        index.get_level_values(0).to_numpy(np.int64),
        index.get_level_values(1).to_numpy(np.int64),
        grouped["weight"].to_numpy(np.float32),
        grouped["ts"].to_numpy("datetime64[s]"),
    )


def augment(
    split: Split,
    ws: Workspace,
    *,
    generators: str | Sequence[str] | None = None,
    status: str = ACCEPTED,
    run_id: str | None = None,
) -> Augmentation:
    """The split's training interactions plus the stored synthetic ones with ``status``.

    Parameters
    ----------
    split : Split
        Its training part and index are used; test and validation parts are untouched.
    ws : Workspace
        Holds the synthetic interactions.
    generators : str or sequence of str, optional
        Only these generators' rows; all when None.
    status : str
        Rows of this status (``accepted`` by default; rejected rows are never meant to train).
    run_id : str, optional
        Only this run's rows.
    """
    stored = list_interactions(ws, run_id=run_id, generator=generators, status=status)
    return augment_rows(split, stored)


def augment_rows(split: Split, stored: pd.DataFrame) -> Augmentation:
    """The split's training interactions plus the synthetic ``stored`` rows (columns user_id,
    item_id, ts, weight), which need not be stored: rows of unknown users or items, and rows
    at or after the end of the training period, are left out and counted."""
    users = stored["user_id"].astype(str).map(split.train.user_index)
    items = stored["item_id"].astype(str).map(split.train.item_index)
    end = train_end(split)
    stamps = pd.to_datetime(stored["ts"])
    in_time = np.ones(len(stored), dtype=bool) if end is None else (stamps < end).to_numpy()
    known = users.notna().to_numpy() & items.notna().to_numpy()
    keep = known & in_time
    rows = users[keep].to_numpy(np.int64)
    cols = items[keep].to_numpy(np.int64)
    weights = stored["weight"][keep].to_numpy(np.float64)
    times = stamps[keep].to_numpy("datetime64[s]")
    real_rows, real_cols = split.train.entries()
    train = _merge(
        split.train,
        np.r_[real_rows, rows],
        np.r_[real_cols, cols],
        np.r_[split.train.matrix.data.astype(np.float64), weights],
        np.r_[split.train.last_ts.astype("datetime64[s]"), times],
    )
    synthetic = _merge(split.train, rows, cols, weights, times)
    return Augmentation(
        train=train,
        synthetic=synthetic,
        n_rows=len(stored),
        n_unknown_users=int(users.isna().sum()),
        n_unknown_items=int((users.notna() & items.isna()).sum()),
        n_after_end=int((known & ~in_time).sum()),
    )


def augmented_train(
    split: Split,
    ws: Workspace,
    generators: str | Sequence[str] | None = None,
    status: str = ACCEPTED,
) -> Interactions:
    """The split's training interactions plus the synthetic ones with ``status`` (see
    :func:`augment`, which also counts the rows it skipped)."""
    return augment(split, ws, generators=generators, status=status).train
