"""Views of the Synthetic Data page: the review table of generated samples and the runs of
synthetic interactions (the quality tab is :mod:`ui.views.synthetic_quality`)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.data.workspace import Workspace
from core.synth import store
from ui import cache, state, tables
from ui.feedback import show_errors
from ui.text import plural

REVIEW_LIMIT = 500
# The status first, then what a reviewer reads; rows tall enough for a description to wrap.
REVIEW_COLUMNS = (
    "status", "product", "text", "edited_text", "flags", "score", "rank", "generator",
)  # fmt: skip
REVIEW_ROW_HEIGHT = 96
_SCORE = st.column_config.NumberColumn("Mean round-trip score", format="%.3f")
FLAG_FILTERS = {None: "all", "any": "flagged", "none": "unflagged"}
FLAG_LABELS = {
    store.COPY_OF_REAL: "copy of a real text",
    store.TOO_SHORT: "too short",
    store.TOO_LONG: "too long",
    store.NOT_ROUND_TRIP: "product not retrieved",
    store.REPETITIVE: "repetitive",
    store.WRONG_ATTRIBUTE: "names another product's attribute",
}


def _flags_text(flags: list[str]) -> str:
    return ", ".join(FLAG_LABELS.get(flag, flag) for flag in flags)


def review(ws: Workspace) -> None:
    """Counts of the generated samples, then filters, an editable table of samples (status
    and edited text) and bulk decisions."""
    summary = store.sample_summary(ws)
    if summary.empty:
        st.info("Nothing generated yet: generate queries or descriptions first.")
        return
    tables.table(summary, column_config={"score": _SCORE})
    left, middle, right, last = st.columns(4)
    kind = left.selectbox("Kind", [None, *store.KINDS], format_func=lambda v: v or "all",
                          key=state.SYNTH_REVIEW_KIND)  # fmt: skip
    status = middle.selectbox("Status", [None, *store.STATUSES], format_func=lambda v: v or "all",
                              key=state.SYNTH_REVIEW_STATUS)  # fmt: skip
    flag = right.selectbox(
        "Flag",
        [None, "any", "none", *store.FLAGS],
        format_func=lambda v: FLAG_FILTERS.get(v) or FLAG_LABELS.get(v, v),
        key=state.SYNTH_REVIEW_FLAG,
    )
    min_score = last.number_input("Score at least", -1.0, 1.0, -1.0, 0.05,
                                  key=state.SYNTH_REVIEW_SCORE)  # fmt: skip
    generators = summary["generator"].drop_duplicates().tolist()
    generator = st.selectbox(
        "Generator",
        [None, *generators],
        format_func=lambda v: v or "all",
        key=state.SYNTH_REVIEW_GENERATOR,
    )
    filters: dict[str, Any] = {"kind": kind, "status": status, "generator": generator}
    if flag == "any":
        filters["flagged"] = True
    elif flag == "none":
        filters["flagged"] = False
    elif flag is not None:
        filters["flag"] = flag
    if min_score > -1.0:
        filters["min_score"] = float(min_score)
    samples = store.list_samples(ws, limit=REVIEW_LIMIT, **filters)
    if samples.empty:
        st.info("No sample matches these filters.")
        return
    matching = store.count_samples(ws, **filters)
    titles = cache.item_titles(ws)
    shown = pd.DataFrame(
        {
            "sample_id": samples["sample_id"],
            "status": samples["status"],
            "product": [titles.get(str(item), str(item)) for item in samples["item_id"]],
            "generator": samples["generator"],
            "text": samples["text"],
            "edited_text": samples["edited_text"],
            "score": samples["score"],
            "rank": samples["rank"],
            "flags": [_flags_text(flags) for flags in samples["flags"]],
        }
    )
    st.caption(
        f"{plural(matching, 'sample')} match these filters; the first {len(shown):,} are shown. "
        "Edit the status or the text; long texts wrap, and a double click shows a cell whole."
    )
    edited = st.data_editor(
        shown,
        hide_index=True,
        width="stretch",
        disabled=["sample_id", "product", "generator", "text", "score", "rank", "flags"],
        column_order=REVIEW_COLUMNS,
        column_config=_review_columns(),
        row_height=REVIEW_ROW_HEIGHT,
        key=state.SYNTH_REVIEW_EDITOR,
    )
    left, middle, right = st.columns(3)
    if left.button("Save decisions", type="primary", icon=":material/save:", key=state.SYNTH_SAVE):
        with show_errors():
            changed = _save_decisions(ws, shown, edited)
            state.flash("success", f"Saved {plural(changed, 'decision')}.")
            st.rerun()
    accept, reject = with_flags(filters, flagged=False), with_flags(filters, flagged=True)
    n_accept = store.count_samples(ws, **accept) if accept is not None else 0
    n_reject = store.count_samples(ws, **reject) if reject is not None else 0
    if middle.button(
        f"Accept the {plural(n_accept, 'unflagged matching sample')}",
        key=state.SYNTH_ACCEPT_CLEAN,
    ):
        with show_errors():
            count = _set_matching(ws, store.ACCEPTED, accept)
            state.flash("success", f"Accepted {plural(count, 'unflagged sample')}.")
            st.rerun()
    if right.button(
        f"Reject the {plural(n_reject, 'flagged matching sample')}",
        key=state.SYNTH_REJECT_FLAGGED,
    ):
        with show_errors():
            count = _set_matching(ws, store.REJECTED, reject)
            state.flash("success", f"Rejected {plural(count, 'flagged sample')}.")
            st.rerun()


def _review_columns() -> dict[str, Any]:
    return {
        "sample_id": None,
        "status": st.column_config.SelectboxColumn(
            "Status", options=list(store.STATUSES), required=True, pinned=True, width="small"
        ),
        "product": st.column_config.TextColumn("Source product", width="medium"),
        "generator": st.column_config.TextColumn("Generator", width="small"),
        "text": st.column_config.TextColumn("Synthetic text", width="large"),
        "edited_text": st.column_config.TextColumn("Edited text", width="medium"),
        "score": st.column_config.NumberColumn("Round-trip score", format="%.3f"),
        "rank": st.column_config.NumberColumn("Product rank"),
        "flags": st.column_config.TextColumn("Flags", width="medium"),
    }


def with_flags(filters: dict[str, Any], *, flagged: bool) -> dict[str, Any] | None:
    """The review ``filters`` (those of :func:`core.synth.store.list_samples`) narrowed to the
    flagged (or unflagged) samples; None when no sample can match both.

    A bulk decision applies to every sample these filters match, not only the rows shown.
    """
    narrowed = {name: value for name, value in filters.items() if value is not None}
    if narrowed.get("flagged", flagged) != flagged or ("flag" in narrowed and not flagged):
        return None
    narrowed["flagged"] = flagged
    return narrowed


def _set_matching(ws: Workspace, status: str, filters: dict[str, Any] | None) -> int:
    """Set ``status`` on every sample matching ``filters`` (list filters; None: none match)."""
    if filters is None:
        return 0
    renamed = {("current_status" if name == "status" else name): v for name, v in filters.items()}
    return store.set_status(ws, status, **renamed)


def _save_decisions(ws: Workspace, before: pd.DataFrame, after: pd.DataFrame) -> int:
    changed = 0
    for status in store.STATUSES:
        ids = after.loc[(after["status"] == status) & (before["status"] != status), "sample_id"]
        if len(ids):
            changed += store.set_status(ws, status, ids.tolist())
    old = before["edited_text"].fillna("")
    new = after["edited_text"].fillna("")
    for sample_id, text in zip(after.loc[old != new, "sample_id"], new[old != new], strict=True):
        store.edit_text(ws, sample_id, text.strip() or None)
        changed += 1
    return changed


def interaction_runs(ws: Workspace) -> None:
    """The runs of synthetic interactions, each accepted or rejected as a whole."""
    from core.synth.interactions.store import interaction_summary, set_interaction_status

    summary = interaction_summary(ws)
    if summary.empty:
        return
    tables.table(summary, column_config={"n_rows": "Interactions"})
    runs = summary["run_id"].tolist()
    left, middle, right = st.columns([3, 1, 1], vertical_alignment="bottom")
    # Without a choice yet, the newest run with pending rows (the list is newest first).
    pending = summary["pending"].to_numpy() > 0
    run_id = left.selectbox(
        "Run", runs, index=int(pending.argmax()) if pending.any() else 0, key=state.SYNTH_I_RUN
    )
    if middle.button("Accept run", icon=":material/check:", key=state.SYNTH_I_ACCEPT):
        count = set_interaction_status(ws, store.ACCEPTED, run_id=run_id)
        state.flash("success", f"Accepted {count:,} synthetic interactions.")
        st.rerun()
    if right.button("Reject run", icon=":material/close:", key=state.SYNTH_I_REJECT):
        count = set_interaction_status(ws, store.REJECTED, run_id=run_id)
        state.flash("success", f"Rejected {count:,} synthetic interactions.")
        st.rerun()
