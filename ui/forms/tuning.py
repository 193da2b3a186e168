"""The Models page's "Tune on validation" section: a random search of the chosen model's
hyperparameters with a progress bar, its trials table, and training with the best settings."""

from __future__ import annotations

import streamlit as st

from core.data.workspace import Workspace
from core.models import runs
from core.models.training import train_model
from core.models.tuning import SEARCH_SPACES, TuningResult, tune_workspace
from ui import feedback, state

TUNE_HELP = (
    "Fits the model with its defaults, then with random settings, on the training part, and "
    "scores each on the validation part (NDCG@10 decides); the test part is not used. "
    "Stops at the number of trials or when the time budget is spent."
)


def tune_expander(ws: Workspace, model_name: str, label: str) -> None:
    """The search for ``model_name`` (shown as ``label``) in an expander."""
    if model_name not in SEARCH_SPACES:
        return
    with st.expander(f"Tune {label} on validation", icon=":material/tune:"):
        st.caption(TUNE_HELP)
        space = ", ".join(SEARCH_SPACES[model_name])
        st.caption(f"Searched: {space}.")
        with st.form(state.MODELS_TUNE_FORM):
            left, right = st.columns(2)
            budget = left.number_input(
                "Time budget (seconds)", 5, 3600, 60, step=5, key=state.MODELS_TUNE_BUDGET
            )
            trials = right.number_input(
                "Most trials", 1, 200, 20, step=1, key=state.MODELS_TUNE_TRIALS
            )
            submitted = st.form_submit_button(
                "Tune on validation", icon=":material/tune:", key=state.MODELS_TUNE_RUN
            )
        if submitted:
            with feedback.show_errors():
                with feedback.long_step(f"Tuning {label}…", f"Tuned {label}") as progress:
                    result, _ = tune_workspace(
                        ws,
                        model_name,
                        max_trials=int(trials),
                        budget_seconds=float(budget),
                        callback=progress.stage(""),
                    )
                st.session_state[state.MODELS_TUNE_RESULT] = result
        result = st.session_state.get(state.MODELS_TUNE_RESULT)
        if isinstance(result, TuningResult) and result.model_name == model_name:
            _show_result(ws, result, label)


def _show_result(ws: Workspace, result: TuningResult, label: str) -> None:
    stopped = {"trials": "the trial cap", "budget": "the time budget", "space": "no new setting"}
    st.text(
        f"{len(result.trials)} trials, stopped by {stopped[result.stopped]}; best: trial "
        f"{result.best_trial} with validation NDCG@10 {result.best_score:.4f}"
    )
    st.dataframe(result.trials, hide_index=True, width="stretch")
    st.code(", ".join(f"{name}={value}" for name, value in result.best_params.items()))
    if st.button(
        "Train with the best settings", icon=":material/play_arrow:", key=state.MODELS_TUNE_TRAIN
    ):
        with feedback.show_errors():
            with feedback.training_run(
                f"Training {label} with the best settings…",
                "Trained",
                stop_key=state.MODELS_STOP,
                curve_key=state.MODELS_CURVE,
                curve_title=f"{label} (tuned): training curve",
            ) as callback:
                trained = train_model(
                    ws,
                    result.model_name,
                    result.best_params,
                    name=f"{result.model_name} (tuned)",
                    callback=callback,
                )
            st.session_state[state.MODELS_EXPLORE_RUN] = trained.run_id
            ndcg = trained.metrics[runs.NDCG_KEY]
            state.flash(
                "success",
                f"Trained {label} with the best settings: validation NDCG@10 "
                f"{'n/a' if ndcg is None else f'{ndcg:.4f}'}.",
            )
            st.rerun()
