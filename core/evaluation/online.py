"""Simulated online A/B test on the sample world: its ground-truth users react to each variant.

The sample world (``core/simulate/``) keeps the hidden tastes that produced its log. Here those
users are shown each variant's top-k list; they look down the list, click and buy according to the
choice model below, and each variant gets a click-through and a conversion rate per user, which
:func:`~core.evaluation.stats.paired_bootstrap` compares. It only makes sense on the sample world:
:func:`is_sample_world` says whether a dataset is it.

Choice model
------------
For user ``u`` and product ``i`` of top category ``t``, brand ``b`` and price ``p``, with ``T``
top categories in the ground truth::

    a(u, t)   = (1 - P_EXPLORE) * affinity_u[t] + P_EXPLORE / T
    z(i)      = (ln p - mean of ln price over i's product type) / std of ln price over the type
    v(u, i)   = ln(T * a(u, t))
                - PRICE_WEIGHT * price_sensitivity_u * z(i)
                + BRAND_WEIGHT * brand_loyalty_u * [b == favourite_brand_u[t]]

    P(examine position j)      = position_bias ** j            (j = 0 at the top)
    P(click | examined)        = sigmoid(CLICK_BIAS + v(u, i))
    P(purchase | click)        = sigmoid(PURCHASE_BIAS + v(u, i))

``v`` is the generator's own target choice (its ``PRICE_WEIGHT``, ``BRAND_WEIGHT`` and price
z-score within the product type) with the category affinity as a log-prior; ``P_EXPLORE`` is the
generator's share of sessions that wander outside the user's tastes, so no category is ever
impossible. ``ln(T * a)`` is 0 for a user with even tastes. A product without a price counts as
its type's typical price. Positions are examined independently (a position-based model), and one
list can get several clicks. Bots are left out: they have no tastes to react with.

Metrics, per user and averaged over ``n_impressions_per_user`` showings of the list:
``ctr`` is clicks per list shown, ``conversion_rate`` purchases per list shown.

Common random numbers
---------------------
Every variant is shown to the same users with the same random numbers, so the comparison is
paired: whether position ``j`` is examined comes from one uniform per (user, showing, position)
shared by all variants, and the click and purchase draws are keyed by (user, showing, product)
through a counter-based hash. A user thus reacts the same way to a product wherever it appears,
and identical lists give identical results.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from core.checks import random_generator
from core.data.ingest.load import SAMPLE_DIR
from core.errors import ComparisonError
from core.evaluation.stats import BOOTSTRAP_COLUMNS, P_HOLM, P_VALUE, holm, paired_bootstrap
from core.schema import BRAND, CATEGORY, ITEM_ID, PRICE, USER_ID
from core.simulate.sessions import BRAND_WEIGHT, P_EXPLORE, PRICE_WEIGHT
from core.simulate.vocabulary import slug

# Calibrated on the sample world: a random product is clicked about 6% of the times it is looked
# at, and about 14% of those clicks end in a purchase, close to the generator's funnel
# (P_CART * P_PURCHASE = 12.5% of clicked targets are bought).
CLICK_BIAS = -3.0
PURCHASE_BIAS = -4.0
POSITION_BIAS = 0.8

CTR = "ctr"
CONVERSION_RATE = "conversion_rate"
METRIC = "metric"
ONLINE_COLUMNS: tuple[str, ...] = (METRIC, *BOOTSTRAP_COLUMNS)

AFFINITY_PREFIX = "affinity_"
FAVOURITE_BRAND_PREFIX = "favourite_brand_"
IS_BOT = "is_bot"
PRICE_SENSITIVITY = "price_sensitivity"
BRAND_LOYALTY = "brand_loyalty"

# splitmix64 constants: a counter-based hash that turns (key, user, showing, product) into a
# uniform number, the same whichever list the product is in.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


@dataclass(frozen=True)
class GroundTruth:
    """The sample world's hidden tables: users' tastes and the catalogue."""

    users: pd.DataFrame
    catalog: pd.DataFrame


@dataclass(frozen=True)
class OnlineABResult:
    """Outcome of :func:`simulate_online_ab`.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per (metric, variant) with the columns :data:`ONLINE_COLUMNS`: the
        :func:`~core.evaluation.stats.paired_bootstrap` table of each metric, with ``p_holm``
        adjusted across every comparison of the table (all metrics and treatments).
    per_user : dict
        ``per_user[metric][variant]``: the per-user values (same users, same order), ready for
        another :func:`~core.evaluation.stats.paired_bootstrap`.
    user_ids : numpy.ndarray
        External ids of the simulated users, in the order of the per-user arrays (bots left out).
    """

    summary: pd.DataFrame
    per_user: dict[str, dict[str, np.ndarray]]
    user_ids: np.ndarray


def load_ground_truth(folder: str | Path | None = None) -> GroundTruth:
    """Read ``ground_truth_users.parquet`` and ``catalog.parquet`` of a sample world folder.

    Parameters
    ----------
    folder : str or Path, optional
        Folder written by ``python -m core simulate``; the repository's ``sample_data/`` by
        default.
    """
    folder = Path(folder) if folder is not None else SAMPLE_DIR
    paths = [folder / "ground_truth_users.parquet", folder / "catalog.parquet"]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise ComparisonError(
            f"no sample world ground truth in {folder}: {', '.join(missing)} missing; generate it "
            f"with `python -m core simulate --out {folder}`"
        )
    return GroundTruth(users=pd.read_parquet(paths[0]), catalog=pd.read_parquet(paths[1]))


def is_sample_world(user_ids: Iterable[str], catalog: pd.DataFrame, truth: GroundTruth) -> bool:
    """Whether a dataset is the world of ``truth``: online A/B is meaningful only then.

    True when there is at least one user, every user is a ground-truth user and every product
    of ``catalog`` is in the ground-truth catalogue with the same category, brand and price
    (worlds made with another seed share the id format, not the products).
    """
    users = pd.Index(pd.Series(list(user_ids), dtype="str"))
    needed = [ITEM_ID, CATEGORY, BRAND, PRICE]
    if len(users) == 0 or not users.isin(truth.users[USER_ID]).all():
        return False
    if len(catalog) == 0 or any(c not in catalog.columns for c in needed):
        return False
    reference = truth.catalog[needed].set_index(ITEM_ID)
    ours = catalog[needed].set_index(ITEM_ID)
    if not ours.index.isin(reference.index).all():
        return False
    reference = reference.loc[ours.index]
    same_text = (ours[[CATEGORY, BRAND]] == reference[[CATEGORY, BRAND]]).all().all()
    prices_match = np.allclose(
        ours[PRICE].to_numpy(np.float64), reference[PRICE].to_numpy(np.float64), equal_nan=True
    )
    return bool(same_text and prices_match)


@dataclass(frozen=True)
class _Tastes:
    """Ground truth gathered into arrays: users by row of ``user_ids``, products by item index."""

    n_tops: int
    affinity: np.ndarray  # users x tops, exploration share mixed in
    favourite_brand: np.ndarray  # users x tops, brand codes
    price_sensitivity: np.ndarray
    brand_loyalty: np.ndarray
    is_bot: np.ndarray
    top: np.ndarray  # per product
    brand: np.ndarray  # per product, brand codes
    price_z: np.ndarray  # per product


def _check_known(ids: np.ndarray, index: pd.Index, absent: str, advice: str = "") -> None:
    """Raise :class:`ComparisonError` naming the ``ids`` missing from ``index``."""
    known = pd.Index(ids).isin(index)
    if not known.all():
        raise ComparisonError(
            f"{int((~known).sum())} of {len(ids)} {absent} (e.g. {ids[~known][:3].tolist()})"
            f"{advice}"
        )


def _gather_tastes(
    user_ids: np.ndarray, item_ids: np.ndarray, users_truth: pd.DataFrame, catalog: pd.DataFrame
) -> _Tastes:
    slugs = [c.removeprefix(AFFINITY_PREFIX) for c in users_truth if c.startswith(AFFINITY_PREFIX)]
    needed = [USER_ID, IS_BOT, PRICE_SENSITIVITY, BRAND_LOYALTY]
    needed += [FAVOURITE_BRAND_PREFIX + s for s in slugs]
    missing = [c for c in needed if c not in users_truth.columns]
    if not slugs or missing:
        raise ComparisonError(
            f"users_truth lacks {missing or 'affinity_<top> columns'}; pass the sample world's "
            "ground_truth_users table (load_ground_truth)"
        )
    truth = users_truth.set_index(USER_ID)
    _check_known(
        user_ids,
        truth.index,
        "users are not in the ground truth",
        "; online A/B runs on the sample world only, check is_sample_world first",
    )
    missing = [c for c in (ITEM_ID, CATEGORY, BRAND, PRICE) if c not in catalog.columns]
    if missing:
        raise ComparisonError(f"catalog lacks the columns {missing}")
    catalog = catalog.drop_duplicates(ITEM_ID)
    products = catalog.set_index(ITEM_ID)
    _check_known(item_ids, products.index, "products are not in the catalogue")

    # Price z-score within the product type, over the whole catalogue (as the generator does).
    log_price = np.log(catalog[PRICE].astype("float64"))
    by_type = log_price.groupby(catalog[CATEGORY].to_numpy())
    spread = np.sqrt(np.maximum(by_type.transform("var", ddof=0), 1e-6))
    price_z = pd.Series(
        ((log_price - by_type.transform("mean")) / spread).to_numpy(), catalog[ITEM_ID]
    )
    price_z = price_z.loc[item_ids].fillna(0.0).to_numpy()

    products = products.loc[item_ids]
    top_slug = products[CATEGORY].fillna("").str.split(" > ").str[0].map(slug)
    unknown_tops = sorted(set(top_slug) - set(slugs))
    if unknown_tops:
        raise ComparisonError(
            f"top categories {unknown_tops} of the catalogue have no affinity_<top> column in the "
            "ground truth; the catalogue is not the sample world's"
        )
    truth = truth.loc[user_ids]
    favourite_names = truth[[FAVOURITE_BRAND_PREFIX + s for s in slugs]].to_numpy(object)
    codes, _ = pd.factorize(
        np.concatenate([products[BRAND].to_numpy(object), favourite_names.ravel()])
    )
    n_tops = len(slugs)
    affinity = truth[[AFFINITY_PREFIX + s for s in slugs]].to_numpy(np.float64)
    return _Tastes(
        n_tops=n_tops,
        affinity=(1 - P_EXPLORE) * affinity + P_EXPLORE / n_tops,
        favourite_brand=codes[len(products) :].reshape(favourite_names.shape),
        price_sensitivity=truth[PRICE_SENSITIVITY].to_numpy(np.float64),
        brand_loyalty=truth[BRAND_LOYALTY].to_numpy(np.float64),
        is_bot=truth[IS_BOT].to_numpy(bool),
        top=pd.Index(slugs).get_indexer(top_slug),
        brand=codes[: len(products)],
        price_z=price_z,
    )


def _utility(tastes: _Tastes, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """``v(u, i)`` of the module docstring; ``rows`` and ``items`` broadcast together."""
    top = tastes.top[items]
    favourite = tastes.favourite_brand[rows, top] == tastes.brand[items]
    return (
        np.log(tastes.n_tops * tastes.affinity[rows, top])
        - PRICE_WEIGHT * tastes.price_sensitivity[rows] * tastes.price_z[items]
        + BRAND_WEIGHT * tastes.brand_loyalty[rows] * favourite
    )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def choice_probabilities(
    user_ids: np.ndarray, item_ids: np.ndarray, users_truth: pd.DataFrame, catalog: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Each user's click and purchase probability for each product under the choice model.

    Parameters
    ----------
    user_ids : array of str, shape (n_users,)
        Ground-truth users.
    item_ids : array of str, shape (n_items,)
        Catalogue products.
    users_truth, catalog : pandas.DataFrame
        The sample world's ``ground_truth_users`` and ``catalog`` tables.

    Returns
    -------
    (p_click, p_purchase) : two float64 arrays of shape (n_users, n_items)
        ``P(click | examined)`` and ``P(purchase | click)``; NaN rows for bots.
    """
    user_ids, item_ids = np.asarray(user_ids), np.asarray(item_ids)
    tastes = _gather_tastes(user_ids, item_ids, users_truth, catalog)
    utility = _utility(tastes, np.arange(len(user_ids))[:, None], np.arange(len(item_ids)))
    return _sigmoid(CLICK_BIAS + utility), _sigmoid(PURCHASE_BIAS + utility)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * _MIX_1
    x = (x ^ (x >> np.uint64(27))) * _MIX_2
    return x ^ (x >> np.uint64(31))


