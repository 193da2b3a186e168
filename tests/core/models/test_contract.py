"""The Recommender contract, checked against every registered model, and the shared top-k.

Each model is fitted on the checker board of ``conftest.py`` (with the catalogue, for content
models) and must: return ``(n, k)`` int64 items and float32 scores; rank a batch exactly as it
ranks each user alone; honour ``exclude_seen``; pad lists longer than the rankable catalogue
with ``-1`` / ``-inf``; give finite scores to users unseen in training from their history;
fit identically twice under the same ``random_state``; and score identically after a
save/load round trip.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import numpy as np
import pytest

import core.models
from core.errors import ModelError
from core.metrics.ranking import top_k
from core.models.base import Recommender
from core.models.registry import available_models, read_model

from .conftest import N_ITEMS, N_USERS, CheckerBoard, model_param, new_model, start_engine

MODEL_NAMES = sorted(available_models())
MODEL_PARAMS = [model_param(name) for name in MODEL_NAMES]
ALL_USERS = np.arange(N_USERS)


@pytest.fixture(scope="module", params=MODEL_PARAMS)
def fitted(request: pytest.FixtureRequest, checker_board: CheckerBoard) -> Recommender:
    """Each registered model, fitted once per module on the checker board."""
    start_engine(request.param, request)
    model = new_model(request.param)
    return model.fit(checker_board.train, catalog=checker_board.catalog)


def _seen(board: CheckerBoard, user: int) -> set[int]:
    matrix = board.train.matrix
    return set(matrix.indices[matrix.indptr[user] : matrix.indptr[user + 1]].tolist())


def _n_rankable(model: Recommender, board: CheckerBoard, user: int) -> int:
    """Items a full list of ``user`` holds: none for a history-based model and no history."""
    seen = _seen(board, user)
    if not seen and not model.ranks_without_history:
        return 0
    return N_ITEMS - len(seen)


def test_every_model_is_registered_under_its_name() -> None:
    models = available_models()
    assert {"popularity", "item_knn", "als", "bpr"} <= set(models)
    assert all(model_class.name == name for name, model_class in models.items())


def test_every_model_class_in_the_package_is_listed() -> None:
    """A model written in a new module must be added to core.models.registry.MODELS."""
    found = set()
    for module in pkgutil.iter_modules(core.models.__path__):
        for _, value in inspect.getmembers(importlib.import_module(f"core.models.{module.name}")):
            model = inspect.isclass(value) and issubclass(value, Recommender)
            if model and not inspect.isabstract(value):
                found.add(value)
    assert found == set(available_models().values())


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_constraints_name_hyperparameters(name: str) -> None:
    model_class = available_models()[name]
    assert model_class._parameter_constraints
    assert set(model_class._parameter_constraints) <= set(model_class._param_names())


def test_shapes_and_dtypes(fitted: Recommender) -> None:
    idx, scores = fitted.recommend(ALL_USERS, 5)
    assert idx.shape == (N_USERS, 5) and idx.dtype == np.int64
    assert scores.shape == (N_USERS, 5) and scores.dtype == np.float32
    full = fitted.score(ALL_USERS)
    assert full.shape == (N_USERS, N_ITEMS) and full.dtype == np.float32
    assert fitted.score(3).shape == (1, N_ITEMS)
    items = np.array([4, 0, 7])
    part = fitted.score(ALL_USERS, items)
    assert part.shape == (N_USERS, 3)
    np.testing.assert_allclose(part, full[:, items], rtol=1e-6, atol=1e-6)


def test_batch_equals_one_by_one(fitted: Recommender) -> None:
    batch_idx, batch_scores = fitted.recommend(ALL_USERS, 7)
    small_idx, small_scores = fitted.recommend(ALL_USERS, 7, batch_size=3)
    np.testing.assert_array_equal(small_idx, batch_idx)
    np.testing.assert_allclose(small_scores, batch_scores, rtol=1e-6, atol=1e-6)
    full = fitted.score(ALL_USERS)
    for user in ALL_USERS:
        idx, scores = fitted.recommend(user, 7)
        np.testing.assert_array_equal(idx[0], batch_idx[user])
        np.testing.assert_allclose(scores[0], batch_scores[user], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(fitted.score(user)[0], full[user], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("exclude_seen", [True, False])
def test_recommend_is_the_top_of_score(
    fitted: Recommender, checker_board: CheckerBoard, exclude_seen: bool
) -> None:
    k = 6
    idx, scores = fitted.recommend(ALL_USERS, k, exclude_seen=exclude_seen)
    full = fitted.score(ALL_USERS).astype(np.float64)
    for user in ALL_USERS:
        allowed = np.ones(N_ITEMS, dtype=bool)
        if exclude_seen:
            allowed[list(_seen(checker_board, user))] = False
        valid = idx[user] >= 0
        np.testing.assert_allclose(scores[user][valid], full[user, idx[user][valid]], atol=1e-5)
        assert np.all(np.diff(scores[user][valid]) <= 0)
        assert allowed[idx[user][valid]].all()
        rest = allowed.copy()
        rest[idx[user][valid]] = False
        if valid.all() and rest.any():
            assert full[user, rest].max() <= scores[user, -1] + 1e-5


def test_exclude_seen_and_no_repeats(fitted: Recommender, checker_board: CheckerBoard) -> None:
    idx, scores = fitted.recommend(ALL_USERS, N_ITEMS)
    for user in ALL_USERS:
        seen = _seen(checker_board, user)
        valid = idx[user] >= 0
        items = idx[user][valid]
        assert not seen & set(items.tolist())
        assert len(set(items.tolist())) == len(items)
        assert valid.sum() == _n_rankable(fitted, checker_board, user)
        assert np.isfinite(scores[user][valid]).all()
    kept_idx, _ = fitted.recommend(ALL_USERS, N_ITEMS, exclude_seen=False)
    for user in ALL_USERS:
        if _n_rankable(fitted, checker_board, user):
            assert sorted(kept_idx[user].tolist()) == list(range(N_ITEMS))
        else:
            assert (kept_idx[user] == -1).all()


def test_k_larger_than_catalogue_pads(fitted: Recommender, checker_board: CheckerBoard) -> None:
    k = N_ITEMS + 5
    idx, scores = fitted.recommend(ALL_USERS, k)
    assert idx.shape == (N_USERS, k) and scores.shape == (N_USERS, k)
    for user in ALL_USERS:
        n_valid = _n_rankable(fitted, checker_board, user)
        assert (idx[user, :n_valid] >= 0).all()
        assert (idx[user, n_valid:] == -1).all()
        assert np.isneginf(scores[user, n_valid:]).all()
        assert np.isfinite(scores[user, :n_valid]).all()


def test_users_unseen_in_training(fitted: Recommender, checker_board: CheckerBoard) -> None:
    users, history = checker_board.cold_users, checker_board.cold_history
    assert fitted.train_[users].nnz == 0
    assert np.isfinite(fitted.score(users)).all()
    scores = fitted.score_history(history)
    assert scores.shape == (len(users), N_ITEMS)
    assert np.isfinite(scores).all()
    idx, top = fitted.recommend(users, N_ITEMS, history=history)
    for row in range(len(users)):
        given = set(history.indices[history.indptr[row] : history.indptr[row + 1]].tolist())
        valid = idx[row] >= 0
        assert valid.sum() == N_ITEMS - len(given)
        assert not given & set(idx[row][valid].tolist())
        assert np.isfinite(top[row][valid]).all()
    one_idx, _ = fitted.recommend(users[1], N_ITEMS, history=history[1])
    np.testing.assert_array_equal(one_idx[0], idx[1])


def test_empty_history_gets_a_list_only_from_history_free_models(
    fitted: Recommender, checker_board: CheckerBoard
) -> None:
    users = checker_board.cold_users
    idx, scores = fitted.recommend(users, 5)
    if fitted.ranks_without_history:
        assert (idx >= 0).all() and np.isfinite(scores).all()
    else:
        assert (idx == -1).all() and np.isneginf(scores).all()


@pytest.mark.parametrize("name", MODEL_PARAMS)
def test_same_random_state_same_model(
    name: str, checker_board: CheckerBoard, request: pytest.FixtureRequest
) -> None:
    start_engine(name, request)
    first = new_model(name).fit(checker_board.train, catalog=checker_board.catalog)
    second = new_model(name).fit(checker_board.train, catalog=checker_board.catalog)
    np.testing.assert_array_equal(first.score(ALL_USERS), second.score(ALL_USERS), name)
    np.testing.assert_array_equal(
        first.recommend(ALL_USERS, 5)[0], second.recommend(ALL_USERS, 5)[0], name
    )


def test_save_load_round_trip(
    fitted: Recommender, checker_board: CheckerBoard, tmp_path: Path
) -> None:
    folder = fitted.save(tmp_path / "model")
    assert {p.name for p in folder.iterdir()} == {"params.json", "state.npz", "meta.json"}
    with np.load(folder / "state.npz", allow_pickle=False) as npz:
        assert all(npz[key].dtype != object for key in npz.files)
    loaded = read_model(folder)
    assert type(loaded) is type(fitted)
    assert type(type(fitted).load(folder)) is type(fitted)
    other = next(model for model in available_models().values() if model is not type(fitted))
    with pytest.raises(ModelError, match=f"holds a model '{fitted.name}'"):
        other.load(folder)
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.item_ids_, fitted.item_ids_)
    np.testing.assert_array_equal(loaded.score(ALL_USERS), fitted.score(ALL_USERS))
    history = checker_board.cold_history
    np.testing.assert_array_equal(loaded.score_history(history), fitted.score_history(history))
    for k in (3, N_ITEMS + 2):
        for expected, actual in zip(
            fitted.recommend(ALL_USERS, k), loaded.recommend(ALL_USERS, k), strict=True
        ):
            np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("name", MODEL_PARAMS)
def test_progress_callback_reaches_the_end(
    name: str, checker_board: CheckerBoard, request: pytest.FixtureRequest
) -> None:
    start_engine(name, request)
    calls: list[tuple[int, int, str]] = []
    new_model(name).fit(
        checker_board.train,
        catalog=checker_board.catalog,
        callback=lambda step, total, info, calls=calls: calls.append((step, total, info)),
    )
    assert calls, name
    steps = [step for step, _, _ in calls]
    assert steps == sorted(steps), name
    assert all(0 <= step <= total for step, total, _ in calls), name
    assert calls[-1][0] == calls[-1][1], name


@pytest.mark.parametrize("name", MODEL_PARAMS)
def test_unfitted_and_bad_k_raise(
    name: str, checker_board: CheckerBoard, request: pytest.FixtureRequest
) -> None:
    start_engine(name, request)
    model = new_model(name)
    with pytest.raises(ModelError, match="not fitted"):
        model.recommend(ALL_USERS, 3)
    with pytest.raises(ModelError, match="not fitted"):
        model.score(ALL_USERS)
    model.fit(checker_board.train, catalog=checker_board.catalog)
    with pytest.raises(ModelError, match="k must be at least 1"):
        model.recommend(ALL_USERS, 0)
    with pytest.raises(ModelError, match="out of range"):
        model.recommend(np.array([N_USERS]), 3)


# top_k ------------------------------------------------------------------------------------


def test_top_k_breaks_ties_by_lower_index() -> None:
    scores = np.array([[1.0, 3.0, 3.0, 2.0], [0.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    idx, values = top_k(scores, 2)
    np.testing.assert_array_equal(idx, [[1, 2], [0, 1]])
    np.testing.assert_array_equal(values, [[3.0, 3.0], [0.0, 0.0]])
    idx, values = top_k(scores, 3)
    np.testing.assert_array_equal(idx, [[1, 2, 3], [0, 1, 2]])
    np.testing.assert_array_equal(values, [[3.0, 3.0, 2.0], [0.0, 0.0, 0.0]])


def test_top_k_tie_straddling_the_cut() -> None:
    scores = np.array([[2.0, 5.0, 2.0, 1.0, 2.0]], dtype=np.float32)
    idx, values = top_k(scores, 2)
    np.testing.assert_array_equal(idx, [[1, 0]])
    np.testing.assert_array_equal(values, [[5.0, 2.0]])
    idx, _ = top_k(scores, 3)
    np.testing.assert_array_equal(idx, [[1, 0, 2]])


def test_top_k_pads_excluded_and_missing_items() -> None:
    scores = np.array([[-np.inf, 2.0, np.nan, 1.0]], dtype=np.float32)
    idx, values = top_k(scores, 4)
    np.testing.assert_array_equal(idx, [[1, 3, -1, -1]])
    np.testing.assert_array_equal(values, [[2.0, 1.0, -np.inf, -np.inf]])
    idx, values = top_k(np.array([[1.0, 2.0]], dtype=np.float32), 4)
    np.testing.assert_array_equal(idx, [[1, 0, -1, -1]])
    np.testing.assert_array_equal(values, [[2.0, 1.0, -np.inf, -np.inf]])
    idx, values = top_k(np.zeros((0, 3), dtype=np.float32), 2)
    assert idx.shape == (0, 2) and values.shape == (0, 2)


def test_top_k_row_alone_equals_row_in_batch() -> None:
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 4, size=(20, 15)).astype(np.float32)
    batch_idx, batch_values = top_k(scores, 5)
    for row in range(len(scores)):
        idx, values = top_k(scores[row : row + 1], 5)
        np.testing.assert_array_equal(idx[0], batch_idx[row])
        np.testing.assert_array_equal(values[0], batch_values[row])
        expected = sorted(range(15), key=lambda col, row=row: (-scores[row, col], col))[:5]
        np.testing.assert_array_equal(batch_idx[row], expected)
