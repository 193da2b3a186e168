"""Ingest on Spark: a Parquet or CSV log (and catalogue) as a DataFrame of the canonical columns.

The DuckDB path (:mod:`core.data.ingest`) sniffs any layout; on Spark the columns are named
(``mapping`` from canonical name to source column, the canonical names by default) and typed
here, as ``raw_events`` types them: ids and texts as strings, ``ts`` a timestamp without time
zone (epoch numbers in seconds or milliseconds; strings as Spark parses ISO times), ``value`` a
double, ``is_return`` a boolean. RecBole atomic files (``user_id:token`` headers, tab
separated) are read with the ``:type`` suffixes removed. A file with a ``rating`` column and no
event column holds ratings, as the DuckDB ``recbole`` layout reads it. A ``_row`` column numbers
the rows in file order: the cleaning rules keep the first row loaded, as DuckDB's ``rowid`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.data.ingest.plan import NULL_TOKENS
from core.engines.spark.session import spark_errors
from core.errors import IngestError
from core.schema import (
    CATALOG_COLUMNS,
    EVENT,
    EVENT_TYPES,
    IS_RETURN,
    ITEM_ID,
    PRICE,
    QUERY,
    RATING,
    SESSION_ID,
    TS,
    USER_ID,
    VALUE,
    VIEW,
)

ROW = "_row"
EVENT_SOURCE_COLUMNS: tuple[str, ...] = (
    USER_ID,
    ITEM_ID,
    EVENT,
    TS,
    SESSION_ID,
    QUERY,
    VALUE,
    IS_RETURN,
    RATING,
)
_STRING = "string"
TS_UNITS = {"s": 1, "ms": 1000}


def _read(spark: Any, path: Path, delimiter: str | None) -> Any:
    suffixes = "".join(path.suffixes).lower()
    if not path.exists():
        raise IngestError(f"{path} does not exist; give the path of a Parquet or CSV file")
    with spark_errors(f"reading {path.name}"):
        if suffixes.endswith(".parquet") or path.is_dir():
            frame = spark.read.parquet(str(path))
        elif suffixes.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz", ".inter", ".item")):
            sep = delimiter or (
                "\t" if suffixes.endswith((".tsv", ".tsv.gz", ".inter", ".item")) else ","
            )
            frame = spark.read.option("header", True).option("sep", sep).csv(str(path))
        else:
            raise IngestError(
                f"the Spark engine reads Parquet or CSV/TSV files, not {path.name}; convert it "
                "or load it with the local engine"
            )
    renamed = {c: c.split(":", 1)[0] for c in frame.columns if ":" in c}
    return frame.withColumnsRenamed(renamed) if renamed else frame


def _timestamp(column: Any, kind: str, ts_unit: str) -> Any:
    from pyspark.sql import functions as sf

    if kind.startswith("timestamp"):
        return column.cast("timestamp_ntz")
    # Epoch numbers; whole milliseconds keep sub-second parts.
    millis = (column.cast("double") * (1000 // TS_UNITS[ts_unit])).cast("long")
    epoch = sf.timestamp_millis(millis).cast("timestamp_ntz")
    if kind in ("string",):
        # CSV columns arrive as text: epoch numbers ("881250949", "1.5e9") as the DuckDB load
        # reads them, anything else as a date-time string.
        numeric = sf.trim(column).rlike(r"^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$")
        return sf.when(numeric, epoch).otherwise(sf.to_timestamp(column).cast("timestamp_ntz"))
    return epoch


def read_events(
    spark: Any,
    path: str | Path,
    mapping: dict[str, str] | None = None,
    *,
    delimiter: str | None = None,
    default_event: str = VIEW,
    ts_unit: str = "s",
) -> Any:
    """The log at ``path`` as a DataFrame of ``_row`` and the canonical event columns.

    Raises
    ------
    IngestError
        The file is missing or not Parquet/CSV, a mapped column is absent, or the log has no
        user or item column.
    """
    from pyspark.sql import functions as sf

    if default_event not in EVENT_TYPES:
        raise IngestError(f"default_event {default_event!r} is not one of {', '.join(EVENT_TYPES)}")
    if ts_unit not in TS_UNITS:
        raise IngestError(f"ts_unit must be one of {', '.join(TS_UNITS)}, not {ts_unit!r}")
    path = Path(path)
    frame = _read(spark, path, delimiter)
    if mapping is None:
        # The columns the local load would guess (timestamp -> ts, userid -> user_id...).
        from core.data.ingest.presets import suggest_mapping

        guessed = suggest_mapping(frame.columns).items()
        mapping = {t: c for t, c in guessed if t in EVENT_SOURCE_COLUMNS and t != c}
    chosen = _chosen(frame.columns, mapping, EVENT_SOURCE_COLUMNS, path)
    for needed in (USER_ID, ITEM_ID):
        if needed not in chosen:
            raise IngestError(
                f"{path.name} has no {needed} column (columns: {', '.join(frame.columns)}); "
                f"map one with mapping={{'{needed}': '<column>'}}"
            )
    types = dict(frame.dtypes)

    def source(name: str) -> Any:
        return sf.col(f"`{chosen[name]}`")

    def text(name: str) -> Any:
        return source(name).cast(_STRING) if name in chosen else sf.lit(None).cast(_STRING)

    def identifier(name: str) -> Any:
        return id_column(source(name), types[chosen[name]])

    if EVENT in chosen:
        known = sf.lower(sf.trim(source(EVENT).cast(_STRING)))
        event = sf.when(known.isin(*EVENT_TYPES), known).otherwise(sf.lit(default_event))
    else:
        event = sf.lit(RATING if RATING in chosen else default_event)
    value_name = VALUE if VALUE in chosen else RATING if RATING in chosen else None
    value = source(value_name).cast("double") if value_name else sf.lit(None).cast("double")
    ts = (
        _timestamp(source(TS), types[chosen[TS]], ts_unit)
        if TS in chosen
        else sf.lit(None).cast("timestamp_ntz")
    )
    is_return = (
        sf.coalesce(source(IS_RETURN).cast("boolean"), sf.lit(False))
        if IS_RETURN in chosen
        else sf.lit(False)
    )
    return frame.select(
        sf.monotonically_increasing_id().alias(ROW),
        identifier(USER_ID).alias(USER_ID),
        identifier(ITEM_ID).alias(ITEM_ID),
        event.alias(EVENT),
        ts.alias(TS),
        text(SESSION_ID).alias(SESSION_ID),
        text(QUERY).alias(QUERY),
        value.alias(VALUE),
        is_return.alias(IS_RETURN),
    )


def id_column(column: Any, kind: str) -> Any:
    """An id as the DuckDB load writes it: text trimmed, NA tokens and blanks NULL, whole
    floats without their ``.0``."""
    from pyspark.sql import functions as sf

    if kind in ("float", "double") or kind.startswith("decimal"):
        whole = column == sf.floor(column)
        return sf.when(whole, column.cast("long").cast(_STRING)).otherwise(column.cast(_STRING))
    if kind != _STRING:
        return column.cast(_STRING)
    trimmed = sf.trim(column)
    return sf.when(trimmed.isin(*NULL_TOKENS), sf.lit(None)).otherwise(trimmed)


def read_catalog(spark: Any, path: str | Path, mapping: dict[str, str] | None = None) -> Any:
    """The catalogue at ``path`` as ``_row`` and the catalogue columns it has, one row per id:
    as the DuckDB load keeps it, rows without an id go and the first row of each id stays."""
    from pyspark.sql import Window
    from pyspark.sql import functions as sf

    path = Path(path)
    frame = _read(spark, path, None)
    chosen = _chosen(frame.columns, mapping, CATALOG_COLUMNS, path)
    if ITEM_ID not in chosen:
        raise IngestError(f"catalogue {path.name} has no {ITEM_ID} column; map one")
    types = dict(frame.dtypes)
    columns = [sf.monotonically_increasing_id().alias(ROW)]
    for name, column in chosen.items():
        value = sf.col(f"`{column}`")
        if name == ITEM_ID:
            value = id_column(value, types[column])
        elif name == PRICE:
            value = value.cast("double")
        columns.append(value.alias(name))
    first = sf.row_number().over(Window.partitionBy(ITEM_ID).orderBy(ROW))
    return (
        frame.select(*columns)
        .where(f"{ITEM_ID} IS NOT NULL")
        .withColumn("_first", first)
        .where("_first = 1")
        .drop("_first")
    )


def _chosen(
    columns: list[str], mapping: dict[str, str] | None, targets: tuple[str, ...], path: Path
) -> dict[str, str]:
    """Canonical name -> source column: the mapping's, then same-named columns."""
    chosen = {name: name for name in targets if name in columns}
    for target, column in (mapping or {}).items():
        if target not in targets:
            raise IngestError(
                f"{target!r} is not a column ShopSynth reads; use one of {', '.join(targets)}"
            )
        if column not in columns:
            raise IngestError(
                f"{path.name} has no column {column!r} for {target}; columns: {', '.join(columns)}"
            )
        chosen[target] = column
    return chosen
