"""Choice of a synthetic text generator by name: the template baseline or a trained model.

A generator is named ``"template"``, ``"warm:<model name>"`` (a warm-started encoder-decoder,
:mod:`core.synth.warm`) or ``"lm:<model name>"`` (a GPT-2 trained from scratch, the baseline);
:func:`generate_samples` runs
the one named, with progress reported as ``"generating: ..."`` and stops checked throughout.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from core.checks import ErrorType
from core.data.workspace import Workspace
from core.progress import ProgressCallback
from core.schema import ITEM_ID
from core.synth.lm import StopCheck, check_stop
from core.synth.lm_store import LM_PREFIX, WARM_PREFIX, Generator, load_lm
from core.synth.prompts import normalise_text, product_prompts
from core.synth.warm import WarmGenerator

TEMPLATE = "template"


def staged_callback(
    callback: ProgressCallback | None, should_stop: StopCheck | None, label: str
) -> Callable[[int, int, str], None]:
    """A callback that first checks ``should_stop``, then reports ``"<label>: <info>"``."""

    def report(done: int, total: int, info: str) -> None:
        check_stop(should_stop)
        if callback is not None:
            callback(done, total, f"{label}: {info}")

    return report


def generate_samples(
    workspace: Workspace,
    generator: str,
    *,
    task: str,
    error: ErrorType,
    template: Callable[[], pd.DataFrame],
    from_lm: Callable[[Generator, ProgressCallback], pd.DataFrame],
    callback: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    template_steps: int | None = None,
) -> tuple[pd.DataFrame, set[str]]:
    """Samples of the generator named ``generator``, and the texts a copy of which is memorised.

    Parameters
    ----------
    workspace : Workspace
        Holds the trained language models.
    generator : str
        ``"template"``, ``"warm:<name>"`` or ``"lm:<name>"``, a model of the workspace
        trained for ``task``.
    task : str
        The LM task (``"query"``, ``"description"``); another task's model is refused.
    error : type
        Error raised for an unknown generator or a model of another task.
    template : callable
        ``template()`` returns the template samples (columns ``item_id`` and ``text``).
    from_lm : callable
        ``from_lm(lm, progress)`` returns the samples of the loaded model.
    callback, should_stop : callable, optional
        Progress (``"generating: <info>"``) and stopping.
    template_steps : int, optional
        Steps the template generator reports done; the number of its samples when None.

    Returns
    -------
    tuple of pandas.DataFrame and set of str
        The raw samples, and the LM's normalised training targets (empty for the template).
    """
    progress = staged_callback(callback, should_stop, "generating")
    if generator == TEMPLATE:
        check_stop(should_stop)
        raw = template()
        steps = len(raw) if template_steps is None else template_steps
        progress(steps, steps, "templates filled")
        return raw, set()
    for prefix in (WARM_PREFIX, LM_PREFIX):
        if not generator.startswith(prefix):
            continue
        lm = load_lm(workspace, generator[len(prefix) :])
        if (prefix == WARM_PREFIX) != (lm.metadata.get("architecture") == "warm"):
            raise error(f"{generator!r}: the model is of the other kind; see list_lms")
        if lm.metadata.get("task") != task:
            raise error(f"{generator!r} is not a {task} model")
        copies = {normalise_text(text) for text in lm.training_targets or []}
        return from_lm(lm, progress), copies
    raise error(
        f"unknown generator {generator!r}: use {TEMPLATE!r}, 'warm:<model name>' or "
        "'lm:<model name>'"
    )


def lm_samples(
    lm: Generator,
    table: pd.DataFrame,
    n_per_product: int,
    *,
    prefixes: list[str] | None = None,
    temperature: float,
    top_p: float,
    batch_size: int,
    random_state: int,
    avoid: set[str] | None = None,
    sources: list[str] | None = None,
    callback: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> pd.DataFrame:
    """``n_per_product`` texts written by ``lm`` for each product of ``table`` (one catalogue
    row per product).

    A GPT-2 model continues ``prefixes`` when given (see :meth:`core.synth.lm.TextLM.generate`);
    a warm-started model writes whole texts and prefers texts outside ``avoid`` (see
    :meth:`core.synth.warm.WarmGenerator.generate`). ``sources`` replaces the product prompts
    (:func:`core.synth.prompts.product_prompts`) as the model's input when given.

    Returns
    -------
    pandas.DataFrame
        Columns ``item_id`` and ``text``, products in the order of ``table``.
    """
    ids = table[ITEM_ID].tolist()
    extra: dict = {"prefixes": prefixes}
    if isinstance(lm, WarmGenerator):
        # Its own training targets are copies too (pseudo-queries are no real queries).
        extra = {"avoid": (set(avoid) | set(lm.training_targets or [])) if avoid else None}
    texts = lm.generate(
        sources if sources is not None else product_prompts(table, ids),
        n_per_product,
        **extra,
        temperature=temperature,
        top_p=top_p,
        batch_size=batch_size,
        random_state=random_state,
        callback=callback,
        should_stop=should_stop,
    )
    rows = [(item, text) for item, written in zip(ids, texts, strict=True) for text in written]
    return pd.DataFrame(rows, columns=[ITEM_ID, "text"])
