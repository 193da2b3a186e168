"""Paired comparisons of search rankers over the same held-out searches, per segment.

:func:`core.search.evaluation.search_metrics` gives per-search values; this resamples searches
(the paired bootstrap of :func:`core.evaluation.stats.paired_comparisons`, one set of resamples
for every metric) within each segment and compares every ranker with a control.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import SearchEvaluationError
from core.evaluation.stats import paired_comparisons
from core.search.evaluation import RANKER, SEARCH_METRICS, SEGMENTS, segment_mask
from core.search.sessions import SEARCH_ID


def compare_search_rankers(
    per_search: pd.DataFrame,
    *,
    control: str,
    segments: tuple[str, ...] = SEGMENTS,
    n_resamples: int = 1000,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Paired bootstrap over searches of each metric, every ranker against ``control``.

    A metric is compared on the searches where it is defined for every ranker (accuracy on
    searches followed by engagement, the zero-result rate on all). Returns one table:
    ``segment``, ``n_searches``, then the columns of
    :func:`core.evaluation.stats.paired_comparisons`; segments with no search are left out.
    """
    names = list(dict.fromkeys(per_search[RANKER]))
    if control not in names:
        raise SearchEvaluationError(f"control {control!r} is not one of the rankers {names}")
    frames = []
    for segment in segments:
        chosen = per_search[segment_mask(per_search, segment)]
        for metric in SEARCH_METRICS:
            wide = chosen.pivot(index=SEARCH_ID, columns=RANKER, values=metric).dropna()
            if wide.empty:
                continue
            table = paired_comparisons(
                {metric: {name: wide[name].to_numpy() for name in names}},
                control=control,
                n_resamples=n_resamples,
                random_state=random_state,
            )
            table.insert(0, "n_searches", len(wide))
            table.insert(0, "segment", segment)
            frames.append(table)
    return pd.concat(frames, ignore_index=True)
