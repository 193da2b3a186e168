"""The home page's pipeline checklist: which steps are done and what each remaining one needs."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.shell import PAGES

# Steps after cleaning: (name, what it needs). They show as not started until their pages exist.
LATER_STEPS: tuple[tuple[str, str, str, str], ...] = (
    (
        "n_synthetic",
        "Synthetic data",
        "generation runs",
        "needs cleaned data; generates queries, descriptions and cold-start interactions on "
        "the Synthetic Data page",
    ),
    (
        "n_fusions",
        "Fusion",
        "saved fused variants",
        "needs two trained models; tunes how their scores combine on the Fusion page",
    ),
    (
        "n_experiments",
        "A/B comparison",
        "saved comparisons",
        "needs trained models or fusions; compares them with confidence intervals on the "
        "A/B Compare page",
    ),
)


def pipeline_checklist(status: dict[str, Any]) -> None:
    """Which pipeline steps are done, and what each remaining one needs."""
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
    lines.append(
        f"{done if n_models else todo} **Models trained**"
        + (
            f" — {n_models:,} trained"
            if n_models
            else " — needs cleaned data; trains Popularity, ItemKNN, ALS, BPR, content and "
            "BERT models on the Models page"
        )
    )
    for key, name, units, needs in LATER_STEPS:
        count = int(status.get(key, 0))
        unit = units[:-1] if count == 1 else units  # "1 saved comparison", "2 saved comparisons"
        lines.append(
            f"{done if count else todo} **{name}** — "
            + (
                f"{count:,} {unit if count != 1 else unit[:-1]}"
                if count
                else f"not started; {needs}"
            )
        )
    st.markdown("  \n".join(lines))
    for script, label, icon in PAGES[1:]:
        st.page_link(script, label=f"Open the {label} page", icon=icon)
