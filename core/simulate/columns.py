"""Arrow columns shared by the written tables: prefixed ids and timestamps of the period."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.simulate.size import PERIOD_START

_EPOCH_S = int((PERIOD_START - datetime(1970, 1, 1)).total_seconds())


def prefixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Vectorised ``f"{prefix}{n:0{width}d}"``."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def timestamps(seconds: np.ndarray) -> pa.Array:
    """Seconds from the period start as a second-resolution timestamp array."""
    return pa.array(np.asarray(seconds, dtype=np.int64) + _EPOCH_S, type=pa.int64()).cast(
        pa.timestamp("s")
    )
