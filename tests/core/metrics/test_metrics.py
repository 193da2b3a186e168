"""Top-k metrics: hand-computed values on a literal fixture, brute force and peer libraries."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.evaluation import ranking_metrics_at_k
from sklearn.metrics import ndcg_score

from core.errors import MetricError, ShopSynthError
from core.metrics import (
    GROUPINGS,
    METRICS,
    MetricContext,
    average_popularity,
    average_precision_at_k,
    catalog_coverage,
    category_diversity,
    evaluate_lists,
    exposure_gini,
    gain_matrix,
    graded_ndcg_at_k,
    hit_matrix,
    hit_rate_at_k,
    ideal_gains,
    intra_list_diversity,
    long_tail_items,
    long_tail_share,
    ndcg_at_k,
    novelty,
    parse_metric,
    personalisation,
    precision_at_k,
    recall_at_k,
    reciprocal_rank_at_k,
    relevant_counts,
    user_coverage,
)

# The fixture: 4 users, 6 items, lists of width 4.
#   user 0 lists 0 3 1 5 and finds 3 (gain 2) at rank 2 and 1 (gain 1) at rank 3; item 4
#          (gain 3) is relevant but not listed.
#   user 1 lists only item 2, which is relevant (gain 1).
#   user 2 has no recommendation; item 0 is relevant.
#   user 3 lists 4 5 0 1 and has no relevant item.
RECOMMENDED = np.array(
    [
        [0, 3, 1, 5],
        [2, -1, -1, -1],
        [-1, -1, -1, -1],
        [4, 5, 0, 1],
    ]
)
RELEVANT = sp.csr_matrix(
    np.array(
        [
            [0, 1, 0, 2, 3, 0],
            [0, 0, 1, 0, 0, 0],
            [1, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0],
        ],
        dtype=np.float64,
    )
)
N_RELEVANT = np.array([3, 1, 1, 0])
HITS = np.array(
    [
        [False, True, True, False],
        [True, False, False, False],
        [False, False, False, False],
        [False, False, False, False],
    ]
)
# Distinct users per item, out of 8 training users.
POPULARITY = np.array([8, 4, 2, 1, 0, 8])
N_TRAIN_USERS = 8
CATEGORIES = np.array(["a", "a", "b", "b", "c", "a"])
# Item 5 points like item 0, item 3 opposite to it, item 4 is the zero vector.
EMBEDDINGS = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
CONTEXT = MetricContext(
    item_popularity=POPULARITY,
    n_users=N_TRAIN_USERS,
    item_embeddings=EMBEDDINGS,
    item_categories=CATEGORIES,
    item_groups={grouping: CATEGORIES for grouping in GROUPINGS},
)


def discount(rank: int) -> float:
    return 1.0 / np.log2(rank + 1)


# ---------------------------------------------------------------------------------------------
# Hits and gains
# ---------------------------------------------------------------------------------------------


def test_hit_matrix_of_the_fixture():
    np.testing.assert_array_equal(hit_matrix(RECOMMENDED, RELEVANT), HITS)


def test_gain_matrix_and_ideal_gains_of_the_fixture():
    expected_gains = np.zeros((4, 4))
    expected_gains[0, 1], expected_gains[0, 2], expected_gains[1, 0] = 2.0, 1.0, 1.0
    np.testing.assert_array_equal(gain_matrix(RECOMMENDED, RELEVANT), expected_gains)
    np.testing.assert_array_equal(
        ideal_gains(RELEVANT, 2), [[3.0, 2.0], [1.0, 0.0], [1.0, 0.0], [0.0, 0.0]]
    )
    np.testing.assert_array_equal(relevant_counts(RELEVANT), N_RELEVANT)


def test_padding_is_never_a_hit():
    # Key arithmetic row * n_items + item would map user 1's padding (-1) onto user 0's last
    # item, which is relevant.
    relevant = sp.csr_matrix(np.array([[0, 0, 1], [0, 0, 1]], dtype=np.float64))
    recommended = np.array([[2, -1], [-1, 2]])
    np.testing.assert_array_equal(hit_matrix(recommended, relevant), [[True, False], [False, True]])


def test_explicit_zeros_are_not_relevant_and_duplicates_are_summed():
    relevant = sp.csr_matrix(
        (np.array([0.0, 1.0, 2.0]), np.array([0, 1, 1]), np.array([0, 3])), shape=(1, 3)
    )
    recommended = np.array([[0, 1]])
    np.testing.assert_array_equal(hit_matrix(recommended, relevant), [[False, True]])
    np.testing.assert_array_equal(gain_matrix(recommended, relevant), [[0.0, 3.0]])
    np.testing.assert_array_equal(relevant_counts(relevant), [1])


def test_hit_matrix_matches_brute_force_on_random_lists():
    rng = np.random.default_rng(0)
    n_users, n_items, k = 200, 50, 8
    recommended = np.array([rng.permutation(n_items)[:k] for _ in range(n_users)])
    recommended[rng.random((n_users, k)) < 0.2] = -1
    relevant = sp.random(n_users, n_items, density=0.1, format="csr", random_state=1)
    expected = np.array(
        [
            [item >= 0 and relevant[user, item] != 0 for item in recommended[user]]
            for user in range(n_users)
        ]
    )
    np.testing.assert_array_equal(hit_matrix(recommended, relevant), expected)


# ---------------------------------------------------------------------------------------------
# Accuracy, hand-computed
# ---------------------------------------------------------------------------------------------


def test_precision_denominator_is_k():
    np.testing.assert_allclose(precision_at_k(HITS, 4), [2 / 4, 1 / 4, 0, 0])
    np.testing.assert_allclose(precision_at_k(HITS, 2), [1 / 2, 1 / 2, 0, 0])
    # A hit matrix narrower than k reads as short lists.
    np.testing.assert_allclose(precision_at_k(HITS, 8), [2 / 8, 1 / 8, 0, 0])


def test_recall():
    np.testing.assert_allclose(recall_at_k(HITS, N_RELEVANT, 4), [2 / 3, 1 / 1, 0, 0])
    np.testing.assert_allclose(recall_at_k(HITS, N_RELEVANT, 2), [1 / 3, 1 / 1, 0, 0])


def test_hit_rate_and_reciprocal_rank():
    np.testing.assert_allclose(hit_rate_at_k(HITS, 4), [1, 1, 0, 0])
    np.testing.assert_allclose(hit_rate_at_k(HITS, 1), [0, 1, 0, 0])
    np.testing.assert_allclose(reciprocal_rank_at_k(HITS, 4), [1 / 2, 1 / 1, 0, 0])
    np.testing.assert_allclose(reciprocal_rank_at_k(HITS, 1), [0, 1, 0, 0])


def test_average_precision_denominator_is_min_of_relevant_and_k():
    # User 0: hits at ranks 2 and 3, P@2 = 1/2, P@3 = 2/3, over min(3, 4) = 3.
    np.testing.assert_allclose(
        average_precision_at_k(HITS, N_RELEVANT, 4), [(1 / 2 + 2 / 3) / 3, 1.0, 0, 0]
    )
    # At k = 2 only the hit at rank 2 counts, over min(3, 2) = 2.
    np.testing.assert_allclose(average_precision_at_k(HITS, N_RELEVANT, 2), [(1 / 2) / 2, 1, 0, 0])


def test_binary_ndcg():
    user0 = (discount(2) + discount(3)) / (discount(1) + discount(2) + discount(3))
    np.testing.assert_allclose(ndcg_at_k(HITS, N_RELEVANT, 4), [user0, 1.0, 0, 0])
    # At k = 2 the ideal list holds min(3, 2) = 2 relevant items.
    user0_at_2 = discount(2) / (discount(1) + discount(2))
    np.testing.assert_allclose(ndcg_at_k(HITS, N_RELEVANT, 2), [user0_at_2, 1.0, 0, 0])


def test_graded_ndcg():
    gains = gain_matrix(RECOMMENDED, RELEVANT)
    # User 0 gains 2 at rank 2 and 1 at rank 3; the ideal list has gains 3, 2, 1.
    user0 = (2 * discount(2) + 1 * discount(3)) / (3 + 2 * discount(2) + 1 * discount(3))
    np.testing.assert_allclose(
        graded_ndcg_at_k(gains, ideal_gains(RELEVANT, 4), 4), [user0, 1.0, 0, 0]
    )
    user0_at_2 = (2 * discount(2)) / (3 + 2 * discount(2))
    np.testing.assert_allclose(
        graded_ndcg_at_k(gains, ideal_gains(RELEVANT, 2), 2), [user0_at_2, 1.0, 0, 0]
    )


def test_graded_ndcg_with_unit_gains_is_binary_ndcg():
    binary = RELEVANT.copy()
    binary.data[:] = 1.0
    gains = gain_matrix(RECOMMENDED, binary)
    np.testing.assert_allclose(
        graded_ndcg_at_k(gains, ideal_gains(binary, 3), 3), ndcg_at_k(HITS, N_RELEVANT, 3)
    )


# ---------------------------------------------------------------------------------------------
# Beyond accuracy, hand-computed
# ---------------------------------------------------------------------------------------------


def test_catalog_and_user_coverage():
    assert catalog_coverage(RECOMMENDED, 6) == 1.0
    # The top 2 show items 0, 3, 2, 4, 5: item 1 is missing.
    assert catalog_coverage(RECOMMENDED[:, :2], 6) == pytest.approx(5 / 6)
    assert catalog_coverage(RECOMMENDED, 12) == pytest.approx(6 / 12)
    assert user_coverage(RECOMMENDED) == pytest.approx(3 / 4)


def test_exposure_gini():
    # Exposure per item 2 2 1 1 1 2 -> sorted 1 1 1 2 2 2, weights 2i - n - 1 = -5 -3 -1 1 3 5.
    expected = (-5 - 3 - 1 + 2 * (1 + 3 + 5)) / (6 * 9)
    assert exposure_gini(RECOMMENDED, 6) == pytest.approx(expected)
    assert expected == pytest.approx(1 / 6)
    assert exposure_gini(np.array([[0, 1], [1, 0]]), 2) == 0.0
    # One item of four takes all exposure: (3 * 4) / (4 * 4) = 3/4 = 1 - 1/n.
    assert exposure_gini(np.array([[0], [0]]), 4) == pytest.approx(3 / 4)
    assert exposure_gini(np.full((2, 3), -1), 4) == 0.0


def test_personalisation():
    # Non-empty lists: users 0, 1, 3. cos(0, 1) = 0, cos(1, 3) = 0, and users 0 and 3 share
    # items 0, 1, 5: cos = 3 / sqrt(4 * 4). Mean over the 3 pairs = (3/4) / 3.
    assert personalisation(RECOMMENDED) == pytest.approx(1 - (3 / 4) / 3)
    assert personalisation(np.array([[0, 1], [0, 1]])) == pytest.approx(0.0)
    assert personalisation(np.array([[0, 1], [2, 3]])) == pytest.approx(1.0)
    assert personalisation(np.array([[0, 1], [-1, -1]])) == 0.0


def test_novelty():
    # Self-information -log2(pop / 8): items 0 and 5 -> 0, item 1 -> 1, item 2 -> 2, item 3 -> 3,
    # item 4 (popularity 0, counted as 1) -> 3.
    expected = [(0 + 3 + 1 + 0) / 4, 2.0, 0.0, (3 + 0 + 0 + 1) / 4]
    np.testing.assert_allclose(novelty(RECOMMENDED, POPULARITY, N_TRAIN_USERS), expected)


def test_average_popularity():
    expected = [(8 + 1 + 4 + 8) / 4, 2.0, 0.0, (0 + 8 + 8 + 4) / 4]
    np.testing.assert_allclose(average_popularity(RECOMMENDED, POPULARITY), expected)


def test_long_tail_items_and_share():
    # Total 23, head holds 0.8 * 23 = 18.4: items by popularity 0 (8), 5 (8), 1 (4) reach
    # 8 + 8 + 4 = 20 >= 18.4, so the tail is items 2, 3 and 4.
    tail = long_tail_items(POPULARITY, head_share=0.8)
    np.testing.assert_array_equal(tail, [False, False, True, True, True, False])
    np.testing.assert_allclose(long_tail_share(RECOMMENDED, tail), [1 / 4, 1.0, 0.0, 1 / 4])
    # A head of all popularity keeps only the zero-popularity item in the tail.
    np.testing.assert_array_equal(
        long_tail_items(POPULARITY, head_share=1.0), [False, False, False, False, True, False]
    )
    assert long_tail_items(np.zeros(3)).all()


def test_category_diversity():
    # User 0: categories a b a a -> C(3, 2) = 3 of 6 pairs alike; user 3: c a a a -> the same.
    np.testing.assert_allclose(
        category_diversity(RECOMMENDED, CATEGORIES), [1 - 3 / 6, 0.0, 0.0, 1 - 3 / 6]
    )
    np.testing.assert_allclose(category_diversity(RECOMMENDED, np.arange(6)), [1, 0, 0, 1])


def test_intra_list_diversity():
    # User 0 (items 0 3 1 5): distances (0,3) 2, (0,1) 1, (0,5) 0, (3,1) 1, (3,5) 2, (1,5) 1.
    # User 3 (items 4 5 0 1): the zero vector 4 is at 1 from each of 3 items; (5,0) 0, (5,1) 1,
    # (0,1) 1.
    expected = [(2 + 1 + 0 + 1 + 2 + 1) / 6, 0.0, 0.0, (3 * 1 + 0 + 1 + 1) / 6]
    np.testing.assert_allclose(intra_list_diversity(RECOMMENDED, EMBEDDINGS), expected)


def test_diversity_matches_brute_force_on_random_lists():
    rng = np.random.default_rng(3)
    n_users, n_items, k = 60, 30, 7
    recommended = np.array([rng.permutation(n_items)[:k] for _ in range(n_users)])
    recommended[rng.random((n_users, k)) < 0.3] = -1
    embeddings = rng.normal(size=(n_items, 5))
    categories = rng.integers(0, 4, n_items)
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    expected_ild, expected_categories = [], []
    for row in recommended:
        pairs = list(combinations(row[row >= 0], 2))
        expected_ild.append(np.mean([1 - unit[a] @ unit[b] for a, b in pairs]) if pairs else 0)
        expected_categories.append(
            np.mean([categories[a] != categories[b] for a, b in pairs]) if pairs else 0
        )
    np.testing.assert_allclose(
        intra_list_diversity(recommended, embeddings), expected_ild, rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        category_diversity(recommended, categories), expected_categories, rtol=0, atol=1e-12
    )
    listed = [set(row[row >= 0]) for row in recommended]
    similarities = [
        len(a & b) / np.sqrt(len(a) * len(b)) for a, b in combinations([s for s in listed if s], 2)
    ]
    assert personalisation(recommended) == pytest.approx(1 - np.mean(similarities), abs=1e-12)


# ---------------------------------------------------------------------------------------------
# Peer libraries
# ---------------------------------------------------------------------------------------------


def random_lists(
    seed: int, n_users: int = 300, n_items: int = 80, k: int = 10, padding: float = 0.0
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Distinct-item lists and graded relevance (0-3) drawn so that hits are common."""
    rng = np.random.default_rng(seed)
    recommended = np.array([rng.permutation(n_items)[:k] for _ in range(n_users)])
    if padding:
        lengths = rng.integers(0, k + 1, n_users)
        lengths[rng.random(n_users) > padding] = k
        recommended[np.arange(k)[None, :] >= lengths[:, None]] = -1
    dense = np.zeros((n_users, n_items))
    for user in range(n_users):
        pool = np.concatenate(
            [recommended[user][recommended[user] >= 0], rng.integers(0, n_items, 5)]
        )
        chosen = rng.choice(pool, rng.integers(0, 6), replace=True)
        dense[user, chosen] = rng.integers(1, 4, len(chosen))
    return recommended, sp.csr_matrix(dense)


