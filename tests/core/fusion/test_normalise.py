"""Normalisations by hand: values, ties, zero range, missing entries."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.errors import FusionError
from core.fusion import normalise
from core.fusion.normalise import tie_counts

NAN = np.nan


def test_minmax() -> None:
    scores = np.array([[1, 3, NAN, 2], [4, 4, NAN, NAN], [NAN, NAN, NAN, NAN], [7, NAN, NAN, NAN]])
    np.testing.assert_allclose(
        normalise(scores, "minmax"),
        # Missing -> 0; a row of equal values and a row of one value -> all 0.
        [[0, 1, 0, 0.5], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
    )


def test_zscore() -> None:
    scores = np.array([[1, 3, NAN, 2], [4, 4, 4, NAN], [NAN, NAN, NAN, NAN]])
    z = 1 / math.sqrt(2 / 3)  # mean 2, population std sqrt(2/3)
    np.testing.assert_allclose(
        normalise(scores, "zscore"),
        # Missing -> the row's smallest z-score; std 0 -> 0; no value at all -> 0.
        [[-z, z, -z, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
        rtol=1e-6,
    )


def test_rank() -> None:
    scores = np.array([[1, 3, NAN, 2], [2, 2, 1, NAN], [5, NAN, NAN, NAN], [4, 4, 4, 4]])
    np.testing.assert_allclose(
        normalise(scores, "rank"),
        # Share of the other valid entries scoring strictly lower.
        [[0, 1, 0, 0.5], [0.5, 0.5, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
    )


def test_tie_counts_and_leading_axes() -> None:
    lower, higher, n_valid = tie_counts(np.array([[3.0, 1.0, 3.0, NAN, 2.0]]))
    np.testing.assert_array_equal(lower, [[2, 0, 2, 0, 1]])
    np.testing.assert_array_equal(higher, [[0, 3, 0, 0, 2]])
    np.testing.assert_array_equal(n_valid, [4])
    stacked = np.array([[[1, 3, 2]], [[3, 2, 1]]], dtype=np.float32)  # (s, n, c)
    np.testing.assert_allclose(normalise(stacked, "rank"), [[[0, 1, 0.5]], [[1, 0.5, 0]]])


def test_infinite_scores_count_as_missing_and_unknown_method() -> None:
    np.testing.assert_allclose(normalise(np.array([[1, np.inf, 3]]), "minmax"), [[0, 0, 1]])
    with pytest.raises(FusionError, match="unknown normalisation"):
        normalise(np.zeros((1, 2)), "softmax")
