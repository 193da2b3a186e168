"""Planning a load: one DuckDB SQL expression per canonical column.

From the sniffed file, the column mapping and a sample of values, :func:`plan_events` and
:func:`plan_catalog` choose how each canonical column is read: id and text casts, numbers,
booleans, the timestamp format or epoch unit, and the event names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from statistics import median

import duckdb

from core.data.ingest.formats import (
    ODD_DELIMITERS,
    FileInfo,
    base_type,
    display_name,
    is_number,
    sql_ident,
    sql_string,
)
from core.data.ingest.presets import (
    CATALOG_KIND,
    ESCI_GAINS,
    ESCI_LABEL,
    EVENTS_KIND,
    ITEM_TEXT_TARGETS,
    PRESETS,
    QUANTITY,
    TARGETS,
    TS_OFFSET_MS,
    Preset,
    alias_hint,
    event_case_sql,
)
from core.data.ingest.sniff import (
    SAMPLE_TABLE,
    SourceSniff,
    case_note,
)
from core.data.ingest.times import (
    ACCEPTED_TIME_FORMATS,
    TIME_FAMILIES,
    TZ_SUFFIX,
    all_yyyymmdd,
    epoch_sql,
    parses,
)
from core.errors import IngestError, SchemaError
from core.schema import (
    BRAND,
    CATALOG_COLUMNS,
    CATEGORY,
    DESCRIPTION,
    EVENT,
    EVENT_COLUMNS,
    FIRST_SEEN,
    IS_RETURN,
    ITEM_ID,
    PRICE,
    QUERY,
    RATING,
    SEARCH,
    SESSION_ID,
    TITLE,
    TS,
    USER_ID,
    VALUE,
)

# Columns of raw_events, in order: the canonical event columns and the returns flag.
RAW_EVENT_COLUMNS: tuple[str, ...] = (*EVENT_COLUMNS, IS_RETURN)
CATALOG_TYPES = {PRICE: "DOUBLE", FIRST_SEEN: "TIMESTAMP"}

# Quantities, prices and values beyond this size are errors in the file, not amounts.
MAX_NUMBER = 1e12
NULL_TOKENS = ("", "NA", "N/A", "NULL", "null", "None", "none", "nan", "NaN", "\\N")
_NESTED = re.compile(r"(\[\]|\[\d+\]|^STRUCT|^MAP|^UNION)", re.IGNORECASE)
_NUMERIC_NAMES = (
    "TINYINT SMALLINT INTEGER BIGINT HUGEINT UTINYINT USMALLINT UINTEGER UBIGINT UHUGEINT FLOAT "
    "DOUBLE DECIMAL"
)
_NUMERIC_TYPES = frozenset(_NUMERIC_NAMES.split())
_FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE"})


# Planning: one SQL expression per canonical column -------------------------------------------


@dataclass
class Plan:
    info: FileInfo
    sniff: SourceSniff
    preset: Preset
    mapping: dict[str, str]
    select: list[tuple[str, str]]
    warnings: list[str]
    ts_column: str | None = None
    unknown_events: list[str] = field(default_factory=list)
    text_columns: list[str] = field(default_factory=list)
    # (SQL flag over the source row, warning with {count} and {rows}): counted when staging.
    checks: list[tuple[str, str]] = field(default_factory=list)


def _resolve_mapping(
    sniff_result: SourceSniff,
    kind: str,
    preset: Preset,
    overrides: dict[str, str | None] | None,
) -> dict[str, str]:
    targets = TARGETS[kind]
    mapping = preset.mapping(sniff_result.columns, kind)
    name = display_name(sniff_result.path)
    for target, source in (overrides or {}).items():
        if target not in targets:
            raise SchemaError(
                f"unknown mapping target '{target}' for a {kind} file; use one of: "
                f"{', '.join(targets)}"
            )
        if source is None or source == "":
            mapping.pop(target, None)
            continue
        if source not in sniff_result.columns:
            raise SchemaError(
                f"column '{source}' not found in {name}; map {target} to one of: "
                f"{', '.join(sniff_result.columns)}"
            )
        mapping[target] = source
    explicit = {source for source in (overrides or {}).values() if source}
    for target, source in mapping.items():
        for header, copies in sniff_result.duplicated_columns.items():
            if source in copies and source not in explicit:
                raise SchemaError(
                    f"the header of {name} names column '{header}' {len(copies)} times"
                    f"{case_note(copies)}, so "
                    f"{target} is ambiguous; rename the duplicate in the file, or map {target} "
                    f"explicitly to one of {', '.join(repr(c) for c in copies)}"
                )
    return mapping


def _missing_column_error(sniff_result: SourceSniff, targets: list[str]) -> SchemaError:
    name = display_name(sniff_result.path)
    columns = sniff_result.columns
    if len(columns) == 1:
        hint = ""
        odd = _odd_delimiter_of(sniff_result) if sniff_result.format == "csv" else None
        if odd:
            hint = (
                f" The lines seem to be separated by {odd!r}, which is not supported: save "
                "the file with comma, semicolon, tab or '|' as separator."
            )
        return SchemaError(
            # The one "column name" is the file's first line: a file that is not a table (a
            # key, a password file) must not be quoted back.
            f"only one column was found in {name}; a behaviour log needs at "
            "least a user column and an item column: export both, separated by comma, "
            f"semicolon, tab or '|'.{hint}"
        )
    labels = " and no ".join(
        f"{ {USER_ID: 'user', ITEM_ID: 'item'}.get(t, t) } column" for t in targets
    )
    no_header = "" if sniff_result.has_header else " (the file seems to have no header row)"
    usual = "; ".join(f"usual names for {t}: {alias_hint(t)}" for t in targets)
    message = (
        f"no {labels} found in {name}{no_header}; map one of its columns "
        f"({', '.join(columns[:12])}) to {' and '.join(targets)} ({usual})"
    )
    if sniff_result.kind == CATALOG_KIND:
        message += (
            ". The file looks like a product catalogue: pass it as the catalogue, together "
            "with a behaviour log"
        )
    return SchemaError(message)


def _odd_delimiter_of(sniff_result: SourceSniff) -> str | None:
    header = sniff_result.columns[0]
    for char in ODD_DELIMITERS:
        if char in header:
            return char
    return None


def check_table(sniff_result: SourceSniff) -> None:
    """Refuse a file of one column before anything shows it.

    Such a file is not recognised as data (a key, a password file, free text): the dashboard
    calls this before its preview, so that nothing of the file is echoed.

    Raises
    ------
    SchemaError
        The file has a single column; the message says how to export it, without quoting it.
    """
    if len(sniff_result.columns) < 2:
        raise _missing_column_error(sniff_result, [USER_ID, ITEM_ID])


def _sample(con: duckdb.DuckDBPyConnection, expression: str) -> list:
    """Up to 2,000 non-null values of ``expression`` over the rows sampled by :func:`_sniff`."""
    rows = con.execute(
        f"SELECT v FROM (SELECT {expression} AS v FROM {SAMPLE_TABLE}) WHERE v IS NOT NULL "
        "LIMIT 2000"
    ).fetchall()
    return [row[0] for row in rows]


def _check_scalar(column: str, column_type: str, target: str, name: str) -> None:
    base = base_type(column_type)
    if _NESTED.search(column_type) or base in ("BLOB", "BIT", "INTERVAL", "TIME"):
        raise SchemaError(
            f"column '{column}' of {name} holds {column_type} values, which cannot be {target}; "
            "map a column of text or numbers instead"
        )


def _id_sql(
    con: duckdb.DuckDBPyConnection, column: str, column_type: str, target: str, name: str
) -> str:
    """Text id from any scalar column; empty strings and NA tokens become NULL.

    Whole floats lose their ``.0`` (ids written by pandas next to missing values); text ids are
    trimmed and stripped of ``.0`` when the sample shows the need.
    """
    _check_scalar(column, column_type, target, name)
    ref = sql_ident(column)
    base = base_type(column_type)
    if base in _FLOAT_TYPES:
        return (
            f"CASE WHEN {ref} = trunc({ref}) THEN CAST(try_cast({ref} AS BIGINT) AS VARCHAR) "
            f"ELSE CAST({ref} AS VARCHAR) END"
        )
    if base != "VARCHAR":
        return f"CAST({ref} AS VARCHAR)"
    values = [str(v) for v in _sample(con, ref)]
    expr = ref
    if any(v != v.strip() for v in values):
        expr = f"trim({expr})"
    if values and all(re.fullmatch(r"-?\d+\.0+", v.strip()) for v in values):
        expr = f"regexp_replace({expr}, '\\.0+$', '')"
    tokens = ", ".join(sql_string(t) for t in NULL_TOKENS)
    return f"CASE WHEN {expr} IN ({tokens}) THEN NULL ELSE {expr} END"


def _text_sql(column: str, column_type: str) -> str:
    ref = sql_ident(column)
    base = base_type(column_type)
    if base == "VARCHAR":
        return f"nullif({ref}, '')"
    if column_type.upper().endswith("[]"):
        return f"array_to_string(CAST({ref} AS VARCHAR[]), ' > ')"
    return f"CAST({ref} AS VARCHAR)"


def _raw_number_sql(column: str, column_type: str, target: str, name: str) -> str:
    _check_scalar(column, column_type, target, name)
    ref = sql_ident(column)
    base = base_type(column_type)
    if base in _NUMERIC_TYPES:
        return f"CAST({ref} AS DOUBLE)"
    if base == "BOOLEAN":
        return f"CAST(CAST({ref} AS INTEGER) AS DOUBLE)"
    return f"try_cast({ref} AS DOUBLE)"


def _number_sql(column: str, column_type: str, target: str, name: str) -> str:
    """A finite number of at most :data:`MAX_NUMBER` in size, else NULL (inf, nan, 1e308)."""
    raw = _raw_number_sql(column, column_type, target, name)
    return f"CASE WHEN abs({raw}) <= {MAX_NUMBER:g} THEN {raw} END"


def _number_check(column: str, column_type: str, target: str, name: str) -> tuple[str, str]:
    """A check counting the values of ``column`` that :func:`_number_sql` turns into NULL."""
    raw = _raw_number_sql(column, column_type, target, name)
    return (
        f"({raw}) IS NOT NULL AND NOT (abs({raw}) <= {MAX_NUMBER:g})",
        f"values of column '{column}'{'' if column == target else f' ({target})'} that are not "
        "finite numbers or exceed 1e12 in size (inf, -inf, nan, 1e308): {count} of {rows} rows; "
        "they were set to NULL",
    )


def _bool_sql(column: str, column_type: str) -> str:
    ref = sql_ident(column)
    base = base_type(column_type)
    if base == "BOOLEAN":
        return f"coalesce({ref}, false)"
    if base in _NUMERIC_TYPES:
        return f"coalesce({ref} <> 0, false)"
    return (
        f"coalesce(lower(trim(CAST({ref} AS VARCHAR))) IN "
        "('true', 't', '1', 'yes', 'y', 'return', 'returned'), false)"
    )


def _timestamp_sql(
    con: duckdb.DuckDBPyConnection,
    column: str,
    column_type: str,
    name: str,
    *,
    is_position: bool = False,
) -> tuple[str, list[str]]:
    """SQL turning ``column`` into TIMESTAMP, chosen from its type and a sample of values.

    Numbers are epoch times whose unit (seconds to nanoseconds) follows from their size, or
    ``yyyymmdd`` dates; text is tried against ISO 8601 and the :data:`TIME_FAMILIES` and the
    family that reads most sample values wins. Fewer than half readable raises SchemaError.
    Returns the SQL and warnings.
    """
    ref = sql_ident(column)
    base = base_type(column_type)
    warnings: list[str] = []
    if base.startswith("TIMESTAMP") or base == "DATE":
        return f"CAST({ref} AS TIMESTAMP)", warnings
    if base in _NUMERIC_TYPES:
        values = [float(v) for v in _sample(con, ref)]
        if all_yyyymmdd(values):
            return f"try_strptime(CAST(CAST({ref} AS BIGINT) AS VARCHAR), '%Y%m%d')", warnings
        expr, unit = epoch_sql(f"CAST({ref} AS DOUBLE)", values)
        _warn_small_epoch(values, unit, column, is_position, warnings)
        return expr, warnings
    if base != "VARCHAR":
        raise SchemaError(
            f"column '{column}' of {name} holds {column_type} values, which are not times; map "
            f"ts to a column of timestamps, dates or epoch numbers. Accepted formats: "
            f"{ACCEPTED_TIME_FORMATS}"
        )
    raw = [str(v) for v in _sample(con, f"nullif({ref}, '')")]
    needs_trim = any(v != v.strip() for v in raw)
    values = [v.strip() for v in raw if v.strip()]
    if not values:
        return f"try_cast({ref} AS TIMESTAMP)", warnings
    numbers = [float(v) for v in values if is_number(v)]
    if len(numbers) >= 0.9 * len(values):
        if all_yyyymmdd(numbers):
            return f"try_strptime(trim({ref}), '%Y%m%d')", warnings
        expr, unit = epoch_sql(f"try_cast({ref} AS DOUBLE)", numbers)
        _warn_small_epoch(numbers, unit, column, is_position, warnings)
        return expr, warnings
    candidates: list[tuple[str, str]] = []
    if any(TZ_SUFFIX.search(v) for v in values):
        candidates.append(
            ("ISO 8601 with time zone", "CAST(try_cast({v} AS TIMESTAMPTZ) AS TIMESTAMP)")
        )
    candidates.append(("ISO 8601", "try_cast({v} AS TIMESTAMP)"))
    for label, formats in TIME_FAMILIES:
        listed = "[" + ", ".join(sql_string(f) for f in formats) + "]"
        candidates.append((label, "try_strptime({v}, " + listed + ")"))
    counts = con.execute(
        "SELECT "
        + ", ".join(f"count({template.replace('{v}', 'v')})" for _, template in candidates)
        + " FROM (SELECT unnest(?::VARCHAR[]) AS v)",
        [values],
    ).fetchone()
    best = max(range(len(candidates)), key=lambda index: (counts[index], -index))
    label, template = candidates[best]
    if counts[best] < 0.5 * len(values):
        bad = [v for v in values if not parses(con, template, v)][:3]
        raise SchemaError(
            f"column '{column}' of {name}: {len(values) - counts[best]} of the first "
            f"{len(values)} values could not be read as times (e.g. "
            f"{', '.join(repr(v) for v in bad)}); accepted formats: {ACCEPTED_TIME_FORMATS}. "
            "Fix the values, map ts to another column, or leave ts unmapped to use row order"
        )
    ambiguous = {"month/day/year": "day/month/year", "day/month/year": "month/day/year"}
    if label in ambiguous:
        other = [c[0] for c in candidates].index(ambiguous[label])
        if counts[other] == counts[best]:
            warnings.append(
                f"dates in column '{column}' such as {values[0]!r} could be day/month or "
                f"month/day; they were read as {label}"
            )
    return template.replace("{v}", f"trim({ref})" if needs_trim else ref), warnings


def _warn_small_epoch(
    values: list[float], unit: str, column: str, is_position: bool, warnings: list[str]
) -> None:
    if " and " in unit and not is_position:
        warnings.append(
            f"column '{column}' mixes epoch {unit}; each value was read in the unit its size "
            "tells (below 1e11: seconds, below 1e14: milliseconds, ...)"
        )
    if is_position or not values or unit != "seconds":
        return
    size = median(abs(v) for v in values)
    if size < 1e8:
        warnings.append(
            f"column '{column}' holds small numbers (median {size:g}); they were read as "
            "seconds after 1970-01-01. If they are not times, leave ts unmapped"
        )


def _choose_preset(name: str | None, sniff_result: SourceSniff, kind: str) -> Preset:
    if name is None:
        detected = PRESETS[sniff_result.preset]
        return detected if kind in detected.kinds else PRESETS["generic"]
    if name not in PRESETS:
        raise IngestError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    preset = PRESETS[name]
    if kind not in preset.kinds:
        raise SchemaError(
            f"preset {name!r} describes {' and '.join(preset.kinds)} files, not a {kind} file; "
            "choose another preset or leave it to detection"
        )
    return preset


def _attribute_name(column: str, taken: set[str]) -> str:
    base = re.sub(r"[^0-9a-zA-Z]+", "_", column).strip("_").lower() or "attribute"
    name = base
    while name in taken:
        name += "_attr"
    taken.add(name)
    return name


def plan_events(
    con: duckdb.DuckDBPyConnection,
    info: FileInfo,
    sniff_result: SourceSniff,
    *,
    mapping: dict[str, str | None] | None,
    preset_name: str | None,
    default_event: str,
) -> Plan:
    """SQL expressions for every raw_events column (and item text for a derived catalogue)."""
    name = display_name(info.path)
    preset = _choose_preset(preset_name, sniff_result, EVENTS_KIND)
    chosen = _resolve_mapping(sniff_result, EVENTS_KIND, preset, mapping)
    types = sniff_result.column_types
    warnings = list(sniff_result.warnings)
    if preset.note:
        warnings.append(preset.note)

    def kind_of(target: str) -> str:
        return types[chosen[target]]

    session_sql = (
        _id_sql(con, chosen[SESSION_ID], kind_of(SESSION_ID), SESSION_ID, name)
        if SESSION_ID in chosen
        else None
    )
    missing = [USER_ID] if USER_ID not in chosen and session_sql is None else []
    if ITEM_ID not in chosen:
        missing.append(ITEM_ID)
    if missing:
        raise _missing_column_error(sniff_result, missing)
    if USER_ID in chosen:
        user_sql = _id_sql(con, chosen[USER_ID], kind_of(USER_ID), USER_ID, name)
        if preset.user_from_session and session_sql is not None:
            user_sql = f"coalesce({user_sql}, 'session:' || ({session_sql}))"
    else:
        user_sql = str(session_sql)
        warnings.append(
            f"{name} has no user column: each session (column '{chosen[SESSION_ID]}') is used "
            "as a user"
        )
    item_sql = _id_sql(con, chosen[ITEM_ID], kind_of(ITEM_ID), ITEM_ID, name)
    query_sql = (
        _text_sql(chosen[QUERY], kind_of(QUERY)) if QUERY in chosen else "CAST(NULL AS VARCHAR)"
    )

    plan = Plan(
        info=info,
        sniff=sniff_result,
        preset=preset,
        mapping=chosen,
        select=[],
        warnings=warnings,
    )
    event_sql = _event_sql(con, plan, default_event, item_sql, query_sql)
    ts_sql = _event_time_sql(con, plan)
    value_sql = _value_sql(chosen, types, name)
    return_parts = []
    if IS_RETURN in chosen:
        return_parts.append(_bool_sql(chosen[IS_RETURN], kind_of(IS_RETURN)))
    if QUANTITY in chosen:
        quantity = _number_sql(chosen[QUANTITY], kind_of(QUANTITY), QUANTITY, name)
        return_parts.append(f"coalesce({quantity} < 0, false)")
    if preset.returns_from_invoice and SESSION_ID in chosen:
        invoice = f"upper(CAST({sql_ident(chosen[SESSION_ID])} AS VARCHAR))"
        return_parts.append(f"coalesce(starts_with({invoice}, 'C'), false)")
    expressions = {
        USER_ID: user_sql,
        ITEM_ID: item_sql,
        EVENT: event_sql,
        TS: ts_sql,
        SESSION_ID: session_sql or "CAST(NULL AS VARCHAR)",
        QUERY: query_sql,
        VALUE: value_sql,
        IS_RETURN: " OR ".join(return_parts) or "false",
    }
    plan.select = [(column, expressions[column]) for column in RAW_EVENT_COLUMNS]
    for target in (VALUE, RATING, QUANTITY, PRICE):
        if target in chosen:
            plan.checks.append(_number_check(chosen[target], kind_of(target), target, name))
    for target in ITEM_TEXT_TARGETS:
        if target in chosen:
            column = chosen[target]
            expr = (
                _number_sql(column, types[column], target, name)
                if target == PRICE
                else _text_sql(column, types[column])
            )
            plan.select.append((target, expr))
            plan.text_columns.append(target)
    return plan


def _event_sql(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    default_event: str,
    item_sql: str,
    query_sql: str,
) -> str:
    chosen = plan.mapping
    if EVENT in chosen:
        column = chosen[EVENT]
        raw = sql_ident(column)
        if base_type(plan.sniff.column_types[column]) != "VARCHAR":
            raw = f"CAST({raw} AS VARCHAR)"
        sql = event_case_sql(raw)
        rows = con.execute(
            f"SELECT DISTINCT r FROM (SELECT {raw} AS r FROM {SAMPLE_TABLE}) "
            f"WHERE r IS NOT NULL AND ({event_case_sql('r')}) IS NULL ORDER BY r LIMIT 5"
        ).fetchall()
        plan.unknown_events = [row[0] for row in rows]
        return sql
    constant = plan.preset.event or (
        RATING if ESCI_LABEL in chosen or RATING in chosen else default_event
    )
    if QUERY in chosen and constant != RATING:
        return (
            f"CASE WHEN ({item_sql}) IS NULL AND ({query_sql}) IS NOT NULL THEN '{SEARCH}' "
            f"ELSE '{constant}' END"
        )
    return f"'{constant}'"


def _event_time_sql(con: duckdb.DuckDBPyConnection, plan: Plan) -> str:
    chosen = plan.mapping
    types = plan.sniff.column_types
    name = display_name(plan.info.path)
    if TS not in chosen:
        plan.warnings.append(
            f"{name} has no timestamp column: row order gives the time (ts is 1970-01-01 plus "
            "one second per row), so time-based splits follow the file order"
        )
        return "make_timestamp((row_number() OVER ()) * 1000000)"
    column = chosen[TS]
    plan.ts_column = column
    sql, warnings = _timestamp_sql(
        con,
        column,
        types[column],
        name,
        is_position=plan.preset.ts_is_position,
    )
    plan.warnings.extend(warnings)
    if TS_OFFSET_MS in chosen:
        offset = _number_sql(chosen[TS_OFFSET_MS], types[chosen[TS_OFFSET_MS]], TS_OFFSET_MS, name)
        sql = f"({sql}) + to_milliseconds(coalesce(try_cast({offset} AS BIGINT), 0))"
    return sql


def _value_sql(chosen: dict[str, str], types: dict[str, str], name: str) -> str:
    def number(target: str) -> str:
        return _number_sql(chosen[target], types[chosen[target]], target, name)

    if VALUE in chosen:
        return number(VALUE)
    if ESCI_LABEL in chosen:
        label = f"left(upper(trim(CAST({sql_ident(chosen[ESCI_LABEL])} AS VARCHAR))), 1)"
        branches = " ".join(f"WHEN '{k}' THEN {v!r}" for k, v in ESCI_GAINS.items())
        return f"CAST(CASE {label} {branches} END AS DOUBLE)"
    if RATING in chosen:
        return number(RATING)
    if QUANTITY in chosen and PRICE in chosen:
        return f"({number(QUANTITY)}) * ({number(PRICE)})"
    if QUANTITY in chosen:
        return number(QUANTITY)
    return "CAST(NULL AS DOUBLE)"


def plan_catalog(
    con: duckdb.DuckDBPyConnection,
    info: FileInfo,
    sniff_result: SourceSniff,
    *,
    mapping: dict[str, str | None] | None,
    preset_name: str | None,
) -> Plan:
    """SQL expressions for raw_catalog: canonical columns plus every other column as attribute."""
    name = display_name(info.path)
    preset = _choose_preset(preset_name, sniff_result, CATALOG_KIND)
    chosen = _resolve_mapping(sniff_result, CATALOG_KIND, preset, mapping)
    types = sniff_result.column_types
    if ITEM_ID not in chosen:
        columns = ", ".join(sniff_result.columns[:12])
        raise SchemaError(
            f"no item column found in the catalogue {name}; map one of its columns ({columns}) "
            f"to item_id; usual names are: {alias_hint(ITEM_ID)}"
        )
    plan = Plan(
        info=info,
        sniff=sniff_result,
        preset=preset,
        mapping=chosen,
        select=[],
        warnings=list(sniff_result.warnings),
    )
    select = [(ITEM_ID, _id_sql(con, chosen[ITEM_ID], types[chosen[ITEM_ID]], ITEM_ID, name))]
    taken = set(CATALOG_COLUMNS)
    extras: list[tuple[str, str]] = []
    for target in CATALOG_COLUMNS[1:]:
        column = chosen.get(target)
        if column is None:
            select.append((target, f"CAST(NULL AS {CATALOG_TYPES.get(target, 'VARCHAR')})"))
        elif target == PRICE:
            select.append((target, _number_sql(column, types[column], target, name)))
            plan.checks.append(_number_check(column, types[column], target, name))
        elif target == FIRST_SEEN:
            sql, warnings = _timestamp_sql(con, column, types[column], name)
            plan.warnings.extend(warnings)
            select.append((target, sql))
        elif target == CATEGORY and preset.category_first_token:
            text = _text_sql(column, types[column])
            select.append((target, f"nullif(split_part(trim({text}), ' ', 1), '')"))
            extras.append((_attribute_name("genres", taken), text))
        else:
            select.append((target, _text_sql(column, types[column])))
    used = set(chosen.values())
    for column in sniff_result.columns:
        if column not in used:
            extras.append((_attribute_name(column, taken), sql_ident(column)))
    plan.select = select + extras
    plan.text_columns = [TITLE, DESCRIPTION, CATEGORY, BRAND]
    return plan
