"""Checks of parameter values shared by every module, and declared constraints per estimator.

Each check returns the value in its canonical type or raises the error type the caller names
(a :class:`~core.errors.ShopSynthError` subclass), with a message that says what to give
instead. An estimator declares its hyperparameters once, scikit-learn style, as a mapping
``_parameter_constraints = {"factors": Whole(1), "alpha": Positive(allow_zero=True), ...}``
and :func:`validate_params` checks them all in ``fit``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import ShopSynthError

RandomState = int | np.random.Generator | None
ErrorType = type[ShopSynthError]


def random_generator(random_state: RandomState) -> np.random.Generator:
    """A numpy Generator from a seed, None (fresh entropy) or a Generator (used as is)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Real)


def check_whole(name: str, value: Any, low: int, error: ErrorType) -> int:
    """``value`` as an int if it is a whole number ``>= low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise error(f"{name} must be a whole number >= {low}, not {value!r}")
    return int(value)


def check_positive(name: str, value: Any, error: ErrorType, *, allow_zero: bool = False) -> float:
    """``value`` as a float if it is a finite number ``> 0`` (``>= 0`` with ``allow_zero``)."""
    if (
        not _is_number(value)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not allow_zero)
    ):
        bound = ">= 0" if allow_zero else "> 0"
        raise error(f"{name} must be a finite number {bound}, not {value!r}")
    return float(value)


def check_fraction(name: str, value: Any, error: ErrorType, *, allow_zero: bool) -> float:
    """``value`` as a float if ``0 < value < 1`` (``0 <= value < 1`` with ``allow_zero``)."""
    if not _is_number(value) or not math.isfinite(value):
        raise error(f"{name} must be a number between 0 and 1, not {value!r}")
    if not (0 <= value < 1) or (value == 0 and not allow_zero):
        low = "0 <=" if allow_zero else "0 <"
        raise error(f"{name} must satisfy {low} {name} < 1, not {value}")
    return float(value)


def check_half_life(value: Any, error: ErrorType) -> float | None:
    """A half-life in days as a float, or None for no decay (given as None or 0)."""
    if value is None or (_is_number(value) and value == 0):
        return None
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise error(
            f"half_life_days must be a number of days > 0 (None or 0: no decay), not {value!r}"
        )
    return float(value)


def check_choice(name: str, value: Any, choices: Sequence[str], error: ErrorType) -> str:
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        raise error(f"unknown {name} {value!r}: use one of {', '.join(map(str, choices))}")
    return value


# Declared constraints ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Whole:
    """A whole number ``>= low`` (None allowed with ``optional``)."""

    low: int = 0
    optional: bool = False

    def check(self, name: str, value: Any, error: ErrorType) -> Any:
        if value is None and self.optional:
            return None
        return check_whole(name, value, self.low, error)


@dataclass(frozen=True)
class Positive:
    """A finite number ``> 0`` (``>= 0`` with ``allow_zero``; None allowed with ``optional``)."""

    allow_zero: bool = False
    optional: bool = False

    def check(self, name: str, value: Any, error: ErrorType) -> Any:
        if value is None and self.optional:
            return None
        return check_positive(name, value, error, allow_zero=self.allow_zero)


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of values."""

    choices: tuple[Any, ...]

    def check(self, name: str, value: Any, error: ErrorType) -> Any:
        return check_choice(name, value, self.choices, error)


@dataclass(frozen=True)
class Satisfies:
    """Any value ``test`` accepts; ``what`` completes "must be ..." in the message."""

    test: Callable[[Any], bool]
    what: str

    def check(self, name: str, value: Any, error: ErrorType) -> Any:
        if not self.test(value):
            raise error(f"{name} must be {self.what}, not {value!r}")
        return value


@dataclass(frozen=True)
class Fraction:
    """A number ``0 < value < 1`` (``0 <= value < 1`` with ``allow_zero``)."""

    allow_zero: bool = False

    def check(self, name: str, value: Any, error: ErrorType) -> Any:
        return check_fraction(name, value, error, allow_zero=self.allow_zero)


Constraint = Whole | Positive | Fraction | Choice | Satisfies


def validate_params(
    params: Mapping[str, Any], constraints: Mapping[str, Constraint], error: ErrorType
) -> None:
    """Check each value of ``params`` that ``constraints`` names; ``error`` on the first bad one."""
    for name, constraint in constraints.items():
        if name in params:
            constraint.check(name, params[name], error)
