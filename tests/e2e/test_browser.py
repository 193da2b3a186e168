"""The dashboard driven in Chromium as a new user would: open it, load the sample data, visit
every page, and find no exception on screen.

Screenshots go to ``$SHOPSYNTH_SCREENSHOTS`` (a temporary folder by default).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_S = 60
LOAD_TIMEOUT_MS = 180_000
RENDER_TIMEOUT_MS = 60_000
# A sidebar link and a text its page shows on the loaded sample with no model trained yet.
PAGE_TEXTS = {
    "Models": "Train a model",
    "Synthetic Data": "Search queries for products",
    "Fusion": "Train at least two models first",
    "A/B Compare": "Train at least one model first",
}
VIEWPORT = {"width": 1400, "height": 1000}

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"streamlit did not answer within {START_TIMEOUT_S} s:\n{log.read_text()}")


@contextmanager
def streamlit_server(tmp_path: Path, **env: str) -> Iterator[str]:
    """``streamlit run app.py`` on a free port with an empty workspace home under ``tmp_path``
    and ``env`` added to its environment; yields its URL and stops it after."""
    port = _free_port()
    log = tmp_path / "streamlit.log"
    environment = {**os.environ, "SHOPSYNTH_HOME": str(tmp_path / "home"), **env}
    with log.open("w") as handle:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=environment,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The dashboard on an empty workspace home; yields its URL."""
    with streamlit_server(tmp_path) as url:
        yield url


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SHOPSYNTH_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _settle(page) -> None:
    """Wait until Streamlit has finished running the script."""
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=RENDER_TIMEOUT_MS
    )
    page.wait_for_timeout(300)


def _shoot(page, path: Path) -> None:
    """Screenshot of the whole page: the viewport grows to the height of the content, which
    Streamlit scrolls inside its main container."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, 600)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Something went wrong").count() == 0


def test_new_user_loads_sample_explores_and_uploads(
    server: str, screenshots: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    bad_log = tmp_path / "no_item_column.csv"
    bad_log.write_text("user,timestamp,event\nu1,2024-01-01,view\nu2,2024-01-02,view\n")
    good_log = tmp_path / "my_shop_clicks.csv"
    good_log.write_text(
        "visitor;sku;action;when\n"
        + "".join(
            f"v{u};p{(u * 7 + k) % 5};view;2024-03-0{1 + k} 10:0{u}:00\n"
            for u in range(4)
            for k in range(3)
        )
    )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(server)
            expect(page.get_by_text("No dataset loaded yet")).to_be_visible(
                timeout=RENDER_TIMEOUT_MS
            )
            _settle(page)
            _shoot(page, screenshots / "01_home_empty.png")

            page.get_by_role("button", name="Load sample data").click()
            expect(page.get_by_text("Sample data loaded:")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
            _settle(page)
            _no_exception(page)
            _shoot(page, screenshots / "02_home_loaded.png")

            sidebar = page.get_by_test_id("stSidebar")
            # Every page opens on the loaded sample without an exception.
            for label, text in PAGE_TEXTS.items():
                sidebar.get_by_role("link", name=label, exact=True).click()
                expect(page.get_by_text(text).first).to_be_visible(timeout=LOAD_TIMEOUT_MS)
                _settle(page)
                _no_exception(page)

            sidebar.get_by_role("link", name="Data", exact=True).click()
            expect(page.get_by_role("tab", name="Explore")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
            _settle(page)
            _no_exception(page)

            page.get_by_role("tab", name="Clean").click()
            expect(page.get_by_text("Cleaning report")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
            _settle(page)
            _shoot(page, screenshots / "03_data_clean.png")

            page.get_by_role("tab", name="Explore").click()
            expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(
                5, timeout=RENDER_TIMEOUT_MS
            )
            _settle(page)
            _no_exception(page)
            _shoot(page, screenshots / "04_data_explore.png")

            # A file without an item column: the fix is shown, the sample stays loaded.
            page.get_by_role("tab", name="Load").click()
            _settle(page)
            uploads = page.get_by_test_id("stFileUploaderDropzoneInput")
            uploads.first.set_input_files(str(bad_log))
            expect(page.get_by_text("Column mapping")).to_be_visible(timeout=RENDER_TIMEOUT_MS)
            _settle(page)
            page.get_by_role("button", name="Load", exact=True).click()
            expect(page.get_by_text("no item column found")).to_be_visible(
                timeout=RENDER_TIMEOUT_MS
            )
            _settle(page)
            _no_exception(page)
            expect(page.get_by_text("ShopSynth sample world").first).to_be_visible()
            _shoot(page, screenshots / "05_data_bad_upload.png")

            # The analyst's own log, semicolon-separated, with unusual column names.
            uploads.first.set_input_files(str(good_log))
            expect(page.get_by_text("my_shop_clicks.csv").first).to_be_visible(
                timeout=RENDER_TIMEOUT_MS
            )
            _settle(page)
            _shoot(page, screenshots / "06_data_upload_preview.png")
            page.get_by_role("button", name="Load", exact=True).click()
            expect(page.get_by_text("Loaded 12 events")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
            _settle(page)
            _no_exception(page)
            _shoot(page, screenshots / "07_data_uploaded.png")
        finally:
            browser.close()
