"""Values from a data file that are Markdown links and images stay text in the browser: no
link or image to another host appears, and the page requests nothing from another host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.e2e.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LOAD_TIMEOUT_MS,
    RENDER_TIMEOUT_MS,
    VIEWPORT,
    _no_exception,
    _settle,
    streamlit_server,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed"),
]

LINK = "[Session expired - click to log in](https://evil.example/login)"
BEACON = "![b](https://evil.example/beacon.png)"
TAG = '<img src="https://evil.example/tag.png">'


@pytest.fixture
def data_server(tmp_path: Path) -> Iterator[str]:
    """The dashboard allowed to read ``tmp_path``; yields its URL."""
    with streamlit_server(tmp_path, SHOPSYNTH_DATA_ROOTS=str(tmp_path)) as url:
        yield url


# Streamlit draws Material icons given as a page icon from Google's icon service: the app's own
# request, not one from data.
STREAMLIT_ICONS = "https://fonts.gstatic.com/s/i/short-term/release/materialsymbols"


def _outside(url: str | None) -> bool:
    if not url or url.startswith(STREAMLIT_ICONS):
        return False
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname != "127.0.0.1"


def test_hostile_values_in_a_loaded_file_stay_text(data_server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    log = tmp_path / "hostile.csv"
    rows = ["user_id,item_id,event,ts"]
    for index, value in enumerate([LINK, BEACON, TAG, "view", "view", "purchase"]):
        quoted = '"' + value.replace('"', '""') + '"'
        rows.append(f"u{index % 2},i{index},{quoted},2024-03-0{index + 1} 10:00:00")
    log.write_text("\n".join(rows) + "\n")

    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.on("request", lambda request: requests.append(request.url))
            page.goto(f"{data_server}/Data")
            _settle(page)
            page.get_by_text("Server path", exact=True).click()
            _settle(page)
            page.get_by_role("textbox", name="Events file on the server").fill(str(log))
            page.keyboard.press("Enter")
            _settle(page)
            page.get_by_role("button", name="Load", exact=True).click()
            expect(page.get_by_text("Loaded 6 events")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
            _settle(page)
            _no_exception(page)
            # The values are on screen as text.
            body = page.locator('[data-testid="stMain"]').inner_text(timeout=RENDER_TIMEOUT_MS)
            body = body.replace("\u2060", "")  # the invisible joiner that breaks autolinks
            assert "Session expired - click to log in" in body
            assert "https://evil.example/login" in body
            assert "beacon.png" in body
            links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
            images = page.eval_on_selector_all("img[src]", "els => els.map(e => e.src)")
        finally:
            browser.close()
    assert [url for url in links + images if "evil.example" in url] == []
    assert [url for url in links + images if _outside(url)] == []
    assert [url for url in requests if _outside(url)] == []
