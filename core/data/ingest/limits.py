"""Limits on what one file may cost to read, set by environment variables.

A file from an upload is untrusted: a very wide header, one endless line or a small gzip that
expands to a hundred million rows must end in a clear message, not in a server out of memory.
Each limit has a default that suits a laptop and an environment variable that changes it:

- ``SHOPSYNTH_MAX_COLUMNS`` (2,000): columns a file may have;
- ``SHOPSYNTH_MAX_ROWS`` (50,000,000): rows (after decompression) a file may have;
- ``SHOPSYNTH_MAX_LINE_MB`` (64): length of one line of text;
- ``SHOPSYNTH_MEMORY_BUDGET_MB`` (1,024): memory DuckDB may use while sniffing and planning.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import duckdb

from core.errors import IngestError

MAX_COLUMNS_ENV_VAR = "SHOPSYNTH_MAX_COLUMNS"
MAX_ROWS_ENV_VAR = "SHOPSYNTH_MAX_ROWS"
MAX_LINE_ENV_VAR = "SHOPSYNTH_MAX_LINE_MB"
MEMORY_BUDGET_ENV_VAR = "SHOPSYNTH_MEMORY_BUDGET_MB"

DEFAULT_MAX_COLUMNS = 2_000
DEFAULT_MAX_ROWS = 50_000_000
DEFAULT_MAX_LINE_MB = 64
DEFAULT_MEMORY_BUDGET_MB = 1_024


@dataclass(frozen=True)
class IngestLimits:
    """The limits in force for one read (see the module docstring)."""

    max_columns: int
    max_rows: int
    max_line_mb: int
    memory_budget_mb: int

    @property
    def max_line_bytes(self) -> int:
        return self.max_line_mb << 20


def _positive(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip().replace("_", "").replace(",", "")
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise IngestError(
            f"invalid {name}={os.environ[name][:40]!r}; set it to a whole number >= 1, or unset "
            f"it to use the default ({default:,})"
        )
    return int(raw)


def ingest_limits() -> IngestLimits:
    """The limits as the environment sets them now (read at each call, so tests may change them).

    Raises
    ------
    IngestError
        A variable is set to something other than a whole number >= 1.
    """
    return IngestLimits(
        max_columns=_positive(MAX_COLUMNS_ENV_VAR, DEFAULT_MAX_COLUMNS),
        max_rows=_positive(MAX_ROWS_ENV_VAR, DEFAULT_MAX_ROWS),
        max_line_mb=_positive(MAX_LINE_ENV_VAR, DEFAULT_MAX_LINE_MB),
        memory_budget_mb=_positive(MEMORY_BUDGET_ENV_VAR, DEFAULT_MEMORY_BUDGET_MB),
    )


def scratch_connection(limits: IngestLimits | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection held to the memory budget, for sniffing and planning."""
    limits = limits or ingest_limits()
    return duckdb.connect(config={"memory_limit": f"{limits.memory_budget_mb}MB"})
