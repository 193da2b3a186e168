"""Loading forms: the sample-data button, the upload and server-path inputs, and the load form
(preview, format preset and column mapping of the chosen files).

Every load is followed by a cleaning with the default rules (:func:`core.pipeline.load_and_clean`),
so the cleaned tables never describe another dataset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from core.data.ingest.load import LoadResult, load_dataset, load_sample_world
from core.data.ingest.plan import check_table
from core.data.ingest.presets import CATALOG_KIND, EVENTS_KIND, PRESETS, TARGETS
from core.data.paths import check_allowed
from core.data.workspace import Workspace
from core.errors import PathNotAllowedError
from core.pipeline import load_and_clean
from core.progress import ProgressCallback
from core.schema import EVENT, ITEM_ID, QUERY, SESSION_ID, TS, USER_ID, VALUE
from ui import cache, state
from ui.feedback import long_step, show_errors
from ui.text import code, plain
from ui.uploads import discard_upload, staged

NOT_MAPPED = "—"
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# Event targets shown first; the rest (ratings, quantities, item text...) sit in an expander.
_MAIN_EVENT_TARGETS = (USER_ID, ITEM_ID, EVENT, TS, SESSION_ID, QUERY, VALUE)


def confirm_replace(ws: Workspace, key: str) -> bool:
    """Whether loading may replace the workspace's dataset: at once when no run was made on
    it, else only once the user ticks the box drawn here (``key``: the load button's)."""
    status = cache.dataset_status(ws)
    runs = {
        ("model", "models"): status["n_models"],
        ("synthetic data run", "synthetic data runs"): status["n_synthetic"],
        ("fused variant", "fused variants"): status["n_fusions"],
        ("comparison", "comparisons"): status["n_experiments"],
    }
    made = ", ".join(f"{count:,} {names[count != 1]}" for names, count in runs.items() if count)
    if not status["loaded"] or not made:
        return True
    info = status["info"]
    st.warning(
        f"Workspace {plain(ws.name)} holds {made} made on its dataset "
        f"{plain(info.name if info is not None else ws.name)}. Loading replaces that dataset; "
        "the runs stay listed but describe the old data. To keep both, create a new workspace "
        "on the Home page first.",
        icon=":material/warning:",
    )
    return st.checkbox(
        "Replace the dataset anyway", value=False, key=f"{state.CONFIRM_REPLACE}{key}"
    )


def load_sample_button(ws: Workspace, key: str) -> None:
    """Button that loads the sample world, cleans it with the default rules and reruns; when
    runs were made on the current dataset, only once the replacement is confirmed."""
    confirmed = confirm_replace(ws, key)
    if not st.button(
        "Load sample data",
        key=key,
        type="primary",
        icon=":material/download:",
        disabled=not confirmed,
    ):
        return
    with show_errors():
        load_then_clean(
            ws,
            "Loading the sample world",
            "Sample data loaded:",
            lambda callback: load_sample_world(ws, callback=callback),
        )


def load_then_clean(
    ws: Workspace,
    label: str,
    headline: str,
    load: Callable[[ProgressCallback | None], LoadResult],
) -> None:
    """:func:`core.pipeline.load_and_clean` with a progress bar; keep a summary and rerun.

    When the cleaning fails the new raw data stay loaded and the summary says how to go on.
    """
    with long_step(f"{label}…", "Loaded and cleaned") as progress:
        outcome = load_and_clean(
            ws,
            load,
            load_callback=progress.stage("Loading", 0, 2),
            clean_callback=progress.stage("Cleaning", 1, 2),
        )
        if outcome.report is None:
            progress.done_label = "Loaded; cleaning failed"
    result, report = outcome.load, outcome.report
    message = (
        f"{headline} {result.n_events:,} events, {result.n_users:,} users, "
        f"{result.n_items:,} items (preset {result.preset})"
    )
    if report is not None:
        message += f"; {report.n_events_after:,} events kept after cleaning with the default rules."
    else:
        message += (
            f". Cleaning with the default rules failed: {plain(outcome.clean_error)}. Adjust "
            "the rules on the Clean tab of the Data page."
        )
    if result.warnings:
        message += "\n\nWarnings:" + "".join(f"\n- {plain(warning)}" for warning in result.warnings)
    state.flash("success" if report is not None and not result.warnings else "warning", message)
    st.rerun()


def path_inputs() -> tuple[Path | None, Path | None]:
    """Text inputs for an events file and an optional catalogue file on the server.

    Both paths are checked (:func:`core.data.paths.check_allowed`) before anything reads them:
    a path outside the allowed roots shows why and returns no path at all.
    """
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
    try:
        return (check_allowed(events) if events else None), (
            check_allowed(catalog) if catalog else None
        )
    except PathNotAllowedError as error:
        st.error(plain(error), icon=":material/block:")
        return None, None


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
    return staged(events, state.UPLOAD), staged(catalog, state.CATALOG_UPLOAD)


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
        f"{label} {code(sniffed.path.name)}: {sniffed.format}{compression}{delimiter}{header}, "
        f"{len(sniffed.columns)} columns; first rows:"
    )
    st.dataframe(sniffed.preview.head(8), hide_index=True, width="stretch")
    for warning in sniffed.warnings:
        st.warning(plain(warning), icon=":material/warning:")


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
    check_table(events)
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
        check_table(catalog)
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
    confirmed = confirm_replace(ws, state.DATA_LOAD)
    if not st.button(
        "Load",
        type="primary",
        icon=":material/upload:",
        key=state.DATA_LOAD,
        disabled=not confirmed,
    ):
        return

    def load(callback: ProgressCallback | None) -> LoadResult:
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

    load_then_clean(ws, f"Loading {plain(events_path.name)}", "Loaded", load)
