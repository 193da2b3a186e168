"""The home page's pipeline checklist: which steps are done and what each remaining one needs."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.shell import PAGES
from ui.text import plural

# Steps after cleaning: (status key, name, unit, what the step needs, what it does).
LATER_STEPS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "n_synthetic",
        "Synthetic data",
        "generation run",
        "needs cleaned data",
        "generates queries, descriptions and cold-start interactions on the Synthetic Data page",
    ),
    (
        "n_fusions",
        "Fusion",
        "saved fused variant",
        "needs two trained models",
        "tunes how their scores combine on the Fusion page",
    ),
    (
        "n_experiments",
        "A/B comparison",
        "saved comparison",
        "needs trained models or fusions",
        "compares them with confidence intervals on the A/B Compare page",
    ),
)
_MODELS_DO = "trains Popularity, ItemKNN, ALS, BPR, content and BERT models on the Models page"


def _ready(key: str, status: dict[str, Any]) -> bool:
    """Whether what the step ``key`` needs is there (so it is only not started yet)."""
    n_models = int(status.get("n_models", 0))
    if key == "n_fusions":
        return n_models >= 2
    if key == "n_experiments":
        return n_models >= 1 or int(status.get("n_fusions", 0)) >= 1
    return bool(status.get("cleaned"))


def checklist_lines(status: dict[str, Any]) -> list[str]:
    """One Markdown line per pipeline step: done with its count, ready to start with what it
    does, or what it still needs (only when that is really missing)."""
    done = ":green[:material/check_circle:]"
    todo = ":gray[:material/radio_button_unchecked:]"
    loaded, cleaned = status["loaded"], status["cleaned"]
    lines = [
        f"{done if loaded else todo} **Data loaded**"
        + ("" if loaded else " — load the sample data or your own logs"),
        f"{done if cleaned else todo} **Data cleaned**"
        + ("" if cleaned else " — needs loaded data; set the rules on the Data page"),
    ]
    n_models = int(status.get("n_models", 0))
    if n_models:
        models = f" — {plural(n_models, 'model')} trained"
    elif cleaned:
        models = f" — not started; {_MODELS_DO}"
    else:
        models = f" — needs cleaned data; {_MODELS_DO}"
    lines.append(f"{done if n_models else todo} **Models trained**{models}")
    for key, name, unit, needs, does in LATER_STEPS:
        count = int(status.get(key, 0))
        if count:
            state = plural(count, unit)
        elif _ready(key, status):
            state = f"not started; {does}"
        else:
            state = f"not started; {needs}; {does}"
        lines.append(f"{done if count else todo} **{name}** — {state}")
    return lines


def pipeline_checklist(status: dict[str, Any]) -> None:
    """Which pipeline steps are done, and what each remaining one needs."""
    lines = checklist_lines(status)
    st.markdown("  \n".join(lines))
    for script, label, icon in PAGES[1:]:
        st.page_link(script, label=f"Open the {label} page", icon=icon)
