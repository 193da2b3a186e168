"""Streamlit pieces shared by the pages: progress and errors, workspace and dataset status,
the load form, the cleaning form and report, profile figures."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import math
import re
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.data.clean import CleaningReport, clean_dataset
from core.data.ingest.load import LoadResult, load_dataset, load_sample_world
from core.data.ingest.presets import CATALOG_KIND, EVENTS_KIND, PRESETS, TARGETS
from core.data.rules import RULE_DESCRIPTIONS, CleaningConfig
from core.data.workspace import Workspace, list_workspaces
from core.errors import ShopSynthError
from core.figures import charts
from core.progress import EPOCH, point_of
from core.schema import (
    DEFAULT_EVENT_WEIGHTS,
    EVENT,
    EVENT_TYPES,
    EVENTS_TABLE,
    ITEM_ID,
    QUERY,
    RAW_EVENTS_TABLE,
    SESSION_ID,
    TS,
    USER_ID,
    VALUE,
)
from ui import cache, state

Callback = Callable[[int, int, str], None]


# Progress and errors ------------------------------------------------------------------------------


class Progress:
    """A progress bar fed by core callbacks ``callback(step, total, info)``.

    One bar can serve several core steps in a row: :meth:`stage` returns the callback of
    stage ``index`` of ``n_stages``, which fills its own share of the bar (its text prefixed
    with the stage ``name`` unless that is empty).
    """

    def __init__(self, bar: Any, done_label: str) -> None:
        self._bar = bar
        self.done_label = done_label

    def stage(self, name: str, index: int = 0, n_stages: int = 1) -> Callback:
        def callback(step: int, total: int, info: str) -> None:
            done = min(max(step / total, 0.0), 1.0) if total else 0.0
            text = f"{name}: {info}" if name else info
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
) -> Iterator[Callback]:
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


_ENCODER_LABELS = {
    "minilm": "Pretrained all-MiniLM-L6-v2",
    "tiny": "Tiny test encoder (random weights)",
}


def encoder_choice(ws: Workspace, label: str, key: str, help_text: str) -> str:
    """A select of the text encoders: the pretrained default and the workspace's fine-tuned
    ones. Returns the chosen encoder as :func:`core.text.encoders.load_encoder` takes it.

    Imports torch on first use (through :func:`ui.cache.encoders`).
    """
    from core.text.encoders import default_encoder_spec

    default = default_encoder_spec()
    labels = {default: _ENCODER_LABELS.get(default, default)}
    listed = cache.encoders(ws)
    ndcg = next((column for column in listed.columns if column.startswith("ndcg@")), None)
    for row in listed.to_dict("records"):
        scored = ndcg is not None and pd.notna(row[ndcg])
        score = f" · {ndcg.upper()} {row[ndcg]:.3f}" if scored else ""
        labels[row["path"]] = f"Fine-tuned {row['name']}{score}"
    return st.selectbox(label, list(labels), format_func=labels.get, key=key, help=help_text)


def show_interrupted() -> None:
    """Say, once, that the training of an earlier run was stopped before it finished."""
    message = st.session_state.get(state.TRAINING_INTERRUPTED)
    if message:
        st.session_state[state.TRAINING_INTERRUPTED] = None
        st.info(message, icon=":material/stop_circle:")


@contextmanager
def show_errors() -> Iterator[None]:
    """Show errors raised in the block instead of a traceback, and keep the page running.

    A :class:`ShopSynthError` shows its message, which says what to do. Anything else shows
    a short message, with the traceback folded in an expander.
    """
    try:
        yield
    except ShopSynthError as error:
        st.error(str(error), icon=":material/error:")
    except Exception as error:
        st.error(
            f"Something went wrong ({type(error).__name__}: {_first_line(error)}). Try again; "
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


def format_count(value: int | float) -> str:
    """Thousands-separated count, e.g. 1,234,567."""
    return f"{int(value):,}"


# Workspace and dataset status ---------------------------------------------------------------------


# The dashboard's pages in sidebar order: (script, label, Material icon). Streamlit's own page
# list is hidden (.streamlit/config.toml) because it would name the home page after app.py.
PAGES: tuple[tuple[str, str, str], ...] = (
    ("app.py", "Home", ":material/home:"),
    ("pages/1_Data.py", "Data", ":material/database:"),
    ("pages/2_Models.py", "Models", ":material/model_training:"),
    ("pages/3_Synthetic_Data.py", "Synthetic Data", ":material/auto_awesome:"),
    ("pages/4_Fusion.py", "Fusion", ":material/tune:"),
    ("pages/5_AB_Compare.py", "A/B Compare", ":material/compare_arrows:"),
)


def sidebar_workspace(ws: Workspace) -> None:
    """The page links and the active workspace, in the sidebar of every page."""
    with st.sidebar:
        for script, label, icon in PAGES:
            st.page_link(script, label=label, icon=icon)
        st.divider()
        st.caption(f":material/folder_open: Workspace **{ws.name}**")


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
        st.caption(f"Folder: `{ws.path.resolve()}`")
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
                state.flash("success", f"Workspace {created.name!r} created at {created.path}.")
                st.rerun()


def _switch_workspace() -> None:
    st.session_state[state.WORKSPACE_NAME] = st.session_state[state.HOME_WORKSPACE_SELECT]


def display_source(source: str) -> str:
    """A dataset source for display: uploads show their file name, not the temporary path."""
    path = Path(source)
    if path.parent.name.startswith(_UPLOAD_PREFIX):
        return f"upload `{path.name}`"
    return f"`{source}`"


def dataset_summary(ws: Workspace, status: dict[str, Any]) -> None:
    """Counts and provenance of the workspace's dataset, or how to load one."""
    info = status["info"]
    if info is None or not status["loaded"]:
        st.info(
            "No dataset loaded yet: load the sample data below, or your own logs on the Data page.",
            icon=":material/info:",
        )
        return
    table = EVENTS_TABLE if status["cleaned"] else RAW_EVENTS_TABLE
    numbers = cache.counts(ws, table)
    cols = st.columns(4)
    cols[0].metric("Events", format_count(numbers["n_events"]))
    cols[1].metric("Users", format_count(numbers["n_users"]))
    cols[2].metric("Items", format_count(numbers["n_items"]))
    cols[3].metric("Catalogue items", format_count(numbers["n_catalog_items"]))
    cleaned = (
        ":green[:material/check_circle: cleaned]"
        if status["cleaned"]
        else ":orange[:material/warning: not cleaned yet]"
    )
    st.markdown(
        f"**{info.name}** · source {display_source(info.source)} · preset `{info.preset}` · "
        f"loaded {info.loaded_at:%Y-%m-%d %H:%M} UTC · {cleaned}"
    )
    if info.catalog_source:
        st.caption(f"Catalogue: {display_source(info.catalog_source)}")


