"""Forms of the Synthetic Data page: training a text generator (the warm-started MiniLM
encoder-decoder, or the GPT-2 baseline), and generating queries, descriptions and cold-start
interactions, each with a progress bar and a Stop button."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from core.data.workspace import Workspace
from core.synth import store
from core.synth.descriptions import DEFAULT_MIN_WORDS, synthesize_descriptions
from core.synth.generation import TEMPLATE
from core.synth.lm_store import list_lms
from core.synth.queries import synthesize_queries
from ui import cache, state, tables
from ui.feedback import long_step, show_errors, training_run
from ui.text import code, plain

LM_COLUMNS = ["name", "architecture", "created_at", "n_train", "n_parameters", "epochs",
              "train_loss", "valid_loss"]  # fmt: skip
WARM, GPT2 = "warm", "gpt2"
ARCHITECTURES = {
    WARM: "Warm-started MiniLM encoder-decoder (default)",
    GPT2: "GPT-2 from scratch (baseline)",
}


@contextmanager
def generation(label: str) -> Iterator[tuple[Callable, None]]:
    """Progress bar and Stop button around a generation; yields (callback, should_stop).

    Stop reruns the page, which interrupts the generation at its next progress report;
    generation stores nothing until it finishes.
    """
    with long_step(label, "Generated") as progress:
        st.button("Stop", key=state.SYNTH_STOP, icon=":material/stop_circle:")
        yield progress.stage(""), None


def flash_run(run: store.SynthesisRun) -> None:
    metrics = run.metrics
    keep = metrics.get("keep_rate")
    parts = [f"{metrics.get('n_samples', len(run.samples)):,} {run.kind} samples stored as pending"]
    if keep is not None:
        parts.append(f"{keep:.0%} retrieve their product in the top {metrics.get('k')}")
    if metrics.get("copy_rate") is not None:
        parts.append(f"{metrics['copy_rate']:.1%} copy a real text")
    text = "; ".join(parts) + ". Review them on the Review tab."
    if metrics.get("note"):
        state.flash("warning", f"Note: {plain(metrics['note'])}. {text}")
    else:
        state.flash("success", text)


def lm_training_form(
    ws: Workspace,
    task: str,
    train: Callable[..., Any],
    train_warm: Callable[..., Any] | None = None,
) -> None:
    """Kind, name and epochs of a text generator (and layers of a GPT-2 one), and a Train
    button with live curves; the warm-started kind is offered beside GPT-2 when
    ``train_warm`` is given."""
    lms = list_lms(ws, task=task)
    if not lms.empty:
        tables.table(lms[LM_COLUMNS], column_config={"name": "Model name"})
    from core.synth.descriptions import DESCRIPTION_LM_CONFIG, WARM_DESCRIPTION_CONFIG
    from core.synth.queries import QUERY_LM_CONFIG, QUERY_LM_TASK, WARM_QUERY_CONFIG

    query = task == QUERY_LM_TASK
    base = QUERY_LM_CONFIG if query else DESCRIPTION_LM_CONFIG
    kinds = [WARM, GPT2] if train_warm is not None else [GPT2]
    kind = st.radio(
        "Model", kinds, format_func=ARCHITECTURES.get, horizontal=True,
        key=f"{state.SYNTH_LM_ARCH}{task}",
        help="The warm-started model starts both its encoder and decoder from the shipped "
        "all-MiniLM-L6-v2 weights (Rothe et al. 2020) and copies words of the product's fields "
        "through copy attention; on the sample world most of its queries find their product "
        "(benchmarks/results/synth.json). The GPT-2 baseline learns English from this "
        "workspace's queries alone.",
    )  # fmt: skip
    if kind == WARM:
        base = WARM_QUERY_CONFIG if query else WARM_DESCRIPTION_CONFIG
    # Enter in a field does not submit: it would start minutes of training unnoticed, and
    # the click on Train that follows would restart it. The generation forms do the same.
    with st.form(f"synth_lm_form_{task}", enter_to_submit=False):
        left, middle, right = st.columns(3)
        name = left.text_input(
            "Model name", value=f"{task}-{kind}", key=f"{state.SYNTH_LM_NAME}{task}{kind}"
        )
        epochs = int(
            middle.number_input(
                "Epochs", 1, 100, base.epochs, key=f"{state.SYNTH_LM_EPOCHS}{task}{kind}"
            )
        )
        layers = None
        if kind == GPT2:
            layers = int(
                right.number_input(
                    "Layers", 1, 12, base.n_layer, key=f"{state.SYNTH_LM_LAYERS}{task}"
                )
            )
        submitted = st.form_submit_button("Train", icon=":material/play_arrow:")
    if not submitted:
        return
    if kind == WARM:
        config = dataclasses.replace(base, epochs=epochs)
        train = train_warm
    else:
        config = dataclasses.replace(base, epochs=epochs, n_layer=layers)
    with show_errors():
        with training_run(
            "Training the language model…",
            "Language model trained",
            stop_key=f"{state.SYNTH_LM_STOP}{task}",
            curve_key=f"{state.SYNTH_LM_CURVE}{task}",
            curve_title="Language model",
            held_out="held-out pairs",
        ) as callback:
            train(ws, name.strip(), config, callback=callback)
        _select_new_model(ws, task, name.strip())
        state.flash("success", f"Trained the language model {code(name.strip())}.")
        st.rerun()


def _select_new_model(ws: Workspace, task: str, name: str) -> None:
    """Preselect the model just trained in its task's Generator box."""
    from core.synth.queries import QUERY_LM_TASK

    lms = list_lms(ws, task=task)
    mine = lms[lms["name"] == name] if not lms.empty else lms
    if not mine.empty:
        key = state.SYNTH_GENERATOR if task == QUERY_LM_TASK else state.SYNTH_D_GENERATOR
        st.session_state[key] = mine["generator"].iloc[0]


