"""Quality of synthetic data: fidelity, diversity, memorisation and consistency measures.

Pure functions over arrays, Series and lists of texts, gathered by :func:`quality_report` into
a tidy table (``measure``, ``value``, ``detail``).

Fidelity
    How close the synthetic distribution of a quantity (item popularity, category mix,
    session length, query length) is to the real one: the two-sample Kolmogorov-Smirnov
    statistic (numeric values), the Jensen-Shannon divergence in bits and the total variation
    distance (both over the frequencies of the values). 0 means identical; JS and TV are at
    most 1.
Text diversity
    distinct-n (distinct n-grams / all n-grams) and self-BLEU (mean BLEU-4 of each text
    against all the others: high when the texts repeat each other).
Memorisation
    Exact-copy rate of synthetic texts against training texts, the distance from each
    synthetic record to its nearest real one (cosine for vectors, Jaccard for sets), and the
    share of synthetic sessions identical to a real session.
Consistency
    Round-trip rate: the share of synthetic samples whose source is retrieved in the top k.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from core.errors import QualityError

MEASURE = "measure"
VALUE = "value"
DETAIL = "detail"
REPORT_COLUMNS: tuple[str, ...] = (MEASURE, VALUE, DETAIL)

_TOKEN = re.compile(r"\w+(?:['-]\w+)*")


# Distributions --------------------------------------------------------------------------------


def _numeric(values: Iterable[float] | np.ndarray | pd.Series, name: str) -> np.ndarray:
    array = np.asarray(pd.Series(values, dtype=float).dropna(), dtype=np.float64)
    if array.size == 0:
        raise QualityError(f"{name} is empty: give at least one value")
    return array


def ks_statistic(real: Iterable[float], synthetic: Iterable[float]) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical
    distribution functions (:func:`scipy.stats.ks_2samp`); NaN values are ignored."""
    result = stats.ks_2samp(_numeric(real, "real"), _numeric(synthetic, "synthetic"))
    return float(result.statistic)


def frequencies(
    real: Iterable[Hashable], synthetic: Iterable[Hashable]
) -> tuple[np.ndarray, np.ndarray, list[Hashable]]:
    """Relative frequencies of the values of ``real`` and ``synthetic`` over their union.

    Returns
    -------
    p, q : numpy.ndarray
        Shares of each value (summing to 1), aligned with ``values``.
    values : list
        The distinct values, sorted by their string form.
    """
    real_counts = Counter(value for value in real if not pd.isna(value))
    synthetic_counts = Counter(value for value in synthetic if not pd.isna(value))
    if not real_counts or not synthetic_counts:
        raise QualityError("both samples need at least one value")
    values = sorted(set(real_counts) | set(synthetic_counts), key=str)
    p = np.array([real_counts[value] for value in values], dtype=np.float64)
    q = np.array([synthetic_counts[value] for value in values], dtype=np.float64)
    return p / p.sum(), q / q.sum(), values


def _distributions(p: Sequence[float], q: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    p_array = np.asarray(p, dtype=np.float64)
    q_array = np.asarray(q, dtype=np.float64)
    if p_array.shape != q_array.shape or p_array.ndim != 1:
        raise QualityError("the two distributions need the same length")
    if (p_array < 0).any() or (q_array < 0).any() or p_array.sum() <= 0 or q_array.sum() <= 0:
        raise QualityError("distributions need non-negative weights with a positive sum")
    return p_array / p_array.sum(), q_array / q_array.sum()


def js_divergence(p: Sequence[float], q: Sequence[float]) -> float:
    r"""Jensen-Shannon divergence in bits (base 2), between 0 and 1.

    .. math:: JS(p, q) = \tfrac12 KL(p \| m) + \tfrac12 KL(q \| m), \quad m = (p + q) / 2

    ``p`` and ``q`` are weights over the same values; each is normalised to sum to 1.
    """
    p_array, q_array = _distributions(p, q)
    middle = (p_array + q_array) / 2

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / middle[mask])))

    return max(0.0, 0.5 * kl(p_array) + 0.5 * kl(q_array))


def total_variation(p: Sequence[float], q: Sequence[float]) -> float:
    """Total variation distance ``sum |p - q| / 2`` of two normalised weight vectors."""
    p_array, q_array = _distributions(p, q)
    return float(0.5 * np.abs(p_array - q_array).sum())


