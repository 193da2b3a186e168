"""The error every fusion function raises for input it cannot use."""

from __future__ import annotations

from core.schema import ShopSynthError


class FusionError(ShopSynthError, ValueError):
    """Bad candidates, weights, method or normalisation name, or an unfitted gate."""
