"""What an input file's columns mean, and the known file layouts.

Two parts serve :mod:`core.data.ingest.load` (file formats are in
:mod:`core.data.ingest.formats`):

* column names: a *mapping* says which source column feeds each canonical target
  (``{"user_id": "visitorid"}``). Targets are the canonical event or catalogue columns plus a few
  helper targets that only shape them: ``rating``, ``quantity``, ``is_return``, ``ts_offset_ms``
  (milliseconds added to ``ts``) and ``esci_label`` (an ESCI relevance label, stored as its gain
  in ``value``). :func:`suggest_mapping` matches names against :data:`ALIASES`;
* presets: a :class:`Preset` is a known file layout: how to recognise it from its column names
  and how its columns map. Detection goes from the most specific layout to ``generic``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.schema import (
    ADD_TO_CART,
    BRAND,
    CATEGORY,
    CLICK,
    DESCRIPTION,
    EVENT,
    EVENT_TYPES,
    FIRST_SEEN,
    IS_RETURN,
    ITEM_ID,
    PRICE,
    PURCHASE,
    QUERY,
    RATING,
    SEARCH,
    SESSION_ID,
    TITLE,
    TS,
    USER_ID,
    VALUE,
    VIEW,
)

EVENTS_KIND = "events"
CATALOG_KIND = "catalog"
KINDS = (EVENTS_KIND, CATALOG_KIND)

QUANTITY = "quantity"
TS_OFFSET_MS = "ts_offset_ms"
ESCI_LABEL = "esci_label"

# Every target a mapping may name, per kind, in the order the UI shows them.
EVENT_TARGETS: tuple[str, ...] = (
    USER_ID,
    ITEM_ID,
    EVENT,
    TS,
    SESSION_ID,
    QUERY,
    VALUE,
    RATING,
    QUANTITY,
    PRICE,
    IS_RETURN,
    TITLE,
    DESCRIPTION,
    CATEGORY,
    BRAND,
    TS_OFFSET_MS,
    ESCI_LABEL,
)
CATALOG_TARGETS: tuple[str, ...] = (ITEM_ID, TITLE, DESCRIPTION, CATEGORY, BRAND, PRICE, FIRST_SEEN)
TARGETS: dict[str, tuple[str, ...]] = {EVENTS_KIND: EVENT_TARGETS, CATALOG_KIND: CATALOG_TARGETS}

# Targets of an event mapping that describe the item and so feed a derived catalogue.
ITEM_TEXT_TARGETS: tuple[str, ...] = (TITLE, DESCRIPTION, CATEGORY, BRAND, PRICE)

# ESCI relevance labels and their gains (KDD Cup 2022: exact 1, substitute 0.1, complement 0.01).
ESCI_GAINS: dict[str, float] = {"E": 1.0, "S": 0.1, "C": 0.01, "I": 0.0}

_RECBOLE_TYPE = re.compile(r"^(?P<name>[^:]+):(?:token|token_seq|float|float_seq)$", re.IGNORECASE)
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def strip_recbole_type(name: str) -> str:
    """``'user_id:token'`` -> ``'user_id'``; other names unchanged."""
    match = _RECBOLE_TYPE.match(name.strip())
    return match.group("name") if match else name


def is_recbole_header(columns: Iterable[str]) -> bool:
    """True when every column name carries a RecBole ``:type`` suffix."""
    names = list(columns)
    return bool(names) and all(_RECBOLE_TYPE.match(name.strip()) for name in names)


def normalise_name(name: str) -> str:
    """Lower-case alphanumerics only: ``'Customer ID'``, ``'customer_id'`` -> ``'customerid'``."""
    return _NOT_ALNUM.sub("", strip_recbole_type(str(name)).lower())


def _words(name: str) -> set[str]:
    return {word.lower() for word in _WORDS.findall(strip_recbole_type(str(name)))}


# Normalised source names per target, best first.
ALIASES: dict[str, tuple[str, ...]] = {
    target: tuple(names.split())
    for target, names in {
        USER_ID: "userid user customerid customer visitorid visitor clientid client memberid "
        "member buyerid buyer shopperid shopper accountid account reviewerid reviewer personid "
        "uid custid customerno customernumber users",
        ITEM_ID: "itemid item productid product sku skuid asin parentasin stockcode productcode "
        "articleid article articleno goodsid goods movieid movie bookid isbn offerid variantid "
        "docid trackid iid pid items products",
        TS: "ts timestamp time datetime eventtime eventtimestamp eventdate date invoicedate "
        "orderdate purchasedate createdat created timestampms unixtime epoch clicktime viewtime "
        "when utc",
        EVENT: "event eventtype type action actiontype behavior behaviour behaviortype "
        "behaviourtype interaction interactiontype activity eventname events",
        SESSION_ID: "sessionid session usersession visitid visit sessionkey",
        QUERY: "query searchterm searchquery querytext keywords keyword searchterms searchstring q",
        VALUE: "value amount revenue total sales",
        RATING: "rating ratings stars score overall rate",
        QUANTITY: "quantity qty units count",
        PRICE: "price unitprice itemprice productprice cost",
        IS_RETURN: "isreturn return returned isrefund refund cancelled",
        TITLE: "title name productname itemname producttitle movietitle",
        DESCRIPTION: "description desc productdescription itemdescription details",
        CATEGORY: "category categories categoryname categorycode categorypath genre genres "
        "department categoryid cat",
        BRAND: "brand brandname manufacturer maker vendor productbrand",
        FIRST_SEEN: "firstseen releasedate launchdate addedat listedat createdat",
    }.items()
}

# Words that make a column an id when no alias matches exactly ("visitor_uuid", "ProductKey").
_USER_WORDS = frozenset({"user", "customer", "visitor", "client", "member", "buyer", "reviewer"})
_ITEM_WORDS = frozenset({"item", "product", "sku", "asin", "article", "goods"})
_NOT_ID_WORDS = frozenset(
    {"name", "title", "desc", "description", "price", "category", "brand", "count", "type"}
)


def suggest_mapping(columns: Iterable[str], kind: str = EVENTS_KIND) -> dict[str, str]:
    """Map canonical targets to source columns by their names.

    Matching ignores case, punctuation and RecBole ``:type`` suffixes. Each source column feeds
    at most one target; targets are filled in the order of :data:`TARGETS`.

    Parameters
    ----------
    columns : iterable of str
        Source column names, in file order.
    kind : {"events", "catalog"}
        Which targets to fill.

    Returns
    -------
    dict
        ``{target: source column}`` for every target with a match.
    """
    if kind not in TARGETS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    names = list(columns)
    by_norm: dict[str, str] = {}
    for name in names:
        by_norm.setdefault(normalise_name(name), name)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for target in TARGETS[kind]:
        for alias in ALIASES.get(target, ()):
            source = by_norm.get(alias)
            if source is not None and source not in used:
                mapping[target] = source
                used.add(source)
                break
    for target, words in ((USER_ID, _USER_WORDS), (ITEM_ID, _ITEM_WORDS)):
        if target in mapping or target not in TARGETS[kind]:
            continue
        for name in names:
            found = _words(name)
            if name not in used and found & words and not found & _NOT_ID_WORDS:
                mapping[target] = name
                used.add(name)
                break
    return mapping


@dataclass(frozen=True)
class Preset:
    """A known file layout.

    Attributes
    ----------
    name : str
        Key in :data:`PRESETS`.
    description : str
        One line for the UI.
    kinds : tuple of str
        The kinds of file it describes ("events", "catalog").
    signature : tuple of frozenset
        Normalised column names the file must have: one name out of each set.
    columns : dict
        ``{target: normalised source names, best first}``; targets it leaves out come from
        :data:`ALIASES`.
    event : str or None
        Event type of every row when the file has no event column.
    user_from_session : bool
        Rows without a user take their session (``"session:<id>"``) as the user.
    returns_from_invoice : bool
        Invoice numbers starting with "C" mark returns (cancellations), besides negative
        quantities.
    category_first_token : bool
        The category column lists space-separated genres; the first is the category and the full
        list is kept as the ``genres`` attribute.
    ts_is_position : bool
        The time column is a position in a sequence, not a real time: time-based cleaning
        rules skip such datasets.
    cleaning : dict
        Cleaning defaults of the layout, as :class:`core.data.cleaning_config.CleaningConfig`
        keyword arguments over its own defaults.
    note : str
        A warning every load with this preset carries.
    """

    name: str
    description: str
    kinds: tuple[str, ...]
    signature: tuple[frozenset[str], ...] = ()
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    event: str | None = None
    user_from_session: bool = False
    returns_from_invoice: bool = False
    category_first_token: bool = False
    ts_is_position: bool = False
    cleaning: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def matches(self, normalised_columns: set[str]) -> bool:
        """True when the columns carry the preset's signature."""
        return bool(self.signature) and all(normalised_columns & names for names in self.signature)

    def mapping(self, columns: Iterable[str], kind: str) -> dict[str, str]:
        """The preset's mapping onto ``columns``, completed by :func:`suggest_mapping`."""
        names = list(columns)
        by_norm: dict[str, str] = {}
        for name in names:
            by_norm.setdefault(normalise_name(name), name)
        mapping: dict[str, str] = {}
        for target, candidates in self.columns.items():
            if target not in TARGETS[kind]:
                continue
            for candidate in candidates:
                if candidate in by_norm:
                    mapping[target] = by_norm[candidate]
                    break
        used = set(mapping.values())
        for target, source in suggest_mapping([n for n in names if n not in used], kind).items():
            mapping.setdefault(target, source)
        return mapping


