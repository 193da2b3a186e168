"""Score fusion: candidates from several models, normalised and combined into one ranking.

- :mod:`core.fusion.candidates`: the union of every model's top-N per user, scored by all.
- :mod:`core.fusion.normalise`: per-user min-max, z-score and rank normalisation.
- :mod:`core.fusion.methods`: weighted sum, reciprocal rank fusion, CombMNZ, contributions.
- :mod:`core.fusion.prepared`: candidates prepared once for fast re-weighting and metrics.
- :mod:`core.fusion.search`: grid and random weight search, Pareto fronts.
- :mod:`core.fusion.runs`: fusion on a workspace: signals from trained runs, saved variants.
- :mod:`core.fusion.gate`: the learned softmax gate (imports torch, so it is not imported
  here).
"""

from core.errors import FusionError
from core.fusion.candidates import DEFAULT_DEPTH, CandidateSet, build_candidates
from core.fusion.methods import METHODS, RRF_K, FusedRanking, fuse
from core.fusion.normalise import NORMALISATIONS, normalise
from core.fusion.prepared import DEFAULT_METRICS, PreparedFusion, list_metrics
from core.fusion.search import (
    ColdWeightSearch,
    WeightSearch,
    dirichlet_weights,
    pareto_front,
    search_cold_weights,
    search_weights,
    simplex_grid,
)

__all__ = [
    "DEFAULT_DEPTH",
    "DEFAULT_METRICS",
    "METHODS",
    "NORMALISATIONS",
    "RRF_K",
    "CandidateSet",
    "ColdWeightSearch",
    "FusedRanking",
    "FusionError",
    "PreparedFusion",
    "WeightSearch",
    "build_candidates",
    "dirichlet_weights",
    "fuse",
    "list_metrics",
    "normalise",
    "pareto_front",
    "search_cold_weights",
    "search_weights",
    "simplex_grid",
]
