"""Reading an experiment: reachable significance levels, zero scores, a plain-language verdict.

The verdict names the variant that wins on the primary metric (the treatment with the largest
significant gain over the control, or the control when none has one), by how much, with the
interval of the difference, and what it costs in catalogue coverage, category diversity and the
cold-start segments. A gain is a decrease for a metric where lower is better (an exposure gap,
the Gini of exposure, the mean popularity; :attr:`core.metrics.MetricInfo.higher_is_better`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.evaluation.experiment import (
    METRIC,
    N_USERS,
    NOT_AVAILABLE,
    P_TEST,
    SEGMENT,
    SIGNIFICANCE_LEVELS,
    ExperimentResult,
)
from core.evaluation.stats import (
    DIFF,
    DIFF_CI_HIGH,
    DIFF_CI_LOW,
    LIFT,
    MEAN,
    P_HOLM,
    P_VALUE,
    VARIANT,
)
from core.metrics.registry import higher_is_better
from core.models.base import SOURCE_POPULARITY_FALLBACK

SOURCE = "source"
SHARE = "share"
COLD_SEGMENTS = {"cold_users": "cold-start users", "cold_items": "cold-start items"}
SEGMENT_NAMES = {
    "all": "all test users",
    "cold_users": "cold-start users",
    "cold_items": "cold-start items",
    "activity_low": "least active third",
    "activity_mid": "middle third",
    "activity_high": "most active third",
    "long_tail": "long-tail items",
}


def significance_levels(result: ExperimentResult, segment: str = "all") -> tuple[float, ...]:
    """The levels of :data:`SIGNIFICANCE_LEVELS` (at most the experiment's alpha) that a
    Holm-adjusted p-value of this experiment can reach, largest first.

    Paired t-test p-values have no floor, so every level can be reached. Experiments saved with
    bootstrap p-values had a floor of ``2 / (B + 1)``, multiplied by Holm by the family size (then
    every tested treatment and metric of a segment): a level at or below that is never offered.
    """
    config = result.config
    alpha = config.get("alpha", 0.05)
    levels = tuple(level for level in (alpha, *SIGNIFICANCE_LEVELS) if level <= alpha)
    levels = tuple(sorted(set(levels), reverse=True))
    if config.get("p_test") == P_TEST:
        return levels
    rows = result.table[result.table[SEGMENT] == segment]
    family = int(rows[P_VALUE].notna().sum())
    smallest = min(1.0, family * 2 / (config["n_resamples"] + 1))
    return tuple(level for level in levels if smallest < level)


def significance_mark(p_holm: float, levels: tuple[float, ...]) -> str:
    """``*`` per reached level (``levels`` largest first): ``""``, ``"*"``, ``"**"``."""
    if not np.isfinite(p_holm):
        return ""
    return "*" * sum(p_holm < level for level in levels)


def zero_scores(result: ExperimentResult, metric: str | None = None) -> pd.DataFrame:
    """Variants that score exactly 0 on ``metric`` (the primary one by default) in a segment
    with users: segment, variant, n_users."""
    metric = metric or result.config.get("primary_metric") or result.config["metrics"][0]
    rows = result.table[
        (result.table[METRIC] == metric) & (result.table[N_USERS] > 0) & (result.table[MEAN] == 0)
    ]
    return rows[[SEGMENT, VARIANT, N_USERS]].reset_index(drop=True)


def fallback_table(result: ExperimentResult) -> pd.DataFrame:
    """Test users served the labelled cold-user fallback instead of the variant's own list:
    variant, source (the fallback's label), n_users and their share of the test users; one row
    per variant that served it."""
    rows = [
        {VARIANT: name, SOURCE: SOURCE_POPULARITY_FALLBACK, N_USERS: int(flags.sum())}
        | {SHARE: float(flags.mean())}
        for name, flags in result.fallback.items()
        if flags.any()
    ]
    return pd.DataFrame(rows, columns=[VARIANT, SOURCE, N_USERS, SHARE])


def _fallback_sentence(result: ExperimentResult) -> list[str]:
    served = fallback_table(result)
    if served.empty:
        return []
    parts = ", ".join(f"{row.variant} ({row.n_users:,} users)" for row in served.itertuples())
    return [
        f"Users without training history get the {SOURCE_POPULARITY_FALLBACK}, not a list of "
        f"the variant's own, from: {parts}; the cold-start users segment scores that fallback."
    ]


def _row(result: ExperimentResult, segment: str, metric: str, variant: str) -> pd.Series | None:
    table = result.table
    rows = table[(table[SEGMENT] == segment) & (table[METRIC] == metric)]
    rows = rows[rows[VARIANT] == variant]
    return None if rows.empty else rows.iloc[0]


def _change(row: pd.Series, levels: tuple[float, ...]) -> str:
    """``0.1234 vs 0.1000 (+23.4%, significant)`` style text of a treatment's row."""
    lift = f"{row[LIFT]:+.1%}" if np.isfinite(row[LIFT]) else f"{row[DIFF]:+.4f}"
    if np.isfinite(row[P_HOLM]):
        lift += ", significant" if significance_mark(row[P_HOLM], levels) else ", not significant"
    return lift


def verdict(result: ExperimentResult) -> list[str]:
    """Plain-language sentences: who wins on the primary metric, by how much, at what cost.

    Empty when there is no control or a single variant.
    """
    control = result.control
    if control is None or len(result.variants) < 2:
        return []
    config = result.config
    primary = config.get("primary_metric") or config["metrics"][0]
    levels = significance_levels(result)
    confidence = config["confidence"]
    base = _row(result, "all", primary, control)
    if base is None or base[NOT_AVAILABLE]:
        return [f"{primary} is not available on this data, so there is no verdict on it."]
    treatments = [
        row
        for variant in result.variants
        if variant != control and (row := _row(result, "all", primary, variant)) is not None
    ]
    # A gain is a difference in the metric's better direction (smaller for a gap or a Gini).
    sign = 1.0 if higher_is_better(primary) else -1.0
    better = [
        row
        for row in treatments
        if sign * row[DIFF] > 0 and (not levels or significance_mark(row[P_HOLM], levels))
    ]
    if not better or not levels:
        best = max(treatments, key=lambda row: sign * row[DIFF])
        return [
            f"No variant beats the control {control} significantly on {primary} "
            f"({base[MEAN]:.4f}, all test users). The closest is {best[VARIANT]} at "
            f"{best[MEAN]:.4f} ({_change(best, levels)}; {confidence:.0%} interval of the "
            f"difference [{best[DIFF_CI_LOW]:+.4f}, {best[DIFF_CI_HIGH]:+.4f}]): keep {control}.",
            *_fallback_sentence(result),
        ]
    winner = max(better, key=lambda row: sign * row[DIFF])
    name = winner[VARIANT]
    sentences = [
        f"{name} wins on {primary}: {winner[MEAN]:.4f} against {base[MEAN]:.4f} for the control "
        f"{control} ({_change(winner, levels)}, Holm-adjusted p = {winner[P_HOLM]:.2g}; "
        f"{confidence:.0%} interval of the difference "
        f"[{winner[DIFF_CI_LOW]:+.4f}, {winner[DIFF_CI_HIGH]:+.4f}])."
    ]
    costs = []
    for prefix, label in (("coverage@", "catalogue coverage"), ("category_diversity@", None)):
        metric = next((m for m in config["metrics"] if m.startswith(prefix)), None)
        row = _row(result, "all", metric, name) if metric else None
        if row is None:
            continue
        if row[NOT_AVAILABLE]:
            costs.append(f"{metric} is not available ({row[NOT_AVAILABLE]})")
            continue
        control_row = _row(result, "all", metric, control)
        costs.append(
            f"{label or metric} {row[MEAN]:.4f} against {control_row[MEAN]:.4f} "
            f"({_change(row, levels)})"
        )
    for segment, label in COLD_SEGMENTS.items():
        row = _row(result, segment, primary, name)
        if row is None or row[N_USERS] == 0:
            continue
        control_row = _row(result, segment, primary, control)
        costs.append(
            f"{primary} on {label} ({int(row[N_USERS]):,} users) {row[MEAN]:.4f} against "
            f"{control_row[MEAN]:.4f} ({_change(row, levels)})"
        )
    if costs:
        sentences.append("At what cost: " + "; ".join(costs) + ".")
    return sentences + _fallback_sentence(result)
