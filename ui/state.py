"""Every ``st.session_state`` key of the dashboard, declared once with its default.

Session state holds choices and short messages, never data or models. Keys of widgets are
declared here too, so tests and pages refer to one name.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.workspace import DEFAULT_NAME, Workspace

# Values kept across pages and reruns.
WORKSPACE_NAME = "workspace_name"  # name of the active workspace under $SHOPSYNTH_HOME
FLASH = "flash"  # (kind, message) shown once on the next run, e.g. after a load
UPLOAD = "upload"  # staged upload: {"file_id", "path", "name"} or None
CATALOG_UPLOAD = "catalog_upload"  # same, for the optional catalogue file
UPLOAD_GENERATION = "upload_generation"  # bumped after a load to empty the uploaders
EVENT_WEIGHTS = "event_weights"  # {event: weight} chosen on the Clean tab
HALF_LIFE_DAYS = "half_life_days"  # time-decay half-life chosen on the Clean tab, or None

DEFAULTS: dict[str, Any] = {
    WORKSPACE_NAME: DEFAULT_NAME,
    FLASH: None,
    UPLOAD: None,
    CATALOG_UPLOAD: None,
    UPLOAD_GENERATION: 0,
    EVENT_WEIGHTS: None,
    HALF_LIFE_DAYS: None,
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
CLEAN_PARAM_PREFIX = "clean_param_"  # + CleaningConfig field name
CLEAN_WEIGHT_PREFIX = "clean_weight_"  # + event type
CLEAN_HALF_LIFE = "clean_half_life"
CLEAN_RUN = "clean_run"
EXPLORE_FREQ = "explore_freq"
MODELS_CHOICE = "models_choice"  # model name to train
MODELS_PARAM_PREFIX = "models_param_"  # + model name + "__" + hyperparameter
MODELS_TRAIN_FORM = "models_train_form"
MODELS_TRAIN = "models_train"
MODELS_DELETE_RUN = "models_delete_run"
MODELS_DELETE = "models_delete"
MODELS_EXPLORE_RUN = "models_explore_run"
MODELS_ITEM = "models_item"
MODELS_USER = "models_user"


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
