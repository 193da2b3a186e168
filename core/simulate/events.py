"""Event expansion: planned sessions turned into time-ordered events, chunk by chunk."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from core.schema import ADD_TO_CART, CLICK, PURCHASE, SEARCH, VIEW
from core.simulate.catalog import Catalog
from core.simulate.sampling import group_ranks
from core.simulate.sessions import MAX_VIEWS, Plan

# Event codes used inside the generator, in the order of EVENT_NAMES.
SEARCH_CODE, VIEW_CODE, CLICK_CODE, CART_CODE, PURCHASE_CODE = range(5)
EVENT_NAMES = (SEARCH, VIEW, CLICK, ADD_TO_CART, PURCHASE)

# Seconds before an event, by event code: (median, log-sigma) of a log-normal.
_GAPS = {
    SEARCH_CODE: (15.0, 0.6),
    VIEW_CODE: (20.0, 0.9),
    CLICK_CODE: (5.0, 0.5),
    CART_CODE: (30.0, 0.7),
    PURCHASE_CODE: (120.0, 0.6),
}
_BOT_VIEW_GAP = (2.0, 0.4)  # bots open a page every couple of seconds


def _lognormal_seconds(
    rng: np.random.Generator, median: np.ndarray | float, sigma: np.ndarray | float, n: int
) -> np.ndarray:
    """``n`` log-normal durations in whole seconds, at least one."""
    return np.maximum(1, np.rint(median * np.exp(sigma * rng.standard_normal(n)))).astype(np.int64)


def _lognormal_gaps(rng: np.random.Generator, codes: np.ndarray) -> np.ndarray:
    """Seconds before each event, log-normal by event type, at least one second."""
    median = np.zeros(len(codes))
    sigma = np.zeros(len(codes))
    for code, (m, s) in _GAPS.items():
        hit = codes == code
        median[hit] = m
        sigma[hit] = s
    return _lognormal_seconds(rng, median, sigma, len(codes))


def _human_atoms(plan: Plan, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Events of human sessions ``rows`` with an order key inside each session."""
    n = len(rows)
    local = np.arange(n)
    n_views = plan["n_views"][rows].astype(np.int64)
    target = plan["target"][rows]
    target_pos = plan["target_pos"][rows].astype(np.int64)
    distractors = plan["distractors"][rows]

    n_searches = plan["n_searches"][rows].astype(np.int64)
    search_session = np.repeat(local, n_searches)
    no_item = np.full(len(search_session), -1)
    searches = _atoms(
        search_session, group_ranks(n_searches), SEARCH_CODE, no_item, target[search_session]
    )

    slot = np.arange(MAX_VIEWS)[None, :]
    other = np.clip(slot - (slot > target_pos[:, None]), 0, MAX_VIEWS - 2)
    is_target = slot == target_pos[:, None]
    view_item = np.where(is_target, target[:, None], np.take_along_axis(distractors, other, 1))
    shown = slot < n_views[:, None]
    clicked = np.where(
        is_target,
        plan["target_click"][rows][:, None] > 0,
        other < plan["n_other_clicks"][rows][:, None],
    )
    view_session, view_slot = np.nonzero(shown)
    click_session, click_slot = np.nonzero(shown & clicked)
    views = _atoms(view_session, 100 + 4 * view_slot, VIEW_CODE, view_item[view_session, view_slot])
    clicks = _atoms(
        click_session, 101 + 4 * click_slot, CLICK_CODE, view_item[click_session, click_slot]
    )
    cart_session = np.flatnonzero(plan["cart"][rows])
    carts = _atoms(
        cart_session, 102 + 4 * target_pos[cart_session], CART_CODE, target[cart_session]
    )
    buy_session = np.flatnonzero(plan["purchase"][rows])
    buys = _atoms(buy_session, np.full(len(buy_session), 999), PURCHASE_CODE, target[buy_session])
    return _concat_atoms([searches, views, clicks, carts, buys])