def _generator_choices(ws: Workspace, task: str) -> dict[str, str]:
    """Trained warm-started models first (the newest is the default), then GPT-2 models,
    then the templates."""
    lms = list_lms(ws, task=task)
    choices: dict[str, str] = {}
    for architecture, label in ((WARM, "Warm-started model"), (GPT2, "GPT-2 model")):
        mine = lms[lms["architecture"] == architecture] if not lms.empty else lms
        for generator, name in zip(mine["generator"], mine["name"], strict=True):
            choices[generator] = f"{label} '{name}'"
    choices[TEMPLATE] = "Attribute templates (baseline)"
    return choices


def _target_items(ws: Workspace, which: str, n_sample: int) -> list[str] | None:
    """Products to write for: all (None), the cold-start ones, or a seeded sample."""
    catalog = cache.catalog_frame(ws)
    if which == "All products":
        return None
    if which == "Cold-start products":
        return cache.cold_start_items(ws)
    return catalog["item_id"].sample(min(n_sample, len(catalog)), random_state=0).tolist()


def query_form(ws: Workspace, task: str) -> None:
    """Generator, products and sampling settings of synthetic queries, and the Generate button."""
    generators = _generator_choices(ws, task)
    with st.form(state.SYNTH_QUERY_FORM, enter_to_submit=False):
        left, middle, right = st.columns(3)
        generator = left.selectbox(
            "Generator", list(generators), format_func=generators.get, key=state.SYNTH_GENERATOR
        )
        which = middle.selectbox(
            "Products",
            ["A sample of products", "Cold-start products", "All products"],
            key=state.SYNTH_TARGET,
        )
        n_sample = int(right.number_input("Sample size", 10, 100_000, 200, key=state.SYNTH_SAMPLE))
        left, middle, right, last = st.columns(4)
        n_per_product = int(left.number_input("Queries per product", 1, 20, 3, key=state.SYNTH_N))
        k = int(
            middle.number_input(
                "Round-trip threshold k", 1, 1000, 10, key=state.SYNTH_K,
                help="Kept as consistent when its product ranks in the top k for the query.",
            )
        )  # fmt: skip
        temperature = right.slider("Temperature", 0.1, 2.0, 1.0, 0.05, key=state.SYNTH_TEMP)
        top_p = last.slider("Top-p", 0.1, 1.0, 0.9, 0.05, key=state.SYNTH_TOP_P)
        submitted = st.form_submit_button(
            "Generate queries", type="primary", icon=":material/play_arrow:"
        )
    if submitted:
        with show_errors():
            items = _target_items(ws, which, n_sample)
            with generation("Generating queries…") as (callback, should_stop):
                run = synthesize_queries(
                    ws, generator, n_per_product=n_per_product, item_ids=items, k=k,
                    temperature=temperature, top_p=top_p, callback=callback,
                    should_stop=should_stop,
                )  # fmt: skip
            flash_run(run)
            st.rerun()


