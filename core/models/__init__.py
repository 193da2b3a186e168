"""Recommenders sharing one contract (see :mod:`core.models.base`)."""
