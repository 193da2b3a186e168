"""Times in input files: the text formats tried, epoch units told by size, and format checks."""

from __future__ import annotations

import re

import duckdb

ACCEPTED_TIME_FORMATS = (
    "ISO 8601 (2024-01-31, 2024-01-31 13:45:00, 2024-01-31T13:45:00Z), day/month/year or "
    "month/day/year with '/', '.' or '-' (31/01/2024 13:45), 20240131, '31 Jan 2024', or "
    "epoch seconds / milliseconds (1706708700, 1706708700000)"
)

TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")

# Families of strptime formats tried on text timestamps, most usual first.
TIME_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (label, tuple(formats.split("|")))
    for label, formats in (
        (
            "month/day/year",
            "%m/%d/%Y %H:%M:%S|%m/%d/%Y %H:%M|%m/%d/%Y %I:%M:%S %p|"
            "%m/%d/%Y %I:%M %p|%m/%d/%Y|%m/%d/%y %H:%M|%m/%d/%y",
        ),
        ("day/month/year", "%d/%m/%Y %H:%M:%S|%d/%m/%Y %H:%M|%d/%m/%Y|%d/%m/%y %H:%M|%d/%m/%y"),
        ("day.month.year", "%d.%m.%Y %H:%M:%S|%d.%m.%Y %H:%M|%d.%m.%Y"),
        ("day-month-year", "%d-%m-%Y %H:%M:%S|%d-%m-%Y %H:%M|%d-%m-%Y"),
        ("year/month/day", "%Y/%m/%d %H:%M:%S|%Y/%m/%d %H:%M|%Y/%m/%d"),
        ("yyyymmdd", "%Y%m%d%H%M%S|%Y%m%d"),
        (
            "month names",
            "%d %b %Y %H:%M:%S|%d %b %Y %H:%M|%d %b %Y|%d %B %Y|%b %d, %Y|"
            "%B %d, %Y|%b %d %Y|%d-%b-%Y|%d-%b-%y",
        ),
    )
)

# Epoch units by size: a value below 1e11 is seconds (before the year 5138), below 1e14
# milliseconds, below 1e17 microseconds, else nanoseconds; per value, so a log mixing seconds and
# milliseconds reads right.
EPOCH_UNITS = (
    (1e11, "seconds", 1e6),
    (1e14, "milliseconds", 1e3),
    (1e17, "microseconds", 1.0),
    (float("inf"), "nanoseconds", 1e-3),
)


def epoch_unit(value: float) -> str:
    return next(unit for bound, unit, _ in EPOCH_UNITS if abs(value) < bound)


def epoch_sql(number: str, values: list[float]) -> tuple[str, str]:
    """Epoch numbers -> TIMESTAMP, each value's unit (s, ms, us, ns) told by its size.

    Returns the SQL and the units seen in the sample (``"seconds"``, or e.g. ``"seconds and
    milliseconds"``).
    """
    n = f"({number})"
    branches = " ".join(
        f"WHEN abs({n}) < {bound:g} THEN {n} * {per_micro!r}"
        for bound, _, per_micro in EPOCH_UNITS[:-1]
    )
    micros = f"(CASE {branches} ELSE {n} * {EPOCH_UNITS[-1][2]!r} END)"
    units = [unit for _, unit, _ in EPOCH_UNITS if unit in {epoch_unit(v) for v in values}]
    return (
        f"make_timestamp(CASE WHEN {micros} BETWEEN -6.2e16 AND 2.5e17 "
        f"THEN CAST({micros} AS BIGINT) END)",
        " and ".join(units) or "seconds",
    )


def parses(con: duckdb.DuckDBPyConnection, template: str, value: str) -> bool:
    expr = template.replace("{v}", "v")
    row = con.execute(f"SELECT {expr} IS NOT NULL FROM (SELECT ?::VARCHAR AS v)", [value])
    return bool(row.fetchone()[0])


def all_yyyymmdd(values: list[float]) -> bool:
    return bool(values) and all(
        v == int(v) and 19000101 <= v <= 21001231 and 1 <= int(v) // 100 % 100 <= 12 for v in values
    )