def dataset_line(status: dict[str, Any]) -> None:
    """One caption line: which dataset is active and whether it is cleaned."""
    info = status["info"]
    if info is None or not status["loaded"]:
        st.caption("No dataset loaded yet.")
        return
    cleaned = "cleaned" if status["cleaned"] else "not cleaned yet"
    st.caption(
        f"Dataset **{info.name}** ({format_count(info.n_events)} events loaded from "
        f"{display_source(info.source)}, preset `{info.preset}`, "
        f"{info.loaded_at:%Y-%m-%d %H:%M} UTC) · "
        f"{cleaned}"
    )


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
    for key, name, unit, needs in LATER_STEPS:
        count = int(status.get(key, 0))
        lines.append(
            f"{done if count else todo} **{name}** — "
            + (f"{count:,} {unit}" if count else f"not started; {needs}")
        )
    st.markdown("  \n".join(lines))
    for script, label, icon in PAGES[1:]:
        st.page_link(script, label=f"Open the {label} page", icon=icon)


# Loading ------------------------------------------------------------------------------------------


# Temporary folders holding uploads, outside any workspace.
_UPLOAD_PREFIX = "shopsynth-upload-"
# Characters kept in the temporary copy of an uploaded file's name.
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
NOT_MAPPED = "—"
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# Event targets shown first; the rest (ratings, quantities, item text...) sit in an expander.
_MAIN_EVENT_TARGETS = (USER_ID, ITEM_ID, EVENT, TS, SESSION_ID, QUERY, VALUE)


