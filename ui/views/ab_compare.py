"""The A/B Compare page's view: a new offline comparison of variants, the saved comparisons, and
one comparison's tables, figures and downloads."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from core.data.workspace import Workspace
from core.evaluation import compare, fairness
from core.evaluation.experiment import (
    METRIC_BASES,
    NOT_AVAILABLE,
    SEGMENT,
    SEGMENTS,
    ExperimentResult,
    delete_experiment,
    export_csv,
    metric_table,
)
from core.evaluation.verdict import fallback_table, significance_levels, verdict, zero_scores
from core.evaluation.winners import validation_and_test_winners
from core.figures import evaluation as figures
from core.figures.fairness import GROUPING_LABELS, exposure_bars
from core.figures.report import experiment_report_html
from core.metrics.registry import metrics_at
from ui import cache, feedback, state
from ui.text import plain
from ui.views.models import delete_control, run_labels

DEFAULT_BASES = ("ndcg", "recall", "mrr", "coverage", "category_diversity", "novelty")
SEGMENT_LABELS = {
    "all": "All test users",
    "cold_users": "Cold-start users",
    "cold_items": "Cold-start items",
    "activity_low": "Least active third",
    "activity_mid": "Middle third",
    "activity_high": "Most active third",
    "long_tail": "Long-tail items",
    "repeat": "Repeat purchases",
    "new": "Items new to the user",
}


def new_comparison(ws: Workspace, models: pd.DataFrame) -> None:
    """Choice of variants (trained models and saved fusions), control and settings; compares
    them on the test users when submitted, and opens the result."""
    labels = run_labels(models)
    fusions = cache.fusion_list(ws)
    fusion_labels = {
        row.run_id: f"{row.name} · fused: {row.description}"
        for row in fusions.itertuples(index=False)
    }
    labels.update(fusion_labels)
    run_ids = list(labels)
    default = [run for run in run_ids if run in fusion_labels][:1]
    default += [run for run in run_ids if run not in fusion_labels][: 3 - len(default)]
    chosen = st.multiselect(
        "Variants (trained models and saved fusions)",
        run_ids,
        default=default,
        format_func=labels.get,
        key=state.AB_VARIANTS,
        help="Every variant must rank over the same data and split (the Models page trains "
        "all models on the same temporal split). Fusions are saved on the Fusion page.",
    )
    model_kind = models.set_index("run_id")["model"]
    baselines = [run for run in chosen if model_kind.get(run) == "popularity"]
    control = st.selectbox(
        "Control",
        chosen,
        index=chosen.index(baselines[0]) if baselines else 0,
        format_func=labels.get,
        key=state.AB_CONTROL,
        help="Treatments are compared with this variant: differences, lift and p-values.",
    )
    with st.form("ab_form"):
        left, middle, right = st.columns(3)
        k = int(left.number_input("k (list length)", 1, 100, 10, key=state.AB_K))
        n_resamples = int(
            middle.number_input(
                "Bootstrap resamples",
                100,
                10_000,
                1000,
                step=100,
                key=state.AB_RESAMPLES,
                help="For the intervals only: p-values come from a paired t-test, whose "
                "resolution does not depend on the resamples.",
            )
        )
        name = right.text_input(
            "Name", value=f"Comparison {datetime.now():%Y-%m-%d %H:%M}", key=state.AB_NAME
        )
        bases = st.multiselect(
            "Metrics", METRIC_BASES, default=list(DEFAULT_BASES), key=state.AB_METRICS
        )
        primary = st.selectbox(
            "Primary metric",
            METRIC_BASES,
            index=METRIC_BASES.index(DEFAULT_BASES[0]),
            key=state.AB_PRIMARY,
            help="The metric the decision rests on; the verdict names the winner on it. Each "
            "metric's p-values are Holm-adjusted across the treatments; the other metrics are "
            "exploratory.",
        )
        segments = st.multiselect(
            "Segments",
            SEGMENTS,
            default=list(SEGMENTS),
            format_func=SEGMENT_LABELS.get,
            key=state.AB_SEGMENTS,
        )
        submitted = st.form_submit_button(
            "Compare", type="primary", icon=":material/play_arrow:", key=state.AB_COMPARE
        )
    if not submitted:
        return
    if not chosen or not bases or "all" not in segments or primary not in bases:
        st.warning(
            "Choose at least one variant and one metric, keep the primary metric among the "
            "metrics, and keep the 'All test users' segment.",
            icon=":material/warning:",
        )
        return
    with feedback.show_errors():
        with feedback.long_step("Comparing…", "Compared") as progress:
            result = compare.compare_models(
                ws,
                [run for run in chosen if run not in fusion_labels],
                fusion_run_ids=[run for run in chosen if run in fusion_labels],
                name=name,
                control=control,
                metrics=metrics_at(bases, k),
                primary_metric=f"{primary}@{k}",
                segments=segments,
                n_resamples=n_resamples,
                callback=progress.stage("Comparing"),
            )
        st.session_state[state.AB_RUN] = result.run_id
        state.flash("success", f"Compared {len(chosen)} variants on {result.users.size:,} users.")
        st.rerun()


def earlier_runs(ws: Workspace) -> None:
    """The saved comparisons: which one is open, and deleting it."""
    runs = cache.experiment_list(ws)
    if runs.empty:
        st.caption("No comparison yet.")
        return
    labels = {
        row.run_id: f"{row.name} · {row.variants} · {row.run_id[-8:]}"
        for row in runs.itertuples(index=False)
    }
    current = st.session_state[state.AB_RUN]
    if current not in labels:
        current = next(iter(labels))
        st.session_state[state.AB_RUN] = current
    st.session_state[state.AB_OPEN_RUN] = current

    def delete(run_id: str) -> str:
        delete_experiment(ws, run_id)
        st.session_state[state.AB_RUN] = None
        return f"Deleted {labels[run_id]}."

    st.session_state[state.AB_RUN] = delete_control(
        "Open a comparison",
        labels,
        select_key=state.AB_OPEN_RUN,
        button_key=state.AB_DELETE,
        delete=delete,
        widths=(4, 1),
    )


def _significance_note(result: ExperimentResult) -> str:
    config = result.config
    levels = significance_levels(result)
    marks = ", ".join(f"`{'*' * (i + 1)}` p < {level}" for i, level in enumerate(levels))
    if config.get("p_test"):
        how = (
            "p-values from a paired t-test, Holm-adjusted per metric across the "
            f"{len(result.variants) - 1} treatments (the primary metric "
            f"{plain(config.get('primary_metric'))} is the confirmatory family; the others are "
            "exploratory)"
        )
    else:
        how = "bootstrap p-values, Holm-adjusted within each segment across treatments and metrics"
    return (
        f"Paired bootstrap over users ({config['n_resamples']:,} resamples) for the "
        f"{config['confidence']:.0%} intervals. Lift = difference / control mean; {how}: "
        + (marks if marks else "no significance level can be reached in this comparison")
        + "."
    )


def _warnings(result: ExperimentResult) -> None:
    """Metrics not available on the data, and variants scoring zero on a segment."""
    rows = result.table
    missing = rows[rows[NOT_AVAILABLE] != ""].drop_duplicates("metric")
    for row in missing.itertuples(index=False):
        st.info(
            f"{plain(row.metric)} is not available: {plain(row.not_available)}.",
            icon=":material/info:",
        )
    zeros = zero_scores(result)
    if not zeros.empty:
        metric = result.config.get("primary_metric") or result.config["metrics"][0]
        st.warning(
            f"Some variants score 0 on {plain(metric)} in a segment (below): they find nothing "
            "relevant for those users.",
            icon=":material/warning:",
        )
        zeros = zeros.assign(segment=zeros[SEGMENT].map(SEGMENT_LABELS).fillna(zeros[SEGMENT]))
        st.dataframe(figures.readable(zeros), hide_index=True, width="stretch")
    served = fallback_table(result)
    if not served.empty:
        st.info(
            "Users without training history get a labelled fallback list from these variants "
            "(below), not an empty one; the cold-start users segment scores those lists.",
            icon=":material/info:",
        )
        st.dataframe(figures.readable(served), hide_index=True, width="stretch")


def show_result(result: ExperimentResult) -> None:
    """A comparison's metrics, lift and significance, figures by segment, the simulated online
    A/B when there is one, the CSV and HTML downloads, and a plain-language verdict."""
    metrics = result.config["metrics"]
    accuracy = result.config.get("primary_metric") or metrics[0]
    st.caption(
        f"{len(result.variants)} variants on {result.users.size:,} test users · control "
        f"**{plain(result.control)}** · k = {result.config['k']}"
    )
    _warnings(result)
    st.markdown("##### Metrics, all test users")
    st.dataframe(metric_table(result).style.format("{:.4f}", na_rep=""), width="stretch")
    if result.control is not None and len(result.variants) > 1:
        st.markdown(f"##### Lift over {plain(result.control)}")
        st.dataframe(figures.lift_table(result, metrics), width="stretch")
        st.caption(_significance_note(result))
        st.markdown("##### Differences with intervals and p-values, all test users")
        st.dataframe(
            figures.comparison_table(result, metrics),
            hide_index=True,
            width="stretch",
            column_config={
                "Lift": st.column_config.NumberColumn(format="percent"),
                # Scientific notation: p-values run from 1 down to 1e-20 and below.
                "p (raw)": st.column_config.NumberColumn(format="%.2e"),
                "p (Holm, per metric)": st.column_config.NumberColumn(format="%.2e"),
            },
        )
    shown = st.multiselect(
        "Metrics in the bar chart", metrics, default=metrics[:4], key=state.AB_BAR_METRICS
    )
    segment = st.selectbox(
        "Segment",
        result.config["segments"],
        format_func=SEGMENT_LABELS.get,
        key=state.AB_SEGMENT_VIEW,
    )
    if shown:
        st.plotly_chart(figures.metric_bars(result, shown, segment), width="stretch")
    left, right = st.columns(2)
    missing = set(result.table.loc[result.table[NOT_AVAILABLE] != "", "metric"])
    diversity = [
        m for m in metrics if m.split("@")[0] in ("category_diversity", "ild") and m not in missing
    ]
    coverage = [m for m in metrics if m.split("@")[0] == "coverage"]
    if diversity:
        left.plotly_chart(
            figures.tradeoff_scatter(result, diversity[0], accuracy, segment), width="stretch"
        )
    if coverage:
        right.plotly_chart(
            figures.tradeoff_scatter(result, coverage[0], accuracy, segment), width="stretch"
        )
    heat_metric = st.selectbox(
        "Metric of the segment heatmap", metrics, key=state.AB_HEATMAP_METRIC
    )
    st.plotly_chart(figures.segment_heatmap(result, heat_metric), width="stretch")
    left, right = st.columns(2)
    left.plotly_chart(figures.coverage_figure(result), width="stretch")
    right.plotly_chart(figures.popularity_figure(result, k=result.config["k"]), width="stretch")
    if result.online is not None:
        st.markdown("##### Simulated online A/B")
        st.plotly_chart(figures.online_figure(result.online), width="stretch")
        offline = metric_table(result)[accuracy]
        clicks = result.online[result.online["metric"] == "ctr"].set_index("variant")["mean"]
        if offline.notna().all():
            agreement = compare.online.agreement(offline, clicks)
            st.caption(plain(compare.agreement_text(agreement, accuracy)))
    fairness_section(result)
    left, right = st.columns(2)
    stem = f"shopsynth-ab-{result.run_id or 'result'}"
    # Both files are built only when their button is pressed.
    left.download_button(
        "Download the results (CSV)",
        lambda: export_csv(result),
        on_click="ignore",
        file_name=f"{stem}.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    right.download_button(
        "Download the report (HTML)",
        lambda: experiment_report_html(result, f"ShopSynth A/B comparison {result.run_id}"),
        on_click="ignore",
        file_name=f"{stem}.html",
        mime="text/html",
        icon=":material/description:",
    )
    sentences = verdict(result)
    if sentences:
        st.markdown("##### Verdict")
        for sentence in sentences:
            st.markdown(plain(sentence))


def validation_winners(ws: Workspace, result: ExperimentResult) -> None:
    """Per model with several compared runs, the run validation picks beside the run the
    test part picks (NDCG@10), flagged when they differ."""
    table = validation_and_test_winners(result, cache.model_list(ws))
    if table.empty:
        return
    st.markdown("##### Validation winner and test winner")
    st.dataframe(table, hide_index=True, width="stretch")
    differ = table.loc[table["differ"], "model"].tolist()
    if differ:
        st.warning(
            plain(
                f"Validation and test pick different runs of {', '.join(differ)}: the settings "
                "chosen on validation did not win on test. Report the validation winner's test "
                "figure; choosing the test winner would tune on the test part."
            ),
            icon=":material/warning:",
        )


FAIRNESS_COLUMNS = {
    fairness.VARIANT: "Variant",
    fairness.GROUP: "Group",
    fairness.EXPOSURE_SHARE: "Exposure share",
    fairness.RELEVANCE_SHARE: "Relevance share",
    fairness.RATIO: "Exposure / relevance",
}


def fairness_section(result: ExperimentResult) -> None:
    """Fairness of exposure: per variant, each item group's share of the attention its lists get
    against the group's share of the test users' relevant items."""
    st.markdown("##### Fairness of exposure")
    table = result.fairness
    if table is None:
        st.caption("Compared before fairness was measured: compare again to see it.")
        return
    groupings = list(dict.fromkeys(table[fairness.GROUPING]))
    if not groupings:
        st.caption(
            "The catalogue gives no brand, category, price or first-seen date with two or more "
            "groups, so there is no exposure of item groups to compare."
        )
        return
    grouping = st.selectbox(
        "Group items by",
        groupings,
        format_func=GROUPING_LABELS.get,
        key=state.AB_FAIRNESS_GROUPING,
    )
    gaps = fairness.exposure_gaps(table, grouping)
    st.caption(
        f"Attention 1/log2(1 + rank) over each top-{result.config['k']} list (Singh & Joachims "
        "2018): a fair ranking gives each group the share of exposure it has of the relevant "
        "items (ratio 1). Exposure gap (half the summed differences, lower is fairer): "
        + ", ".join(f"{plain(variant)} {gap:.3f}" for variant, gap in gaps.items())
        + "."
    )
    st.plotly_chart(exposure_bars(table, grouping), width="stretch")
    rows = table[table[fairness.GROUPING] == grouping]
    st.dataframe(
        rows[list(FAIRNESS_COLUMNS)].rename(columns=FAIRNESS_COLUMNS),
        hide_index=True,
        width="stretch",
        column_config={
            "Exposure share": st.column_config.NumberColumn(format="percent"),
            "Relevance share": st.column_config.NumberColumn(format="percent"),
            "Exposure / relevance": st.column_config.NumberColumn(format="%.2f"),
        },
    )
