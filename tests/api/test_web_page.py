"""The web chat end to end in headless Chromium (Debian's, driven by Playwright) against a live server.

The model answers come from the recorded interview cassette, so the page drives exactly the
exchanges that tests/agent/test_interview_llm.py replays. The report is saved as a screenshot, in
$SCREENSHOT_DIR or the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.llm, pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")]


@pytest.fixture
def live_server(recorded, live_app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from service.api.app import create_app

    with recorded("web_page_llm") as settings, live_app(create_app(settings), wait=30) as url:
        yield url


def test_chat_and_report_in_the_browser(live_server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from service.runtime import Runtime

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        page = browser.new_page()
        page.goto(live_server)
        expect(page.locator("#trap option")).to_have_count(50)  # 49 traps + "by topic"
        page.fill("#user", "dana")
        page.select_option("#trap", "mlsd-35")
        page.click("#start")
        expect(page.locator(".turn.interviewer").first).to_contain_text("fraud classifier")
        for i, message in enumerate(
            (
                "I'd use weighted cross-entropy with weight 10,000 on the fraud class.",
                # Read as the trap only in part, the weight is asked about; standing by it raises the flag.
                "Yes, I would keep that weight.",
                "What do you mean exactly?",
                "finish",
            )
        ):
            if i == 1:  # the connection drops mid-interview: the page reconnects and the session goes on
                page.evaluate("socket.close()")
                expect(page.locator("#chat-error")).to_contain_text("reconnecting")
                expect(page.locator("#chat-error")).to_have_text("", timeout=10_000)
                assert page.locator(".turn").count() == 3  # redrawn from the server's state
            count = page.locator(".turn.interviewer").count()
            page.fill("#message", message)
            page.click("#send")
            expect(page.locator(".turn.interviewer")).to_have_count(count + 1, timeout=30_000)
        expect(page.locator("#report .verdict")).to_contain_text("Score", timeout=30_000)
        assert page.locator("#report .bar").count() == 5  # one bar per criterion of mlsd-35
        # The first answer is mlsd-35's trap: the report says which, and marks the words that fell into it.
        expect(page.locator("#report .flag")).to_contain_text("Fell into the trap: Just weight the fraud class")
        flagged = page.locator(".turn.candidate mark.flagged")
        expect(flagged).to_have_count(1)
        assert "weighted cross-entropy with weight 10,000" in flagged.inner_text()
        assert flagged.inner_text() in page.locator(".turn.candidate").first.inner_text()
        shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path / "screenshots"))
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "report-llm.png"), full_page=True)

        # By topic: the closest trap is chosen and the next closest offered; one click switches.
        page.goto(live_server)
        page.fill("#topic", "KV cache memory for long context")
        page.click("#start")
        expect(page.locator("#alternatives")).to_contain_text("Chosen for your topic: ")
        other = page.locator("#alternatives button").first
        other_id = other.inner_text().split(" — ")[0]
        other.click()
        expect(page.locator("#alternatives")).to_have_text("")
        expect(page.locator(".turn.interviewer")).to_have_count(1)
        opening = " ".join(Runtime.build().catalog.get(other_id).card.question.split())
        expect(page.locator(".turn.interviewer").first).to_contain_text(opening[:60])
        browser.close()
    assert (shots / "report-llm.png").stat().st_size > 0