@pytest.mark.parametrize("k", [1, 5, 10])
def test_graded_ndcg_equals_sklearn_ndcg_score(k: int):
    recommended, relevant = random_lists(seed=k)
    n_users, n_items = relevant.shape
    # Listed items score above every other item, in list order; the others get distinct
    # scores below, so sklearn ranks exactly the lists (no ties reach the top k).
    rng = np.random.default_rng(0)
    scores = rng.random((n_users, n_items))
    scores[np.arange(n_users)[:, None], recommended] = 1.0 + np.arange(recommended.shape[1], 0, -1)
    ours = evaluate_lists(recommended, relevant, [f"graded_ndcg@{k}"])[f"graded_ndcg@{k}"]
    assert (relevant.getnnz(axis=1) == 0).any()  # users without relevant items count as 0
    assert ours.mean() == pytest.approx(ndcg_score(relevant.toarray(), scores, k=k), abs=1e-9)
    per_user = [ndcg_score(relevant[[user]].toarray(), scores[[user]], k=k) for user in range(20)]
    np.testing.assert_allclose(ours[:20], per_user, rtol=0, atol=1e-9)


class FixedLists:
    """Stands in for an implicit model: ``recommend`` returns the given lists."""

    def __init__(self, recommended: np.ndarray) -> None:
        self.recommended = recommended.astype(np.int32)

    def recommend(self, userids, user_items, N=10, **kwargs):  # noqa: N803 (implicit's name)
        ids = np.ascontiguousarray(self.recommended[userids, :N])
        return ids, np.zeros(ids.shape, dtype=np.float32)


