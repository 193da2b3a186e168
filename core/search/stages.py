"""Wall time of each step of a search, for profiling the query path stage by stage."""

from __future__ import annotations

import time


class StageClock:
    """Adds the seconds since the previous lap to ``out[stage]`` (nothing when ``out`` is None).

    ``SearchIndex.search(stage_seconds=...)`` passes its dictionary here, so a benchmark reads
    the time of each step of the real query path rather than of a copy of it.
    """

    def __init__(self, out: dict[str, float] | None) -> None:
        self.out = out
        self.last = time.perf_counter() if out is not None else 0.0

    def lap(self, stage: str) -> None:
        """Charge the time since the last lap (or the start) to ``stage``."""
        if self.out is None:
            return
        now = time.perf_counter()
        self.out[stage] = self.out.get(stage, 0.0) + now - self.last
        self.last = now
