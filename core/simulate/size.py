"""How big the simulated world is: its period and the users, products and bots per event.

Users and products grow linearly with the number of events, so a larger log is a larger shop with
the same density, not the same shop observed more often.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from core.simulate.vocabulary import TREE

PERIOD_START = datetime(2025, 1, 6)  # a Monday
PERIOD_DAYS = 90
DAY_S = 86_400
DEFAULT_EVENTS = 300_000
MIN_EVENTS = 1_000
EVENTS_PER_ITEM = 100  # 300k events -> 3,000 products
EVENTS_PER_USER = 60  # 300k events -> 5,000 users
USERS_PER_BOT = 1_000


@dataclass(frozen=True)
class WorldSize:
    """How big a world of ``n_events`` events is."""

    n_events: int
    n_users: int  # bots included
    n_items: int
    n_bots: int
    n_days: int


def world_size(n_events: int = DEFAULT_EVENTS) -> WorldSize:
    """Users, products and bots of a world with ``n_events`` events.

    Users and products grow linearly with the log (60 events per user, 100 per product), so the
    default 300,000 events give 5,000 users and 3,000 products.
    """
    if not isinstance(n_events, int | np.integer) or n_events < MIN_EVENTS:
        raise ValueError(
            f"n_events must be an integer of at least {MIN_EVENTS:,}, got {n_events!r}"
        )
    n_users = max(100, round(n_events / EVENTS_PER_USER))
    n_items = max(10 * len(TREE.types), round(n_events / EVENTS_PER_ITEM))
    n_bots = max(2, round(n_users / USERS_PER_BOT))
    return WorldSize(int(n_events), n_users, n_items, n_bots, PERIOD_DAYS)
