"""Content-neighbour baseline: interactions for cold items drawn from their neighbours' users."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.checks import RandomState, check_positive, check_whole, random_generator
from core.data.interactions import Interactions
from core.errors import SyntheticInteractionsError
from core.synth.interactions.inputs import item_positions, unit_vectors
from core.synth.interactions.rows import draw, event_weight, rows_frame

NEIGHBOURS = "neighbours"


def neighbour_interactions(
    train: Interactions,
    item_vectors: np.ndarray | sp.spmatrix,
    target_items: Sequence[str] | np.ndarray,
    *,
    k: int = 10,
    n_per_item: int = 20,
    temperature: float = 1.0,
    min_neighbour_users: int = 1,
    event: str = "view",
    weight: float | None = None,
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Interactions for ``target_items`` drawn from the users of their content neighbours.

    Parameters
    ----------
    train : Interactions
        Training interactions; users are drawn from them.
    item_vectors : numpy.ndarray or scipy.sparse matrix
        One row per item of ``train`` (see
        :func:`~core.synth.interactions.inputs.product_vectors`); cosine similarity.
    target_items : sequence of str
        Item ids to generate for (e.g. :func:`~core.synth.interactions.inputs.sparse_items`).
    k : int
        Neighbours per target: the most similar items with at least ``min_neighbour_users``
        training users, targets excluded. Neighbours with similarity <= 0 do not vote.
    n_per_item : int
        Distinct users drawn per target (fewer when fewer users have a positive score); users
        who already interacted with the target are left out.
    temperature : float
        > 0. Users are drawn with probability proportional to ``score ** (1 / temperature)``:
        below 1 the draw concentrates on the best-scored users, above 1 it flattens.
    event, weight : str, float
        Event type of the rows and their weight (the event's default weight when None).
    random_state : int or numpy.random.Generator
        Seed of the draw.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~core.synth.interactions.store.ROW_COLUMNS`; ``ts`` is the user's latest
        training interaction.
    """
    k = check_whole("k", k, 1, SyntheticInteractionsError)
    n_per_item = check_whole("n_per_item", n_per_item, 1, SyntheticInteractionsError)
    temperature = check_positive("temperature", temperature, SyntheticInteractionsError)
    min_neighbour_users = check_whole(
        "min_neighbour_users", min_neighbour_users, 1, SyntheticInteractionsError
    )
    weight = event_weight(event, weight)
    targets = item_positions(train, target_items)
    unit = unit_vectors(item_vectors, train.n_items)
    rng = random_generator(random_state)
    by_item = train.matrix.T.tocsr()
    users_per_item = np.diff(by_item.indptr)
    candidates = users_per_item >= min_neighbour_users
    candidates[targets] = False
    warm = np.flatnonzero(candidates)
    drawn_users: list[np.ndarray] = []
    drawn_items: list[np.ndarray] = []
    if warm.size == 0:
        return rows_frame(train, drawn_users, drawn_items, event, weight)
    similarity = unit[targets] @ unit[warm].T
    similarity = similarity.toarray() if sp.issparse(similarity) else np.asarray(similarity)
    top = min(k, warm.size)
    for row, target in enumerate(targets):
        sims = similarity[row]
        nearest = np.argpartition(-sims, top - 1)[:top]
        nearest = nearest[sims[nearest] > 0]
        if nearest.size == 0:
            continue
        scores = sims[nearest].astype(np.float64) @ by_item[warm[nearest]].toarray()
        scores[by_item[target].indices] = 0.0
        chosen = draw(scores, n_per_item, temperature, rng)
        drawn_users.append(np.sort(chosen))
        drawn_items.append(np.full(chosen.size, target, dtype=np.int64))
    return rows_frame(train, drawn_users, drawn_items, event, weight)