def _names(*names: str) -> frozenset[str]:
    return frozenset(names)


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="amazon_sequences",
            description="Amazon user-sequence lines: 'user item item ...', one user per line",
            kinds=(EVENTS_KIND,),
            columns={USER_ID: ("user",), ITEM_ID: ("item",), TS: ("position",)},
            ts_is_position=True,
            note=(
                "sequence lines carry no times: ts is each item's position in its user's "
                "sequence, counted in seconds from 1970-01-01"
            ),
        ),
        Preset(
            name="recbole",
            description="MovieLens / RecBole atomic files (.inter events, .item catalogue)",
            kinds=(EVENTS_KIND, CATALOG_KIND),
            columns={
                USER_ID: ("userid",),
                ITEM_ID: ("itemid",),
                RATING: ("rating",),
                TS: ("timestamp",),
                TITLE: ("movietitle", "title", "name"),
                CATEGORY: ("class", "genre", "genres", "categories"),
            },
            category_first_token=True,
        ),
        Preset(
            name="diginetica",
            description="DIGINETICA (CIKM Cup 2016) item views: sessionId;userId;itemId;...",
            kinds=(EVENTS_KIND,),
            signature=(
                _names("sessionid"),
                _names("userid"),
                _names("itemid"),
                _names("timeframe"),
                _names("eventdate"),
            ),
            columns={
                USER_ID: ("userid",),
                ITEM_ID: ("itemid",),
                SESSION_ID: ("sessionid",),
                TS: ("eventdate",),
                TS_OFFSET_MS: ("timeframe",),
            },
            event=VIEW,
            user_from_session=True,
        ),
        Preset(
            name="retailrocket",
            description="RetailRocket events: timestamp,visitorid,event,itemid,transactionid",
            kinds=(EVENTS_KIND,),
            signature=(
                _names("timestamp"),
                _names("visitorid"),
                _names("event"),
                _names("itemid"),
            ),
            columns={
                USER_ID: ("visitorid",),
                ITEM_ID: ("itemid",),
                EVENT: ("event",),
                TS: ("timestamp",),
            },
        ),
        Preset(
            name="esci_examples",
            description="Amazon ESCI query-product judgements (query, product_id, esci_label)",
            kinds=(EVENTS_KIND,),
            signature=(_names("query"), _names("productid"), _names("escilabel")),
            columns={
                USER_ID: ("queryid", "query"),
                ITEM_ID: ("productid",),
                QUERY: ("query",),
                SESSION_ID: ("queryid",),
                ESCI_LABEL: ("escilabel",),
            },
            event=RATING,
            note=(
                "ESCI judgements have no shoppers: each query stands for a user, the event is "
                "'rating' and value is the label's gain (E 1, S 0.1, C 0.01, I 0)"
            ),
        ),
        Preset(
            name="esci_products",
            description="Amazon ESCI products (product_id, product_title, ...) or Vespa feed",
            kinds=(CATALOG_KIND,),
            signature=(
                _names("productid", "id"),
                _names("producttitle", "title"),
                _names("productbulletpoint", "bullets", "productlocale", "locale"),
            ),
            columns={
                ITEM_ID: ("productid", "id"),
                TITLE: ("producttitle", "title"),
                DESCRIPTION: ("productdescription", "description"),
                BRAND: ("productbrand", "brand"),
            },
        ),
        Preset(
            name="invoice",
            description="Invoice lines (Online Retail style): invoice, customer, stock code, ...",
            kinds=(EVENTS_KIND,),
            signature=(
                _names("invoiceno", "invoice", "invoiceid", "invoicenumber"),
                _names("quantity", "qty"),
                _names("stockcode", "productcode", "sku", "productid", "itemid"),
                _names("unitprice", "price"),
            ),
            columns={
                USER_ID: ("customerid", "customer", "customerno", "clientid"),
                ITEM_ID: ("stockcode", "productcode", "sku", "productid", "itemid"),
                TS: ("invoicedate", "date", "orderdate", "timestamp"),
                SESSION_ID: ("invoiceno", "invoice", "invoiceid", "invoicenumber"),
                QUANTITY: ("quantity", "qty"),
                PRICE: ("unitprice", "price"),
                TITLE: ("description", "productname", "name"),
            },
            event=PURCHASE,
            returns_from_invoice=True,
            # Stock codes are typed by hand: "85123A" and " 85123a" are one product.
            cleaning={"normalise_ids": True},
        ),
        Preset(
            name="shopsynth",
            description="ShopSynth sample world (canonical columns)",
            kinds=(EVENTS_KIND, CATALOG_KIND),
            columns={target: (normalise_name(target),) for target in EVENT_TARGETS[:7]}
            | {target: (normalise_name(target),) for target in CATALOG_TARGETS},
        ),
        Preset(
            name="generic",
            description="Any table: columns mapped by their names",
            kinds=(EVENTS_KIND, CATALOG_KIND),
        ),
    )
}

