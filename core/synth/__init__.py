"""Synthetic data for search and recommendation: queries, product descriptions, interactions.

:mod:`core.synth.store` (light) keeps the text samples and their review decisions in the
workspace; :mod:`core.synth.queries` and :mod:`core.synth.descriptions` generate them, with the
template baseline or a small language model (:mod:`core.synth.lm`, trained by
:mod:`core.synth.lm_training`, kept by :mod:`core.synth.lm_store`), which import torch and
transformers only where they use them. :mod:`core.synth.interactions` generates and keeps
synthetic interactions for cold-start products, and :mod:`core.synth.quality` compares
synthetic data with real data.
"""
