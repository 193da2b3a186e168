"""Which run of each model a comparison's test part prefers, against the one validation picks.

Settings should be chosen on validation; a comparison on the test part that crowns another run
of the same model says the choice did not carry over (or that the test part was used to
choose). :func:`validation_and_test_winners` puts the two winners side by side.
"""

from __future__ import annotations

import pandas as pd

from core.evaluation.experiment import METRIC, SEGMENT, ExperimentResult
from core.evaluation.stats import MEAN, VARIANT
from core.models.runs import NDCG_KEY

WINNER_COLUMNS: tuple[str, ...] = (
    "model",
    "runs",
    "validation_winner",
    "validation_ndcg@10",
    "test_winner",
    "test_ndcg@10",
    "differ",
)


def validation_and_test_winners(result: ExperimentResult, models: pd.DataFrame) -> pd.DataFrame:
    """Per model name with at least two runs in ``result``: the run with the highest recorded
    validation NDCG@10 (``models``, as :func:`core.models.runs.list_models` gives) and the run
    with the highest test NDCG@10 over all test users in the comparison (the first on ties),
    and whether they differ. Empty when the comparison did not measure NDCG@10.
    """
    rows = result.table
    test = rows[(rows[SEGMENT] == "all") & (rows[METRIC] == NDCG_KEY)]
    test_scores = test.set_index(VARIANT)[MEAN]
    validation = models.set_index("run_id")[NDCG_KEY] if not models.empty else pd.Series()
    compared = [
        variant
        for variant in result.config.get("variants", [])
        if variant.get("kind") == "model" and variant.get("run_id") in validation.index
    ]
    out = []
    if test_scores.empty:
        return pd.DataFrame(out, columns=list(WINNER_COLUMNS))
    by_model: dict[str, list[dict]] = {}
    for variant in compared:
        by_model.setdefault(variant["model"], []).append(variant)
    for model_name, variants in by_model.items():
        if len(variants) < 2:
            continue
        valid = [(validation[v["run_id"]], v["name"]) for v in variants]
        scored = [(test_scores[v["name"]], v["name"]) for v in variants]
        valid_best = _first_max(valid)
        test_best = _first_max(scored)
        out.append(
            {
                "model": model_name,
                "runs": len(variants),
                "validation_winner": valid_best[1],
                "validation_ndcg@10": valid_best[0],
                "test_winner": test_best[1],
                "test_ndcg@10": test_best[0],
                "differ": valid_best[1] != test_best[1],
            }
        )
    return pd.DataFrame(out, columns=list(WINNER_COLUMNS))


def _first_max(pairs: list[tuple[float, str]]) -> tuple[float, str]:
    """The pair with the highest score (missing scores last), the first one on ties."""
    best = pairs[0]
    for pair in pairs[1:]:
        if pd.notna(pair[0]) and (pd.isna(best[0]) or pair[0] > best[0]):
            best = pair
    return best
