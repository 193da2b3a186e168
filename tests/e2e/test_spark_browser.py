"""The Spark engine chosen in the dashboard, in Chromium: on the sample world, a master that
does not answer is refused with a message at once; on ``local[2]`` the Data page cleans on Spark
with the DuckDB report's counts, and the Models page trains ``als_spark``.

Screenshots go to ``$SHOPSYNTH_SCREENSHOTS`` (a temporary folder by default), named
``spark_*.png``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LOAD_TIMEOUT_MS,
    RENDER_TIMEOUT_MS,
    VIEWPORT,
    _no_exception,
    _settle,
    _shoot,
    screenshots,  # noqa: F401 (a fixture)
    streamlit_server,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed"),
]
SPARK_TIMEOUT_MS = 900_000
PROGRESS = re.compile(r"Cleaning: \d+/\d+ tasks of \d+ running Spark job\(s\)")
CLEANED = re.compile(r"Cleaned on Spark \(local\[2\]\): ([\d,]+) of ([\d,]+) events kept")
LOADED = re.compile(r"Sample data loaded: ([\d,]+) events.+; ([\d,]+) events kept after cleaning")
TRAINED = re.compile(
    r"Trained ALS \(Spark MLlib\) in [\d.]+ s: Recall@20 ([\d.]+), NDCG@10 ([\d.]+)"
)


def _save_engine(page, engine: str, master: str) -> None:
    page.locator(".st-key-engine_choice").get_by_text(engine).click()
    page.locator(".st-key-engine_master input").fill(master)
    page.locator(".st-key-engine_save button").click()
    _settle(page)


def test_clean_and_train_on_spark_from_the_dashboard(
    tmp_path: Path,
    screenshots: Path,  # noqa: F811 (the fixture imported above)
) -> None:
    pytest.importorskip("pyspark")
    from playwright.sync_api import expect, sync_playwright

    with (
        streamlit_server(tmp_path) as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(url)
            page.get_by_role("button", name="Load sample data").click()
            expect(page.get_by_text("Sample data loaded:")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
            _settle(page)
            # DuckDB's counts, from the message of the sample's load and cleaning.
            loaded = page.get_by_text("Sample data loaded:").first.inner_text()
            duckdb_counts = LOADED.search(loaded).groups()
            sidebar = page.get_by_test_id("stSidebar")
            sidebar.get_by_role("link", name="Data", exact=True).click()
            expect(page.get_by_role("tab", name="Clean")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
            page.get_by_role("tab", name="Clean").click()
            expect(page.get_by_text("Cleaning report")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
            _settle(page)

            _save_engine(page, "Apache Spark", "spark://nowhere.invalid:7077")
            expect(page.get_by_text("Spark on spark://nowhere.invalid:7077").first).to_be_visible()
            page.locator(".st-key-clean_run button").click()
            expect(
                page.get_by_text("no Spark master answers at nowhere.invalid:7077")
            ).to_be_visible(timeout=RENDER_TIMEOUT_MS)
            _settle(page)
            _no_exception(page)
            _shoot(page, screenshots / "spark_01_unreachable_master.png")

            _save_engine(page, "Apache Spark", "local[2]")
            page.locator(".st-key-clean_run button").click()
            # Progress read from Spark's job status while the rules run.
            expect(page.get_by_text(PROGRESS).first).to_be_visible(timeout=SPARK_TIMEOUT_MS)
            _shoot(page, screenshots / "spark_02_progress.png")
            cleaned = page.get_by_text(CLEANED)
            expect(cleaned).to_be_visible(timeout=SPARK_TIMEOUT_MS)
            _settle(page)
            _no_exception(page)
            _shoot(page, screenshots / "spark_03_cleaned_on_spark.png")
            before, kept = duckdb_counts
            assert CLEANED.search(cleaned.inner_text()).groups() == (kept, before)

            sidebar.get_by_role("link", name="Models", exact=True).click()
            expect(page.get_by_text("Train a model")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
            _settle(page)
            page.locator(".st-key-models_choice").click()
            page.get_by_role("option", name="ALS (Spark MLlib)").click()
            _settle(page)
            page.locator(".st-key-models_train button").click()
            trained = page.get_by_text(TRAINED)
            expect(trained).to_be_visible(timeout=SPARK_TIMEOUT_MS)
            _settle(page)
            _no_exception(page)
            _shoot(page, screenshots / "spark_04_als_spark_trained.png")
            recall, ndcg = (float(x) for x in TRAINED.search(trained.inner_text()).groups())
            assert 0.0 < ndcg <= 1.0
            assert 0.0 < recall <= 1.0
        finally:
            browser.close()