def _atoms(
    session: np.ndarray,
    key: np.ndarray,
    code: int,
    item: np.ndarray,
    query_item: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Events of one code as parallel arrays; ``query_item`` is the product a search is for."""
    return {
        "session": session,
        "key": np.asarray(key, dtype=np.int64),
        "code": np.full(len(session), code),
        "item": np.asarray(item),
        "query_item": np.full(len(session), -1) if query_item is None else query_item,
    }


def _concat_atoms(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _take_atoms(events: dict[str, np.ndarray], index: np.ndarray | slice) -> dict[str, np.ndarray]:
    return {k: v[index] for k, v in events.items()}


def _bot_atoms(
    rng: np.random.Generator, plan: Plan, rows: np.ndarray, crawlable: np.ndarray
) -> dict[str, np.ndarray]:
    """Bot sessions: views of random products (those on sale from the start), some clicked."""
    n_views = plan["n_views"][rows].astype(np.int64)
    session = np.repeat(np.arange(len(rows)), n_views)
    slot = group_ranks(n_views)
    item = crawlable[rng.integers(0, len(crawlable), len(session))]
    views = _atoms(session, 4 * slot, VIEW_CODE, item)
    clicked = slot % 10 == 9  # n_other_clicks = n_views // 10
    clicks = _atoms(session[clicked], 4 * slot[clicked] + 1, CLICK_CODE, item[clicked])
    return _concat_atoms([views, clicks])


def _expand(
    rng: np.random.Generator,
    plan: Plan,
    caps: np.ndarray,
    rows: np.ndarray,
    catalog: Catalog,
    crawlable: np.ndarray,
) -> dict[str, np.ndarray]:
    """Events of sessions ``rows`` (in plan order) with timestamps, cut to each session's cap."""
    bot = plan["is_bot"][rows]
    human_rows, bot_rows = rows[~bot], rows[bot]
    parts = []
    for sub_rows, atoms in (
        (human_rows, _human_atoms(plan, human_rows)),
        (bot_rows, _bot_atoms(rng, plan, bot_rows, crawlable)),
    ):
        atoms["session"] = sub_rows[atoms["session"]]
        parts.append(atoms)
    events = _concat_atoms(parts)
    order = np.lexsort((events["key"], events["session"]))
    events = _take_atoms(events, order)
    session = events["session"]
    counts = np.bincount(np.searchsorted(rows, session), minlength=len(rows))
    rank = group_ranks(counts)
    keep = rank < caps[session]
    events = _take_atoms(events, keep)
    session, rank = events["session"], rank[keep]

    gaps = _lognormal_gaps(rng, events["code"])
    is_bot = plan["is_bot"][session]
    gaps[is_bot] = _lognormal_seconds(rng, *_BOT_VIEW_GAP, int(is_bot.sum()))
    gaps[rank == 0] = 0
    elapsed = np.cumsum(gaps)
    first = np.flatnonzero(rank == 0)
    elapsed -= np.repeat(elapsed[first], np.diff(np.r_[first, len(session)]))
    events["ts"] = plan["start"][session] + elapsed
    events["user"] = plan["user"][session]
    value_item = np.where(events["code"] >= CART_CODE, events["item"], -1)
    events["value"] = np.where(value_item >= 0, catalog.price[np.maximum(value_item, 0)], np.nan)
    return events


def event_stream(
    rng: np.random.Generator,
    plan: Plan,
    caps: np.ndarray,
    catalog: Catalog,
    n_chunks: int,
) -> Iterator[dict[str, np.ndarray]]:
    """Chunks of events in time order.

    Sessions are sorted by start and cut into chunks of about equal event counts. Events of a
    chunk that happen after the next chunk's first session starts are held back and merged into
    the next chunk, so the whole stream is sorted by time.
    """
    crawlable = np.flatnonzero(catalog.first_seen < 0)
    bounds = np.searchsorted(
        np.cumsum(caps), np.linspace(0, caps.sum(), n_chunks + 1)[1:-1], side="right"
    )
    edges = np.r_[0, bounds, len(plan)]
    carry: dict[str, np.ndarray] | None = None
    for c in range(n_chunks):
        rows = np.arange(edges[c], edges[c + 1])
        events = _expand(rng, plan, caps, rows, catalog, crawlable)
        if carry is not None:
            events = _concat_atoms([carry, events])
        order = np.argsort(events["ts"], kind="stable")
        events = _take_atoms(events, order)
        if c + 1 < n_chunks:
            cut = int(np.searchsorted(events["ts"], plan["start"][edges[c + 1]], side="left"))
            carry = _take_atoms(events, slice(cut, None))
            events = _take_atoms(events, slice(cut))
        yield events
