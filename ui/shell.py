"""The opening every page shares: page config and title, messages kept from the last run, the
page links and workspace in the sidebar, the dataset status line, and the gate that stops a
page whose inputs (a cleaned dataset, trained models) are missing.

The page list lives here, once. Streamlit's own page list is hidden (.streamlit/config.toml)
because it would name the home page after app.py; a ``pages/`` folder is kept rather than
``st.navigation``, which conflicts with it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.data.workspace import Workspace
from ui import cache, feedback, state
from ui.text import plain
from ui.views.data import dataset_line

# The dashboard's pages in sidebar order: (script, label, Material icon).
PAGES: tuple[tuple[str, str, str], ...] = (
    ("app.py", "Home", ":material/home:"),
    ("pages/1_Data.py", "Data", ":material/database:"),
    ("pages/2_Models.py", "Models", ":material/model_training:"),
    ("pages/3_Synthetic_Data.py", "Synthetic Data", ":material/auto_awesome:"),
    ("pages/4_Fusion.py", "Fusion", ":material/tune:"),
    ("pages/5_AB_Compare.py", "A/B Compare", ":material/compare_arrows:"),
    ("pages/6_Search.py", "Search", ":material/search:"),
)
# What a page may need before it can draw anything of its own.
CLEANED = "cleaned"
MODELS = "models"


def page(
    title: str,
    *,
    intro: str = "",
    needs: str | None = None,
    n_models: int = 1,
    message: str = "",
) -> tuple[Workspace, dict[str, Any]]:
    """Draw the common opening of a page and return its workspace and dataset status.

    Parameters
    ----------
    title : str
        The page's label in :data:`PAGES`; the browser tab reads "title · ShopSynth".
    intro : str
        Markdown drawn under the title (the home page's presentation).
    needs : {None, "cleaned", "models"}
        What the page needs before it draws anything of its own: a cleaned dataset, or
        ``n_models`` trained models (on cleaned data). When it is missing the page shows
        ``message`` (what to do first, and why) with a link to the page that makes it, and
        stops.
    n_models : int
        Trained models ``needs="models"`` asks for.
    message : str
        The gate's message; a short default names the missing step.

    Returns
    -------
    tuple
        The active workspace and its :func:`ui.cache.dataset_status`. The home page (the
        first entry of :data:`PAGES`) shows that status in full itself, so it gets no line.
        When the workspace cannot be opened, the error is shown and the page stops.
    """
    script, label, icon = next(entry for entry in PAGES if entry[1] == title)
    home = script == PAGES[0][0]
    st.set_page_config(
        page_title="ShopSynth" if home else f"{label} · ShopSynth",
        page_icon=":material/storefront:" if home else icon,
        layout="wide",
    )
    fresh = state.WORKSPACE_NAME not in st.session_state
    state.init()
    st.title("ShopSynth" if home else label)
    if intro:
        st.markdown(intro)
    feedback.show_flash()
    feedback.show_interrupted()
    with feedback.show_errors():
        warning = state.sync_workspace_param(fresh)
        if warning:
            st.warning(warning, icon=":material/warning:")
        ws = state.workspace()
        sidebar_workspace(ws)
        status = cache.dataset_status(ws)
        if not home:
            dataset_line(status)
        _gate(status, needs, n_models, message)
        return ws, status
    # show_errors drew the error: nothing else of the page can run.
    st.stop()


def sidebar_workspace(ws: Workspace) -> None:
    """The page links and the active workspace, in the sidebar of every page."""
    with st.sidebar:
        for script, label, icon in PAGES:
            st.page_link(script, label=label, icon=icon)
        st.divider()
        st.caption(f":material/folder_open: Workspace **{plain(ws.name)}**")


def _gate(status: dict[str, Any], needs: str | None, n_models: int, message: str) -> None:
    if needs == CLEANED and not status["cleaned"]:
        script, default = PAGES[1][0], "Load and clean a dataset first (Data page)."
    elif needs == MODELS and (not status["cleaned"] or status["n_models"] < n_models):
        script, default = PAGES[2][0], f"Train {n_models} or more models first (Models page)."
    else:
        return
    st.info(message or default, icon=":material/info:")
    _, label, icon = next(entry for entry in PAGES if entry[0] == script)
    st.page_link(script, label=f"Open the {label} page", icon=icon)
    st.stop()
