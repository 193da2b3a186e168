"""Privacy of a workspace's synthetic batches: which real records are "seen" and which are not.

Interactions: the generators learn from the default split's training part, so the training
records are the item audiences (users per item) of that part and the holdout records the
audiences of its test part, which no generator saw. Texts: the real search queries issued up to
the split's training cut-off are the training records, and the queries first issued after it
the holdout. A generator that learnt from the whole log (a query language model trained on every
pair) has seen that holdout too; its attack AUC then cannot show a leak, while its DCR to the
training records and its exact copies still do.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from core.data.splits import Split
from core.data.workspace import Workspace
from core.errors import QualityError
from core.schema import EVENTS_TABLE, QUERY, TS
from core.synth.interactions.store import train_end
from core.synth.privacy import (
    JACCARD,
    PrivacyReport,
    audience_records,
    privacy_report,
    text_records,
)


def query_periods(ws: Workspace, split: Split) -> tuple[list[str], list[str]]:
    """Distinct real queries issued up to the split's training cut-off, and those first issued
    after it (lower-cased, white space collapsed)."""
    cutoff = train_end(split)
    if cutoff is None:
        raise QualityError(
            "privacy figures of texts need a temporal split: its cut-off separates the queries "
            "a generator may have seen from later ones"
        )
    with ws.connect() as con:
        frame = con.execute(
            f"SELECT lower(trim(regexp_replace({QUERY}, '\\s+', ' ', 'g'))) AS q, "
            f"min({TS}) AS first "
            f"FROM {EVENTS_TABLE} WHERE {QUERY} IS NOT NULL AND trim({QUERY}) <> '' GROUP BY q"
        ).df()
    seen = frame["first"] <= pd.Timestamp(cutoff)
    return sorted(frame.loc[seen, "q"]), sorted(frame.loc[~seen, "q"])


def text_privacy(
    ws: Workspace,
    split: Split,
    texts: Sequence[str],
    *,
    method: str = "tfidf",
    n_resamples: int = 500,
    random_state: int = 0,
) -> PrivacyReport:
    """:func:`~core.synth.privacy.privacy_report` of synthetic query ``texts`` against the
    real queries before and after the split's cut-off (:func:`query_periods`)."""
    train, holdout = query_periods(ws, split)
    if len(train) < 2 or not holdout:
        raise QualityError(
            f"{len(train):,} queries before the cut-off and {len(holdout):,} after it: both "
            "periods need queries (at least two before)"
        )
    records = text_records(texts, train, holdout, method=method)
    return privacy_report(*records, n_resamples=n_resamples, random_state=random_state)


def interaction_privacy(
    split: Split,
    synthetic_rows: pd.DataFrame,
    *,
    n_resamples: int = 500,
    random_state: int = 0,
) -> PrivacyReport:
    """:func:`~core.synth.privacy.privacy_report` of the synthetic item audiences in
    ``synthetic_rows`` against the training and test parts' audiences (Jaccard)."""
    records = audience_records(
        synthetic_rows[["user_id", "item_id"]],
        split.train.to_frame()[["user_id", "item_id"]],
        split.test.to_frame()[["user_id", "item_id"]],
    )
    return privacy_report(
        *records, metric=JACCARD, n_resamples=n_resamples, random_state=random_state
    )
