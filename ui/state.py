"""Every ``st.session_state`` key of the dashboard, declared once with its default.

Session state holds choices and short messages, never data or models. Keys of widgets are
declared here too, so tests and pages refer to one name.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.data.workspace import DEFAULT_NAME, Workspace, list_workspaces
from ui.text import plain

# Values kept across pages and reruns.
WORKSPACE_NAME = "workspace_name"  # name of the active workspace under $SHOPSYNTH_HOME
FLASH = "flash"  # (kind, message) shown once on the next run, e.g. after a load
UPLOAD = "upload"  # staged upload: {"file_id", "path", "name"} or None
CATALOG_UPLOAD = "catalog_upload"  # same, for the optional catalogue file
UPLOAD_GENERATION = "upload_generation"  # bumped after a load to empty the uploaders
EVENT_WEIGHTS = "event_weights"  # {event: weight} chosen on the Clean tab
HALF_LIFE_DAYS = "half_life_days"  # time-decay half-life chosen on the Clean tab, or None
# Message for the next run while a training runs: it stays set when the run is interrupted
# (Stop, or any widget used meanwhile), so the next run can say so.
TRAINING_INTERRUPTED = "training_interrupted"
AB_RUN = "ab_run"  # run id of the experiment shown on the A/B page, or None
FUSION_FRONTIER = "fusion_frontier"  # whether the Fusion page shows the weight sweep
AB_SEARCH_RUN = "ab_search_run"  # key of the search comparison shown on the A/B page, or None

DEFAULTS: dict[str, Any] = {
    WORKSPACE_NAME: DEFAULT_NAME,
    FLASH: None,
    UPLOAD: None,
    CATALOG_UPLOAD: None,
    UPLOAD_GENERATION: 0,
    EVENT_WEIGHTS: None,
    HALF_LIFE_DAYS: None,
    TRAINING_INTERRUPTED: None,
    AB_RUN: None,
    FUSION_FRONTIER: False,
    AB_SEARCH_RUN: None,
}

# Widget keys.
HOME_WORKSPACE_SELECT = "home_workspace_select"
HOME_NEW_WORKSPACE = "home_new_workspace"  # the form
HOME_NEW_WORKSPACE_NAME = "home_new_workspace_name"
HOME_CREATE_WORKSPACE = "home_create_workspace"
HOME_LOAD_SAMPLE = "home_load_sample"
DATA_TABS = "data_tabs"
DATA_LOAD_SAMPLE = "data_load_sample"
DATA_SOURCE = "data_source"  # "Upload files" or "Server path"
DATA_UPLOAD_EVENTS = "data_upload_events_"  # + upload generation
DATA_UPLOAD_CATALOG = "data_upload_catalog_"  # + upload generation
DATA_EVENTS_PATH = "data_events_path"
DATA_CATALOG_PATH = "data_catalog_path"
DATA_PRESET = "data_preset"
DATA_MAPPING_PREFIX = "data_map_"  # + canonical column
DATA_CATALOG_MAPPING_PREFIX = "data_catalog_map_"  # + canonical column
DATA_NAME = "data_name"
DATA_LOAD = "data_load"
ENGINE_CHOICE = "engine_choice"  # "local" or "spark" in the engine form
ENGINE_MASTER = "engine_master"  # Spark master URL typed in the engine form
ENGINE_SAVE = "engine_save"
ENGINE_FORM = "engine_form"
DATA_SPARK_CLEAN = "data_spark_clean"
CLEAN_PARAM_PREFIX = "clean_param_"  # + CleaningConfig field name
CLEAN_WEIGHT_PREFIX = "clean_weight_"  # + event type
CLEAN_HALF_LIFE = "clean_half_life"
CLEAN_RUN = "clean_run"
CLEAN_KEEP_USERS = "clean_keep_users"
EXPLORE_FREQ = "explore_freq"
MODELS_CHOICE = "models_choice"  # model name to train
MODELS_PARAM_PREFIX = "models_param_"  # + model name + "__" + hyperparameter
MODELS_TRAIN_FORM = "models_train_form"
MODELS_TRAIN = "models_train"
MODELS_EVAL_EVERY = "models_eval_every_"  # + model name
MODELS_STOP = "models_stop"
MODELS_SYNTHETIC = "models_synthetic"
FINETUNE_PAIRS = "finetune_pairs"
MODELS_CURVE = "models_curve"  # live training-curve chart
MODELS_DELETE_RUN = "models_delete_run"
MODELS_DELETE = "models_delete"
MODELS_EXPLORE_RUN = "models_explore_run"
MODELS_ITEM = "models_item"
MODELS_USER = "models_user"
FINETUNE_OPEN = "finetune_open"  # the expander; its content runs only when open
FINETUNE_FORM = "finetune_form"
FINETUNE_NAME = "finetune_name"
FINETUNE_BASE = "finetune_base"
FINETUNE_PARAM_PREFIX = "finetune_param_"  # + FinetuneConfig field name
FINETUNE_RUN = "finetune_run"
FINETUNE_STOP = "finetune_stop"
FINETUNE_CURVE = "finetune_curve"  # live training-curve chart
FINETUNE_ENCODER = "finetune_encoder"  # fine-tuned encoder to review or delete
FINETUNE_DELETE = "finetune_delete"
AB_VARIANTS = "ab_variants"
AB_CONTROL = "ab_control"
AB_K = "ab_k"
AB_METRICS = "ab_metrics"
AB_SEGMENTS = "ab_segments"
AB_RESAMPLES = "ab_resamples"
AB_NAME = "ab_name"
AB_COMPARE = "ab_compare"
AB_OPEN_RUN = "ab_open_run"
AB_DELETE = "ab_delete"
AB_BAR_METRICS = "ab_bar_metrics"
AB_SEGMENT_VIEW = "ab_segment_view"
AB_HEATMAP_METRIC = "ab_heatmap_metric"
AB_PRIMARY = "ab_primary"
AB_FAIRNESS_GROUPING = "ab_fairness_grouping"
FUSION_MODELS = "fusion_models"
FUSION_DEPTH = "fusion_depth"
FUSION_METHOD = "fusion_method"
FUSION_NORMALISATION = "fusion_normalisation"
FUSION_WEIGHT_PREFIX = "fusion_weight_"  # + signal name
FUSION_SWEEP = "fusion_sweep"
FUSION_APPLY_BEST = "fusion_apply_best"
FUSION_GAP_GROUPING = "fusion_gap_grouping"
FUSION_USER = "fusion_user"
FUSION_GATE_EPOCHS = "fusion_gate_epochs"
FUSION_GATE_TRAIN = "fusion_gate_train"
FUSION_GATE_STOP = "fusion_gate_stop"
FUSION_GATE_CURVE = "fusion_gate_curve"
FUSION_SAVE_NAME = "fusion_save_name"
FUSION_SAVE = "fusion_save"
FUSION_DELETE_RUN = "fusion_delete_run"
FUSION_DELETE = "fusion_delete"
SEARCH_ENCODER = "search_encoder"
SEARCH_MODEL_RUN = "search_model_run"
SEARCH_EXPAND = "search_expand"
SEARCH_QUERY = "search_query"
SEARCH_AS = "search_as"  # "anonymous" or "a user"
SEARCH_USER = "search_user"
SEARCH_RANKER = "search_ranker"
SEARCH_GATE_TRAIN = "search_gate_train"  # the button that trains the Search page's gate
SEARCH_CHIPS = "search_chips_"  # + a digest of the query: the chips kept
SEARCH_FACET = "search_facet_"  # + facet name + "_" + a digest of the value: ticked
SEARCH_PRICE = "search_price"
SEARCH_EXPLAIN = "search_explain"
SEARCH_LEFT = "search_left"
SEARCH_RIGHT = "search_right"
AB_SEARCH_OPEN = "ab_search_open"  # the toggle: the search section runs only when on
AB_SEARCH_ENCODER = "ab_search_encoder"
AB_SEARCH_MODEL_RUN = "ab_search_model_run"
AB_SEARCH_EXPAND = "ab_search_expand"
AB_SEARCH_RANKERS = "ab_search_rankers"
AB_SEARCH_CONTROL = "ab_search_control"
AB_SEARCH_MAX = "ab_search_max"
AB_SEARCH_RESAMPLES = "ab_search_resamples"
AB_SEARCH_COMPARE = "ab_search_compare"
AB_SEARCH_SEGMENT = "ab_search_segment"


SYNTH_QUERY_FORM = "synth_query_form"
SYNTH_GENERATOR = "synth_generator"
SYNTH_TARGET = "synth_target"
SYNTH_SAMPLE = "synth_sample"
SYNTH_N = "synth_n"
SYNTH_K = "synth_k"
SYNTH_TEMP = "synth_temp"
SYNTH_TOP_P = "synth_top_p"
SYNTH_DESCRIPTION_FORM = "synth_description_form"
SYNTH_D_GENERATOR = "synth_d_generator"
SYNTH_D_MIN_WORDS = "synth_d_min_words"
SYNTH_D_TEMP = "synth_d_temp"
SYNTH_STOP = "synth_stop"
SYNTH_LM_NAME = "synth_lm_name_"  # + task
SYNTH_LM_EPOCHS = "synth_lm_epochs_"  # + task
SYNTH_LM_LAYERS = "synth_lm_layers_"  # + task
SYNTH_LM_STOP = "synth_lm_stop_"  # + task
SYNTH_LM_CURVE = "synth_lm_curve_"  # + task
SYNTH_LM_ARCH = "synth_lm_arch_"  # + task: warm-started or GPT-2 baseline
SYNTH_Q_KIND = "synth_q_kind"  # quality tab: kind, statuses and generators shown
SYNTH_Q_STATUSES = "synth_q_statuses"
SYNTH_Q_GENERATORS = "synth_q_generators"
SYNTH_REVIEW_KIND = "synth_review_kind"
SYNTH_REVIEW_STATUS = "synth_review_status"
SYNTH_REVIEW_FLAG = "synth_review_flag"
SYNTH_REVIEW_SCORE = "synth_review_score"
SYNTH_REVIEW_GENERATOR = "synth_review_generator"
SYNTH_REVIEW_EDITOR = "synth_review_editor"
SYNTH_SAVE = "synth_save"
SYNTH_ACCEPT_CLEAN = "synth_accept_clean"
SYNTH_REJECT_FLAGGED = "synth_reject_flagged"
SYNTH_TABS = "synth_tabs"
SYNTH_I_FORM = "synth_i_form"
SYNTH_I_GENERATOR = "synth_i_generator"
SYNTH_I_N = "synth_i_n"
SYNTH_I_TEMP = "synth_i_temp"
SYNTH_I_K = "synth_i_k"
SYNTH_I_REUSE = "synth_i_reuse"
SYNTH_I_RUN = "synth_i_run"
SYNTH_I_DP_NOISE = "synth_i_dp_noise"
SYNTH_I_ACCEPT = "synth_i_accept"
SYNTH_I_REJECT = "synth_i_reject"
SYNTH_UTILITY = "synth_utility"
SYNTH_UTILITY_TABLE = "synth_utility_table"  # the last utility table (a small frame)
SYNTH_PRIVACY_REJECTED = "synth_privacy_rejected"
SYNTH_PRIVACY_RUN = "synth_privacy_run"
SYNTH_COMPARE_RUN = "synth_compare_run"
SYNTH_COMPARE_RESULT = "synth_compare_result"  # the last GeneratorComparison of this session
SYNTH_FEEDBACK_FORM = "synth_feedback_form"
SYNTH_FEEDBACK_ROUNDS = "synth_feedback_rounds"
SYNTH_FEEDBACK_USERS = "synth_feedback_users"
SYNTH_FEEDBACK_VARIANTS = "synth_feedback_variants"
SYNTH_FEEDBACK_RESULT = "synth_feedback_result"  # the last feedback-rounds table
SYNTH_PRIVACY_RESULT = "synth_privacy_result"  # {batch label: PrivacyReport} of the last run
MODELS_TUNE_FORM = "models_tune_form"
MODELS_TUNE_BUDGET = "models_tune_budget"
MODELS_TUNE_TRIALS = "models_tune_trials"
MODELS_TUNE_RUN = "models_tune_run"
MODELS_TUNE_RESULT = "models_tune_result"  # the last TuningResult of this session
MODELS_TUNE_TRAIN = "models_tune_train"


def init() -> None:
    """Set every key that is missing to its default; call at the top of every page."""
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value


def workspace() -> Workspace:
    """The active workspace, opened (and created if needed) under ``$SHOPSYNTH_HOME``."""
    return Workspace.open(st.session_state[WORKSPACE_NAME])


def flash(kind: str, message: str) -> None:
    """Keep a message to show once on the next run (``kind``: success, info or warning)."""
    st.session_state[FLASH] = (kind, message)


def pop_flash() -> tuple[str, str] | None:
    """The kept message, removed from the state."""
    message = st.session_state.get(FLASH)
    st.session_state[FLASH] = None
    return message


# Widgets drawn with ``persist_state=KEEP`` keep their value when the user switches to another
# page and back (Streamlit otherwise drops a widget's state once a run does not draw it).
KEEP = "session"
# Tabs have no persist_state: their open tab is kept under this prefix + the tabs' key.
KEPT_PREFIX = "kept_"


def restore(key: str) -> None:
    """Before drawing the element ``key`` (tabs), give it back the value :func:`keep` recorded
    on an earlier visit when Streamlit dropped it on leaving the page.

    The value is set in the session state rather than passed as ``default``: a changing
    default would change the element's identity, and the element would start over.
    """
    kept = st.session_state.get(f"{KEPT_PREFIX}{key}")
    if key not in st.session_state and kept is not None:
        st.session_state[key] = kept


def keep(key: str) -> None:
    """Record the current value of the element ``key``; call it after drawing the element."""
    st.session_state[f"{KEPT_PREFIX}{key}"] = st.session_state.get(key)


# The active workspace is also named in the address, so a reload or a shared link opens it.
WORKSPACE_PARAM = "workspace"
CONFIRM_REPLACE = "confirm_replace_"  # + key of a load button: replacing a dataset with runs


def sync_workspace_param(fresh: bool) -> str | None:
    """Take the active workspace from the address on a new session (``fresh``), then keep the
    address naming it; return a warning to show, or None.

    A name in the address that is no workspace under ``$SHOPSYNTH_HOME`` is not created (a
    typo would otherwise open an empty workspace): the default stays active, and the warning
    says so.
    """
    warning = None
    wanted = st.query_params.get(WORKSPACE_PARAM)
    if fresh and wanted and wanted != st.session_state[WORKSPACE_NAME]:
        if wanted in list_workspaces():
            st.session_state[WORKSPACE_NAME] = wanted
        else:
            warning = (
                f"The address names the workspace {plain(wanted)}, which does not exist; the "
                f"workspace {plain(st.session_state[WORKSPACE_NAME])} is open instead. Create "
                "a workspace on the Home page."
            )
    if st.query_params.get(WORKSPACE_PARAM) != st.session_state[WORKSPACE_NAME]:
        st.query_params[WORKSPACE_PARAM] = st.session_state[WORKSPACE_NAME]
    return warning
