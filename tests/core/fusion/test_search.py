"""Weight search finds a planted weight; the simplex grid; the Pareto front by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from core.errors import FusionError
from core.fusion import (
    PreparedFusion,
    dirichlet_weights,
    pareto_front,
    search_weights,
    simplex_grid,
)
from tests.core.fusion.conftest import candidate_set

PLANTED = np.array([0.3, 0.7])


def planted_world(n_users: int = 300, width: int = 20):
    """Random scores in [0, 1]; each user's relevant item is the top one under PLANTED."""
    rng = np.random.default_rng(5)
    scores = rng.random((2, n_users, width)).astype(np.float32)
    # Items 0 and 1 hold each signal's 0 and 1, so min-max leaves every row as it is.
    scores[0, :, :2] = [1, 0]
    scores[1, :, :2] = [0, 1]
    best = np.tensordot(PLANTED, scores, axes=1).argmax(axis=1)
    relevant = sp.csr_matrix((np.ones(n_users), (np.arange(n_users), best)), shape=(n_users, width))
    return candidate_set(scores, n_items=width), relevant


def test_grid_search_finds_the_planted_weights() -> None:
    candidates, relevant = planted_world()
    prepared = PreparedFusion(candidates, relevant)
    steps: list[int] = []
    result = search_weights(
        prepared, metric="ndcg@1", metrics=["recall@5"], callback=lambda s, t, i: steps.append(t)
    )
    assert result.best_weights == pytest.approx({"A": 0.3, "B": 0.7})
    assert result.best_metrics["ndcg@1"] == 1.0
    assert len(result.sweep) == 11 and steps == [11] * 11
    assert list(result.sweep.columns) == ["weight_A", "weight_B", "ndcg@1", "recall@5", "feasible"]
    # The neighbours on the grid do worse.
    others = result.sweep[~np.isclose(result.sweep["weight_A"], 0.3)]
    assert others["ndcg@1"].max() < 1.0


def test_random_search_and_floors() -> None:
    candidates, relevant = planted_world()
    prepared = PreparedFusion(candidates, relevant)
    result = search_weights(prepared, strategy="random", n_samples=100, metric="ndcg@1")
    assert len(result.sweep) == 2 + 1 + 100  # corners, centre, draws
    assert result.best_weights["A"] == pytest.approx(0.3, abs=0.05)
    impossible = search_weights(prepared, metric="ndcg@1", floors={"recall@1": 1.5})
    assert impossible.best_weights is None and not impossible.sweep["feasible"].any()
    # A floor on another metric moves the best point to the best row that meets it.
    floor = float(impossible.sweep["recall@1"].quantile(0.2))
    bounded = search_weights(prepared, metric="ndcg@1", floors={"recall@1": floor})
    feasible = bounded.sweep[bounded.sweep["feasible"]]
    assert bounded.best_metrics["ndcg@1"] == feasible["ndcg@1"].max()


def test_simplex_grid() -> None:
    grid = simplex_grid(4, 0.1)
    assert grid.shape == (286, 4)
    np.testing.assert_allclose(grid.sum(axis=1), 1)
    np.testing.assert_allclose(grid * 10, np.round(grid * 10))
    assert len({tuple(row) for row in np.round(grid * 10).astype(int)}) == 286
    np.testing.assert_allclose(simplex_grid(2, 0.5), [[1, 0], [0.5, 0.5], [0, 1]])
    with pytest.raises(FusionError, match="step"):
        simplex_grid(3, 0.3)


def test_dirichlet_weights() -> None:
    weights = dirichlet_weights(3, 5, random_state=1)
    np.testing.assert_allclose(weights[:4], [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1 / 3] * 3])
    np.testing.assert_allclose(weights.sum(axis=1), 1)
    np.testing.assert_array_equal(weights, dirichlet_weights(3, 5, random_state=1))


def test_pareto_front_by_hand() -> None:
    frame = pd.DataFrame(
        {
            "name": ["a", "b", "c", "d", "e", "f", "g"],
            "ndcg": [1, 2, 3, 2, 1, 3, 0.5],
            "coverage": [5, 4, 3, 2, 4, 3, 5],
        }
    )
    # d is beaten by b, e by a, g by a (same coverage, better ndcg); c and f are equal.
    front = pareto_front(frame, "ndcg", "coverage")
    assert front["name"].tolist() == ["a", "b", "c", "f"]
    # Lower is better on y: the front keeps the best ndcg at each smaller coverage.
    low = pareto_front(frame, "ndcg", "coverage", maximise=(True, False))
    assert low["name"].tolist() == ["d", "c", "f"]
    with pytest.raises(FusionError, match="no column"):
        pareto_front(frame, "ndcg", "diversity")
