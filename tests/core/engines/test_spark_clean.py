"""Cleaning on Spark writes the cleaning report of the DuckDB path, count for count.

The same files go through both engines: a small hand-made log that trips every rule (with
duplicates in a window, returned purchases, a catalogue, merged id spellings and an item
threshold, so the k-core takes several rounds), the sample world, and MovieLens 100K (skipped
without ../shared/datasets).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.data.clean import CleaningReport, clean_dataset
from core.data.cleaning_config import CleaningConfig
from core.data.ingest.load import load_dataset, load_sample_world
from core.data.workspace import Workspace
from core.errors import CleaningError, IngestError

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "sample_data"

LOG = """user_id,item_id,event,ts,session_id,query,is_return
u1,a,view,2024-03-01 10:00:00,s1,,false
u1,a,view,2024-03-01 10:00:00,s1,,false
u1,a,view,2024-03-01 10:00:20,s1,,false
u1,b,purchase,2024-03-01 10:05:00,s1,,false
u1,b,purchase,2024-03-02 10:05:00,s2,,true
u1, c ,view,2024-03-01 10:06:00,s1,,false
u2,a,view,2024-03-01 11:00:00,s3,,false
u2,c,click,2024-03-01 11:01:00,s3,,false
u2,,search,2024-03-01 11:02:00,s3,red shoes,false
u2,,search,2024-03-01 11:02:00,s3,red shoes,false
u2,,view,2024-03-01 11:03:00,s3,,false
,a,view,2024-03-01 11:04:00,s3,,false
u3,a,view,1970-01-01 00:00:00,s4,,false
u3,b,view,2024-03-03 09:00:00,s4,,false
u3,c,view,2024-03-03 09:01:00,s4,,false
u3,zz,view,2024-03-03 09:02:00,s4,,false
u4,a,view,2024-03-04 08:00:00,s5,,false
u4,d,view,2024-03-04 08:00:01,s5,,false
u5,b,view,2024-03-05 08:00:00,s6,,false
u5,c,view,2024-03-05 08:00:01,s6,,false
u5,e,view,2024-03-05 08:00:02,s6,,false
u6,a,view,2099-01-01 00:00:00,s7,,false
u6,b,view,,s7,,false
"""
# 40 views of 40 products in one minute: no duplicates, but a bot.
BOT = "".join(f"bot,x{s:02d},view,2024-03-06 08:00:{s:02d},s9,,false\n" for s in range(40))
CATALOG = "item_id,title\na,Alpha\nb,Beta\nC,Gamma\nd,Delta\ne,Epsilon\nb,Beta again\n,blank\n"


def _duckdb_report(
    workspace: Workspace, events: Path, catalog: Path | None, config: CleaningConfig | None
) -> CleaningReport:
    if events.parent == SAMPLE:
        load_sample_world(workspace, SAMPLE)
    else:
        load_dataset(workspace, events, catalog_path=catalog)
    return clean_dataset(workspace, config)


def _same_reports(local: CleaningReport, spark: CleaningReport) -> None:
    assert spark.to_frame().to_dict("records") == local.to_frame().to_dict("records")
    assert spark.summary() == local.summary()
    assert spark.n_ids_merged == local.n_ids_merged
    assert spark.removed_users == local.removed_users


def _cleaned_rows(path: Path) -> list[tuple[Any, ...]]:
    query = "SELECT user_id, item_id, event, ts, session_id, query FROM {} ORDER BY ALL NULLS FIRST"
    return duckdb.sql(query.format(f"read_parquet('{path}/*.parquet')")).fetchall()


def _duckdb_rows(workspace: Workspace) -> list[tuple[Any, ...]]:
    with workspace.connect() as con:
        return con.execute(
            "SELECT user_id, item_id, event, ts, session_id, query FROM events "
            "ORDER BY ALL NULLS FIRST"
        ).fetchall()


def test_every_rule_counts_as_in_duckdb(spark: Any, workspace: Workspace, tmp_path: Path) -> None:
    from core.engines.spark.clean import clean_files

    events, catalog = tmp_path / "log.csv", tmp_path / "catalog.csv"
    events.write_text(LOG + BOT)
    catalog.write_text(CATALOG)
    config = CleaningConfig(
        duplicate_window_seconds=30,
        drop_returned_purchases=True,
        normalise_ids=True,
        min_user_interactions=2,
        min_item_interactions=2,
    )
    local = _duckdb_report(workspace, events, catalog, config)
    cleaned = clean_files(spark, events, tmp_path / "out", catalog_path=catalog, config=config)
    _same_reports(local, cleaned.report)
    # Every rule removed something, and the k-core needed more than one round.
    assert all(rule.removed > 0 for rule in local.rules), local.to_frame()
    assert (
        "2 rounds" in local.rule("k_core").parameter or "3 rounds" in local.rule("k_core").parameter
    )
    assert _cleaned_rows(cleaned.events_path) == _duckdb_rows(workspace)


def test_sample_world_report_equals_duckdb(
    spark: Any, workspace: Workspace, tmp_path: Path
) -> None:
    from core.engines.spark.clean import clean_files

    if not (SAMPLE / "events.parquet").is_file():
        pytest.skip("no sample world in sample_data/")
    local = _duckdb_report(workspace, SAMPLE / "events.parquet", None, None)
    cleaned = clean_files(
        spark,
        SAMPLE / "events.parquet",
        tmp_path / "out",
        catalog_path=SAMPLE / "catalog.parquet",
        preset="shopsynth",
    )
    _same_reports(local, cleaned.report)
    assert local.rule("bots").removed > 0 and local.rule("k_core").removed > 0
    assert _cleaned_rows(cleaned.events_path) == _duckdb_rows(workspace)


def test_movielens_report_equals_duckdb(
    spark: Any, workspace: Workspace, shared_datasets: Path, tmp_path: Path
) -> None:
    from core.engines.spark.clean import clean_files

    events = shared_datasets / "movielens_100k" / "ml-100k.inter"
    config = CleaningConfig(min_user_interactions=5, min_item_interactions=5)
    local = _duckdb_report(workspace, events, None, config)
    cleaned = clean_files(spark, events, tmp_path / "out", preset="recbole", config=config)
    _same_reports(local, cleaned.report)
    assert cleaned.report.n_events_before == 100_000
    assert local.rule("k_core").removed > 0
    assert _cleaned_rows(cleaned.events_path) == _duckdb_rows(workspace)


def test_refusal_and_bad_input_are_clear_errors(spark: Any, tmp_path: Path) -> None:
    from core.engines.spark.clean import clean_files

    events = tmp_path / "log.csv"
    events.write_text("user_id,item_id\nu1,a\nu2,b\n")
    with pytest.raises(CleaningError, match="refused: rule k_core"):
        clean_files(spark, events, tmp_path / "out")
    with pytest.raises(IngestError, match="no column 'buyer' for user_id"):
        clean_files(spark, events, tmp_path / "out", mapping={"user_id": "buyer"})
    (tmp_path / "log.json").write_text('{"user_id": "u1", "item_id": "a"}\n')
    with pytest.raises(IngestError, match="Parquet or CSV"):
        clean_files(spark, tmp_path / "log.json", tmp_path / "out")