def load_sample_button(ws: Workspace, key: str) -> None:
    """Button that loads the sample world, cleans it with the default rules and reruns."""
    if not st.button("Load sample data", key=key, type="primary", icon=":material/download:"):
        return
    with show_errors():
        load_then_clean(
            ws,
            "Loading the sample world",
            "Sample data loaded:",
            lambda callback: load_sample_world(ws, callback=callback),
        )


def load_then_clean(
    ws: Workspace, label: str, headline: str, load: Callable[[Callback], LoadResult]
) -> None:
    """Run ``load(callback)``, clean with the default rules, keep a summary and rerun.

    A load leaves the previous cleaned tables in place, so cleaning follows at once; when the
    cleaning fails the new raw data stay loaded and the summary says how to go on.
    """
    clean_error = None
    report = None
    with long_step(f"{label}…", "Loaded and cleaned") as progress:
        result = load(progress.stage("Loading", 0, 2))
        try:
            report = clean_dataset(ws, CleaningConfig(), callback=progress.stage("Cleaning", 1, 2))
        except ShopSynthError as error:
            clean_error = error
            progress.done_label = "Loaded; cleaning failed"
    message = (
        f"{headline} {result.n_events:,} events, {result.n_users:,} users, "
        f"{result.n_items:,} items (preset {result.preset})"
    )
    if report is not None:
        message += f"; {report.n_events_after:,} events kept after cleaning with the default rules."
    else:
        message += (
            f". Cleaning with the default rules failed: {clean_error}. Adjust the rules on the "
            "Clean tab of the Data page."
        )
    if result.warnings:
        message += "\n\nWarnings:" + "".join(f"\n- {warning}" for warning in result.warnings)
    state.flash("success" if report is not None and not result.warnings else "warning", message)
    st.rerun()


def path_inputs() -> tuple[Path | None, Path | None]:
    """Text inputs for an events file and an optional catalogue file on the server."""
    left, right = st.columns(2)
    events = left.text_input(
        "Events file on the server",
        key=state.DATA_EVENTS_PATH,
        placeholder="/data/shop/events.csv.gz",
        help="CSV/TSV (any delimiter), Parquet or JSON lines, optionally gzipped. Use a path "
        "for files too large to upload.",
    ).strip()
    catalog = right.text_input(
        "Catalogue file (optional)",
        key=state.DATA_CATALOG_PATH,
        placeholder="/data/shop/products.parquet",
    ).strip()
    return (Path(events).expanduser() if events else None), (
        Path(catalog).expanduser() if catalog else None
    )


def upload_inputs() -> tuple[Path | None, Path | None]:
    """File uploaders for an events file and an optional catalogue; each upload is copied
    once to a private temporary folder outside the workspace, which is removed after a
    successful load or when the upload is replaced or cleared."""
    generation = st.session_state[state.UPLOAD_GENERATION]
    left, right = st.columns(2)
    events = left.file_uploader(
        "Events file",
        key=f"{state.DATA_UPLOAD_EVENTS}{generation}",
        help="CSV/TSV, Parquet or JSON lines, optionally gzipped.",
    )
    catalog = right.file_uploader(
        "Catalogue file (optional)", key=f"{state.DATA_UPLOAD_CATALOG}{generation}"
    )
    return _staged(events, state.UPLOAD), _staged(catalog, state.CATALOG_UPLOAD)


def _staged(uploaded: Any, slot: str) -> Path | None:
    current = st.session_state[slot]
    if current is not None and uploaded is not None and current["file_id"] == uploaded.file_id:
        path = Path(current["path"])
        if path.is_file():
            return path
    discard_upload(slot)
    if uploaded is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix=_UPLOAD_PREFIX))
    path = folder / (_SAFE_NAME.sub("_", Path(uploaded.name).name) or "upload")
    with path.open("wb") as handle:
        shutil.copyfileobj(uploaded, handle, length=16 * 1024 * 1024)
    st.session_state[slot] = {"file_id": uploaded.file_id, "path": str(path)}
    return path


def discard_upload(slot: str) -> None:
    """Delete the temporary copy of an upload, if any."""
    current = st.session_state.get(slot)
    if current is not None:
        shutil.rmtree(Path(current["path"]).parent, ignore_errors=True)
    st.session_state[slot] = None


