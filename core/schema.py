"""Canonical column names, event types and workspace table names."""

from __future__ import annotations

# Behaviour-log columns.
USER_ID = "user_id"
ITEM_ID = "item_id"
EVENT = "event"
TS = "ts"
SESSION_ID = "session_id"
QUERY = "query"
VALUE = "value"
# Flag on raw events: a return or cancellation (set by ingest, used by cleaning).
IS_RETURN = "is_return"

EVENT_COLUMNS: tuple[str, ...] = (USER_ID, ITEM_ID, EVENT, TS, SESSION_ID, QUERY, VALUE)
REQUIRED_EVENT_COLUMNS: tuple[str, ...] = (USER_ID, ITEM_ID)

# Catalogue columns.
TITLE = "title"
DESCRIPTION = "description"
CATEGORY = "category"
BRAND = "brand"
PRICE = "price"
FIRST_SEEN = "first_seen"

CATALOG_COLUMNS: tuple[str, ...] = (ITEM_ID, TITLE, DESCRIPTION, CATEGORY, BRAND, PRICE, FIRST_SEEN)
REQUIRED_CATALOG_COLUMNS: tuple[str, ...] = (ITEM_ID,)

# Event types, in funnel order; "rating" and "search" stand outside the funnel.
VIEW = "view"
CLICK = "click"
ADD_TO_CART = "add_to_cart"
PURCHASE = "purchase"
RATING = "rating"
SEARCH = "search"

EVENT_TYPES: tuple[str, ...] = (VIEW, CLICK, ADD_TO_CART, PURCHASE, RATING, SEARCH)
FUNNEL: tuple[str, ...] = (VIEW, CLICK, ADD_TO_CART, PURCHASE)

# Interaction weight of one event of each type (view < click < cart < purchase).
# Searches carry no item, so they weigh nothing in the user x item matrix.
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    VIEW: 1.0,
    CLICK: 2.0,
    ADD_TO_CART: 4.0,
    PURCHASE: 8.0,
    RATING: 5.0,
    SEARCH: 0.0,
}

# Workspace tables.
RAW_EVENTS_TABLE = "raw_events"
RAW_CATALOG_TABLE = "raw_catalog"
EVENTS_TABLE = "events"
# Column of ``raw_events`` set on the rows the cleaning removed; ``events`` is a view of the
# raw events without them.
REMOVED_FLAG = "_removed"
# Where earlier versions kept the removed row ids; dropped when a dataset is cleaned or loaded.
CLEANING_REMOVED_TABLE = "cleaning_removed_rows"
CATALOG_TABLE = "catalog"
# Dictionary encoding of the ids (core.data.codes): the vocabularies, one coded row per raw
# event, the load it belongs to, and the item ids as the latest cleaning read them.
USER_CODES_TABLE = "user_codes"
ITEM_CODES_TABLE = "item_codes"
EVENT_CODES_TABLE = "event_codes"
EVENT_CODES_SOURCE_TABLE = "event_codes_source"
CLEAN_ITEM_CODES_TABLE = "clean_item_codes"
DATASET_TABLE = "dataset"
CLEANING_REPORTS_TABLE = "cleaning_reports"
RUNS_TABLE = "runs"
