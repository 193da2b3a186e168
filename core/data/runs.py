"""The run registry: the kinds of run a workspace records, and the ``runs`` table they go in.

Every training, fusion, experiment and generation is one row of ``runs`` (its id, kind, name,
time, status, parameters and metrics as JSON, and its folder ``runs/<run_id>/``), written and
read through :class:`core.data.workspace.Workspace` (``add_run``, ``record_run``, ``run_row``,
``list_runs``, ``delete_run``). The kind says which step made the run and which page lists it.
"""

from __future__ import annotations

from core.schema import RUNS_TABLE

MODEL_KIND = "model"
FUSION_KIND = "fusion"
EXPERIMENT_KIND = "experiment"
FINETUNE_KIND = "finetune"
SYNTHETIC_INTERACTIONS_KIND = "synthetic_interactions"
SYNTHETIC_QUERIES_KIND = "synthetic_queries"
SYNTHETIC_DESCRIPTIONS_KIND = "synthetic_descriptions"
SYNTHETIC_LM_KIND = "synthetic_lm"

# Runs that produced synthetic data (a language model trained for it is not one).
SYNTHETIC_RUN_KINDS: tuple[str, ...] = (
    SYNTHETIC_QUERIES_KIND,
    SYNTHETIC_DESCRIPTIONS_KIND,
    SYNTHETIC_INTERACTIONS_KIND,
)

RUNS_DDL = f"""CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (
        run_id VARCHAR, kind VARCHAR, name VARCHAR, created_at TIMESTAMP, status VARCHAR,
        params VARCHAR, metrics VARCHAR, artifact_dir VARCHAR)"""
