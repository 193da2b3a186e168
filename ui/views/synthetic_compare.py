"""Comparison of the interaction generators on the Synthetic Data page: utility and fidelity."""

from __future__ import annotations

import streamlit as st

from core.data.workspace import Workspace
from core.figures import charts
from ui import cache, state, tables
from ui.feedback import long_step

_ABOUT = (
    "All three generators draw 20 users for each cold-start product of the default split "
    "(nothing is stored). An ALS model trains on the real data alone and on the real data "
    "plus each generator's rows; all are scored on the real test users, cold-start products "
    "first, with 95% paired bootstrap intervals. The table below gives each batch's fidelity "
    "and privacy figures. Training the session model and the GAN takes a few minutes."
)


def generator_comparison(ws: Workspace) -> None:
    """A button that compares the generators, then the utility chart and the figures table."""
    st.markdown("##### Compare the generators")
    st.caption(_ABOUT)
    if st.button("Compare generators", icon=":material/compare:", key=state.SYNTH_COMPARE_RUN):
        from core.evaluation.generator_comparison import compare_generators
        from core.synth.interactions.inputs import product_vectors

        with long_step("Generating and training…", "Compared") as progress:
            split = cache.default_split(ws)
            catalog = cache.catalog_frame(ws)
            vectors = product_vectors(
                catalog, split.train.item_ids, cache_dir=ws.artifacts_dir / "embeddings",
                callback=progress.stage("Product vectors"),
            )  # fmt: skip
            st.session_state[state.SYNTH_COMPARE_RESULT] = compare_generators(
                split, vectors, catalog=catalog, callback=progress.stage("Generators")
            )
    comparison = st.session_state.get(state.SYNTH_COMPARE_RESULT)
    if comparison is None:
        return
    st.plotly_chart(charts.utility_bars(comparison.utility), width="stretch")
    if not comparison.fidelity.empty:
        wide = comparison.fidelity.pivot_table(
            index="measure", columns="generator", values="value", sort=False
        ).reset_index()
        tables.table(wide)
    seconds = ", ".join(f"{name} {value:.1f} s" for name, value in comparison.seconds.items())
    st.caption(f"Generation time (training included): {seconds}.")
