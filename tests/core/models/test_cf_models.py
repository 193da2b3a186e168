"""Collaborative-filtering models against values computed independently of implicit's code."""

from __future__ import annotations

import implicit.gpu
import numpy as np
import pytest
import scipy.sparse as sp
import threadpoolctl

from core.data.interactions import Interactions
from core.errors import ModelError
from core.models.als import ALS
from core.models.base import Recommender
from core.models.bpr import BPR
from core.models.knn import ItemKNN
from core.models.popularity import Popularity
from core.models.registry import available_models, make_model

from .conftest import COLD_ITEM, N_USERS, CheckerBoard

DAY = np.timedelta64(1, "D")
START = np.datetime64("2024-03-01T00:00:00", "s")


def _tiny(
    rows: list[int], cols: list[int], weights: list[float], days: list[float | None]
) -> Interactions:
    """Interactions from entries sorted by (row, col); ``None`` days have no timestamp."""
    stamps = np.array(
        [np.datetime64("NaT", "s") if d is None else START + int(d * 86_400) for d in days],
        dtype="datetime64[s]",
    )
    return Interactions.from_arrays(
        [f"u{u}" for u in range(max(rows) + 1)],
        [f"i{i}" for i in range(4)],
        np.asarray(rows),
        np.asarray(cols),
        np.asarray(weights, dtype=np.float32),
        stamps,
    )


# u0: i0 (w1, day 1), i1 (w2, day 10); u1: i1 (w1, day 9), i2 (w4, day 2); u2: i1, i3 (day 10).
POPULARITY_DATA = (
    [0, 0, 1, 1, 2, 2],
    [0, 1, 1, 2, 1, 3],
    [1, 2, 1, 4, 1, 1],
    [1, 10, 9, 2, 10, 10],
)


# Popularity -------------------------------------------------------------------------------


def test_popularity_counts_users_and_breaks_ties_by_lower_index() -> None:
    model = Popularity().fit(_tiny(*POPULARITY_DATA))
    np.testing.assert_array_equal(model.score(0), [[1, 3, 1, 1]])
    idx, scores = model.recommend(np.array([0, 1]), 3)
    # u0 saw i0, i1: i2 and i3 tie at 1, lower index first; u1 saw i1, i2.
    np.testing.assert_array_equal(idx, [[2, 3, -1], [0, 3, -1]])
    np.testing.assert_array_equal(scores, [[1, 1, -np.inf], [1, 1, -np.inf]])


def test_popularity_weights_and_recent_window() -> None:
    weighted = Popularity(use_weights=True).fit(_tiny(*POPULARITY_DATA))
    np.testing.assert_array_equal(weighted.popularity_, [1, 4, 4, 1])
    # Latest event day 10; a 2-day window keeps days >= 8: u0-i1, u1-i1, u2-i1, u2-i3.
    recent = Popularity(window_days=2).fit(_tiny(*POPULARITY_DATA))
    np.testing.assert_array_equal(recent.popularity_, [0, 3, 0, 1])
    rows, cols, weights, days = POPULARITY_DATA
    undated = Popularity(window_days=2).fit(_tiny(rows, cols, weights, [*days[:5], None]))
    np.testing.assert_array_equal(undated.popularity_, [0, 3, 0, 0])


def test_popularity_ignores_history() -> None:
    model = Popularity().fit(_tiny(*POPULARITY_DATA))
    history = sp.csr_matrix(np.array([[0, 0, 0, 0], [5, 0, 1, 0]], dtype=np.float32))
    np.testing.assert_array_equal(model.score_history(history), [[1, 3, 1, 1], [1, 3, 1, 1]])
    np.testing.assert_array_equal(model.score_history(history, np.array([3, 1])), [[1, 3]] * 2)


@pytest.mark.parametrize("window", [0, -1.5, float("nan"), "7", True])
def test_popularity_rejects_bad_windows(window: object) -> None:
    with pytest.raises(ModelError, match="window_days"):
        Popularity(window_days=window).fit(_tiny(*POPULARITY_DATA))  # type: ignore[arg-type]


def test_popularity_window_needs_timestamps() -> None:
    rows, cols, weights, _ = POPULARITY_DATA
    data = _tiny(rows, cols, weights, [None] * 6)
    with pytest.raises(ModelError, match="no timestamps"):
        Popularity(window_days=3).fit(data)
    np.testing.assert_array_equal(Popularity().fit(data).popularity_, [1, 3, 1, 1])


# Item kNN ---------------------------------------------------------------------------------