def _file_token(path: Path) -> str:
    """Short id of a file's path and version, so widgets reset when the file changes."""
    try:
        stat = path.stat()
        version = f"{stat.st_mtime_ns}:{stat.st_size}"
    except OSError:
        version = "missing"
    return hashlib.sha1(f"{path}|{version}".encode()).hexdigest()[:10]


def mapping_editor(
    columns: list[str],
    targets: tuple[str, ...],
    suggestion: dict[str, str],
    key_prefix: str,
    main: tuple[str, ...] | None = None,
) -> dict[str, str | None]:
    """A selectbox per canonical target, listing the file's columns, pre-filled with
    ``suggestion``; returns ``{target: source column or None}`` for every target (None: left
    unmapped, which overrides a preset's suggestion). Targets outside ``main`` (all shown when
    None) sit in an expander."""
    options = [NOT_MAPPED, *columns]
    shown = [t for t in targets if main is None or t in main]
    extra = [t for t in targets if t not in shown]

    def draw(names: list[str]) -> dict[str, str | None]:
        chosen: dict[str, str | None] = {}
        grid = st.columns(4)
        for index, target in enumerate(names):
            default = suggestion.get(target, NOT_MAPPED)
            value = grid[index % 4].selectbox(
                target,
                options,
                index=options.index(default) if default in options else 0,
                key=f"{key_prefix}{target}",
            )
            chosen[target] = None if value == NOT_MAPPED else value
        return chosen

    mapping = draw(shown)
    if extra:
        mapped = sum(target in suggestion for target in extra)
        with st.expander(
            f"More targets: ratings, quantities, returns, item text ({mapped} mapped)"
        ):
            mapping.update(draw(extra))
    return mapping


def _preview(sniffed: Any, label: str) -> None:
    delimiter = (
        f", {_DELIMITER_NAMES.get(sniffed.delimiter, repr(sniffed.delimiter))}-separated"
        if sniffed.delimiter
        else ""
    )
    header = "" if sniffed.has_header else ", no header row"
    compression = f", {sniffed.compression}" if sniffed.compression else ""
    st.caption(
        f"{label} `{sniffed.path.name}`: {sniffed.format}{compression}{delimiter}{header}, "
        f"{len(sniffed.columns)} columns; first rows:"
    )
    st.dataframe(sniffed.preview.head(8), hide_index=True, width="stretch")
    for warning in sniffed.warnings:
        st.warning(warning, icon=":material/warning:")


def _preset_choice(sniffed: Any, kind: str, key: str) -> str:
    names = [name for name, preset in PRESETS.items() if kind in preset.kinds]
    detected = sniffed.preset if sniffed.preset in names else "generic"
    return st.selectbox(
        f"Format preset (detected: {detected})",
        names,
        index=names.index(detected),
        format_func=lambda name: f"{name} — {PRESETS[name].description}",
        key=key,
    )


def load_form(ws: Workspace, events_path: Path, catalog_path: Path | None) -> None:
    """Preview, preset and column mapping of the chosen files, and the Load button.

    Loading replaces the workspace's dataset and cleans it with the default rules, so the
    cleaned tables never describe another dataset.
    """
    token = _file_token(events_path)
    events = cache.sniff(events_path)
    _preview(events, "Events file")
    if events.kind == CATALOG_KIND:
        st.info(
            "This file looks like a product catalogue. Give it as the catalogue file, beside a "
            "behaviour log, unless it really is the log.",
            icon=":material/info:",
        )
    preset = _preset_choice(events, EVENTS_KIND, f"{state.DATA_PRESET}{token}")
    suggestion = (
        events.mapping
        if preset == events.preset
        else PRESETS[preset].mapping(events.columns, EVENTS_KIND)
    )
    st.markdown("**Column mapping** (file column feeding each canonical column)")
    mapping = mapping_editor(
        list(events.columns),
        TARGETS[EVENTS_KIND],
        suggestion,
        key_prefix=f"{state.DATA_MAPPING_PREFIX}{token}_{preset}_",
        main=_MAIN_EVENT_TARGETS,
    )
    catalog_mapping = None
    if catalog_path is not None:
        catalog_token = _file_token(catalog_path)
        catalog = cache.sniff(catalog_path)
        _preview(catalog, "Catalogue file")
        st.markdown("**Catalogue mapping**")
        catalog_mapping = mapping_editor(
            list(catalog.columns),
            TARGETS[CATALOG_KIND],
            catalog.mapping,
            key_prefix=f"{state.DATA_CATALOG_MAPPING_PREFIX}{catalog_token}_",
        )
    name = st.text_input(
        "Dataset name", value=events_path.name.split(".")[0], key=f"{state.DATA_NAME}{token}"
    )
    if not st.button("Load", type="primary", icon=":material/upload:", key=state.DATA_LOAD):
        return

    def load(callback: Callback) -> LoadResult:
        result = load_dataset(
            ws,
            events_path,
            mapping=mapping,
            preset=preset,
            catalog_path=catalog_path,
            catalog_mapping=catalog_mapping,
            name=name.strip() or None,
            callback=callback,
        )
        discard_upload(state.UPLOAD)
        discard_upload(state.CATALOG_UPLOAD)
        st.session_state[state.UPLOAD_GENERATION] += 1
        return result

    load_then_clean(ws, f"Loading {events_path.name}", "Loaded", load)


