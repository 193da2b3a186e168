"""Session planning: who shops when, with which intent, target product and funnel.

A session's intent is a sub-category drawn from the user's affinity (or, sometimes, from the whole
shop) and a product type; its target is chosen among popularity-weighted candidates by the user's
tastes (Gumbel-max over price, brand and novelty). Views, clicks, cart and purchase follow a
funnel; some sessions revisit the target of an earlier one, where buying is more likely. Users
who bought a consumable (shampoo, ink, face cream, ...) come back to buy the same product again
in replenishment sessions. Bots plan bursts of long, fast crawling sessions. Everything is
planned as parallel arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.simulate.catalog import Catalog
from core.simulate.sampling import grouped_cumulative, sample_rows
from core.simulate.size import DAY_S, PERIOD_DAYS, WorldSize
from core.simulate.users import Users
from core.simulate.vocabulary import TREE

BOT_EVENT_SHARE = 0.03
PLAN_BATCH = 100_000  # sessions planned per vectorised batch

# Session behaviour.
N_CANDIDATES = 12  # popularity-weighted products considered per session
MAX_VIEWS = 9
P_MORE_VIEWS = 0.3  # views per session ~ geometric with this success probability (mean 3.3)
P_EXPLORE = 0.1  # session intent drawn from the whole shop instead of the user's tastes
P_REVISIT = 0.2  # session returns to the target of one of the user's earlier sessions
# A session of a user who bought a consumable before re-buys one (else it is a new intent).
P_REBUY = 0.2
# Product types used up and bought again by the same users.
CONSUMABLE_TYPES = frozenset(
    {
        "Moisturisers", "Cleansers", "Serums", "Shampoo", "Conditioner", "Hair Oils",
        "Mascara", "Foundation", "Body Mist", "Ink", "Paper", "Pens",
    }
)  # fmt: skip
P_SEARCH = (0.5, 0.25, 0.15)  # (new intent, revisit, re-buy)
P_TARGET_CLICK = (0.65, 0.85, 0.95)
P_DISTRACTOR_CLICK = 0.2
P_CART = (0.25, 0.5, 0.8)
P_PURCHASE = (0.5, 0.7, 0.9)
PRICE_WEIGHT = 1.5  # log-utility per unit of price z-score, times the user's price sensitivity
BRAND_WEIGHT = 3.0  # log-utility of the favourite brand, times the user's brand loyalty
NOVELTY_WEIGHT = 1.0  # log-utility of a product released in the last NOVELTY_DAYS
NOVELTY_DAYS = 21
HOUR_WEIGHTS = np.array(
    [2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 7, 8, 7, 6, 6, 7, 8, 10, 12, 13, 12, 8, 4], dtype=float
)
WEEKDAY_WEIGHTS = np.array([0.95, 0.92, 0.95, 1.0, 1.05, 1.15, 1.2])  # Monday first

_PLAN_FIELDS = (
    "user", "start", "target", "target_pos", "n_views", "distractors", "n_searches",
    "target_click", "n_other_clicks", "cart", "purchase", "revisit", "explore", "is_bot",
    "rebuy",
)  # fmt: skip


@dataclass
class Plan:
    """Sessions as parallel arrays; bots have target -1 and clicks in ``n_other_clicks``."""

    arrays: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def __len__(self) -> int:
        return len(self.arrays["user"])

    @property
    def lengths(self) -> np.ndarray:
        a = self.arrays
        return (
            a["n_searches"] + a["n_views"] + a["target_click"] + a["n_other_clicks"] + a["cart"]
            + a["purchase"]
        ).astype(np.int64)  # fmt: skip

    def take(self, rows: np.ndarray) -> Plan:
        return Plan({k: v[rows] for k, v in self.arrays.items()})

    @staticmethod
    def concat(plans: list[Plan]) -> Plan:
        return Plan({k: np.concatenate([p.arrays[k] for p in plans]) for k in _PLAN_FIELDS})


def _session_starts(rng: np.random.Generator, earliest: np.ndarray) -> np.ndarray:
    """Start times between each user's sign-up and the period end, with day and week rhythm."""
    n = len(earliest)
    period_s = PERIOD_DAYS * DAY_S
    day = np.zeros(n, dtype=np.int64)
    todo = np.arange(n)
    weekday_accept = WEEKDAY_WEIGHTS / WEEKDAY_WEIGHTS.max()
    while len(todo):
        lo = earliest[todo]
        t = lo + np.floor(rng.random(len(todo)) * (period_s - lo)).astype(np.int64)
        d = t // DAY_S
        ok = rng.random(len(todo)) < weekday_accept[d % 7]
        day[todo[ok]] = d[ok]
        todo = todo[~ok]
    hour = rng.choice(24, n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    start = day * DAY_S + hour * 3600 + rng.integers(0, 3600, n)
    return np.clip(start, earliest, period_s - 1)


def _plan_humans(
    rng: np.random.Generator,
    users_idx: np.ndarray,
    users: Users,
    catalog: Catalog,
    sub_popularity: np.ndarray,
    type_cumulative: np.ndarray,
) -> Plan:
    """Intent, target, candidates and funnel counts for one batch of human sessions."""
    n = len(users_idx)
    start = _session_starts(rng, users.joined[users_idx])
    explore = rng.random(n) < P_EXPLORE
    own = sample_rows(users.sub_cumulative[users_idx], rng.random(n).astype(np.float32))
    shop = rng.choice(len(TREE.subs), n, p=sub_popularity)
    sub = np.where(explore, shop, own)
    product_type = np.searchsorted(type_cumulative, sub + rng.random(n), side="right")

    candidates = np.searchsorted(
        catalog.cumulative, product_type[:, None] + rng.random((n, N_CANDIDATES)), side="right"
    )
    candidates.sort(axis=1)
    usable = catalog.first_seen[candidates] <= start[:, None]
    usable[:, 1:] &= candidates[:, 1:] != candidates[:, :-1]
    age = start[:, None] - catalog.first_seen[candidates]
    favourite = users.favourite_brand[users_idx, TREE.type_top[product_type]]
    score = (
        -users.price_sensitivity[users_idx, None] * PRICE_WEIGHT * catalog.price_z[candidates]
        + users.brand_loyalty[users_idx, None] * BRAND_WEIGHT
        * (catalog.brand[candidates] == favourite[:, None])
        + NOVELTY_WEIGHT * (age < NOVELTY_DAYS * DAY_S)
        + rng.gumbel(size=(n, N_CANDIDATES))
    )  # fmt: skip
    score[~usable] = -np.inf
    best = np.argmax(score, axis=1)
    rows = np.arange(n)
    has_target = usable[rows, best]
    target = np.where(has_target, candidates[rows, best], catalog.anchor[product_type])

    # Other products seen in the session: usable candidates besides the target, in random order.
    order_key = rng.random((n, N_CANDIDATES))
    order_key[~usable] = np.inf
    order_key[rows, best] = np.inf
    order = np.argsort(order_key, axis=1)[:, : MAX_VIEWS - 1]
    distractors = np.take_along_axis(candidates, order, axis=1).astype(np.int32)
    n_others = np.isfinite(np.take_along_axis(order_key, order, axis=1)).sum(axis=1)
    n_views = np.minimum(rng.geometric(P_MORE_VIEWS, n), 1 + n_others)
    distractors[np.arange(MAX_VIEWS - 1)[None, :] >= (n_views - 1)[:, None]] = -1

    revisit = rng.random(n) < P_REVISIT
    # Candidate re-buys; _resolve_rebuys keeps those with a consumable to re-buy.
    rebuy = ~revisit & (rng.random(n) < P_REBUY)
    k = revisit.astype(int)
    searched = rng.random(n) < np.take(P_SEARCH, k)
    more = rng.random(n)
    n_searches = searched * (1 + (more < 0.3) + (more < 0.08))
    target_click = rng.random(n) < np.take(P_TARGET_CLICK, k)
    cart = target_click & (rng.random(n) < np.take(P_CART, k))
    return Plan(
        {
            "user": users_idx.astype(np.int32),
            "start": start.astype(np.int64),
            "target": target.astype(np.int32),
            "target_pos": np.floor(rng.random(n) * n_views).astype(np.int16),
            "n_views": n_views.astype(np.int16),
            "distractors": distractors,
            "n_searches": n_searches.astype(np.int16),
            "target_click": target_click.astype(np.int16),
            "n_other_clicks": rng.binomial(n_views - 1, P_DISTRACTOR_CLICK).astype(np.int16),
            "cart": cart.astype(np.int16),
            "purchase": (cart & (rng.random(n) < np.take(P_PURCHASE, k))).astype(np.int16),
            "revisit": revisit,
            "explore": explore,
            "is_bot": np.zeros(n, dtype=bool),
            "rebuy": rebuy,
        }
    )


def _plan_bots(rng: np.random.Generator, users: Users, budget: int) -> Plan:
    """Bursts of long, fast crawling sessions: each bot is active for one to four days."""
    n_bots = users.n_users - users.n_humans
    share = rng.dirichlet(np.full(n_bots, 3.0))
    parts = []
    for b in range(n_bots):
        views = []
        total = 0
        goal = max(50, int(budget * share[b]))
        while total < goal:
            v = min(int(rng.integers(40, 250)), goal)
            views.append(v)
            total += v + v // 10
        views = np.array(views)
        n = len(views)
        first = int(rng.integers(0, (PERIOD_DAYS - 5) * DAY_S))
        span = int(rng.integers(1, 5)) * DAY_S
        parts.append(
            Plan(
                {
                    "user": np.full(n, users.n_humans + b, dtype=np.int32),
                    "start": np.sort(first + rng.integers(0, span, n)).astype(np.int64),
                    "target": np.full(n, -1, dtype=np.int32),
                    "target_pos": np.zeros(n, dtype=np.int16),
                    "n_views": views.astype(np.int16),
                    "distractors": np.full((n, MAX_VIEWS - 1), -1, dtype=np.int32),
                    "n_searches": np.zeros(n, dtype=np.int16),
                    "target_click": np.zeros(n, dtype=np.int16),
                    "n_other_clicks": (views // 10).astype(np.int16),
                    "cart": np.zeros(n, dtype=np.int16),
                    "purchase": np.zeros(n, dtype=np.int16),
                    "revisit": np.zeros(n, dtype=bool),
                    "explore": np.zeros(n, dtype=bool),
                    "is_bot": np.ones(n, dtype=bool),
                    "rebuy": np.zeros(n, dtype=bool),
                }
            )
        )
    return Plan.concat(parts)


def plan_world(
    rng: np.random.Generator,
    size: WorldSize,
    users: Users,
    catalog: Catalog,
    sub_popularity: np.ndarray,
) -> tuple[Plan, np.ndarray]:
    """All sessions, sorted by start, with each session's event count (exactly n_events in all).

    Human sessions are planned in batches until they exceed what is needed, then a random subset
    is kept (every user's guaranteed first session before the rest) and the last kept session is
    cut short so the events add up exactly.
    """
    bots = _plan_bots(rng, users, round(BOT_EVENT_SHARE * size.n_events))
    needed = size.n_events - int(bots.lengths.sum())
    window = PERIOD_DAYS * DAY_S - users.joined
    weight = users.activity * window / window.max()
    weight /= weight.sum()
    type_cumulative = grouped_cumulative(TREE.type_sub, rng.lognormal(0.0, 0.5, len(TREE.types)))
    # One session for every user first, then sessions drawn by activity until there are enough.
    pending = np.array_split(np.arange(users.n_humans), -(-users.n_humans // PLAN_BATCH))
    goal = 1.03 * needed + 100
    batches, planned, mean_length = [], 0, 5.5
    while pending or planned < goal:
        if pending:
            idx = pending.pop(0)
        else:
            n = int(np.clip((goal - planned) / mean_length, 1_000, PLAN_BATCH))
            idx = rng.choice(users.n_humans, n, p=weight)
        batch = _plan_humans(rng, idx, users, catalog, sub_popularity, type_cumulative)
        batches.append(batch)
        planned += int(batch.lengths.sum())
        mean_length = planned / sum(len(b) for b in batches)
    humans = Plan.concat(batches)
    del batches
    first = np.arange(len(humans)) < users.n_humans
    order = np.concatenate(
        [rng.permutation(np.flatnonzero(first)), rng.permutation(np.flatnonzero(~first))]
    )
    _resolve_rebuys_of_kept(rng, humans, order, needed, catalog)
    lengths = humans.lengths[order]
    cumulative = np.cumsum(lengths)
    last = int(np.searchsorted(cumulative, needed))
    kept = order[: last + 1]
    caps = lengths[: last + 1].copy()
    caps[-1] -= cumulative[last] - needed
    humans = humans.take(kept)
    _resolve_revisits(humans)

    sessions = Plan.concat([humans, bots])
    del humans
    caps = np.concatenate([caps, bots.lengths])
    by_start = np.lexsort((sessions["user"], sessions["start"]))
    return sessions.take(by_start), caps[by_start]


def _resolve_revisits(plan: Plan) -> None:
    """Point each revisit session at the target of the user's latest earlier new-intent session."""
    order = np.lexsort((plan["start"], plan["user"]))
    user = plan["user"][order]
    revisit = plan["revisit"][order]
    position = np.arange(len(order))
    source = np.maximum.accumulate(np.where(~revisit, position, -1))
    group_start = np.flatnonzero(np.r_[True, user[1:] != user[:-1]])
    first_of_user = np.repeat(group_start, np.diff(np.r_[group_start, len(order)]))
    valid = revisit & (source >= first_of_user)
    plan["target"][order[valid]] = plan["target"][order[source[valid]]]
    plan["revisit"][order[revisit & ~valid]] = False


def _resolve_rebuys_of_kept(
    rng: np.random.Generator, humans: Plan, order: np.ndarray, needed: int, catalog: Catalog
) -> None:
    """Resolve the re-buys among the sessions the event budget keeps, before they are counted.

    A re-buy changes the session's funnel and so its length: the sessions that fit the budget
    by their planned lengths are resolved, and the later ones in ``order`` stay plain new-intent
    sessions (they fill in when the kept sessions became shorter).
    """
    cumulative = np.cumsum(humans.lengths[order])
    n_kept = int(np.searchsorted(cumulative, needed)) + 1
    humans["rebuy"][order[n_kept:]] = False
    kept = order[:n_kept]
    part = humans.take(kept)
    _resolve_rebuys(rng, part, catalog)
    for name in ("target", "rebuy", "n_searches", "target_click", "cart", "purchase"):
        humans[name][kept] = part[name]


def consumable_types() -> np.ndarray:
    """Bool per product type of :data:`TREE`: the type is in :data:`CONSUMABLE_TYPES`."""
    return np.array([product_type.name in CONSUMABLE_TYPES for product_type in TREE.types])


def _resolve_rebuys(rng: np.random.Generator, plan: Plan, catalog: Catalog) -> None:
    """Point each re-buy session at a consumable the user bought in an earlier session.

    The product is drawn uniformly from the user's earlier consumable purchases in new-intent
    sessions (so often-bought products come back more often), and the session's
    search, click, cart and purchase are drawn again with the re-buy probabilities. A re-buy
    session without such a purchase before it stays the new-intent session it was planned as.
    """
    order = np.lexsort((plan["start"], plan["user"]))
    user = plan["user"][order]
    rebuy = plan["rebuy"][order]
    target = plan["target"][order]
    consumable = consumable_types()[catalog.type_idx[target]]
    # Revisit sessions are retargeted later (_resolve_revisits): they are no source.
    source = ~rebuy & ~plan["revisit"][order] & (plan["purchase"][order] > 0) & consumable
    # Sources strictly before each session, counted over all users and from each user's start.
    before = np.cumsum(source) - source
    group_start = np.flatnonzero(np.r_[True, user[1:] != user[:-1]])
    first_of_user = np.repeat(group_start, np.diff(np.r_[group_start, len(order)]))
    n_own = before - before[first_of_user]
    valid = rebuy & (n_own > 0)
    positions = np.flatnonzero(source)
    pick = before[first_of_user] + np.floor(rng.random(len(order)) * n_own).astype(np.int64)
    rows = order[valid]
    plan["target"][rows] = target[positions[pick[valid]]]
    plan["rebuy"][order[rebuy & ~valid]] = False
    n = len(rows)
    more = rng.random(n)
    searched = rng.random(n) < P_SEARCH[2]
    plan["n_searches"][rows] = searched * (1 + (more < 0.3) + (more < 0.08))
    target_click = rng.random(n) < P_TARGET_CLICK[2]
    cart = target_click & (rng.random(n) < P_CART[2])
    plan["target_click"][rows] = target_click
    plan["cart"][rows] = cart
    plan["purchase"][rows] = cart & (rng.random(n) < P_PURCHASE[2])