def _random_interactions(n_users: int, n_items: int, seed: int) -> Interactions:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < 0.4) * rng.integers(1, 4, (n_users, n_items))
    dense[:, 0] = np.maximum(dense[:, 0], 1)  # every user has an item
    rows, cols = np.nonzero(dense)
    return Interactions.from_arrays(
        [f"u{u}" for u in range(n_users)],
        [f"i{i}" for i in range(n_items)],
        rows,
        cols,
        dense[rows, cols].astype(np.float32),
        np.full(len(rows), START, dtype="datetime64[s]"),
    )


def _expected_similarity(counts: np.ndarray, similarity: str) -> np.ndarray:
    """Item x item similarity with every neighbour kept, from the formulas in numpy."""
    items = counts.T.astype(np.float64)  # items x users
    idf = np.log(items.shape[0]) - np.log1p((items > 0).sum(axis=0))
    if similarity == "cosine":
        vectors = items / np.linalg.norm(items, axis=1, keepdims=True)
    elif similarity == "tfidf":
        vectors = np.sqrt(items) * idf
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    else:
        k1, b = 1.2, 0.75
        length = items.sum(axis=1)
        norm = (1 - b) + b * length / length.mean()
        vectors = np.where(items > 0, items * (k1 + 1) / (k1 * norm[:, None] + items) * idf, 0)
    return vectors @ vectors.T


def test_knn_cosine_by_hand() -> None:
    # Items as user vectors: i0 = (1, 1, 0), i1 = (1, 0, 1), i2 = (0, 1, 1): every cosine is 1/2.
    data = Interactions.from_arrays(
        ["a", "b", "c"],
        ["x", "y", "z"],
        np.array([0, 0, 1, 1, 2, 2]),
        np.array([0, 1, 0, 2, 1, 2]),
        np.ones(6, dtype=np.float32),
        np.full(6, START, dtype="datetime64[s]"),
    )
    model = ItemKNN(k_neighbours=3).fit(data)
    np.testing.assert_allclose(
        model.similarity_.toarray(), [[1, 0.5, 0.5], [0.5, 1, 0.5], [0.5, 0.5, 1]], rtol=1e-6
    )
    # History (2 x item x) scores 2 * row x of S.
    history = sp.csr_matrix(np.array([[2.0, 0.0, 0.0]], dtype=np.float32))
    np.testing.assert_allclose(model.score_history(history), [[2.0, 1.0, 1.0]], rtol=1e-6)


