"""The web app's pages in headless Chromium (Debian's, driven by Playwright) against a live server in
semantic mode: home (catalog, search, surprise, weakest topic), an interview with the hint and finish
buttons, the report and its Markdown download, history and replay, and a phone-width screen. Each
page is saved as a screenshot, in $SCREENSHOT_DIR or the test's temporary folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.config import Settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


@pytest.fixture
def live(tmp_path: Path, settings: Settings, index, live_app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from service.api.app import create_app

    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    with live_app(create_app(settings.model_copy(update={"data_dir": tmp_path, "mode": "semantic"}))) as url:
        yield url


def test_every_page_an_interview_history_and_replay(live: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(accept_downloads=True)
        page.goto(live)
        page.fill("#user", "ana")
        expect(page.locator("#catalog .cards li")).to_have_count(49)
        expect(page.locator("#catalog h3")).to_have_count(3)  # by series
        page.screenshot(path=str(shots / "home.png"), full_page=True)

        page.fill("#search", "KV cache memory for long context")
        expect(page.locator("#catalog h3")).to_have_count(1, timeout=30_000)  # the first search warms the embedder
        expect(page.locator("#setup-error")).to_have_text("")
        expect(page.locator("#catalog h3")).to_have_text("Closest to your search")
        assert 1 <= page.locator("#catalog .cards li").count() <= 8
        page.screenshot(path=str(shots / "search.png"), full_page=True)
        page.fill("#search", "")
        expect(page.locator("#catalog .cards li")).to_have_count(49)

        page.locator("#catalog button", has_text="mlsd-33").click()
        expect(page.locator(".turn.interviewer").first).to_contain_text("Kafka")
        page.fill("#message", "Reservoir sampling: keep the first k, then replace a random slot with probability k/i.")
        page.click("#send")
        expect(page.locator(".turn.interviewer")).to_have_count(2)
        expect(page.locator("#budget")).to_contain_text("Follow-up 1 of 3")
        page.click("#hint")
        expect(page.locator(".turn.interviewer").last).to_contain_text("A hint")
        page.screenshot(path=str(shots / "interview.png"), full_page=True)
        page.click("#finish")
        expect(page.locator("#report .verdict")).to_contain_text("Score")
        first_bar = page.locator("#report .bar span").first
        expect(first_bar).to_contain_text("reservoir sampling")  # the criterion in its own words, not its id
        with page.expect_download() as download:
            page.click("#download")
        text = Path(download.value.path()).read_text()
        assert text.startswith("# mlsd-33 — ") and "**Score " in text and "## Model answer" in text
        page.screenshot(path=str(shots / "report.png"), full_page=True)

        page.click("#nav-history")
        expect(page.locator("#sessions tbody tr")).to_have_count(1)
        expect(page.locator("#sessions tbody tr")).to_contain_text("mlsd-33")
        expect(page.locator("#progress .bar").first).to_be_visible()
        expect(page.locator("#score-chart circle")).to_have_count(1)
        page.screenshot(path=str(shots / "history.png"), full_page=True)
        page.click("#sessions button")
        expect(page.locator(".turn.candidate").first).to_contain_text("Reservoir sampling")
        expect(page.locator("#report .verdict")).to_contain_text("Score")
        page.screenshot(path=str(shots / "replay.png"), full_page=True)

        page.click("#nav-home")
        expect(page.locator("#catalog li", has_text="mlsd-33")).to_contain_text("best ")
        page.click("#weakest")
        expect(page.locator(".turn.interviewer").first).to_be_visible()

        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(live)
        expect(phone.locator("#catalog .cards li")).to_have_count(49)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing runs off the screen
        phone.screenshot(path=str(shots / "home-phone.png"), full_page=True)
        browser.close()
    assert {p.name for p in shots.iterdir()} >= {"home.png", "report.png", "history.png", "replay.png"}