# Cleaning -----------------------------------------------------------------------------------------


# Cleaning parameters grouped by the rule they steer, in the order the rules run.
RULE_FIELDS: dict[str, tuple[str, ...]] = {
    "missing_ids": ("drop_missing_ids",),
    "duplicates": ("drop_duplicates", "duplicate_window_seconds"),
    "timestamps": ("drop_missing_ts", "min_ts", "max_ts", "drop_future"),
    "returns": ("drop_returns", "drop_returned_purchases"),
    "bots": ("max_events_per_user_day", "max_events_per_session"),
    "unknown_items": ("drop_unknown_items",),
    "k_core": ("min_user_interactions", "min_item_interactions"),
}
_LABELS = {
    "drop_missing_ids": "Drop rows with missing ids",
    "drop_missing_ts": "Drop missing timestamps",
    "duplicate_window_seconds": "Repeat window (seconds, 0 = exact duplicates only)",
    "min_ts": "Earliest timestamp",
    "max_ts": "Latest timestamp",
    "drop_future": "Drop future timestamps",
    "max_events_per_user_day": "Max events per user per day (0 = off)",
    "max_events_per_session": "Max events per session (0 = off)",
    "min_user_interactions": "Min distinct items per user (0 = off)",
    "min_item_interactions": "Min distinct users per item (0 = off)",
}
_RULE_TITLES = {"missing_ids": "Missing ids", "k_core": "k-core", "other": "Other rules"}
_DATE_RANGE = (date(1900, 1, 1), date(2100, 12, 31))
# ``literal`` and :role:`target` markup, shown as Markdown code.
_RST_ROLE = re.compile(r"(?::\w+:)?``?([^`]+)``?")
# A section ("Parameters", "Attributes") of a numpydoc docstring, up to the next one or the end.
_DOC_SECTION = r"{}\n-+\n(.*?)(?=\n\S[^\n]*\n-+\n|\Z)"


def _label(name: str) -> str:
    return _LABELS.get(name) or name.replace("_", " ").capitalize()


def parameter_help(cls: type, section: str = "Parameters") -> dict[str, str]:
    """Text of each entry of the numpydoc ``section`` of ``cls``'s docstring."""
    match = re.search(_DOC_SECTION.format(section), inspect.getdoc(cls) or "", re.S)
    if match is None:
        return {}
    parts: dict[str, list[str]] = {}
    names: list[str] = []
    for line in match.group(1).splitlines():
        if line and not line[0].isspace():
            names = [name.strip() for name in line.split(":")[0].split(",")]
            for name in names:
                parts[name] = []
        elif line.strip():
            for name in names:
                parts[name].append(line.strip())
    return {name: _RST_ROLE.sub(r"`\1`", " ".join(words)) for name, words in parts.items()}


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
    if kind.startswith("int"):
        number = st.number_input(
            label, min_value=0, value=int(value or 0), step=1, key=key, help=help_text
        )
        return int(number) or None
    return st.number_input(
        label, min_value=0.0, value=float(value or 0.0), step=1.0, key=key, help=help_text
    )