@pytest.mark.parametrize("similarity", ["cosine", "tfidf", "bm25"])
def test_knn_scores_are_history_times_similarity(similarity: str) -> None:
    data = _random_interactions(12, 9, seed=4)
    model = ItemKNN(similarity=similarity, k_neighbours=9).fit(data)
    expected = _expected_similarity(data.matrix.toarray(), similarity)
    np.testing.assert_allclose(model.similarity_.toarray(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        model.score(np.arange(12)), data.matrix.toarray() @ expected, rtol=1e-4, atol=1e-5
    )


def test_knn_keeps_k_neighbours_per_item() -> None:
    data = _random_interactions(30, 20, seed=5)
    model = ItemKNN(k_neighbours=4).fit(data)
    assert np.diff(model.similarity_.indptr).max() == 4
    full = _expected_similarity(data.matrix.toarray(), "cosine")
    for item in range(20):
        kept = model.similarity_[item].toarray()[0]
        # The kept values are the item's 4 largest similarities.
        np.testing.assert_allclose(np.sort(kept[kept != 0]), np.sort(full[item])[-4:], rtol=1e-5)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"similarity": "jaccard"}, "unknown similarity"),
        ({"k_neighbours": 0}, "k_neighbours"),
        ({"similarity": "bm25", "bm25_b": -1.0}, "bm25_b"),
    ],
)
def test_knn_rejects_bad_hyperparameters(params: dict[str, object], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        ItemKNN(**params).fit(_random_interactions(5, 4, seed=0))  # type: ignore[arg-type]


# ALS and BPR ------------------------------------------------------------------------------


def test_als_score_uses_learned_factors(checker_board: CheckerBoard) -> None:
    model = ALS(factors=6, iterations=5).fit(checker_board.train)
    users = np.arange(N_USERS)
    np.testing.assert_allclose(
        model.score(users), model.user_factors_ @ model.item_factors_.T, rtol=1e-5, atol=1e-6
    )
    # Users without training interactions have zero factors.
    np.testing.assert_array_equal(model.user_factors_[checker_board.cold_users], 0)


@pytest.mark.parametrize("alpha", [1.0, 4.0])
def test_als_fold_in_is_the_least_squares_solution(
    checker_board: CheckerBoard, alpha: float
) -> None:
    model = ALS(factors=5, regularization=0.3, alpha=alpha, iterations=8).fit(checker_board.train)
    history = checker_board.cold_history.toarray()
    history[0, 2] = 3.0  # a weight above 1
    y = model.item_factors_.astype(np.float64)
    expected = []
    for row in history:
        confidence = alpha * row
        seen = row > 0
        a = y.T @ y + (y[seen].T * (confidence[seen] - 1)) @ y[seen] + 0.3 * np.eye(5)
        x = np.linalg.solve(a, y[seen].T @ confidence[seen])
        expected.append(y @ x)
    actual = model.score_history(sp.csr_matrix(history))
    np.testing.assert_allclose(actual, np.array(expected), rtol=1e-3, atol=1e-5)


def test_als_fold_in_of_a_training_row_is_close_to_its_factors(
    checker_board: CheckerBoard,
) -> None:
    model = ALS(factors=6, regularization=0.1, iterations=30).fit(checker_board.train)
    learned = model.score(np.arange(5))
    folded = model.score_history(checker_board.train.matrix[:5])
    np.testing.assert_allclose(folded, learned, atol=0.05)


@pytest.mark.parametrize("model_class", [ALS, BPR])
def test_fast_ranking_equals_the_dense_definition(model_class: type) -> None:
    data = _random_interactions(60, 25, seed=7)
    model = model_class(factors=4, iterations=5).fit(data)
    model.user_factors_[3] = 0  # all-tied scores: ties go to the lower item index
    model._set_state(*model._state())
    users = np.array([5, 3, 0, 59, 3])
    for k in (1, 4, 25, 30):
        for exclude_seen in (True, False):
            fast = model.recommend(users, k, exclude_seen)
            dense = Recommender.recommend(model, users, k, exclude_seen)
            np.testing.assert_array_equal(fast[0], dense[0])
            np.testing.assert_allclose(fast[1], dense[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("model_class", [ALS, BPR, ItemKNN])
def test_models_recommend_the_users_own_parity(
    checker_board: CheckerBoard, model_class: type
) -> None:
    params = {"factors": 8, "regularization": 0.1, "alpha": 1.0} if model_class is ALS else {}
    model = model_class(**params).fit(checker_board.train)
    warm = np.arange(N_USERS - len(checker_board.cold_users))
    # A warm user's only unseen item of their parity is their "diagonal" item: it comes first
    # (user 29's diagonal is the cold item, never of anyone's parity in training).
    warm = warm[warm != COLD_ITEM]
    idx, _ = model.recommend(warm, 1)
    np.testing.assert_array_equal(idx[:, 0], warm % 30)
    # Cold users: 0 and 2 have even histories, 1 and 3 odd ones.
    idx, _ = model.recommend(checker_board.cold_users, 3, history=checker_board.cold_history)
    assert (idx % 2 == (checker_board.cold_users % 2)[:, None]).mean() > 0.9


def test_als_is_deterministic_across_thread_counts(checker_board: CheckerBoard) -> None:
    one = ALS(factors=6, iterations=5, num_threads=1).fit(checker_board.train)
    two = ALS(factors=6, iterations=5, num_threads=2).fit(checker_board.train)
    np.testing.assert_array_equal(one.item_factors_, two.item_factors_)
    np.testing.assert_array_equal(one.user_factors_, two.user_factors_)


def test_bpr_layout_and_fold_in(checker_board: CheckerBoard) -> None:
    model = BPR(factors=6, iterations=20).fit(checker_board.train)
    assert model.item_factors_.shape == (30, 7)
    np.testing.assert_array_equal(model.user_factors_[:, -1], 1)
    history = checker_board.cold_history
    vectors = model.item_factors_
    expected = []
    for row in history.toarray():
        user = np.append(vectors[row > 0, :-1].mean(axis=0), 1.0)
        expected.append(vectors @ user)
    np.testing.assert_allclose(model.score_history(history), expected, rtol=1e-5, atol=1e-6)
    # An empty history ranks by the item biases.
    empty = sp.csr_matrix((1, 30), dtype=np.float32)
    np.testing.assert_allclose(model.score_history(empty)[0], vectors[:, -1], rtol=1e-6)


@pytest.mark.parametrize("model_class", [ALS, BPR])
def test_fit_reports_every_iteration_with_blas_single_threaded(
    checker_board: CheckerBoard, model_class: type
) -> None:
    calls: list[tuple[int, int, str]] = []
    blas_threads: list[int] = []

    def callback(step: int, total: int, info: str) -> None:
        calls.append((step, total, info))
        blas_threads.extend(
            pool["num_threads"]
            for pool in threadpoolctl.threadpool_info()
            if pool["user_api"] == "blas"
        )

    model_class(factors=4, iterations=6).fit(checker_board.train, callback=callback)
    assert [step for step, _, _ in calls] == list(range(7))
    assert {total for _, total, _ in calls} == {6}
    assert blas_threads and set(blas_threads[len(blas_threads) // 7 :]) == {1}
    if model_class is BPR:
        assert "ranked right" in calls[-1][2]


@pytest.mark.skipif(implicit.gpu.HAS_CUDA, reason="implicit has CUDA here")
def test_gpu_request_without_cuda_fits_on_the_cpu(checker_board: CheckerBoard) -> None:
    with pytest.warns(RuntimeWarning, match="no CUDA"):
        model = ALS(factors=4, iterations=3, use_gpu=True).fit(checker_board.train)
    assert model.device_ == "cpu"
    assert np.isfinite(model.score(np.arange(N_USERS))).all()


@pytest.mark.parametrize(
    ("model_class", "params", "message"),
    [
        (ALS, {"factors": 0}, "factors"),
        (ALS, {"iterations": 2.5}, "iterations"),
        (ALS, {"regularization": -1.0}, "regularization"),
        (ALS, {"alpha": 0.0}, "alpha"),
        (ALS, {"num_threads": -1}, "num_threads"),
        (ALS, {"use_gpu": "yes"}, "use_gpu"),
        (BPR, {"learning_rate": float("inf")}, "learning_rate"),
        (BPR, {"random_state": -3}, "random_state"),
    ],
)
def test_factor_models_reject_bad_hyperparameters(
    checker_board: CheckerBoard, model_class: type, params: dict[str, object], message: str
) -> None:
    with pytest.raises(ModelError, match=message):
        model_class(**params).fit(checker_board.train)


# Registry ---------------------------------------------------------------------------------


def test_registry_makes_models_by_name() -> None:
    models = available_models()
    assert list(models) == sorted(models)
    assert models["als"] is ALS and models["item_knn"] is ItemKNN
    model = make_model("bpr", factors=3, learning_rate=0.02)
    assert isinstance(model, BPR)
    assert model.get_params()["factors"] == 3 and model.get_params()["iterations"] == 100


def test_registry_rejects_unknown_names_and_hyperparameters() -> None:
    with pytest.raises(ModelError, match=r"unknown model 'svd'; use one of .*als"):
        make_model("svd")
    with pytest.raises(ModelError, match="no hyperparameter 'depth'"):
        make_model("als", depth=3)


def test_bpr_uniform_negatives_pad_with_rows_of_every_item(checker_board: CheckerBoard) -> None:
    model = BPR(factors=4, iterations=20, uniform_negatives=0.75)
    model.fit(checker_board.train)
    nnz, n_items = checker_board.train.nnz, checker_board.train.n_items
    padded = model._training_matrix()
    n_rows = int(np.ceil(3 * nnz / n_items))  # s / (1 - s) = 3
    assert padded.shape == (N_USERS + n_rows, n_items)
    assert (padded[:N_USERS] != checker_board.train.matrix).nnz == 0
    np.testing.assert_array_equal(padded[N_USERS:].toarray(), 1)
    # Share of draws that fall on the uniform part.
    assert n_rows * n_items / padded.nnz == pytest.approx(0.75, abs=0.01)
    assert model.user_factors_.shape == (N_USERS, 5)
    warm = np.array([0, 1, 2, 3])
    np.testing.assert_array_equal(model.recommend(warm, 1)[0][:, 0], warm)


@pytest.mark.parametrize("share", [1.0, -0.1, 2])
def test_bpr_rejects_bad_uniform_negatives(checker_board: CheckerBoard, share: float) -> None:
    with pytest.raises(ModelError, match="uniform_negatives"):
        BPR(uniform_negatives=share).fit(checker_board.train)


def test_popularity_ranking_equals_the_dense_definition() -> None:
    data = _random_interactions(50, 12, seed=9)
    model = Popularity().fit(data)  # small integer counts: many ties
    assert len(np.unique(model.popularity_)) < 12
    users = np.array([4, 0, 49, 4, 17])
    # Other users' histories; row 1 also holds an explicit zero (item 5), which counts as seen.
    dense = data.matrix[users[::-1]].toarray()
    dense[1, 5] = 0
    rows, cols = np.nonzero(dense)
    rows, cols = np.append(rows, 1), np.append(cols, 5)
    order = np.lexsort((cols, rows))
    history = sp.csr_matrix(
        (dense[rows, cols][order], cols[order], np.searchsorted(rows[order], np.arange(6))),
        shape=dense.shape,
    )
    assert history.nnz == np.count_nonzero(dense) + 1
    for k in (1, 3, 12, 15):
        for exclude_seen in (True, False):
            for given in (None, history):
                fast = model.recommend(users, k, exclude_seen, history=given, batch_size=2)
                dense = Recommender.recommend(model, users, k, exclude_seen, history=given)
                np.testing.assert_array_equal(fast[0], dense[0])
                np.testing.assert_array_equal(fast[1], dense[1])
