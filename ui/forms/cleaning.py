"""The cleaning form: every cleaning rule's parameters, the event weights and the half-life,
and the run of a cleaning."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

import streamlit as st

from core.data.clean import RULE_DESCRIPTIONS, CleaningConfig, clean_dataset, default_config
from core.data.workspace import Workspace
from core.schema import DEFAULT_EVENT_WEIGHTS, EVENT_TYPES
from ui import cache, state
from ui.feedback import long_step
from ui.forms.params import parameter_help

# Cleaning parameters grouped by the rule they steer, in the order the rules run.
RULE_FIELDS: dict[str, tuple[str, ...]] = {
    "missing_ids": ("drop_missing_ids",),
    "duplicates": ("drop_duplicates", "duplicate_window_seconds"),
    "timestamps": ("drop_missing_ts", "min_ts", "max_ts", "auto_min_ts", "drop_future"),
    "returns": ("drop_returns", "drop_returned_purchases"),
    "bots": (
        "max_events_per_minute",
        "max_events_per_session",
        "max_events_per_user_day",
        "buyer_purchase_share",
    ),
    "unknown_items": ("drop_unknown_items", "normalise_ids"),
    "k_core": ("min_user_interactions", "min_item_interactions"),
}
_LABELS = {
    "drop_missing_ids": "Drop rows with missing ids",
    "drop_missing_ts": "Drop missing timestamps",
    "duplicate_window_seconds": "Repeat window (seconds, 0 = exact duplicates only)",
    "min_ts": "Earliest timestamp",
    "max_ts": "Latest timestamp",
    "drop_future": "Drop future timestamps",
    "auto_min_ts": "Drop placeholder dates before a gap",
    "max_events_per_minute": "Max browsing events per minute in a session (0 = off)",
    "max_events_per_user_day": "Max browsing events per user per day (0 = off)",
    "max_events_per_session": "Max browsing events per session (0 = off)",
    "buyer_purchase_share": "Purchase share that marks a buyer, never a bot (0 = off)",
    "normalise_ids": "Merge item ids differing in case or spaces",
    "min_user_interactions": "Min distinct items per user (0 = off)",
    "min_item_interactions": "Min distinct users per item (0 = off)",
}
_RULE_TITLES = {"missing_ids": "Missing ids", "k_core": "k-core", "other": "Other rules"}
_DATE_RANGE = (date(1900, 1, 1), date(2100, 12, 31))


def _label(name: str) -> str:
    return _LABELS.get(name) or name.replace("_", " ").capitalize()


def _parameter_input(field: dataclasses.Field, value: Any, help_text: str | None) -> Any:
    key = f"{state.CLEAN_PARAM_PREFIX}{field.name}"
    label = _label(field.name)
    kind = str(field.type)
    if kind == "bool":
        return st.checkbox(label, value=bool(value), key=key, help=help_text)
    if "datetime" in kind:
        chosen = st.date_input(
            label,
            value=value.date() if value is not None else None,
            min_value=_DATE_RANGE[0],
            max_value=_DATE_RANGE[1],
            key=key,
            help=(help_text or "") + " Leave empty for no limit.",
        )
        return datetime(chosen.year, chosen.month, chosen.day) if chosen else None
    if field.name == "buyer_purchase_share":
        return st.number_input(
            label,
            min_value=0.0,
            max_value=1.0,
            value=float(value),
            step=0.05,
            key=key,
            help=help_text,
        )
    if kind.startswith("int"):
        number = st.number_input(
            label, min_value=0, value=int(value or 0), step=1, key=key, help=help_text
        )
        return int(number) or None
    return st.number_input(
        label, min_value=0.0, value=float(value or 0.0), step=1.0, key=key, help=help_text
    )


def cleaning_form(
    initial: CleaningConfig,
    weights: dict[str, float],
    half_life_days: float | None,
    removed_users: list[str] | None = None,
) -> tuple[CleaningConfig, dict[str, float], float | None] | None:
    """Every cleaning parameter, the event weights and the half-life, in one form.

    ``removed_users`` (the users the last cleaning removed) are the choices of the users to
    keep, with those kept already.

    Returns
    -------
    tuple or None
        ``(config, weights, half_life_days)`` when the Clean button was pressed, else None.
        Raises CleaningError (a ShopSynthError) when the parameters contradict each other.
    """
    help_texts = parameter_help(CleaningConfig)
    all_fields = {field.name: field for field in dataclasses.fields(CleaningConfig)}
    grouped = {name for names in RULE_FIELDS.values() for name in names} | {"keep_users"}
    groups = dict(RULE_FIELDS)
    others = tuple(name for name in all_fields if name not in grouped)
    if others:
        groups["other"] = others
    values: dict[str, Any] = {}
    with st.form("clean_form", border=False):
        columns = st.columns(3)
        for index, (rule, names) in enumerate(groups.items()):
            with columns[index % 3].container(border=True):
                st.markdown(f"**{_RULE_TITLES.get(rule, rule.replace('_', ' ').capitalize())}**")
                st.caption(RULE_DESCRIPTIONS.get(rule, ""))
                for name in names:
                    if name in all_fields:
                        values[name] = _parameter_input(
                            all_fields[name], getattr(initial, name), help_texts.get(name)
                        )
        values["keep_users"] = tuple(
            st.multiselect(
                "Users to keep (the bot and k-core rules never remove them)",
                list(dict.fromkeys([*initial.keep_users, *(removed_users or [])])),
                default=list(initial.keep_users),
                key=state.CLEAN_KEEP_USERS,
                help="Users the last cleaning removed, and those kept already.",
            )
        )
        st.markdown("**Interaction weights** (used to build the user × item matrix)")
        weight_columns = st.columns(len(EVENT_TYPES) + 1)
        new_weights = {
            event: float(
                column.number_input(
                    event,
                    min_value=0.0,
                    value=float(weights.get(event, DEFAULT_EVENT_WEIGHTS[event])),
                    step=0.5,
                    key=f"{state.CLEAN_WEIGHT_PREFIX}{event}",
                )
            )
            for event, column in zip(EVENT_TYPES, weight_columns, strict=False)
        }
        half_life = weight_columns[-1].number_input(
            "Half-life (days)",
            min_value=0.0,
            value=float(half_life_days or 0.0),
            step=1.0,
            key=state.CLEAN_HALF_LIFE,
            help="Time decay: an event's weight halves for every this many days before the "
            "latest event in the data. 0 turns decay off.",
        )
        submitted = st.form_submit_button(
            "Clean", type="primary", icon=":material/cleaning_services:", key=state.CLEAN_RUN
        )
    if not submitted:
        return None
    return CleaningConfig(**values), new_weights, (float(half_life) or None)


def last_cleaning_config(ws: Workspace) -> CleaningConfig:
    """The parameters of the latest cleaning of the loaded dataset, or its preset's defaults
    when it was not cleaned since it was loaded."""
    report = cache.latest_report(ws)
    info = ws.dataset_info()
    if report is None or (info is not None and report.created_at < info.loaded_at):
        return default_config(ws)
    return report.config


def run_cleaning(
    ws: Workspace,
    config: CleaningConfig,
    weights: dict[str, float],
    half_life_days: float | None,
) -> None:
    """Clean with ``config``, keep the weights as the session's choice, and rerun."""
    with long_step("Cleaning…", "Cleaned") as progress:
        report = clean_dataset(ws, config, callback=progress.stage("Cleaning"))
    st.session_state[state.EVENT_WEIGHTS] = weights
    st.session_state[state.HALF_LIFE_DAYS] = half_life_days
    state.flash(
        "success",
        f"Cleaned: {report.n_events_after:,} of {report.n_events_before:,} events kept "
        f"({report.removed:,} removed), {report.n_users_after:,} users, "
        f"{report.n_items_after:,} items.",
    )
    st.rerun()
