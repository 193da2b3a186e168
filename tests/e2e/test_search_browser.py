"""The Search page driven in Chromium as a shopper would: type a query, read a result's score
explained, search as a known user, misspell a word, tick a facet.

Screenshots go to ``$SHOPSYNTH_SCREENSHOTS`` (a temporary folder by default), named
``search_*.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.data.workspace import Workspace
from core.models.runs import run_user_ids
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
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed"),
]
EXPLANATION = re.compile(
    r"#1 .+\): score (\d\.\d{3}) = \(lexical (\d\.\d{3}) \+ semantic (\d\.\d{3})"
)


@pytest.fixture
def searchable(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The dashboard on the loaded sample world with an ALS model; yields (URL, a user id
    known to the model who searched)."""
    from core.data.clean import clean_dataset
    from core.data.ingest.load import load_sample_world
    from core.models.training import train_model

    ws = Workspace.open(home=tmp_path / "home")
    load_sample_world(ws)
    clean_dataset(ws)
    run = train_model(ws, "als", {"iterations": 3, "random_state": 0})
    events = ws.read_table("events")
    searches = events[events["event"] == "search"]
    known = searches[searches["user_id"].isin(set(run_user_ids(ws, run.run_id)))]
    user = str(known["user_id"].value_counts().index[0])
    with streamlit_server(tmp_path, SHOPSYNTH_ENCODER="tiny") as url:
        yield url, user


def _type(page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Enter")
    _settle(page)


def test_a_shopper_searches_in_chromium(searchable, screenshots: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    url, user = searchable
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(f"{url}/Search")
            expect(page.get_by_text("Type a query")).to_be_visible(timeout=LOAD_TIMEOUT_MS)
            _settle(page)
            _no_exception(page)

            _type(page, "Search products", "kettle")
            explanation = page.get_by_test_id("stText").filter(has_text="= (lexical")
            expect(explanation).to_be_visible(timeout=RENDER_TIMEOUT_MS)
            _no_exception(page)
            line = explanation.inner_text()
            found = EXPLANATION.search(line)
            assert found, line
            assert "kettle" in line.lower()
            score, lexical, semantic = (float(v) for v in found.groups())
            # Anonymous: the score is the lexical and semantic parts times the chip boost.
            boost = re.search(r"chip boost (\d\.\d\d)", line)
            factor = float(boost.group(1)) if boost else 1.0
            assert score == pytest.approx((lexical + semantic) * factor, abs=0.01)
            assert "personal 0.000" in line
            _shoot(page, screenshots / "search_anonymous.png")

            # Misspelled: close spellings are shown, with a note.
            _type(page, "Search products", "kettel")
            expect(page.get_by_text("showing close spellings")).to_be_visible(
                timeout=RENDER_TIMEOUT_MS
            )
            _no_exception(page)
            assert "kettle" in explanation.inner_text().lower()
            _shoot(page, screenshots / "search_misspelled.png")

            # As a known user: the personal part appears.
            _type(page, "Search products", "mug")
            page.get_by_text("a user", exact=True).click()
            _settle(page)
            _type(page, "User id", user)
            personalised = page.get_by_text(re.compile(r"Personalised for user .+ adds to \d+"))
            expect(personalised).to_be_visible(timeout=RENDER_TIMEOUT_MS)
            _no_exception(page)
            raised = re.search(r"adds to (\d+) of", personalised.inner_text())
            assert int(raised.group(1)) > 0
            _shoot(page, screenshots / "search_user.png")

            # A category facet ticked (the first facet): the explained result is in it.
            facet = page.locator('[data-testid="stCheckbox"]:visible').first
            category = facet.inner_text().rsplit(" (", 1)[0]
            facet.click()
            _settle(page)
            _no_exception(page)
            expect(explanation).to_contain_text(f"> {category}, ", timeout=RENDER_TIMEOUT_MS)
            _shoot(page, screenshots / "search_facet.png")

            page.get_by_role("tab", name="Two rankers side by side").click()
            _settle(page)
            _no_exception(page)
            _shoot(page, screenshots / "search_side_by_side.png")
            page.get_by_role("tab", name="Recent queries").click()
            _settle(page)
            _no_exception(page)
            _shoot(page, screenshots / "search_recent.png")
        finally:
            browser.close()
