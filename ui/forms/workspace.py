"""The workspace picker: choose the active workspace, or create a named one."""

from __future__ import annotations

import streamlit as st

from core.data.workspace import Workspace, list_workspaces
from ui import state
from ui.feedback import show_errors
from ui.text import code


def workspace_picker(ws: Workspace) -> None:
    """Choose the active workspace among the existing ones, or create a named one."""
    names = list_workspaces()
    if ws.name not in names:
        names = sorted([*names, ws.name])
    # The active workspace may have changed elsewhere (created below, or on an earlier visit).
    st.session_state[state.HOME_WORKSPACE_SELECT] = ws.name
    choose, create = st.columns(2)
    with choose:
        st.selectbox(
            "Active workspace",
            names,
            key=state.HOME_WORKSPACE_SELECT,
            on_change=_switch_workspace,
        )
        st.caption(f"Folder: {code(ws.path.resolve())}")
    with create:
        with st.form(state.HOME_NEW_WORKSPACE, clear_on_submit=True, border=False):
            name = st.text_input(
                "New workspace",
                placeholder="letters, digits, - or _",
                key=state.HOME_NEW_WORKSPACE_NAME,
            )
            submitted = st.form_submit_button(
                "Create and switch", icon=":material/add:", key=state.HOME_CREATE_WORKSPACE
            )
        if submitted:
            with show_errors():
                created = Workspace.open(name.strip())
                st.session_state[state.WORKSPACE_NAME] = created.name
                state.flash(
                    "success",
                    f"Workspace {code(created.name)} created at {code(created.path)}.",
                )
                st.rerun()


def _switch_workspace() -> None:
    st.session_state[state.WORKSPACE_NAME] = st.session_state[state.HOME_WORKSPACE_SELECT]
