"""The A/B Compare page's search section: search rankers measured on the held-out search
sessions (NDCG@10, MRR@10, Recall@100, zero-result rate) per query segment, each compared
with a control by a paired bootstrap over searches."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.data.workspace import Workspace
from core.evaluation.search_variants import SearchComparison
from core.search.evaluation import RANKER, SEARCH_METRICS
from core.search.explain import available_rankers
from ui import cache, feedback, search_cache, state
from ui.text import plain
from ui.views.search import encoder_options, index_settings, open_index

SEARCH_SEGMENT_LABELS = {
    "all": "All test searches",
    "head": "Head queries",
    "torso": "Torso queries",
    "tail": "Tail queries",
    "cold": "Clicked product cold",
}
COMPARISON_COLUMNS = {
    "segment": "Segment", "n_searches": "Searches", "metric": "Metric", "variant": "Ranker",
    "mean": "Mean", "diff": "Difference", "diff_ci_low": "95% interval, low",
    "diff_ci_high": "95% interval, high", "p_holm": "p (Holm)",
}  # fmt: skip


def search_variants(ws: Workspace, status: dict) -> None:
    """Choice of search rankers, the control and the sample; the comparison when asked."""
    if not status["cleaned"]:
        st.caption("Load and clean a dataset with search events to compare search rankers.")
        return
    if not st.toggle(
        "Compare search rankers on the held-out searches", key=state.AB_SEARCH_OPEN,
        help="Builds a search index of the catalogue (once) and runs the held-out queries.",
    ):  # fmt: skip
        return
    settings = index_settings(
        ws, cache.model_list(ws), encoder_options(ws),
        (state.AB_SEARCH_ENCODER, state.AB_SEARCH_MODEL_RUN, state.AB_SEARCH_EXPAND),
    )  # fmt: skip
    index = open_index(ws, settings)
    rankers = {ranker.name: ranker for ranker in available_rankers(index)}
    names = list(rankers)
    chosen = st.multiselect(
        "Search rankers", names, default=names[:3], key=state.AB_SEARCH_RANKERS,
        format_func=lambda n: f"{n} · {rankers[n].description}",
    )  # fmt: skip
    control = st.selectbox(
        "Search control", chosen, index=chosen.index("lexical") if "lexical" in chosen else 0,
        key=state.AB_SEARCH_CONTROL, help="Every other ranker is compared with this one.",
    )  # fmt: skip
    left, right = st.columns(2)
    max_searches = int(left.number_input(
        "Test searches measured (a seeded sample)", 50, 100_000, 100, step=50,
        key=state.AB_SEARCH_MAX,
        help="Each search runs the whole engine; a sample keeps the comparison short.",
    ))  # fmt: skip
    n_resamples = int(right.number_input(
        "Bootstrap resamples", 100, 10_000, 1000, step=100, key=state.AB_SEARCH_RESAMPLES,
    ))  # fmt: skip
    if st.button(
        "Compare search rankers", key=state.AB_SEARCH_COMPARE, icon=":material/play_arrow:"
    ):
        if len(chosen) < 1 or control is None:
            st.warning("Choose at least one search ranker.", icon=":material/warning:")
            return
        key = search_cache.comparison_key(
            ws, settings, tuple(rankers[n] for n in chosen), control, max_searches, n_resamples
        )
        with feedback.long_step("Searching the held-out queries…", "Search rankers compared") as p:
            search_cache.search_comparison(ws, index, key, p.stage("Measuring"))
        st.session_state[state.AB_SEARCH_RUN] = key
    key = st.session_state[state.AB_SEARCH_RUN]
    shown = search_cache.saved_comparison(key) if key is not None else None
    if shown is not None:
        show_search_comparison(shown)


def metric_means(comparison: SearchComparison, segment: str) -> pd.DataFrame:
    """Mean of each metric per ranker (rows) in ``segment``."""
    rows = comparison.summary[comparison.summary["segment"] == segment]
    table = rows.pivot(index=RANKER, columns="metric", values="value")
    names = list(dict.fromkeys(comparison.summary[RANKER]))
    return table.reindex(index=names, columns=list(SEARCH_METRICS))


def show_search_comparison(comparison: SearchComparison) -> None:
    """Means per segment, and differences with the control with their intervals."""
    st.caption(
        f"{comparison.n_searches:,} of {comparison.n_test_searches:,} test searches (the latest "
        "20% of the log's searches); accuracy on searches followed by a click, cart or purchase "
        f"(graded 1, 2, 3). Control: {plain(comparison.control)}."
    )
    segment = st.selectbox(
        "Query segment", list(SEARCH_SEGMENT_LABELS), key=state.AB_SEARCH_SEGMENT,
        format_func=SEARCH_SEGMENT_LABELS.get,
        help="Head, torso and tail by how often the query was searched in training; cold: "
        "no engaged product had any event before the held-out period.",
    )  # fmt: skip
    st.dataframe(metric_means(comparison, segment).style.format("{:.4f}", na_rep=""))
    table = comparison.comparison
    table = table[(table["segment"] == segment) & (table["variant"] != comparison.control)]
    if table.empty:
        st.caption("No difference to show: compare two rankers or more.")
        return
    st.markdown(f"##### Difference with {plain(comparison.control)}, paired bootstrap")
    st.dataframe(
        table[list(COMPARISON_COLUMNS)].rename(columns=COMPARISON_COLUMNS),
        hide_index=True, width="stretch",
        column_config={"p (Holm)": st.column_config.NumberColumn(format="%.2e")},
    )  # fmt: skip
