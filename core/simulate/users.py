"""Users and their hidden tastes: category affinity, favourite brands, loyalty, price sensitivity.

Human users come first (indices below ``n_humans``), then the bots, which have no tastes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from core.simulate.catalog import Catalog, draw_brands
from core.simulate.columns import prefixed_ids
from core.simulate.size import DAY_S, PERIOD_DAYS, WorldSize
from core.simulate.vocabulary import TREE

TOP_CONCENTRATION = 0.1  # Dirichlet concentration per top category of user tastes
SUB_CONCENTRATION = 0.6  # ... and per sub-category inside a top category
JOINED_IN_PERIOD = 0.25  # share of users who sign up during the period


@dataclass
class Users:
    """Human users first (indices below ``n_humans``), then the bots."""

    n_humans: int
    user_ids: pa.Array  # by internal index
    activity: np.ndarray
    joined: np.ndarray  # seconds from the period start (0 for users there from the start)
    price_sensitivity: np.ndarray
    brand_loyalty: np.ndarray
    sub_affinity: np.ndarray  # humans x sub-categories, rows sum to 1
    sub_cumulative: np.ndarray  # float32 row-cumulative of sub_affinity
    favourite_brand: np.ndarray  # humans x top categories, brand ids

    @property
    def n_users(self) -> int:
        return len(self.user_ids)


def sub_membership() -> np.ndarray:
    """Sub-categories x top categories, 1 where the sub-category belongs to the top one."""
    return (TREE.sub_top[:, None] == np.arange(len(TREE.tops))[None, :]).astype(float)


def make_users(
    rng: np.random.Generator, size: WorldSize, catalog: Catalog
) -> tuple[Users, np.ndarray]:
    """Users with their tastes, and the shop-wide popularity of each sub-category."""
    n_humans = size.n_users - size.n_bots
    n_subs = len(TREE.subs)
    sub_popularity = rng.dirichlet(np.full(n_subs, 2.0))
    top_popularity = np.bincount(TREE.sub_top, weights=sub_popularity)
    # Sparse, nested tastes: a Dirichlet over top categories with a concentration of 0.1 each
    # puts most of a user's interest on one or two of them, then a flatter one inside each.
    top_affinity = rng.dirichlet(TOP_CONCENTRATION * len(TREE.tops) * top_popularity, n_humans)
    alpha = np.broadcast_to(SUB_CONCENTRATION * n_subs * sub_popularity, (n_humans, n_subs))
    within = rng.gamma(alpha)
    within /= (within @ sub_membership())[:, TREE.sub_top]
    affinity = top_affinity[:, TREE.sub_top] * within
    favourite_brand = np.empty((n_humans, len(TREE.tops)), dtype=np.int32)
    for t, brands in enumerate(catalog.vocab.top_brands):
        favourite_brand[:, t] = draw_brands(rng, brands, catalog.brand_popularity, n_humans)
    joined = np.where(
        rng.random(n_humans) < JOINED_IN_PERIOD,
        rng.integers(0, (PERIOD_DAYS - 7) * DAY_S, n_humans),
        0,
    )
    code = rng.permutation(size.n_users) + 1
    return Users(
        n_humans=n_humans,
        user_ids=prefixed_ids("U", code, max(6, len(str(size.n_users)))),
        activity=rng.lognormal(0.0, 1.1, n_humans),
        joined=joined.astype(np.int64),
        price_sensitivity=rng.beta(2.0, 2.0, n_humans),
        brand_loyalty=rng.beta(1.2, 2.5, n_humans),
        sub_affinity=affinity,
        sub_cumulative=np.cumsum(affinity, axis=1).astype(np.float32),
        favourite_brand=favourite_brand,
    ), sub_popularity
