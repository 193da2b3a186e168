"""Privacy view of the Synthetic Data page: DCR, distance ratio and membership attack per batch."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.data.workspace import Workspace
from core.errors import ShopSynthError
from core.figures import charts
from core.synth import store
from core.synth.privacy import PrivacyReport
from ui import cache, state, tables
from ui.feedback import long_step
from ui.text import plain

_ABOUT = (
    "Does a synthetic batch leak the real records it learnt from? Each synthetic record's "
    "**distance to the closest record** (DCR) among the real records its generator saw "
    "(training) and among real records it never saw (holdout); the **nearest-neighbour "
    "distance ratio** (near 0: it sits on one real record); and a **membership attack** that "
    "guesses a real record was in training when a synthetic record is near it: its AUC with a "
    "95% bootstrap interval, 0.5 meaning no leak. Interactions compare each product's set of "
    "users (Jaccard) with the training and test parts of the default split; queries compare "
    "TF-IDF vectors with the real queries issued before and after its cut-off. A language "
    "model trained on the whole log has seen both periods, so for it only the DCR to training "
    "and the exact copies can show a leak."
)


def _batches(ws: Workspace, with_rejected: bool) -> dict[str, tuple[str, object]]:
    """Label -> (kind, rows or texts) of every generator's synthetic batch."""
    from core.synth.interactions.store import list_interactions

    keep = None if with_rejected else store.REJECTED
    out: dict[str, tuple[str, object]] = {}
    rows = list_interactions(ws)
    if keep is not None:
        rows = rows[rows["status"] != keep]
    for generator, part in rows.groupby("generator", sort=True):
        out[f"interactions · {generator}"] = ("interactions", part)
    samples = store.list_samples(ws, kind=store.QUERY_KIND)
    if keep is not None and not samples.empty:
        samples = samples[samples["status"] != keep]
    for generator, part in samples.groupby("generator", sort=True) if not samples.empty else ():
        out[f"queries · {generator}"] = ("queries", part["text"].tolist())
    return out


def _measure(
    ws: Workspace, batches: dict[str, tuple[str, object]]
) -> dict[str, PrivacyReport | str]:
    """Label -> report, or the reason a batch could not be measured (the others still are)."""
    from core.synth.privacy_sets import interaction_privacy, text_privacy

    split = cache.default_split(ws)
    reports: dict[str, PrivacyReport | str] = {}
    with long_step("Measuring privacy…", "Measured") as progress:
        report_step = progress.stage("Batches")
        for step, (label, (kind, data)) in enumerate(batches.items(), start=1):
            try:
                if kind == "interactions":
                    reports[label] = interaction_privacy(split, data)
                else:
                    reports[label] = text_privacy(ws, split, data)
            except ShopSynthError as error:
                reports[label] = str(error)
            report_step(step, len(batches), label)
    return reports


def privacy_tab(ws: Workspace) -> None:
    """Privacy figures of every synthetic batch, one generator and kind at a time."""
    st.markdown(_ABOUT)
    with_rejected = st.toggle(
        "Include rejected samples", value=False, key=state.SYNTH_PRIVACY_REJECTED
    )
    batches = _batches(ws, with_rejected)
    if not batches:
        st.info("Generate synthetic queries or interactions first.")
        return
    if st.button("Measure privacy", icon=":material/shield:", key=state.SYNTH_PRIVACY_RUN):
        st.session_state[state.SYNTH_PRIVACY_RESULT] = _measure(ws, batches)
    measured: dict[str, PrivacyReport | str] | None = st.session_state.get(
        state.SYNTH_PRIVACY_RESULT
    )
    if not measured:
        return
    for label, outcome in measured.items():
        if isinstance(outcome, str):
            st.warning(plain(f"{label}: not measured: {outcome}"), icon=":material/info:")
    reports = {label: r for label, r in measured.items() if isinstance(r, PrivacyReport)}
    if not reports:
        return
    summary = pd.concat(
        [report.table().assign(batch=label) for label, report in reports.items()],
        ignore_index=True,
    )
    tables.table(
        summary.pivot(index="measure", columns="batch", values="value").reset_index(),
    )
    for label, report in reports.items():
        st.plotly_chart(
            charts.overlaid_histogram(
                {
                    "synthetic to training": report.dcr_train.tolist(),
                    "synthetic to holdout": report.dcr_holdout.tolist(),
                    "holdout to training (baseline)": report.baseline_dcr.tolist(),
                },
                f"Distance to closest record: {label}",
                "distance (0 = a copy)",
            ),
            width="stretch",
        )
