"""Every ``st.cache_*`` wrapper of the dashboard.

Cached calls take the workspace path and a fingerprint of the tables they read, so a new load
or clean gives new keys (old entries age out) and one workspace's data never answers for
another's. Computing a fingerprint hashes whole tables, so it is itself cached on the size
and modification time of the database files, which change with every committed write.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import streamlit as st

from core.data import profile, summary
from core.data.clean import CleaningReport
from core.data.clean import latest_report as _core_latest_report
from core.data.splits import Split, make_split
from core.data.workspace import Workspace
from core.evaluation import experiment
from core.models import explore, runs
from core.models.base import Recommender
from core.pipeline import pipeline_status
from core.schema import (
    CATALOG_TABLE,
    CLEANING_REPORTS_TABLE,
    DATASET_TABLE,
    EVENTS_TABLE,
    RAW_CATALOG_TABLE,
    RAW_EVENTS_TABLE,
    RUNS_TABLE,
)

if TYPE_CHECKING:
    from core.data.ingest.sniff import SourceSniff

_CATALOG_OF = {EVENTS_TABLE: CATALOG_TABLE, RAW_EVENTS_TABLE: RAW_CATALOG_TABLE}


def _file_signature(*paths: Path) -> tuple[tuple[int, int], ...]:
    """(modification time, size) of each file, (0, -1) for a missing one."""
    signature = []
    for path in paths:
        try:
            stat = path.stat()
        except FileNotFoundError:
            signature.append((0, -1))
        else:
            signature.append((stat.st_mtime_ns, stat.st_size))
    return tuple(signature)


@st.cache_data(show_spinner=False, max_entries=64)
def _table_fingerprint(path: str, table: str, signature: tuple) -> str:
    return Workspace(Path(path)).fingerprint(table)


def fingerprint(ws: Workspace, *tables: str) -> str:
    """``ws.fingerprint(*tables)``, each table rehashed only after the database files change."""
    signature = _file_signature(ws.db_path, ws.db_path.with_name(ws.db_path.name + ".wal"))
    return "|".join(_table_fingerprint(str(ws.path), table, signature) for table in tables)


@st.cache_data(show_spinner="Profiling the data…", max_entries=8)
def _profile(path: str, table: str, data_fingerprint: str) -> dict[str, Any]:
    return summary.profile_summary(Workspace(Path(path)), table)


def data_profile(ws: Workspace) -> dict[str, Any]:
    """:func:`core.data.summary.profile_summary` of the cleaned data, or of the raw data
    before cleaning. Raises WorkspaceError when nothing is loaded."""
    table = profile.profile_table(ws)
    key = fingerprint(ws, table, _CATALOG_OF[table])
    return _profile(str(ws.path), table, key)


@st.cache_data(show_spinner=False, max_entries=16)
def _events_over_time(path: str, table: str, data_fingerprint: str, freq: str) -> pd.DataFrame:
    return profile.events_over_time(Workspace(Path(path)), table, freq)


def events_over_time(ws: Workspace, table: str, freq: str) -> pd.DataFrame:
    """:func:`core.data.profile.events_over_time` of ``table`` in buckets of ``freq``."""
    key = fingerprint(ws, table)
    return _events_over_time(str(ws.path), table, key, freq)


@st.cache_data(show_spinner=False, max_entries=16)
def _counts(path: str, table: str, data_fingerprint: str) -> dict[str, Any]:
    return profile.dataset_counts(Workspace(Path(path)), table)


def counts(ws: Workspace, table: str) -> dict[str, Any]:
    """:func:`core.data.profile.dataset_counts` of ``table`` (raw_events or events)."""
    return _counts(str(ws.path), table, fingerprint(ws, table, _CATALOG_OF[table]))


@st.cache_data(show_spinner=False, max_entries=16)
def _dataset_status(path: str, data_fingerprint: str) -> dict[str, Any]:
    return pipeline_status(Workspace(Path(path)))


def dataset_status(ws: Workspace) -> dict[str, Any]:
    """:func:`core.pipeline.pipeline_status`, recomputed when the dataset or the runs change."""
    key = fingerprint(
        ws, DATASET_TABLE, CLEANING_REPORTS_TABLE, RAW_EVENTS_TABLE, EVENTS_TABLE, RUNS_TABLE
    )
    return _dataset_status(str(ws.path), key)


@st.cache_data(show_spinner=False, max_entries=16)
def _latest_report(path: str, data_fingerprint: str) -> CleaningReport | None:
    return _core_latest_report(Workspace(Path(path)))


def latest_report(ws: Workspace) -> CleaningReport | None:
    """The newest cleaning report of the workspace, or None."""
    return _latest_report(str(ws.path), fingerprint(ws, CLEANING_REPORTS_TABLE, EVENTS_TABLE))


@st.cache_data(show_spinner=False, max_entries=16)
def _sniff(path: str, signature: tuple) -> SourceSniff:
    from core.data.ingest.sniff import sniff

    return sniff(Path(path))


def sniff(path: Path) -> SourceSniff:
    """:func:`core.data.ingest.sniff.sniff` of a file, recomputed when the file changes."""
    return _sniff(str(path), _file_signature(Path(path)))


@st.cache_data(show_spinner="Building the interaction matrix…", max_entries=8)
def _interaction_summary(
    path: str,
    data_fingerprint: str,
    weights: tuple[tuple[str, float], ...],
    half_life_days: float | None,
) -> dict[str, float]:
    return summary.interaction_summary(Workspace(Path(path)), dict(weights), half_life_days)


def interaction_summary(
    ws: Workspace, weights: dict[str, float], half_life_days: float | None
) -> dict[str, float]:
    """:func:`core.data.summary.interaction_summary` of the cleaned events."""
    key = fingerprint(ws, EVENTS_TABLE, CATALOG_TABLE)
    return _interaction_summary(str(ws.path), key, tuple(sorted(weights.items())), half_life_days)


@st.cache_data(show_spinner=False, max_entries=16)
def _model_list(path: str, runs_fingerprint: str) -> pd.DataFrame:
    return runs.list_models(Workspace(Path(path)))


def model_list(ws: Workspace) -> pd.DataFrame:
    """:func:`core.models.runs.list_models`, recomputed when the ``runs`` table changes."""
    return _model_list(str(ws.path), fingerprint(ws, RUNS_TABLE))


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _trained_model(path: str, run_id: str) -> tuple[Recommender, np.ndarray]:
    ws = Workspace(Path(path))
    return runs.load_model(ws, run_id), runs.run_user_ids(ws, run_id)


def trained_model(ws: Workspace, run_id: str) -> tuple[Recommender, np.ndarray]:
    """The fitted model of run ``run_id`` and the external ids of its user rows (a run never
    changes once recorded, so the run id is the whole key)."""
    return _trained_model(str(ws.path), run_id)


@st.cache_data(show_spinner=False, max_entries=8)
def _item_titles(path: str, catalog_fingerprint: str) -> dict[str, str]:
    return explore.item_titles(Workspace(Path(path)))


def item_titles(ws: Workspace) -> dict[str, str]:
    """Item id -> title of the cleaned catalogue (:func:`core.models.explore.item_titles`)."""
    return _item_titles(str(ws.path), fingerprint(ws, CATALOG_TABLE))


@st.cache_data(show_spinner=False, max_entries=16)
def _experiment_list(path: str, runs_fingerprint: str) -> pd.DataFrame:
    return experiment.list_experiments(Workspace(Path(path)))


def experiment_list(ws: Workspace) -> pd.DataFrame:
    """:func:`core.evaluation.experiment.list_experiments`, recomputed when ``runs`` changes."""
    return _experiment_list(str(ws.path), fingerprint(ws, RUNS_TABLE))


@st.cache_resource(show_spinner="Opening the comparison…", max_entries=4)
def _experiment(path: str, run_id: str) -> experiment.ExperimentResult:
    return experiment.load_experiment(Workspace(Path(path)), run_id)


def saved_experiment(ws: Workspace, run_id: str) -> experiment.ExperimentResult:
    """A saved experiment (a saved run never changes, so the run id is the whole key)."""
    return _experiment(str(ws.path), run_id)


@st.cache_data(show_spinner=False, max_entries=16)
def _run_curve(path: str, run_id: str) -> pd.DataFrame:
    return runs.run_curve(Workspace(Path(path)), run_id)


def run_curve(ws: Workspace, run_id: str) -> pd.DataFrame:
    """:func:`core.models.runs.run_curve` (a run never changes once recorded)."""
    return _run_curve(str(ws.path), run_id)


# The fine-tuning helpers below import core.text.finetune, and with it torch and transformers
# (seconds), only when first called: call them where encoders are needed.


def _encoder_files(ws: Workspace) -> tuple[Path, ...]:
    from core.text.encoders import ENCODER_META_FILE
    from core.text.saved_encoders import encoders_dir

    return tuple(sorted(encoders_dir(ws).glob(f"*/{ENCODER_META_FILE}")))


@st.cache_data(show_spinner=False, max_entries=16)
def _encoders(path: str, signature: tuple) -> pd.DataFrame:
    from core.text.saved_encoders import list_encoders

    return list_encoders(Workspace(Path(path)))


def encoders(ws: Workspace) -> pd.DataFrame:
    """:func:`core.text.saved_encoders.list_encoders`, reread when one is saved or deleted."""
    files = _encoder_files(ws)
    return _encoders(str(ws.path), (tuple(map(str, files)), _file_signature(*files)))


@st.cache_data(show_spinner=False, max_entries=16)
def _encoder_curve(path: str, name: str, signature: tuple) -> pd.DataFrame:
    from core.text.saved_encoders import encoder_curve

    return encoder_curve(Workspace(Path(path)), name)


def encoder_curve(ws: Workspace, name: str) -> pd.DataFrame:
    """:func:`core.text.saved_encoders.encoder_curve` of the fine-tuned encoder ``name``."""
    from core.text.encoders import ENCODER_META_FILE
    from core.text.saved_encoders import encoder_path

    signature = _file_signature(encoder_path(ws, name) / ENCODER_META_FILE)
    return _encoder_curve(str(ws.path), name, signature)


@st.cache_data(show_spinner="Finding searches followed by clicks…", max_entries=8)
def _search_click_counts(path: str, events_fingerprint: str) -> dict[str, int]:
    from core.text.finetune import search_click_pairs

    pairs = search_click_pairs(Workspace(Path(path)))
    return {"n_pairs": len(pairs), "n_queries": int(pairs["query"].nunique())}


def search_click_counts(ws: Workspace) -> dict[str, int]:
    """Pairs and distinct queries of :func:`core.text.finetune.search_click_pairs`."""
    return _search_click_counts(str(ws.path), fingerprint(ws, EVENTS_TABLE))


# Fusion ---------------------------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the models and building their candidates…", max_entries=2)
def _fusion_candidates(path: str, run_ids: tuple[str, ...], depth: int) -> tuple[Any, Any, Any]:
    from core.evaluation.compare import metric_context
    from core.fusion.runs import fusion_signals, validation_candidates

    ws = Workspace(Path(path))
    signals = fusion_signals(ws, run_ids)
    catalog = ws.read_table(CATALOG_TABLE) if ws.table_exists(CATALOG_TABLE) else None
    context = metric_context(signals.split, catalog)
    return signals, validation_candidates(signals, depth), context


def fusion_candidates(ws: Workspace, run_ids: tuple[str, ...], depth: int) -> tuple[Any, Any, Any]:
    """The fused models (:class:`core.fusion.runs.FusionSignals`), the validation users'
    candidates and the metric context; runs never change, so their ids are the key."""
    return _fusion_candidates(str(ws.path), run_ids, depth)


@st.cache_resource(show_spinner="Normalising the candidate scores…", max_entries=4)
def _prepared_fusion(path: str, run_ids: tuple[str, ...], depth: int, normalisation: str) -> Any:
    from core.fusion import PreparedFusion

    signals, candidates, context = _fusion_candidates(path, run_ids, depth)
    return PreparedFusion(
        candidates, signals.split.valid.matrix, normalisation=normalisation, context=context
    )


def prepared_fusion(ws: Workspace, run_ids: tuple[str, ...], depth: int, normalisation: str) -> Any:
    """:class:`core.fusion.PreparedFusion` of the validation candidates."""
    return _prepared_fusion(str(ws.path), run_ids, depth, normalisation)


@st.cache_resource(show_spinner=False, max_entries=1)
def gate_store() -> dict[tuple, Any]:
    """Learned gates trained on the Fusion page, by (workspace, runs, depth, normalisation)."""
    return {}


@st.cache_data(show_spinner="Sweeping the weights…", max_entries=8)
def _fusion_sweep(
    path: str, run_ids: tuple[str, ...], depth: int, normalisation: str, method: str, step: float
) -> pd.DataFrame:
    from core.figures.fusion import sweep_metrics
    from core.fusion import search_weights

    prepared = _prepared_fusion(path, run_ids, depth, normalisation)
    metrics = sweep_metrics(prepared.context)
    return search_weights(prepared, method=method, step=step, metrics=metrics).sweep


def fusion_sweep(
    ws: Workspace,
    run_ids: tuple[str, ...],
    depth: int,
    normalisation: str,
    method: str,
    step: float,
) -> pd.DataFrame:
    """The grid sweep of :func:`core.fusion.search_weights` (NDCG@10 and trade-off metrics)."""
    return _fusion_sweep(str(ws.path), run_ids, depth, normalisation, method, step)


@st.cache_data(show_spinner=False, max_entries=16)
def _fusion_list(path: str, runs_fingerprint: str) -> pd.DataFrame:
    from core.fusion.runs import list_fusions

    return list_fusions(Workspace(Path(path)))


def fusion_list(ws: Workspace) -> pd.DataFrame:
    """Saved fused variants (:func:`core.fusion.runs.list_fusions`)."""
    return _fusion_list(str(ws.path), fingerprint(ws, RUNS_TABLE))


# Synthetic data -------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=4)
def _catalog_frame(path: str, catalog_fingerprint: str) -> pd.DataFrame:
    return Workspace(Path(path)).read_table(CATALOG_TABLE)


def catalog_frame(ws: Workspace) -> pd.DataFrame:
    """The cleaned catalogue."""
    return _catalog_frame(str(ws.path), fingerprint(ws, CATALOG_TABLE))


@st.cache_data(show_spinner="Finding the cold-start products…", max_entries=4)
def _cold_start_items(path: str, events_fingerprint: str) -> list[str]:
    split = _default_split(path, events_fingerprint)
    return [str(item) for item in split.test.item_ids[split.cold_items]]


def cold_start_items(ws: Workspace) -> list[str]:
    """Products with test interactions and none in training under the default split."""
    return _cold_start_items(str(ws.path), fingerprint(ws, EVENTS_TABLE))


@st.cache_data(show_spinner="Building the default split…", max_entries=2)
def _default_split(path: str, events_fingerprint: str) -> Split:
    return make_split(Workspace(Path(path)))


def default_split(ws: Workspace) -> Split:
    """The temporal split the Models page trains on (:func:`core.data.splits.make_split`)."""
    return _default_split(str(ws.path), fingerprint(ws, EVENTS_TABLE))


@st.cache_data(show_spinner=False, max_entries=4)
def _real_queries(path: str, events_fingerprint: str) -> list[str]:
    return summary.search_queries(Workspace(Path(path)))


def real_queries(ws: Workspace) -> list[str]:
    """Every real search query of the cleaned log (repeats kept)."""
    return _real_queries(str(ws.path), fingerprint(ws, EVENTS_TABLE))


@st.cache_data(show_spinner=False, max_entries=4)
def _real_pairs(path: str, events_fingerprint: str) -> pd.DataFrame:
    split = _default_split(path, events_fingerprint)
    return split.train.to_frame()[["user_id", "item_id"]]


def real_pairs(ws: Workspace) -> pd.DataFrame:
    """The (user_id, item_id) pairs of the default split's training part."""
    return _real_pairs(str(ws.path), fingerprint(ws, EVENTS_TABLE))