def _keyed_uniform(key: np.uint64, rows: np.ndarray, showing: int, items: np.ndarray) -> np.ndarray:
    """Uniform numbers in [0, 1) fixed by (key, user row, showing, product)."""
    h = _mix(key + rows.astype(np.uint64) * _GOLDEN)
    h = _mix(h + np.array([showing], dtype=np.uint64) * _GOLDEN)
    h = _mix(h + items.astype(np.uint64) * _GOLDEN)
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _check_lists(
    lists: Mapping[str, np.ndarray], n_users: int, n_items: int
) -> dict[str, np.ndarray]:
    if not lists:
        raise ComparisonError("no variants given; pass {variant name: (n_users, k) item indices}")
    checked = {}
    for name, array in lists.items():
        items = np.asarray(array)
        if items.ndim != 2 or items.shape[0] != n_users:
            raise ComparisonError(
                f"lists of variant {name!r} have shape {items.shape}; expected ({n_users}, k), "
                "one row per user of user_ids"
            )
        if items.dtype.kind not in "iu":
            raise ComparisonError(
                f"lists of variant {name!r} hold {items.dtype} values; expected integer item "
                "indices with -1 as padding"
            )
        if items.size and (items.min() < -1 or items.max() >= n_items):
            raise ComparisonError(
                f"lists of variant {name!r} hold item indices outside [-1, {n_items - 1}]; index "
                "item_ids with them and pad short lists with -1"
            )
        checked[name] = items.astype(np.int64)
    return checked