def fidelity(
    name: str, real: Iterable[Hashable], synthetic: Iterable[Hashable], *, numeric: bool
) -> pd.DataFrame:
    """Report rows comparing two samples of one quantity.

    ``numeric`` quantities (lengths, counts) get the KS statistic and the JS and TV distances
    of their value frequencies; categorical ones (item ids, categories) only JS and TV.
    """
    real_values = list(real)
    synthetic_values = list(synthetic)
    p, q, values = frequencies(real_values, synthetic_values)
    detail = (
        f"{len(real_values):,} real vs {len(synthetic_values):,} synthetic, {len(values):,} values"
    )
    rows = []
    if numeric:
        rows.append((f"{name}: KS statistic", ks_statistic(real_values, synthetic_values), detail))
    rows.append((f"{name}: Jensen-Shannon (bits)", js_divergence(p, q), detail))
    rows.append((f"{name}: total variation", total_variation(p, q), detail))
    return pd.DataFrame(rows, columns=list(REPORT_COLUMNS))


# Text diversity -------------------------------------------------------------------------------


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens of ``text``."""
    return _TOKEN.findall(str(text).lower())


def _ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct n-grams over all n-grams of ``texts`` (0 when there is no n-gram)."""
    if n < 1:
        raise QualityError(f"n must be at least 1, not {n}")
    grams = [gram for text in texts for gram in _ngrams(tokenize(text), n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def sentence_bleu(
    hypothesis: Sequence[str], references: Sequence[Sequence[str]], max_n: int = 4
) -> float:
    r"""BLEU of one tokenised ``hypothesis`` against tokenised ``references``.

    .. math:: BLEU = BP \cdot \exp\Big(\frac1N \sum_{n=1}^{N} \log p_n\Big), \quad
              BP = \min(1, e^{1 - r / c})

    ``p_n`` is the clipped n-gram precision (each n-gram counted at most as often as in the
    reference that has it most), with add-one smoothing ``(m_n + 1) / (l_n + 1)`` for ``n >= 2``
    so that a short text without a matching 4-gram does not score 0; ``c`` is the hypothesis
    length and ``r`` the reference length closest to it (the shorter on a tie). 0 for an empty
    hypothesis, no reference, or no matching unigram.
    """
    if not hypothesis or not references:
        return 0.0
    log_sum = 0.0
    for n in range(1, max_n + 1):
        counts = Counter(_ngrams(hypothesis, n))
        most: Counter[tuple[str, ...]] = Counter()
        for reference in references:
            for gram, count in Counter(_ngrams(reference, n)).items():
                most[gram] = max(most[gram], count)
        matched = sum(min(count, most[gram]) for gram, count in counts.items())
        total = sum(counts.values())
        if n == 1:
            if matched == 0:
                return 0.0
            precision = matched / total
        else:
            precision = (matched + 1) / (total + 1)
        log_sum += math.log(precision)
    length = len(hypothesis)
    closest = min((len(reference) for reference in references), key=lambda r: (abs(r - length), r))
    penalty = 1.0 if length > closest else math.exp(1 - closest / length)
    return penalty * math.exp(log_sum / max_n)


def self_bleu(
    texts: Sequence[str],
    *,
    max_n: int = 4,
    max_texts: int | None = 200,
    random_state: int | np.random.Generator | None = 0,
) -> float:
    """Mean BLEU of each text against all the other texts (high: the texts repeat each other).

    At most ``max_texts`` texts (a seeded sample) are scored, each against every other text of
    the sample, to bound the quadratic cost. NaN for fewer than two texts.
    """
    tokens = [tokenize(text) for text in texts]
    if max_texts is not None and len(tokens) > max_texts:
        rng = np.random.default_rng(random_state)
        chosen = rng.choice(len(tokens), size=max_texts, replace=False)
        tokens = [tokens[i] for i in sorted(chosen)]
    if len(tokens) < 2:
        return float("nan")
    scores = [
        sentence_bleu(tokens[i], tokens[:i] + tokens[i + 1 :], max_n) for i in range(len(tokens))
    ]
    return float(np.mean(scores))


# Memorisation ---------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lower-case text with runs of white space as one space, stripped."""
    return " ".join(str(text).lower().split())


def exact_copy_rate(synthetic_texts: Sequence[str], training_texts: Iterable[str]) -> float:
    """Share of synthetic texts equal (after :func:`normalise`) to some training text."""
    if len(synthetic_texts) == 0:
        raise QualityError("no synthetic texts to check")
    known = {normalise(text) for text in training_texts}
    return float(np.mean([normalise(text) in known for text in synthetic_texts]))


def nearest_cosine_distance(
    synthetic_vectors: np.ndarray, real_vectors: np.ndarray, batch_size: int = 1024
) -> np.ndarray:
    """For each synthetic vector, ``1 - max cosine`` to the real vectors (0: a copy).

    Zero vectors have cosine 0 to everything.
    """
    synthetic = np.asarray(synthetic_vectors, dtype=np.float32)
    real = np.asarray(real_vectors, dtype=np.float32)
    if synthetic.ndim != 2 or real.ndim != 2 or synthetic.shape[1] != real.shape[1]:
        raise QualityError("give two matrices with the same number of columns")
    if real.shape[0] == 0:
        raise QualityError("no real vectors to compare with")

    def unit(matrix: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)

    synthetic, real = unit(synthetic), unit(real)
    out = np.empty(synthetic.shape[0], dtype=np.float64)
    for start in range(0, synthetic.shape[0], batch_size):
        block = synthetic[start : start + batch_size] @ real.T
        out[start : start + batch_size] = 1.0 - block.max(axis=1)
    return np.clip(out, 0.0, 2.0)


def _set_matrix(
    sets: Sequence[Iterable[Hashable]], vocabulary: dict[Hashable, int]
) -> sp.csr_matrix:
    rows, cols = [], []
    for row, members in enumerate(sets):
        for member in set(members):
            rows.append(row)
            cols.append(vocabulary.setdefault(member, len(vocabulary)))
    return sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(len(sets), len(vocabulary))
    )


def nearest_jaccard_distance(
    synthetic_sets: Sequence[Iterable[Hashable]], real_sets: Sequence[Iterable[Hashable]]
) -> np.ndarray:
    """For each synthetic set, ``1 - max |A & B| / |A | B|`` over the real sets (0: a copy).

    Two empty sets are at distance 0; an empty set and a non-empty one at distance 1.
    """
    if len(real_sets) == 0:
        raise QualityError("no real sets to compare with")
    vocabulary: dict[Hashable, int] = {}
    synthetic = _set_matrix(synthetic_sets, vocabulary)
    real = _set_matrix(real_sets, vocabulary)
    width = len(vocabulary)
    synthetic.resize((synthetic.shape[0], width))
    real.resize((real.shape[0], width))
    shared = (synthetic @ real.T).toarray()
    sizes_synthetic = np.asarray(synthetic.sum(axis=1)).ravel()
    sizes_real = np.asarray(real.sum(axis=1)).ravel()
    union = sizes_synthetic[:, None] + sizes_real[None, :] - shared
    similarity = np.divide(shared, union, out=np.ones_like(shared), where=union > 0)
    return 1.0 - similarity.max(axis=1)


def identical_session_share(
    synthetic_sessions: Sequence[Sequence[Hashable]], real_sessions: Iterable[Sequence[Hashable]]
) -> float:
    """Share of synthetic sessions (ordered item sequences) equal to some real session."""
    if len(synthetic_sessions) == 0:
        raise QualityError("no synthetic sessions to check")
    known = {tuple(session) for session in real_sessions}
    return float(np.mean([tuple(session) in known for session in synthetic_sessions]))


# Consistency ----------------------------------------------------------------------------------


def round_trip_rate(ranks: Iterable[float], k: int) -> float:
    """Share of samples whose source was retrieved within the top ``k``.

    ``ranks`` are 1-based ranks of each sample's source item; NaN, 0 or a negative value
    means not retrieved.
    """
    if k < 1:
        raise QualityError(f"k must be at least 1, not {k}")
    values = np.asarray(pd.Series(ranks, dtype=float), dtype=np.float64)
    if values.size == 0:
        raise QualityError("no ranks given")
    found = np.nan_to_num(values, nan=0.0)
    return float(np.mean((found >= 1) & (found <= k)))


# Report ---------------------------------------------------------------------------------------


def _row(measure: str, value: float, detail: str) -> pd.DataFrame:
    return pd.DataFrame([(measure, float(value), detail)], columns=list(REPORT_COLUMNS))


def quality_report(
    *,
    real_interactions: pd.DataFrame | None = None,
    synthetic_interactions: pd.DataFrame | None = None,
    catalog: pd.DataFrame | None = None,
    real_sessions: Sequence[Sequence[Hashable]] | None = None,
    synthetic_sessions: Sequence[Sequence[Hashable]] | None = None,
    real_texts: Sequence[str] | None = None,
    synthetic_texts: Sequence[str] | None = None,
    ranks: Iterable[float] | None = None,
    k: int = 10,
    random_state: int = 0,
) -> pd.DataFrame:
    """The measures that the given inputs allow, as rows of :data:`REPORT_COLUMNS`.

    Parameters
    ----------
    real_interactions, synthetic_interactions : pandas.DataFrame, optional
        Columns ``user_id`` and ``item_id``: item popularity (interactions per item, over the
        items present in each), item and category mix (with ``catalog``), and each synthetic
        item's user set against the real items' user sets (nearest Jaccard distance: near 0
        means a real item's audience was copied).
    catalog : pandas.DataFrame, optional
        ``item_id`` and ``category``; the top level of the category path is compared.
    real_sessions, synthetic_sessions : sequences of item sequences, optional
        Session length and the share of synthetic sessions identical to a real one.
    real_texts, synthetic_texts : sequences of str, optional
        Query or description texts: length in words, distinct-1/2, self-BLEU and exact copies.
    ranks : iterable of float, optional
        Round-trip ranks of the synthetic texts' sources; reported as the rate within ``k``.
    """
    parts: list[pd.DataFrame] = []
    if real_interactions is not None and synthetic_interactions is not None:
        real, synthetic = real_interactions, synthetic_interactions
        if len(real) and len(synthetic):
            parts.append(
                fidelity(
                    "item popularity",
                    real.groupby("item_id").size().to_numpy(),
                    synthetic.groupby("item_id").size().to_numpy(),
                    numeric=True,
                )
            )
            if catalog is not None and "category" in catalog.columns:
                top = catalog.set_index(catalog["item_id"].astype(str))["category"].astype(str)
                top = top.str.split(">").str[0].str.strip()
                parts.append(
                    fidelity(
                        "category mix",
                        real["item_id"].astype(str).map(top),
                        synthetic["item_id"].astype(str).map(top),
                        numeric=False,
                    )
                )
            real_sets = real.groupby("item_id")["user_id"].agg(set)
            synthetic_sets = synthetic.groupby("item_id")["user_id"].agg(set)
            distances = nearest_jaccard_distance(list(synthetic_sets), list(real_sets))
            parts.append(
                _row(
                    "item audiences: mean nearest Jaccard distance",
                    float(distances.mean()),
                    f"{len(synthetic_sets):,} synthetic items vs {len(real_sets):,} real; "
                    f"{int((distances == 0).sum()):,} exact copies",
                )
            )
    if real_sessions is not None and synthetic_sessions is not None and len(synthetic_sessions):
        parts.append(
            fidelity(
                "session length",
                [len(session) for session in real_sessions],
                [len(session) for session in synthetic_sessions],
                numeric=True,
            )
        )
        parts.append(
            _row(
                "sessions identical to a real one",
                identical_session_share(synthetic_sessions, real_sessions),
                f"{len(synthetic_sessions):,} synthetic sessions",
            )
        )
    if synthetic_texts is not None and len(synthetic_texts):
        n = len(synthetic_texts)
        if real_texts is not None and len(real_texts):
            parts.append(
                fidelity(
                    "text length (words)",
                    [len(tokenize(text)) for text in real_texts],
                    [len(tokenize(text)) for text in synthetic_texts],
                    numeric=True,
                )
            )
            parts.append(
                _row(
                    "exact copies of training texts",
                    exact_copy_rate(synthetic_texts, real_texts),
                    f"{n:,} synthetic texts",
                )
            )
        for order in (1, 2):
            parts.append(
                _row(f"distinct-{order}", distinct_n(synthetic_texts, order), f"{n:,} texts")
            )
        parts.append(
            _row(
                "self-BLEU-4",
                self_bleu(synthetic_texts, random_state=random_state),
                f"{min(n, 200):,} texts, add-one smoothing",
            )
        )
    if ranks is not None:
        values = list(ranks)
        if values:
            parts.append(
                _row(f"round trip within top {k}", round_trip_rate(values, k), f"{len(values):,}")
            )
    if not parts:
        return pd.DataFrame({column: [] for column in REPORT_COLUMNS})
    return pd.concat(parts, ignore_index=True)
