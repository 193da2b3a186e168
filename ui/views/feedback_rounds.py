"""Feedback rounds view: deploy a model, let the simulated shoppers respond, retrain, repeat."""

from __future__ import annotations

import streamlit as st

from core.data.workspace import Workspace
from core.figures.synthesis import feedback_rounds as rounds_figure
from ui import cache, state, tables
from ui.feedback import long_step

# Model name -> settings of the variants offered; every one retrains each round.
VARIANTS: dict[str, dict] = {
    "popularity": {},
    "als": {"factors": 32, "iterations": 15},
    "item_knn": {"k_neighbours": 50},
    "bpr": {"factors": 32, "iterations": 50},
}
_ABOUT = (
    "On the sample world only. Each model starts from the real training data and keeps its "
    "own log: every round it is trained on that log and shows each simulated shopper 20 "
    "products; the shoppers click and buy by the simulated online A/B's choice model, and "
    "their clicks and purchases join the log for the next round. Recall is measured on the "
    "real test data; coverage, the Gini of exposure and the long-tail share on the lists "
    "shown. A model that shows what is already popular feeds its own popularity."
)


def feedback_rounds_tab(ws: Workspace) -> None:
    """Settings and a Run button, then the four charts over the rounds and their table."""
    from core.evaluation.feedback_rounds import sample_world_rounds

    st.markdown(_ABOUT)
    with st.form(state.SYNTH_FEEDBACK_FORM, enter_to_submit=False):
        left, middle, right = st.columns([1, 1, 2])
        n_rounds = int(left.number_input("Rounds", 1, 10, 5, key=state.SYNTH_FEEDBACK_ROUNDS))
        n_users = int(
            middle.number_input("Shoppers", 100, 5000, 1000, 100, key=state.SYNTH_FEEDBACK_USERS)
        )
        chosen = right.multiselect(
            "Models", list(VARIANTS), default=["popularity", "als"],
            key=state.SYNTH_FEEDBACK_VARIANTS,
        )  # fmt: skip
        submitted = st.form_submit_button("Run feedback rounds", icon=":material/autorenew:")
    if submitted:
        if len(chosen) < 1:
            st.warning("Choose at least one model.")
            return
        with long_step("Deploying, simulating, retraining…", "Rounds done") as progress:
            st.session_state[state.SYNTH_FEEDBACK_RESULT] = sample_world_rounds(
                cache.default_split(ws), cache.catalog_frame(ws),
                variants={name: (name, VARIANTS[name]) for name in chosen},
                n_rounds=n_rounds, max_users=n_users, callback=progress.stage("Rounds"),
            )  # fmt: skip
    table = st.session_state.get(state.SYNTH_FEEDBACK_RESULT)
    if table is None:
        return
    st.plotly_chart(rounds_figure(table), width="stretch")
    tables.table(table)