def simulate_online_ab(
    lists: Mapping[str, np.ndarray],
    user_ids: np.ndarray,
    item_ids: np.ndarray,
    users_truth: pd.DataFrame,
    catalog: pd.DataFrame,
    *,
    control: str | None = None,
    n_impressions_per_user: int = 1,
    position_bias: float = POSITION_BIAS,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> OnlineABResult:
    """Show every variant's lists to the ground-truth users and compare clicks and purchases.

    See the module docstring for the choice model and the common random numbers.

    Parameters
    ----------
    lists : mapping of variant name to int array of shape (n_users, k)
        Item indices (into ``item_ids``) of each user's list, best first, ``-1`` as padding.
        ``k`` may differ between variants.
    user_ids : array of str, shape (n_users,)
        External ids of the list rows, the same for every variant; all must be ground-truth
        users. Bots are left out of the result.
    item_ids : array of str, shape (n_items,)
        External id of each item index.
    users_truth, catalog : pandas.DataFrame
        The sample world's ``ground_truth_users`` and ``catalog`` (:func:`load_ground_truth`).
    control : str, optional
        Variant the others are compared with; None for rates and intervals only.
    n_impressions_per_user : int
        Times each user is shown each list; the per-user rates are averaged over them.
    position_bias : float
        Examination probability decay in (0, 1]: position ``j`` is looked at with probability
        ``position_bias ** j``.
    n_resamples, confidence : int, float
        Passed to :func:`~core.evaluation.stats.paired_bootstrap`.
    random_state : int, numpy.random.Generator or None
        Seed of the users' reactions and of the bootstrap.

    Returns
    -------
    OnlineABResult
    """
    user_ids, item_ids = np.asarray(user_ids), np.asarray(item_ids)
    if user_ids.ndim != 1 or item_ids.ndim != 1:
        raise ComparisonError("user_ids and item_ids must be 1-D arrays of external ids")
    checked = _check_lists(lists, len(user_ids), len(item_ids))
    if control is not None and control not in checked:
        raise ComparisonError(f"control {control!r} is not one of the variants {list(checked)}")
    if not isinstance(n_impressions_per_user, int | np.integer) or n_impressions_per_user < 1:
        raise ComparisonError(
            f"n_impressions_per_user must be a positive integer, got {n_impressions_per_user!r}"
        )
    if not 0 < position_bias <= 1:
        raise ComparisonError(f"position_bias must lie in (0, 1], got {position_bias!r}")

    tastes = _gather_tastes(user_ids, item_ids, users_truth, catalog)
    rows = np.flatnonzero(~tastes.is_bot)
    if len(rows) == 0:
        raise ComparisonError("every user is a bot; there is nobody to show the lists to")
    rng = random_generator(random_state)
    click_key, purchase_key = rng.integers(0, 2**64, size=2, dtype=np.uint64, endpoint=False)

    shown = {name: items[rows] for name, items in checked.items()}
    probabilities = {}
    for name, items in shown.items():
        utility = _utility(tastes, rows[:, None], np.maximum(items, 0))
        probabilities[name] = (_sigmoid(CLICK_BIAS + utility), _sigmoid(PURCHASE_BIAS + utility))
    k_max = max(items.shape[1] for items in shown.values())
    examine = position_bias ** np.arange(k_max)
    clicks = {name: np.zeros(len(rows)) for name in shown}
    purchases = {name: np.zeros(len(rows)) for name in shown}
    for showing in range(int(n_impressions_per_user)):
        examined = rng.random((len(rows), k_max)) < examine
        for name, items in shown.items():
            p_click, p_purchase = probabilities[name]
            k = items.shape[1]
            click = (
                (items >= 0)
                & examined[:, :k]
                & (_keyed_uniform(click_key, rows[:, None], showing, items) < p_click)
            )
            purchase = click & (
                _keyed_uniform(purchase_key, rows[:, None], showing, items) < p_purchase
            )
            clicks[name] += click.sum(axis=1)
            purchases[name] += purchase.sum(axis=1)

    per_user = {
        CTR: {name: c / n_impressions_per_user for name, c in clicks.items()},
        CONVERSION_RATE: {name: p / n_impressions_per_user for name, p in purchases.items()},
    }
    tables = []
    for metric, values in per_user.items():
        table = paired_bootstrap(
            values,
            control=control,
            n_resamples=n_resamples,
            confidence=confidence,
            random_state=rng,
        )
        tables.append(table.assign(**{METRIC: metric}))
    summary = pd.concat(tables, ignore_index=True)[list(ONLINE_COLUMNS)]
    summary[P_HOLM] = holm(summary[P_VALUE].to_numpy())
    return OnlineABResult(summary=summary, per_user=per_user, user_ids=user_ids[rows])


def agreement(offline: pd.Series, online: pd.Series) -> dict[str, object]:
    """How well an offline metric ranks the variants the way the online test does.

    Both series are indexed by variant, higher is better; variants in only one of them are
    ignored.

    Returns
    -------
    dict
        ``spearman``: Spearman rank correlation of the variants' values (NaN when either side
        ranks them all equal); ``p_value``: its p-value (NaN for two variants); ``n_variants``;
        ``offline_winner`` / ``online_winner``: the variant with the highest value (ties go to
        the first in ``offline``'s order); ``winner_agrees``: whether they are the same.
    """
    common = offline.index[offline.index.isin(online.index)]
    if len(common) < 2:
        raise ComparisonError(
            f"need at least two variants in both series to compare rankings, got {list(common)}"
        )
    first, second = offline.loc[common].astype(float), online.loc[common].astype(float)
    if first.isna().any() or second.isna().any():
        raise ComparisonError("offline and online values must not be NaN")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy_stats.ConstantInputWarning)
        result = scipy_stats.spearmanr(first.to_numpy(), second.to_numpy())
    offline_winner, online_winner = first.idxmax(), second.idxmax()
    return {
        "spearman": float(result.statistic),
        "p_value": float(result.pvalue),
        "n_variants": len(common),
        "offline_winner": offline_winner,
        "online_winner": online_winner,
        "winner_agrees": bool(offline_winner == online_winner),
    }
