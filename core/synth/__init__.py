"""Synthetic data for search: queries and product descriptions, with their review.

:mod:`core.synth.store` (light) keeps the samples and review decisions in the workspace;
:mod:`core.synth.queries`, :mod:`core.synth.descriptions` and :mod:`core.synth.lm` generate them
and import torch and transformers, so import them where needed.
"""

from core.synth.store import (
    FLAGS,
    KINDS,
    STATUSES,
    SynthesisRun,
    accepted_descriptions,
    accepted_query_pairs,
    add_samples,
    edit_text,
    list_samples,
    sample_summary,
    set_status,
)

__all__ = [
    "FLAGS",
    "KINDS",
    "STATUSES",
    "SynthesisRun",
    "accepted_descriptions",
    "accepted_query_pairs",
    "add_samples",
    "edit_text",
    "list_samples",
    "sample_summary",
    "set_status",
]