@pytest.mark.parametrize(("k", "padding"), [(5, 0.0), (10, 0.0), (10, 0.5)])
def test_accuracy_equals_implicit_ranking_metrics(k: int, padding: float):
    recommended, relevant = random_lists(seed=10 + k, k=k, padding=padding)
    train = sp.csr_matrix(relevant.shape)
    theirs = ranking_metrics_at_k(
        FixedLists(recommended), train, relevant, K=k, show_progress=False
    )
    ours = evaluate_lists(recommended, relevant, [f"ndcg@{k}", f"map@{k}", f"precision@{k}"])
    # implicit averages over users with at least one relevant item only.
    n_relevant = relevant_counts(relevant)
    tested = n_relevant > 0
    assert not tested.all()
    assert ours[f"ndcg@{k}"][tested].mean() == pytest.approx(theirs["ndcg"], abs=1e-9)
    assert ours[f"map@{k}"][tested].mean() == pytest.approx(theirs["map"], abs=1e-9)
    # Its precision is pooled: all hits over the sum of min(|R|, k).
    pooled = (ours[f"precision@{k}"] * k)[tested].sum() / np.minimum(n_relevant, k)[tested].sum()
    assert pooled == pytest.approx(theirs["precision"], abs=1e-9)


# ---------------------------------------------------------------------------------------------
# Registry and evaluate_lists
# ---------------------------------------------------------------------------------------------