_SHOPSYNTH_EVENTS = frozenset(normalise_name(c) for c in (USER_ID, ITEM_ID, EVENT, TS, SESSION_ID))
_SHOPSYNTH_CATALOG = frozenset(
    normalise_name(c) for c in (ITEM_ID, TITLE, DESCRIPTION, CATEGORY, BRAND, PRICE, FIRST_SEEN)
)


def detect_preset(columns: Iterable[str], *, file_format: str, recbole: bool) -> str:
    """Name of the preset that fits a file best (``"generic"`` when none does).

    Parameters
    ----------
    columns : iterable of str
        Column names as read (RecBole suffixes already stripped).
    file_format : str
        ``"sequences"`` for user-sequence lines, else the table format.
    recbole : bool
        Whether the header carried RecBole ``name:type`` suffixes.
    """
    if file_format == "sequences":
        return "amazon_sequences"
    if recbole:
        return "recbole"
    normalised = {normalise_name(c) for c in columns}
    for name in ("diginetica", "retailrocket", "esci_examples", "esci_products", "invoice"):
        if PRESETS[name].matches(normalised):
            return name
    if normalised >= _SHOPSYNTH_EVENTS or normalised >= _SHOPSYNTH_CATALOG:
        return "shopsynth"
    return "generic"


# Event names after lower-casing and dropping '_', '-' and spaces.
EVENT_SYNONYMS: dict[str, str] = {
    raw: canonical
    for canonical, names in (
        (VIEW, "view views pageview pv detail detailview productview itemview visit impression"),
        (CLICK, "click clicks clk select"),
        (ADD_TO_CART, "addtocart cart addtobasket basket atc cartadd addcart"),
        (PURCHASE, "purchase purchases buy transaction order checkout sale bought conversion"),
        (RATING, "rating rate rated review"),
        (SEARCH, "search query searchquery"),
    )
    for raw in names.split()
}


def event_case_sql(expression: str) -> str:
    """SQL that turns raw event names in ``expression`` into canonical ones (NULL if unknown).

    Canonical names pass through a cheap membership test; others are lower-cased, stripped of
    '_', '-' and spaces, and looked up in :data:`EVENT_SYNONYMS`.
    """
    canonical = ", ".join(f"'{name}'" for name in EVENT_TYPES)
    key = f"lower(replace(replace(replace(trim({expression}), '_', ''), '-', ''), ' ', ''))"
    pairs = ", ".join(f"'{raw}': '{name}'" for raw, name in EVENT_SYNONYMS.items())
    return (
        f"CASE WHEN {expression} IN ({canonical}) THEN {expression} "
        f"ELSE (MAP {{{pairs}}})[{key}] END"
    )


def alias_hint(target: str, limit: int = 6) -> str:
    """A few usual source names of ``target`` for error messages."""
    return ", ".join(ALIASES.get(target, (target,))[:limit])