def cleaning_form(
    initial: CleaningConfig, weights: dict[str, float], half_life_days: float | None
) -> tuple[CleaningConfig, dict[str, float], float | None] | None:
    """Every cleaning parameter, the event weights and the half-life, in one form.

    Returns
    -------
    tuple or None
        ``(config, weights, half_life_days)`` when the Clean button was pressed, else None.
        Raises CleaningError (a ShopSynthError) when the parameters contradict each other.
    """
    help_texts = parameter_help(CleaningConfig)
    all_fields = {field.name: field for field in dataclasses.fields(CleaningConfig)}
    grouped = {name for names in RULE_FIELDS.values() for name in names}
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
    """The parameters of the latest cleaning, or the defaults when it was never cleaned."""
    report = cache.latest_report(ws)
    return report.config if report is not None else CleaningConfig()


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


def cleaning_report(report: CleaningReport) -> None:
    """The report of a cleaning run: totals, the rule table and removed rows per rule."""
    st.markdown(f"##### Cleaning report · {report.created_at:%Y-%m-%d %H:%M} UTC")
    summary = report.summary_frame()
    columns = st.columns(len(summary))
    for column, row in zip(columns, summary.itertuples(index=False), strict=True):
        column.metric(
            row.quantity.capitalize(),
            format_count(row.after),
            delta=f"-{row.removed:,}" if row.removed else None,
            delta_color="off",
            help=f"{row.before:,} before cleaning",
        )
    rules = report.to_frame()
    st.dataframe(
        rules[["rule", "parameter", "rows_before", "rows_after", "removed"]].rename(
            columns={"rows_before": "before", "rows_after": "after"}
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "before": st.column_config.NumberColumn(format="localized", width="small"),
            "after": st.column_config.NumberColumn(format="localized", width="small"),
            "removed": st.column_config.NumberColumn(format="localized", width="small"),
        },
    )
    chart, _ = st.columns(2)
    chart.plotly_chart(charts.removed_per_rule(rules), width="stretch")


def interaction_summary(
    ws: Workspace, weights: dict[str, float], half_life_days: float | None
) -> None:
    """Size and weights of the user x item matrix the chosen weights give."""
    summary = cache.interaction_summary(ws, weights, half_life_days)
    st.markdown("##### Interaction matrix")
    decay = f"half-life {half_life_days:g} days" if half_life_days else "no time decay"
    st.caption(
        "Built from the cleaned events with the weights above ("
        + ", ".join(f"{event} {weight:g}" for event, weight in weights.items())
        + f"; {decay}). Its items are the whole catalogue, so items without events are "
        "columns too."
    )
    columns = st.columns(5)
    columns[0].metric("Users", format_count(summary["n_users"]))
    columns[1].metric("Items", format_count(summary["n_items"]))
    columns[2].metric("Non-zero entries", format_count(summary["nnz"]))
    columns[3].metric("Density", f"{summary['density']:.4%}")
    columns[4].metric(
        "Mean weight",
        f"{summary['weight_mean']:.2f}",
        help=f"median {summary['weight_median']:.2f}, max {summary['weight_max']:.2f}",
    )


# Exploring ----------------------------------------------------------------------------------------


def sparsity_metrics(numbers: dict[str, Any]) -> None:
    """Counts and sparsity of the profiled events (``core.data.profile.dataset_counts``)."""
    columns = st.columns(6)
    columns[0].metric("Events", format_count(numbers["n_events"]))
    columns[1].metric("Users", format_count(numbers["n_users"]))
    columns[2].metric("Items", format_count(numbers["n_items"]))
    columns[3].metric(
        "Interactions",
        format_count(numbers["n_pairs"]),
        help="Distinct user-item pairs with at least one item event.",
    )
    columns[4].metric(
        "Density",
        f"{numbers['density']:.4%}",
        help=f"Interactions / (users with item events × items); sparsity "
        f"{numbers['sparsity']:.4%}.",
    )
    columns[5].metric("Sessions", format_count(numbers["n_sessions"]))
    first, last = numbers["first_ts"], numbers["last_ts"]
    span = f"from {first:%Y-%m-%d} to {last:%Y-%m-%d}" if first is not None else "no timestamps"
    st.caption(
        f"{numbers['events_per_user']:.1f} events per user, {numbers['events_per_item']:.1f} "
        f"per item; {format_count(numbers['n_searches'])} searches; {span}; "
        f"{format_count(numbers['n_catalog_items'])} catalogue items."
    )
