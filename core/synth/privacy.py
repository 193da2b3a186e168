"""Privacy of synthetic records: distance to closest record, distance ratio, membership attack.

Every measure compares three sets of records in one space: the synthetic records, the real
records the generator learnt from (``train``) and real records it never saw (``holdout``).
Texts become TF-IDF or encoder vectors (cosine distance, :func:`text_records`); interactions
become each item's set of users (Jaccard distance, :func:`audience_records`).

Distance to closest record (DCR)
    Each synthetic record's distance to its nearest training record and to its nearest holdout
    record; 0 is an exact copy. Two readings, after SDMetrics' ``DCRBaselineProtection`` and
    ``DCROverfittingProtection``, with the holdout standing in for their random baseline:

    * baseline protection: ``min(1, median DCR(synthetic -> train) / median DCR(holdout ->
      train))``. Unseen real records are as close to the training data as the synthetic ones
      at 1; near 0 the synthetic records sit much closer than real data ever does.
    * overfitting protection: the share ``c`` of synthetic records closer to the training
      records than to as many holdout records (ties count half) should be about 0.5 for a
      generator that generalises; the score is ``min(1, 2 * (1 - c))``.
Nearest-neighbour distance ratio (NNDR)
    ``d1 / d2``, the distances to the nearest and second-nearest training records (``0 / 0`` is
    0: a copy of a duplicated record). Near 0 a synthetic record sits on one real record, an
    outlier's identity can leak; near 1 it lies among several.
Membership-inference attack
    An attacker who holds the synthetic data guesses that a real record was in the training
    data when some synthetic record is near it: the score of a record is minus its distance to
    the nearest synthetic record. The attack's ROC AUC separates training (members) from holdout
    records (non-members): 0.5 means no leak, 1 a perfect attack. The interval is a percentile
    bootstrap that resamples members and non-members separately.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.checks import RandomState, check_choice, check_whole, random_generator
from core.errors import QualityError

COSINE = "cosine"
JACCARD = "jaccard"
METRICS: tuple[str, ...] = (COSINE, JACCARD)
TEXT_METHODS: tuple[str, ...] = ("tfidf", "encoder")
# A distance at or below this counts as an exact copy (float rounding of cosine 1).
COPY_TOLERANCE = 1e-6

Records = np.ndarray | sp.csr_matrix


# Records ----------------------------------------------------------------------------------------


def text_records(
    synthetic: Sequence[str],
    train: Sequence[str],
    holdout: Sequence[str],
    *,
    method: str = "tfidf",
    encoder: Any = None,
) -> tuple[Records, Records, Records]:
    """Vectors of three lists of texts in one space, for the ``cosine`` metric.

    ``tfidf``: word uni- and bigrams, vocabulary and weights fitted on the real texts (train and
    holdout) only, so a synthetic word never seen in real data adds nothing; ``encoder``:
    sentence embeddings of ``encoder`` (an encoder object or a spec of
    :func:`core.text.encoders.load_encoder`; the default encoder when None).
    """
    check_choice("method", method, TEXT_METHODS, QualityError)
    groups = [list(map(str, synthetic)), list(map(str, train)), list(map(str, holdout))]
    for name, texts in zip(("synthetic", "train", "holdout"), groups, strict=True):
        if not texts:
            raise QualityError(f"no {name} texts: each of the three sets needs at least one")
    if method == "tfidf":
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectoriser = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        try:
            vectoriser.fit(groups[1] + groups[2])
        except ValueError as error:
            raise QualityError(f"the real texts have no words to compare: {error}") from error
        out = [sp.csr_matrix(vectoriser.transform(texts), dtype=np.float64) for texts in groups]
        return out[0], out[1], out[2]
    if encoder is None or isinstance(encoder, str):
        from core.text.encoders import load_encoder

        encoder = load_encoder(encoder)
    encoded = [np.asarray(encoder.encode(texts), dtype=np.float32) for texts in groups]
    return encoded[0], encoded[1], encoded[2]


def audience_records(
    synthetic: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame
) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """Each item's set of users (columns ``user_id``, ``item_id``) as binary rows over one user
    vocabulary, for the ``jaccard`` metric: one row per distinct item of each frame."""
    frames = [synthetic, train, holdout]
    for name, frame in zip(("synthetic", "train", "holdout"), frames, strict=True):
        missing = {"user_id", "item_id"} - set(frame.columns)
        if missing:
            raise QualityError(f"the {name} interactions need columns user_id and item_id")
        if frame.empty:
            raise QualityError(f"no {name} interactions: each of the three sets needs some")
    users = pd.Index(pd.unique(pd.concat([f["user_id"].astype(str) for f in frames])))
    out = []
    for frame in frames:
        pairs = frame[["user_id", "item_id"]].astype(str).drop_duplicates()
        items = pd.Index(pd.unique(pairs["item_id"]))
        out.append(
            sp.csr_matrix(
                (
                    np.ones(len(pairs)),
                    (items.get_indexer(pairs["item_id"]), users.get_indexer(pairs["user_id"])),
                ),
                shape=(len(items), len(users)),
            )
        )
    return out[0], out[1], out[2]


# Distances --------------------------------------------------------------------------------------


def _rows(records: Records, metric: str) -> Records:
    """Records ready for the metric: unit rows (cosine) or 0/1 rows (Jaccard)."""
    if metric == JACCARD:
        matrix = sp.csr_matrix(records, dtype=np.float64, copy=True)
        matrix.data[:] = 1.0
        matrix.eliminate_zeros()
        return matrix
    if sp.issparse(records):
        matrix = sp.csr_matrix(records, dtype=np.float64)
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        return sp.csr_matrix(sp.diags(scale) @ matrix)
    dense = np.asarray(records, dtype=np.float64)
    if dense.ndim != 2:
        raise QualityError("records must be a 2-d matrix, one row per record")
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    return np.divide(dense, norms, out=np.zeros_like(dense), where=norms > 0)


def _dense(matrix: Any) -> np.ndarray:
    return matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)


def nearest_distances(
    queries: Records, reference: Records, *, metric: str = COSINE, n: int = 1
) -> np.ndarray:
    """``(n_queries, n)`` distances from each query row to its ``n`` nearest reference rows,
    ascending.

    ``cosine``: ``1 - cos`` (a zero row is at distance 1 from everything); ``jaccard``:
    ``1 - |A & B| / |A | B|`` over the non-zero columns (two empty rows are at distance 0).
    """
    check_choice("metric", metric, METRICS, QualityError)
    n = check_whole("n", n, 1, QualityError)
    if queries.shape[1] != reference.shape[1]:
        raise QualityError(
            f"records of different widths ({queries.shape[1]} and {reference.shape[1]}): "
            "build them together (text_records, audience_records)"
        )
    if reference.shape[0] < n:
        raise QualityError(f"{reference.shape[0]} reference record(s); at least {n} needed")
    left, right = _rows(queries, metric), _rows(reference, metric)
    sizes_right = np.asarray(right.sum(axis=1)).ravel() if metric == JACCARD else None
    out = np.empty((queries.shape[0], n), dtype=np.float64)
    for start in range(0, queries.shape[0], 512):
        block = left[start : start + 512]
        shared = _dense(block @ right.T).astype(np.float64)
        if metric == JACCARD:
            sizes_left = np.asarray(block.sum(axis=1)).ravel()
            union = sizes_left[:, None] + sizes_right[None, :] - shared
            distance = 1.0 - np.divide(shared, union, out=np.ones_like(shared), where=union > 0)
        else:
            distance = 1.0 - shared
        if n < distance.shape[1]:
            distance = np.partition(distance, n - 1, axis=1)[:, :n]
        nearest = distance
        out[start : start + 512] = np.sort(nearest, axis=1)[:, :n]
    return np.clip(out, 0.0, 2.0)


# Measures ---------------------------------------------------------------------------------------


def distance_ratio(nearest_two: np.ndarray) -> np.ndarray:
    """NNDR ``d1 / d2`` of ``(n, 2)`` ascending distances; ``0 / 0`` is 0."""
    first, second = nearest_two[:, 0], nearest_two[:, 1]
    return np.divide(first, second, out=np.zeros_like(first), where=second > 0)


def roc_auc(member_scores: np.ndarray, nonmember_scores: np.ndarray) -> float:
    """``P(member score > non-member score) + P(equal) / 2`` (the Mann-Whitney form of AUC)."""
    members = np.asarray(member_scores, dtype=np.float64)
    others = np.sort(np.asarray(nonmember_scores, dtype=np.float64))
    if members.size == 0 or others.size == 0:
        raise QualityError("the attack needs at least one member and one non-member record")
    below = np.searchsorted(others, members, side="left")
    equal = np.searchsorted(others, members, side="right") - below
    return float((below + 0.5 * equal).sum() / (members.size * others.size))


def membership_attack(
    member_distances: np.ndarray,
    nonmember_distances: np.ndarray,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    random_state: RandomState = 0,
) -> tuple[float, float, float]:
    """AUC of the distance attack and its percentile-bootstrap interval ``(auc, low, high)``.

    ``member_distances`` / ``nonmember_distances``: each training / holdout record's distance
    to the nearest synthetic record; the attack scores a record by minus that distance.
    """
    n_resamples = check_whole("n_resamples", n_resamples, 1, QualityError)
    members = -np.asarray(member_distances, dtype=np.float64)
    others = -np.asarray(nonmember_distances, dtype=np.float64)
    auc = roc_auc(members, others)
    rng = random_generator(random_state)
    draws = np.empty(n_resamples)
    for row in range(n_resamples):
        draws[row] = roc_auc(
            members[rng.integers(0, members.size, members.size)],
            others[rng.integers(0, others.size, others.size)],
        )
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return auc, float(low), float(high)


@dataclass(frozen=True)
class PrivacyReport:
    """Privacy measures of one synthetic set (see the module docstring).

    Arrays are per synthetic record: ``dcr_train``, ``dcr_holdout`` (to as many holdout as
    training records, see :func:`privacy_report`), ``nndr``; ``baseline_dcr`` per holdout record
    (its distance to the training records).
    """

    metric: str
    n_synthetic: int
    n_train: int
    n_holdout: int
    dcr_train: np.ndarray
    dcr_holdout: np.ndarray
    baseline_dcr: np.ndarray
    nndr: np.ndarray
    closer_to_train: float
    overfitting_protection: float
    baseline_protection: float
    copies: int
    attack_auc: float
    attack_low: float
    attack_high: float

    def table(self) -> pd.DataFrame:
        """The measures as rows of ``measure``, ``value``, ``detail`` (the quality report's
        columns)."""
        counts = (
            f"{self.n_synthetic:,} synthetic, {self.n_train:,} training, "
            f"{self.n_holdout:,} holdout records ({self.metric})"
        )
        rows = [
            ("DCR to training: median", float(np.median(self.dcr_train)), counts),
            ("DCR to holdout: median", float(np.median(self.dcr_holdout)), counts),
            ("DCR of holdout to training: median (baseline)",
             float(np.median(self.baseline_dcr)), "unseen real records"),
            ("exact copies of training records", float(self.copies),
             f"of {self.n_synthetic:,} synthetic records"),
            ("DCR baseline protection", self.baseline_protection, "1 = as far as unseen data"),
            ("share closer to training than holdout", self.closer_to_train, "0.5 = generalises"),
            ("DCR overfitting protection", self.overfitting_protection, "1 = not overfitted"),
            ("NNDR: median", float(np.median(self.nndr)), "near 0: sits on one real record"),
            ("membership attack AUC", self.attack_auc, "0.5 = no leak, 1 = every record found"),
            ("membership attack AUC: 95% interval low", self.attack_low, "percentile bootstrap"),
            ("membership attack AUC: 95% interval high", self.attack_high, "percentile bootstrap"),
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=["measure", "value", "detail"])


def privacy_report(
    synthetic: Records,
    train: Records,
    holdout: Records,
    *,
    metric: str = COSINE,
    n_resamples: int = 1000,
    random_state: RandomState = 0,
) -> PrivacyReport:
    """DCR, NNDR and the membership attack of ``synthetic`` records against ``train`` (seen by
    the generator) and ``holdout`` (unseen) records, all built in one space.

    The share closer to training compares against equally many records on each side: the
    larger of the two real sets is subsampled (seeded by ``random_state``) to the smaller's
    size, so 0.5 is what a generator that never saw either produces.
    """
    check_choice("metric", metric, METRICS, QualityError)
    for name, records in (("synthetic", synthetic), ("train", train), ("holdout", holdout)):
        if records.shape[0] < (2 if name == "train" else 1):
            needed = "two records" if name == "train" else "one record"
            raise QualityError(f"the {name} set needs at least {needed}")
    rng = random_generator(random_state)
    nearest_train = nearest_distances(synthetic, train, metric=metric, n=2)
    dcr_train = nearest_train[:, 0]
    size = min(train.shape[0], holdout.shape[0])
    train_part = train[np.sort(rng.choice(train.shape[0], size, replace=False))]
    holdout_part = holdout[np.sort(rng.choice(holdout.shape[0], size, replace=False))]
    to_train = nearest_distances(synthetic, train_part, metric=metric)[:, 0]
    to_holdout = nearest_distances(synthetic, holdout_part, metric=metric)[:, 0]
    closer = float(np.mean((to_train < to_holdout) + 0.5 * (to_train == to_holdout)))
    baseline = nearest_distances(holdout, train, metric=metric)[:, 0]
    synthetic_median, baseline_median = float(np.median(dcr_train)), float(np.median(baseline))
    if baseline_median > 0:
        baseline_protection = min(1.0, synthetic_median / baseline_median)
    else:
        baseline_protection = 1.0
    members = nearest_distances(train, synthetic, metric=metric)[:, 0]
    others = nearest_distances(holdout, synthetic, metric=metric)[:, 0]
    auc, low, high = membership_attack(members, others, n_resamples=n_resamples, random_state=rng)
    return PrivacyReport(
        metric=metric,
        n_synthetic=int(synthetic.shape[0]),
        n_train=int(train.shape[0]),
        n_holdout=int(holdout.shape[0]),
        dcr_train=dcr_train,
        dcr_holdout=to_holdout,
        baseline_dcr=baseline,
        nndr=distance_ratio(nearest_train),
        closer_to_train=closer,
        overfitting_protection=min(1.0, 2.0 * (1.0 - closer)),
        baseline_protection=baseline_protection,
        copies=int(np.sum(dcr_train <= COPY_TOLERANCE)),
        attack_auc=auc,
        attack_low=low,
        attack_high=high,
    )