def test_parse_metric():
    assert parse_metric("ndcg@10") == ("ndcg", 10)
    assert parse_metric(" Recall @ 20 ") == ("recall", 20)
    assert parse_metric("long_tail_share@5") == ("long_tail_share", 5)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ndcg", "not of the form"),
        ("ndcg@", "not of the form"),
        ("ndcg@-1", "not of the form"),
        ("ndcg@0", "at least 1"),
        ("nDCG10", "not of the form"),
        ("dcg@10", "unknown metric 'dcg'"),
    ],
)
def test_parse_metric_rejects_bad_names(name: str, message: str):
    with pytest.raises(MetricError, match=message):
        parse_metric(name)


def test_metric_error_is_a_shopsynth_value_error():
    assert issubclass(MetricError, ShopSynthError)
    assert issubclass(MetricError, ValueError)


def test_evaluate_lists_computes_every_registered_metric_like_the_functions():
    names = [f"{base}@4" for base in METRICS]
    results = evaluate_lists(RECOMMENDED, RELEVANT, names, CONTEXT)
    assert list(results) == names
    for base, info in METRICS.items():
        value = results[f"{base}@4"]
        if info.per_user:
            assert isinstance(value, np.ndarray)
            assert value.shape == (4,)
            assert value.dtype == np.float64
        else:
            assert isinstance(value, float)
    np.testing.assert_allclose(results["ndcg@4"], ndcg_at_k(HITS, N_RELEVANT, 4))
    np.testing.assert_allclose(results["mrr@4"], [1 / 2, 1, 0, 0])
    np.testing.assert_allclose(results["novelty@4"], [1, 2, 0, 1])
    np.testing.assert_allclose(results["long_tail_share@4"], [1 / 4, 1, 0, 1 / 4])
    np.testing.assert_allclose(results["avg_popularity@4"], [21 / 4, 2, 0, 5])
    np.testing.assert_allclose(results["ild@4"], [7 / 6, 0, 0, 5 / 6])
    np.testing.assert_allclose(results["category_diversity@4"], [1 / 2, 0, 0, 1 / 2])
    assert results["coverage@4"] == 1.0
    assert results["user_coverage@4"] == pytest.approx(3 / 4)
    assert results["gini@4"] == pytest.approx(1 / 6)
    assert results["personalisation@4"] == pytest.approx(3 / 4)


