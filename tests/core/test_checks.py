"""The shared parameter checks and declared constraints."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.checks import (
    Choice,
    Fraction,
    Positive,
    Satisfies,
    Whole,
    check_choice,
    check_fraction,
    check_half_life,
    check_positive,
    check_whole,
    random_generator,
    validate_params,
)
from core.errors import ModelError, ShopSynthError


def test_check_whole_accepts_integers_from_low_and_returns_int() -> None:
    assert check_whole("k", 3, 1, ModelError) == 3
    value = check_whole("k", np.int64(1), 1, ModelError)
    assert value == 1 and type(value) is int


@pytest.mark.parametrize("bad", [0, -2, 2.0, True, "3", None])
def test_check_whole_rejects(bad: object) -> None:
    with pytest.raises(ModelError, match=r"k must be a whole number >= 1"):
        check_whole("k", bad, 1, ModelError)


def test_check_positive_bounds() -> None:
    assert check_positive("alpha", 2, ModelError) == 2.0
    assert check_positive("alpha", 0, ModelError, allow_zero=True) == 0.0
    for bad in (0, -1.0, math.inf, math.nan, False, "1"):
        with pytest.raises(ModelError, match="alpha must be a finite number > 0"):
            check_positive("alpha", bad, ModelError)


def test_check_fraction_bounds() -> None:
    assert check_fraction("test_fraction", 0.2, ModelError, allow_zero=False) == 0.2
    assert check_fraction("valid_fraction", 0, ModelError, allow_zero=True) == 0.0
    with pytest.raises(ModelError, match=r"0 < test_fraction < 1"):
        check_fraction("test_fraction", 0, ModelError, allow_zero=False)
    with pytest.raises(ModelError, match=r"0 <= valid_fraction < 1"):
        check_fraction("valid_fraction", 1, ModelError, allow_zero=True)
    with pytest.raises(ModelError, match="between 0 and 1"):
        check_fraction("test_fraction", math.nan, ModelError, allow_zero=False)


def test_check_half_life_zero_and_none_mean_no_decay() -> None:
    assert check_half_life(None, ModelError) is None
    assert check_half_life(0, ModelError) is None
    assert check_half_life(7, ModelError) == 7.0
    for bad in (-1, math.inf, True, "7"):
        with pytest.raises(ModelError, match="half_life_days"):
            check_half_life(bad, ModelError)


def test_check_choice_names_the_choices() -> None:
    assert check_choice("method", "rrf", ("weighted", "rrf"), ModelError) == "rrf"
    with pytest.raises(ModelError, match="unknown method 'x': use one of weighted, rrf"):
        check_choice("method", "x", ("weighted", "rrf"), ModelError)


def test_random_generator_seeds_and_passes_generators_through() -> None:
    rng = np.random.default_rng(5)
    assert random_generator(rng) is rng
    assert random_generator(5).integers(1000) == np.random.default_rng(5).integers(1000)


def test_validate_params_checks_only_declared_names_and_raises_the_given_error() -> None:
    constraints = {
        "factors": Whole(1),
        "alpha": Positive(allow_zero=True),
        "regularization": Positive(optional=True),
        "share": Fraction(),
        "similarity": Choice(("cosine", "bm25")),
        "name": Satisfies(lambda value: isinstance(value, str) and value != "", "a non-empty text"),
    }
    good = {"factors": 8, "alpha": 0, "regularization": None, "share": 0.5, "similarity": "bm25"}
    validate_params({**good, "name": "x", "undeclared": object()}, constraints, ModelError)
    cases = [
        ({"factors": 0}, "factors must be a whole number >= 1"),
        ({"alpha": -1}, "alpha must be a finite number >= 0"),
        ({"share": 1.5}, "share must satisfy"),
        ({"similarity": "jaccard"}, "unknown similarity 'jaccard'"),
        ({"name": ""}, "name must be a non-empty text"),
    ]
    for params, message in cases:
        with pytest.raises(ModelError, match=message):
            validate_params({**good, **params}, constraints, ModelError)
    with pytest.raises(ShopSynthError):
        validate_params({"factors": -3}, constraints, ModelError)