def description_form(ws: Workspace, task: str) -> None:
    """Generator and settings of synthetic descriptions, and the Generate button."""
    generators = _generator_choices(ws, task)
    with st.form(state.SYNTH_DESCRIPTION_FORM, enter_to_submit=False):
        left, middle, right = st.columns(3)
        generator = left.selectbox(
            "Generator", list(generators), format_func=generators.get, key=state.SYNTH_D_GENERATOR
        )
        min_words = int(
            middle.number_input(
                "Short below (words)", 1, 500, DEFAULT_MIN_WORDS, key=state.SYNTH_D_MIN_WORDS,
                help="Products whose description has fewer words are written for.",
            )
        )  # fmt: skip
        temperature = right.slider("Temperature", 0.1, 2.0, 0.8, 0.05, key=state.SYNTH_D_TEMP)
        submitted = st.form_submit_button(
            "Generate descriptions", type="primary", icon=":material/play_arrow:"
        )
    if submitted:
        with show_errors():
            with generation("Writing descriptions…") as (callback, should_stop):
                run = synthesize_descriptions(
                    ws, generator, min_words=min_words, temperature=temperature,
                    callback=callback, should_stop=should_stop,
                )  # fmt: skip
            flash_run(run)
            st.rerun()


def interactions_form(ws: Workspace) -> None:
    """Generator and settings of synthetic interactions for the cold-start products, and the
    Generate button."""
    from core.synth.interactions.gan import GAN
    from core.synth.interactions.gru import GRU
    from core.synth.interactions.inputs import product_vectors
    from core.synth.interactions.neighbours import NEIGHBOURS
    from core.synth.interactions.runs import saved_generators, synthesize_interactions

    labels = {
        NEIGHBOURS: "Content neighbours (baseline)",
        GRU: "Session model (GRU)",
        GAN: "Conditional GAN (text to users)",
    }
    saved = saved_generators(ws)
    trained = {
        run.run_id: f"Trained in run {run.run_id} (loss {run.train_loss:.3f})"
        for run in saved.itertuples(index=False)
    }
    with st.form(state.SYNTH_I_FORM, enter_to_submit=False):
        left, middle, right, last = st.columns(4)
        generator = left.selectbox(
            "Generator", list(labels), format_func=labels.get, key=state.SYNTH_I_GENERATOR
        )
        n_per_item = int(middle.number_input("Per product", 1, 500, 20, key=state.SYNTH_I_N))
        temperature = right.slider("Temperature", 0.1, 3.0, 1.0, 0.1, key=state.SYNTH_I_TEMP)
        neighbours = int(
            last.number_input("Neighbours", 1, 200, 10, key=state.SYNTH_I_K,
                              help="Content neighbours only: similar products to draw from.")
        )  # fmt: skip
        reuse = left.selectbox(
            "Session model",
            [None, *trained],
            format_func=lambda run_id: "Train a new one" if run_id is None else trained[run_id],
            key=state.SYNTH_I_REUSE,
            help="Session model only: every GRU run keeps its trained model; generate again "
            "with one instead of training (it must come from the current split).",
        )
        noise = middle.number_input(
            "Private training: noise multiplier", 0.0, 20.0, 0.0, 0.1, key=state.SYNTH_I_DP_NOISE,
            help="Session model only, when training a new one: 0 trains as usual; above 0 trains "
            "with DP-SGD (each user's gradient clipped to norm 1, Gaussian noise of this many "
            "times the norm) and reports epsilon at delta = 1e-5. More noise, smaller epsilon, "
            "weaker model; private training is slower.",
        )  # fmt: skip
        submitted = st.form_submit_button(
            "Generate interactions", type="primary", icon=":material/play_arrow:"
        )
    if submitted:
        with show_errors():
            with generation("Generating interactions…") as (callback, _):
                split = cache.default_split(ws)
                vectors = product_vectors(
                    cache.catalog_frame(ws), split.train.item_ids,
                    cache_dir=ws.artifacts_dir / "embeddings", callback=callback,
                )  # fmt: skip
                run = synthesize_interactions(
                    ws, split, vectors, generator=generator, n_per_item=n_per_item,
                    temperature=temperature, k=neighbours, callback=callback,
                    reuse_run=reuse if generator == GRU else None,
                    gru_params={"noise_multiplier": float(noise)} if noise > 0 else None,
                )  # fmt: skip
            # The runs' list below preselects the new pending run, not the one chosen before.
            st.session_state[state.SYNTH_I_RUN] = run.run_id
            state.flash(
                "success",
                f"{len(run.rows):,} synthetic interactions for {run.metrics['n_items']:,} "
                "products stored as pending: accept them below."
                + (
                    f" Private training: epsilon {run.metrics['epsilon']:.2f} at delta 1e-5."
                    if "epsilon" in run.metrics
                    else ""
                ),
            )
            st.rerun()