def test_evaluate_lists_cuts_each_metric_at_its_own_k():
    results = evaluate_lists(
        RECOMMENDED, RELEVANT, ["recall@2", "recall@4", "precision@8", "coverage@2", "map@2"]
    )
    np.testing.assert_allclose(results["recall@2"], [1 / 3, 1, 0, 0])
    np.testing.assert_allclose(results["recall@4"], [2 / 3, 1, 0, 0])
    np.testing.assert_allclose(results["precision@8"], [2 / 8, 1 / 8, 0, 0])
    np.testing.assert_allclose(results["map@2"], [1 / 4, 1, 0, 0])
    assert results["coverage@2"] == pytest.approx(5 / 6)


def test_users_without_recommendations_score_zero_and_stay():
    recommended = np.full((3, 5), -1)
    relevant = sp.csr_matrix(np.eye(3, 7))
    results = evaluate_lists(
        recommended, relevant, ["ndcg@5", "recall@5", "mrr@5", "map@5", "graded_ndcg@5"]
    )
    for values in results.values():
        np.testing.assert_array_equal(values, np.zeros(3))


@pytest.mark.parametrize(
    ("metric", "missing"),
    [
        ("novelty@10", "item_popularity and n_users"),
        ("avg_popularity@10", "item_popularity"),
        ("long_tail_share@10", "item_popularity"),
        ("ild@10", "item_embeddings"),
        ("category_diversity@10", "item_categories"),
    ],
)
def test_evaluate_lists_says_which_context_is_missing(metric: str, missing: str):
    with pytest.raises(MetricError, match=f"needs {missing} in the MetricContext"):
        evaluate_lists(RECOMMENDED, RELEVANT, ["ndcg@10", metric])


