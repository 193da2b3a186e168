"""Feedback while the dashboard works: progress bars, long steps, training runs with live
curves, errors shown instead of tracebacks, and messages kept for the next run."""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import streamlit as st

from core.errors import ShopSynthError
from core.figures import charts
from core.progress import EPOCH, ProgressCallback, point_of
from ui import state
from ui.text import plain


class Progress:
    """A progress bar fed by core callbacks ``callback(step, total, info)``.

    One bar can serve several core steps in a row: :meth:`stage` returns the callback of
    stage ``index`` of ``n_stages``, which fills its own share of the bar (its text prefixed
    with the stage ``name`` unless that is empty).
    """

    def __init__(self, bar: Any, done_label: str) -> None:
        self._bar = bar
        self.done_label = done_label

    def stage(self, name: str, index: int = 0, n_stages: int = 1) -> ProgressCallback:
        def callback(step: int, total: int, info: str) -> None:
            done = min(max(step / total, 0.0), 1.0) if total else 0.0
            # Progress texts name files and values: the bar renders Markdown.
            text = plain(f"{name}: {info}" if name else info)
            self._bar.progress((index + done) / n_stages, text=text)

        return callback


@contextmanager
def long_step(label: str, done_label: str) -> Iterator[Progress]:
    """``st.status`` with a progress bar around a long step.

    The status turns to "complete" (collapsed, labelled ``done_label``, which the block may
    change through ``progress.done_label``) when the block finishes, and to "error" when it
    raises; the exception propagates so that :func:`show_errors` reports it.
    """
    with st.status(label, expanded=True) as status:
        progress = Progress(st.progress(0.0, text="starting"), done_label)
        try:
            yield progress
        except BaseException:
            status.update(label=f"{label} failed", state="error", expanded=False)
            raise
        progress.stage("Done")(1, 1, "")
        status.update(label=progress.done_label, state="complete", expanded=False)


class LiveCurve:
    """A training-curve chart redrawn in place from the points core callbacks carry.

    :meth:`add` takes the ``info`` of a callback; points (see :mod:`core.progress`) of the
    same epoch are merged. The chart is redrawn at most every ``interval`` seconds, so a fast
    loop does not spend its time drawing; :meth:`draw` draws what is pending.
    """

    def __init__(self, title: str, key: str, held_out: str, interval: float = 1.0) -> None:
        self._placeholder = st.empty()
        self._title = title
        self._key = key
        self._held_out = held_out
        self._interval = interval
        self._points: dict[float, dict[str, float]] = {}
        self._pending = False
        self._drawn_at = -math.inf
        self._draws = 0

    def add(self, info: str) -> None:
        point = point_of(info)
        if EPOCH not in point:
            return
        self._points.setdefault(point[EPOCH], {}).update(point)
        self._pending = True
        if time.monotonic() - self._drawn_at >= self._interval:
            self.draw()

    def draw(self) -> None:
        if not self._pending:
            return
        frame = pd.DataFrame([self._points[epoch] for epoch in sorted(self._points)])
        figure = charts.training_curve(frame, self._title, held_out=self._held_out)
        self._draws += 1
        # Each drawing replaces the last; a new key keeps the element ids of a run distinct.
        self._placeholder.plotly_chart(figure, width="stretch", key=f"{self._key}_{self._draws}")
        self._pending = False
        self._drawn_at = time.monotonic()


@contextmanager
def training_run(
    label: str,
    done_label: str,
    *,
    stop_key: str,
    curve_key: str,
    curve_title: str,
    held_out: str = "the validation users",
) -> Iterator[ProgressCallback]:
    """:func:`long_step` for a training: progress bar, Stop button and live curve.

    Yields the callback to hand to core. Stop (or any other widget used meanwhile) makes
    Streamlit rerun the page, which interrupts this script at the callback's next drawing;
    core writes nothing until a training ends, so nothing is kept. While the block runs the
    session holds a message that the next run shows (:func:`show_interrupted`) when the
    training never got to the end of the block.
    """
    st.session_state[state.TRAINING_INTERRUPTED] = (
        f"{label.rstrip('…')} stopped before it finished: nothing of it was saved, and what "
        "was trained before is unchanged."
    )
    with long_step(label, done_label) as progress:
        st.button(
            "Stop",
            key=stop_key,
            icon=":material/stop_circle:",
            help="Stop the training; nothing of it is saved.",
        )
        curve = LiveCurve(curve_title, curve_key, held_out)
        bar = progress.stage("")

        def callback(step: int, total: int, info: str) -> None:
            bar(step, total, info)
            curve.add(info)

        try:
            yield callback
        except Exception:
            st.session_state[state.TRAINING_INTERRUPTED] = None
            raise
        curve.draw()
    st.session_state[state.TRAINING_INTERRUPTED] = None


def show_interrupted() -> None:
    """Say, once, that the training of an earlier run was stopped before it finished."""
    message = st.session_state.get(state.TRAINING_INTERRUPTED)
    if message:
        st.session_state[state.TRAINING_INTERRUPTED] = None
        st.info(message, icon=":material/stop_circle:")


@contextmanager
def show_errors() -> Iterator[None]:
    """Show errors raised in the block instead of a traceback, and keep the page running.

    A :class:`ShopSynthError` shows its message, which says what to do; messages quote file
    names, columns and values, so they are escaped, never rendered as Markdown. Anything else shows
    a short message, with the traceback folded in an expander.
    """
    try:
        yield
    except ShopSynthError as error:
        st.error(plain(error), icon=":material/error:")
    except Exception as error:
        st.error(
            f"Something went wrong ({type(error).__name__}: {plain(_first_line(error))}). Try "
            "again; "
            "if it happens again, report the details below.",
            icon=":material/error:",
        )
        with st.expander("Details"):
            st.code(traceback.format_exc(), language=None)


def _first_line(error: BaseException, limit: int = 200) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else "no message"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def show_flash() -> None:
    """Show, once, the message a previous run kept with :func:`ui.state.flash`."""
    message = state.pop_flash()
    if message is None:
        return
    kind, text = message
    {"success": st.success, "warning": st.warning}.get(kind, st.info)(text)
