"""What an input file is: its format and dialect, its columns' meaning, its known layout.

Three parts serve :mod:`core.data.ingest.load`:

* file formats: :func:`inspect_file` reads the first megabyte of a file to tell its format
  (delimited text, Parquet, JSON lines, user-sequence lines; gzip or not), encoding, delimiter and
  header, and rejects what cannot be a log (empty, binary, spreadsheets, archives) with a message
  that says what to do; :func:`source_sql` is the DuckDB ``FROM`` clause that reads it;
* column names: a *mapping* says which source column feeds each canonical target
  (``{"user_id": "visitorid"}``). Targets are the canonical event or catalogue columns plus a few
  helper targets that only shape them: ``rating``, ``quantity``, ``is_return``, ``ts_offset_ms``
  (milliseconds added to ``ts``) and ``esci_label`` (an ESCI relevance label, stored as its gain
  in ``value``). :func:`suggest_mapping` matches names against :data:`ALIASES`;
* presets: a :class:`Preset` is a known file layout: how to recognise it from its column names
  and how its columns map. Detection goes from the most specific layout to ``generic``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core.errors import IngestError
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
        The time column is a position in a sequence, not a real time.
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


# File formats: what the first megabyte of a file tells

_HEAD_BYTES = 1 << 20
_MAX_LINE_BYTES = 64 << 20
_DELIMITERS = (",", "\t", ";", "|")
ODD_DELIMITERS = "~^:#!$%&*+=/\\`"
_UNSUPPORTED_SUFFIXES = {
    suffix: what
    for what, suffixes in (
        ("an Excel workbook", ".xlsx .xlsm .xls"),
        ("a spreadsheet", ".ods .numbers"),
        ("a ZIP archive", ".zip"),
        ("an archive", ".7z .rar .tar"),
        ("a compressed file other than gzip", ".bz2 .xz .zst .zstd"),
        ("a columnar file other than Parquet", ".avro .orc .feather .arrow"),
        ("a Python pickle", ".pkl .pickle"),
        ("an HDF5 file", ".h5 .hdf5"),
        ("a database file", ".sqlite .db .duckdb"),
    )
    for suffix in suffixes.split()
}
_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive or an Excel workbook (.xlsx)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls)"),
    (b"\x28\xb5\x2f\xfd", "a zstd file"),
    (b"BZh9", "a bzip2 file"),
    (b"\xfd7zXZ\x00", "an xz file"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "a SQLite database"),
    (b"Obj\x01", "an Avro file"),
    (b"ARROW1\x00", "an Arrow file"),
    (b"\x80\x04", "a Python pickle"),
    (b"\x80\x05", "a Python pickle"),
)
csv.field_size_limit(max(csv.field_size_limit(), 4 * _HEAD_BYTES))


@dataclass
class FileInfo:
    """How to read a file, as its first megabyte tells.

    ``format`` is "csv" (any delimited text), "parquet", "json" or "sequences"; ``names`` are the
    column names given to DuckDB (header names made unique, or ``column0``...); ``duplicated``
    maps a repeated header name to the names its copies got; ``ascii_head`` says whether the
    first megabyte was plain ASCII (a later encoding error then means Latin-1); ``long_lines``
    raises DuckDB's line-size limit; ``multiline`` marks quoted fields that span lines (DuckDB's
    parallel reader cannot then pad short rows, so they are skipped instead); ``warnings`` are
    what the analyst should know.
    """

    path: Path
    format: str
    compression: str | None = None
    encoding: str = "utf-8"
    delimiter: str | None = None
    has_header: bool = True
    skip: int = 0
    names: list[str] = field(default_factory=list)
    recbole: bool = False
    json_format: str = "newline_delimited"
    json_columns: dict[str, str] = field(default_factory=dict)
    json_nested: bool = False
    ascii_head: bool = True
    long_lines: bool = False
    multiline: bool = False
    duplicated: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def display_name(path: Path) -> str:
    """How messages name a file."""
    return f"'{path.name}'"


def _read_head(path: Path, compressed: bool) -> bytes:
    if not compressed:
        with path.open("rb") as handle:
            return handle.read(_HEAD_BYTES)
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read(_HEAD_BYTES)
    except (OSError, EOFError, zlib.error) as error:
        raise IngestError(
            f"{display_name(path)} is not a valid gzip file ({error}); compress it again with "
            "gzip, or load the uncompressed file"
        ) from error


def _unsupported(path: Path, what: str) -> IngestError:
    return IngestError(
        f"{display_name(path)} is {what}, which cannot be read as a log; export the data as CSV "
        "(UTF-8), JSON lines or Parquet and load that file"
    )


def inspect_file(
    path: Path, encoding: str | None = None, long_lines: bool = False, multiline: bool = False
) -> FileInfo:
    """Everything about a file that its first bytes tell, before DuckDB reads it.

    ``encoding`` forces the text encoding; ``long_lines`` allows lines of up to 64 MiB (DuckDB's
    default limit is 2 MB; a larger buffer slows small reads, so it is used only when needed);
    ``multiline`` says that quoted fields span lines further on in the file.
    """
    if not path.exists():
        raise IngestError(f"file not found: {path}; check the path")
    if not path.is_file():
        raise IngestError(
            f"{path} is not a file; give the path of a CSV, JSON lines or Parquet file"
        )
    if path.stat().st_size == 0:
        raise IngestError(
            f"{display_name(path)} is empty (0 bytes); export the data again or choose another file"
        )
    with path.open("rb") as handle:
        magic = handle.read(16)
    suffixes = [s.lower() for s in path.suffixes]
    compressed = magic.startswith(b"\x1f\x8b") or (bool(suffixes) and suffixes[-1] == ".gz")
    inner = [s for s in suffixes if s != ".gz"]
    for suffix in inner[-1:]:
        if suffix in _UNSUPPORTED_SUFFIXES:
            raise _unsupported(path, _UNSUPPORTED_SUFFIXES[suffix])
    if compressed and not magic.startswith(b"\x1f\x8b"):
        raise IngestError(
            f"{display_name(path)} is named .gz but is not gzip-compressed; rename it without .gz"
        )
    head = _read_head(path, compressed)
    if not head:
        raise IngestError(
            f"{display_name(path)} is empty after decompression; export the data again"
        )
    for prefix, what in _MAGIC:
        if head.startswith(prefix):
            raise _unsupported(path, what)
    info = FileInfo(path=path, format="csv", compression="gzip" if compressed else None)
    info.long_lines = long_lines or (len(head) == _HEAD_BYTES and head.count(b"\n") < 2)
    info.multiline = multiline
    if head.startswith(b"PAR1"):
        if compressed:
            raise IngestError(
                f"{display_name(path)} is a gzip-compressed Parquet file; Parquet is compressed "
                "already: load the .parquet file itself"
            )
        info.format = "parquet"
        return info
    if inner and inner[-1] in (".parquet", ".pq"):
        raise IngestError(
            f"{display_name(path)} is named .parquet but is not a Parquet file (it has no PAR1 "
            "marker); if it is CSV or JSON, rename it accordingly"
        )
    text = _decode_head(info, head, encoding)
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        _inspect_json(info, stripped, truncated=len(head) == _HEAD_BYTES)
        return info
    if inner and inner[-1] in (".json", ".jsonl", ".ndjson"):
        raise IngestError(
            f"{display_name(path)} is named {inner[-1]} but does not start with '{{' or '[': it is "
            "not JSON; export it as JSON lines (one object per line) or CSV"
        )
    _inspect_text(info, text, truncated=len(head) == _HEAD_BYTES)
    return info


def _decode_head(info: FileInfo, head: bytes, encoding: str | None) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        info.encoding = "utf-16"
        info.ascii_head = False
        info.warnings.append(f"{display_name(info.path)} is UTF-16 text; it was read as such")
        return head.decode("utf-16", errors="replace")
    if b"\x00" in head or _control_share(head) > 0.01:
        raise IngestError(
            f"{display_name(info.path)} looks like a binary file, not text (CSV, TSV, JSON lines) "
            "or Parquet; export the data as CSV or Parquet"
        )
    info.ascii_head = head.isascii()
    if encoding is not None:
        info.encoding = encoding
        return head.decode(encoding, errors="replace")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if len(head) == _HEAD_BYTES and error.start >= len(head) - 3:
            return head[: error.start].decode("utf-8")
        info.encoding = "latin-1"
        info.warnings.append(
            f"{display_name(info.path)} is not UTF-8; it was read as Latin-1 (ISO-8859-1). If "
            "accents look wrong, save the file as UTF-8"
        )
        return head.decode("latin-1")
    return text.removeprefix("\ufeff")


_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))


def _control_share(head: bytes) -> float:
    """Share of control characters (other than tab, newlines, form feed): text has next to none."""
    return (len(head) - len(head.translate(None, _CONTROL_BYTES))) / len(head)


def _inspect_json(info: FileInfo, text: str, truncated: bool) -> None:
    info.format = "json"
    if text.startswith("["):
        info.json_format = "array"
        return
    first, newline, _ = text.partition("\n")
    if not newline and truncated:
        return
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        record = None
    if not isinstance(record, dict):
        raise IngestError(
            f"{display_name(info.path)} holds one JSON document spread over several lines, not "
            "JSON lines (one object per line); convert it, e.g. with `jq -c '.[]'`, or export "
            "the data as CSV"
        )


def _parse_rows(text: str, delimiter: str, truncated: bool, limit: int = 200) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"')
    rows: list[list[str]] = []
    try:
        for row in reader:
            if row:
                rows.append(row)
            if len(rows) > limit:
                break
    except csv.Error:
        pass
    if truncated and len(rows) > 1 and len(rows) <= limit:
        rows.pop()
    return rows[:limit]


def _consistency(rows: list[list[str]]) -> tuple[float, int]:
    if not rows:
        return 0.0, 0
    width, count = Counter(len(row) for row in rows).most_common(1)[0]
    return count / len(rows), width


def _inspect_text(info: FileInfo, text: str, truncated: bool) -> None:
    lines = text.splitlines()
    if lines and re.fullmatch(r"sep=.", lines[0].strip()):
        info.delimiter = lines[0].strip()[4]
        info.skip = 1
        text = text.split("\n", 1)[1] if "\n" in text else ""
    if info.delimiter is None:
        best: tuple[float, int, int] | None = None
        for order, delimiter in enumerate(_DELIMITERS):
            share, width = _consistency(_parse_rows(text, delimiter, truncated))
            if width >= 2 and share >= 0.5:
                score = (share, width, -order)
                if best is None or score > best:
                    best = score
                    info.delimiter = delimiter
    if info.delimiter is None:
        widths = _token_widths(text, truncated)
        if widths and (len(widths) > 1 or widths == {2}):
            info.format = "sequences"
            info.has_header = False
            info.names = ["user", "item", "position"]
            return
        single = _consistency(_parse_rows(text, " ", truncated))
        info.delimiter = " " if widths and single[0] == 1.0 and single[1] >= 2 else ","
    rows = _parse_rows(text, info.delimiter, truncated)
    if not rows:
        raise IngestError(
            f"{display_name(info.path)} holds only blank lines; export the data again"
        )
    info.has_header = _looks_like_header(rows)
    info.multiline = info.multiline or any("\n" in v or "\r" in v for row in rows for v in row)
    width = len(rows[0]) if info.has_header else _consistency(rows)[1]
    if info.has_header:
        raw = [name.strip() for name in rows[0]]
        info.recbole = is_recbole_header(raw)
        names = [strip_recbole_type(name) if info.recbole else name for name in raw]
        info.names = _deduplicate(names, info)
    else:
        info.names = [f"column{index}" for index in range(width)]


_TOKEN = re.compile(r"^[\w.:\-/@#]+$")


def _token_widths(text: str, truncated: bool) -> set[int]:
    """Token counts of whitespace-separated id lines (``user item item ...``); empty if not so.

    Varying counts (or always two) mean user-sequence lines; a constant count above two means a
    space-separated table.
    """
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if truncated and len(lines) > 1:
        lines.pop()
    lines = lines[:200]
    if not lines or any(len(tokens) < 2 for tokens in lines):
        return set()
    if not all(_TOKEN.match(t) for tokens in lines for t in tokens):
        return set()
    return {len(tokens) for tokens in lines}


def is_number(value: str) -> bool:
    """True for text that reads as a finite number."""
    try:
        float(value)
    except ValueError:
        return False
    return value.strip().lower() not in ("nan", "inf", "-inf", "infinity")


_KNOWN_NAMES = frozenset(name for names in ALIASES.values() for name in names)


def _looks_like_header(rows: list[list[str]]) -> bool:
    first = [value.strip() for value in rows[0]]
    if any(is_number(value) for value in first if value):
        return False
    if is_recbole_header(first) or any(normalise_name(v) in _KNOWN_NAMES for v in first):
        return True
    body = rows[1:]
    if not body:
        return True
    for index in range(len(first)):
        values = [row[index] for row in body if index < len(row) and row[index].strip()]
        if values and sum(is_number(v) for v in values) >= 0.5 * len(values):
            return True
    return not any(
        first[index] and first[index] in {row[index] for row in body if index < len(row)}
        for index in range(len(first))
    )


def _deduplicate(names: list[str], info: FileInfo) -> list[str]:
    seen: Counter[str] = Counter()
    result = []
    for index, name in enumerate(names):
        base = name or f"column{index}"
        seen[base] += 1
        unique = base if seen[base] == 1 else f"{base}_{seen[base]}"
        while unique in result:
            unique += "_"
        result.append(unique)
        if seen[base] > 1:
            info.duplicated.setdefault(base, [base]).append(unique)
    return result


# Reading a file with DuckDB


def sql_string(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _varchar_struct(names: list[str]) -> str:
    return "{" + ", ".join(f"{sql_string(name)}: 'VARCHAR'" for name in names) + "}"


def source_sql(info: FileInfo, rejects: str | None = None) -> str:
    """The FROM clause reading the file; ``rejects`` names the table that collects bad lines."""
    path = sql_string(str(info.path))
    compression = "'gzip'" if info.compression else "'none'"
    if info.format == "parquet":
        return f"read_parquet({path})"
    if info.format == "json":
        columns = ""
        if info.json_columns:
            columns = (
                ", columns={"
                + ", ".join(
                    f"{sql_string(k)}: {sql_string(v)}" for k, v in info.json_columns.items()
                )
                + "}"
            )
        size = f", maximum_object_size={_MAX_LINE_BYTES}" if info.long_lines else ""
        sql = (
            f"read_json({path}, format='{info.json_format}', compression={compression}"
            f"{size}{columns})"
        )
        return f"(SELECT fields.* FROM {sql})" if info.json_nested else sql
    errors = (
        f"store_rejects=true, rejects_table={sql_string(rejects)}, "
        f"rejects_scan={sql_string(rejects + '_scan')}"
        if rejects
        else "ignore_errors=true"
    )
    size = f"max_line_size={_MAX_LINE_BYTES}, " if info.long_lines else ""
    common = f"compression={compression}, encoding='{info.encoding}', {size}{errors}"
    if info.format == "sequences":
        lines = (
            f"read_csv({path}, delim=chr(1), quote='', escape='', header=false, "
            f"auto_detect=false, columns={{'line': 'VARCHAR'}}, {common})"
        )
        return (
            '(SELECT parts[1] AS "user", unnest(parts[2:]) AS item, '
            "unnest(range(1, len(parts))) AS position FROM (SELECT "
            f"regexp_split_to_array(trim(line), '\\s+') AS parts FROM {lines}) "
            "WHERE len(parts) >= 2)"
        )
    return (
        f"read_csv({path}, delim={sql_string(info.delimiter or ',')}, quote='\"', escape='\"', "
        f"header={'true' if info.has_header else 'false'}, skip={info.skip}, auto_detect=false, "
        f"columns={_varchar_struct(info.names)}, null_padding={str(not info.multiline).lower()}, "
        f"{common})"
    )


def _describe_json(con: duckdb.DuckDBPyConnection, info: FileInfo) -> dict[str, str]:
    """Read JSON keys from a sample; every value is then read as text (nested as JSON text)."""
    rows = con.execute(f"DESCRIBE SELECT * FROM {source_sql(info)}").fetchall()
    types = {row[0]: row[1] for row in rows}
    fields = types.get("fields", "")
    if fields.upper().startswith("STRUCT") and not any(
        normalise_name(c) in ALIASES[ITEM_ID] for c in types if c != "fields"
    ):
        # A feed whose records keep their attributes under "fields" (e.g. a Vespa feed).
        info.json_nested = True
        rows = con.execute(f"DESCRIBE SELECT * FROM {source_sql(info)}").fetchall()
        names = [row[0] for row in rows]
        struct = "STRUCT(" + ", ".join(f"{sql_ident(n)} VARCHAR" for n in names) + ")"
        info.json_columns = {"fields": struct}
        return dict.fromkeys(names, "VARCHAR")
    info.json_columns = dict.fromkeys(types, "VARCHAR")
    return dict.fromkeys(types, "VARCHAR")


def column_types(con: duckdb.DuckDBPyConnection, info: FileInfo) -> dict[str, str]:
    """DuckDB type of each column as :func:`source_sql` reads it (text files: all VARCHAR)."""
    if info.format == "json":
        return _describe_json(con, info)
    if info.format == "sequences":
        return {"user": "VARCHAR", "item": "VARCHAR", "position": "BIGINT"}
    if info.format == "csv":
        return dict.fromkeys(info.names, "VARCHAR")
    rows = con.execute(f"DESCRIBE SELECT * FROM {source_sql(info)}").fetchall()
    return {row[0]: row[1] for row in rows if not row[0].startswith("__index_level_")}