def test_bad_inputs_raise_metric_errors():
    with pytest.raises(MetricError, match="2-D"):
        evaluate_lists(np.array([0, 1]), RELEVANT, ["ndcg@2"])
    with pytest.raises(MetricError, match="integer item indices"):
        hit_matrix(RECOMMENDED.astype(float), RELEVANT)
    with pytest.raises(MetricError, match="4 rows but recommended has 2"):
        hit_matrix(RECOMMENDED[:2], RELEVANT)
    with pytest.raises(MetricError, match="indices from -1 to 6"):
        hit_matrix(np.where(RECOMMENDED == 5, 6, RECOMMENDED), RELEVANT)
    with pytest.raises(MetricError, match="indices from -2"):
        hit_matrix(np.where(RECOMMENDED == -1, -2, RECOMMENDED), RELEVANT)
    with pytest.raises(MetricError, match="must be a scipy"):
        hit_matrix(RECOMMENDED, RELEVANT.toarray())
    with pytest.raises(MetricError, match="non-negative"):
        hit_matrix(RECOMMENDED, -RELEVANT)
    with pytest.raises(MetricError, match="positive integer"):
        ndcg_at_k(HITS, N_RELEVANT, 0)
    with pytest.raises(MetricError, match="between 0 and n_users"):
        novelty(RECOMMENDED, POPULARITY, n_users=4)
    with pytest.raises(MetricError, match="head_share"):
        long_tail_items(POPULARITY, head_share=0.0)


def test_lists_without_columns_score_zero_everywhere():
    results = evaluate_lists(
        np.zeros((4, 0), dtype=np.int64), RELEVANT, [f"{base}@3" for base in METRICS], CONTEXT
    )
    for name, value in results.items():
        if name.startswith("exposure_gap_"):
            # Shares of no exposure are undefined, and so is their gap to relevance.
            assert np.isnan(value)
            continue
        np.testing.assert_array_equal(value, np.zeros(4) if METRICS[name[:-2]].per_user else 0.0)


@pytest.mark.parametrize(
    ("metric", "context", "message"),
    [
        (
            "novelty@4",
            MetricContext(item_popularity=np.ones(5), n_users=8),
            r"item_popularity must have one entry per catalogue item, shape \(6,\)",
        ),
        ("ild@4", MetricContext(item_embeddings=np.ones((5, 2))), "item_embeddings has 5 rows"),
        (
            "category_diversity@4",
            MetricContext(item_categories=np.ones((6, 2))),
            "item_categories must have one entry per catalogue item",
        ),
    ],
)
def test_context_arrays_must_cover_the_catalogue(metric: str, context: MetricContext, message: str):
    with pytest.raises(MetricError, match=message):
        evaluate_lists(RECOMMENDED, RELEVANT, [metric], context)


def test_an_item_listed_twice_is_an_error():
    recommended = np.array([[0, 3, 1, 3], [2, -1, -1, -1], [-1, -1, -1, -1], [4, 5, 0, 1]])
    with pytest.raises(MetricError, match="user row 0 holds the same item more than once"):
        evaluate_lists(recommended, RELEVANT, ["ndcg@4"])


def test_comparisons_report_recall_at_the_default_cut_off_too() -> None:
    from core.metrics.registry import DEFAULT_RECALL, metrics_at

    assert DEFAULT_RECALL == "recall@20"
    assert metrics_at(["ndcg", "recall"], 10) == ["ndcg@10", "recall@10", "recall@20"]
    assert metrics_at(["ndcg", "recall"], 20) == ["ndcg@20", "recall@20"]
    assert metrics_at(["ndcg", "coverage"], 10) == ["ndcg@10", "coverage@10"]
