"""What a trained model says about one item or one user, as frames for the dashboard."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.workspace import Workspace, relation_exists
from core.errors import ModelError
from core.models.base import SOURCE_MODEL, Recommender
from core.schema import CATALOG_TABLE


def item_titles(ws: Workspace) -> dict[str, str]:
    """Item id -> title (empty when unknown) from the workspace's ``catalog``."""
    with ws.connect() as con:
        if not relation_exists(con, CATALOG_TABLE):
            return {}
        columns = {row[0] for row in con.execute(f"DESCRIBE {CATALOG_TABLE}").fetchall()}
        title = "coalesce(CAST(title AS VARCHAR), '')" if "title" in columns else "''"
        rows = con.execute(f"SELECT item_id, {title} FROM {CATALOG_TABLE}").fetchall()
    return {str(item): text for item, text in rows}


def _ranked_frame(
    model: Recommender,
    idx: np.ndarray,
    scores: np.ndarray,
    titles: Mapping[str, str],
    source: str = SOURCE_MODEL,
) -> pd.DataFrame:
    keep = idx >= 0
    item_ids = [str(model.item_ids_[i]) for i in idx[keep]]
    return pd.DataFrame(
        {
            "rank": np.arange(1, int(keep.sum()) + 1),
            "item_id": item_ids,
            "title": [titles.get(item, "") for item in item_ids],
            "score": scores[keep].astype(float),
            "source": [source] * int(keep.sum()),
        }
    )


def similar_items(
    model: Recommender, item_idx: int, titles: Mapping[str, str], k: int = 10
) -> pd.DataFrame:
    """The ``k`` items the model ranks highest for a history of the one item ``item_idx``.

    Returns a frame with rank, item_id, title and score; the item itself is left out.
    """
    if not 0 <= item_idx < model.n_items:
        raise ModelError(f"item index {item_idx} out of range 0..{model.n_items - 1}")
    history = sp.csr_matrix(
        (np.ones(1, dtype=np.float32), ([0], [item_idx])), shape=(1, model.n_items)
    )
    idx, scores = model.recommend(
        np.zeros(1, dtype=np.int64), k, exclude_seen=True, history=history
    )
    return _ranked_frame(model, idx[0], scores[0], titles)


def user_history(model: Recommender, user_idx: int, titles: Mapping[str, str]) -> pd.DataFrame:
    """The training interactions of user row ``user_idx``: item_id, title, weight (largest
    first)."""
    row = model.train_[int(user_idx)].tocsr()
    order = np.lexsort((row.indices, -row.data))
    item_ids = [str(model.item_ids_[i]) for i in row.indices[order]]
    return pd.DataFrame(
        {
            "item_id": item_ids,
            "title": [titles.get(item, "") for item in item_ids],
            "weight": row.data[order].astype(float),
        }
    )


def user_recommendations(
    model: Recommender, user_idx: int, titles: Mapping[str, str], k: int = 10
) -> pd.DataFrame:
    """The model's top ``k`` for user row ``user_idx``, items of the history left out.

    The ``source`` column says whether the list is the model's or, for a user without
    training history, the popularity fallback (:meth:`Recommender.serve`).
    """
    served = model.serve(np.array([int(user_idx)]), k, exclude_seen=True)
    return _ranked_frame(model, served.items[0], served.scores[0], titles, served.sources[0])
