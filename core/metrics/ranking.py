"""Ranking lists from score matrices: the one top-k selection every model and metric uses."""

from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` best scores per row, best first.

    Ties are broken by the lower column index, so a row ranks the same alone or in a batch.
    ``-inf`` (and NaN) entries are never returned as items: their positions hold index ``-1``
    and score ``-inf``, as do the positions past the number of columns when ``k`` exceeds it.
    """
    scores = np.where(np.isnan(scores), -np.inf, scores)
    n_rows, n_cols = scores.shape
    take = min(k, n_cols)
    idx = np.full((n_rows, k), -1, dtype=np.int64)
    values = np.full((n_rows, k), -np.inf, dtype=np.float32)
    if take == 0 or n_rows == 0:
        return idx, values
    columns = np.broadcast_to(np.arange(n_cols), scores.shape)
    if take < n_cols:
        part = np.argpartition(-scores, take - 1, axis=1)[:, :take]
        kth = np.take_along_axis(scores, part, axis=1).min(axis=1, keepdims=True)
        # A tie straddling the cut: argpartition picks among the tied columns arbitrarily.
        if ((scores >= kth).sum(axis=1) > take).any():
            part = np.lexsort((columns, -scores), axis=1)[:, :take]
    else:
        part = columns
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    chosen = np.take_along_axis(part, order, axis=1)
    chosen_scores = np.take_along_axis(scores, chosen, axis=1).astype(np.float32)
    valid = chosen_scores > -np.inf
    idx[:, :take] = np.where(valid, chosen, -1)
    values[:, :take] = np.where(valid, chosen_scores, -np.inf)
    return idx, values
