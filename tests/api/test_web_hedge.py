"""A hedge on the trap in the web app: the interviewer asks about it, the reply settles it, and the report
says so. A scripted reader reads the hedge as the trap claim in part (the shipped reader is retrained
often; the rule is what is pinned here)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.agent import flags
from service.catalog import Catalog
from service.config import Settings
from service.grading import checklist
from tests.grading.test_checklist import ScriptedReader

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
HEDGE = "It might be that weighting the fraud class by about 10,000 is right, but I'd have to think about it more."


@pytest.fixture
def live(tmp_path: Path, settings: Settings, catalog: Catalog, index, live_app, monkeypatch) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from service.api.app import create_app

    claim = flags.raising_claim(catalog.get("mlsd-35").rubric.red_flags[0])
    reader = ScriptedReader({(claim[:30], "might be"): ("entails", 0.6)})
    monkeypatch.setattr(checklist, "cross_encoder", lambda: reader)
    monkeypatch.setattr(flags, "cross_encoder", lambda: reader)
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    with live_app(create_app(settings.model_copy(update={"data_dir": tmp_path, "mode": "llm"}))) as url:
        yield url  # llm mode with no model configured: the embedded default, asking the cards' questions


def test_a_hedge_is_asked_about_and_settled_in_the_report(live: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(live)
        page.fill("#user", "lee")
        page.select_option("#trap", "mlsd-35")
        page.click("#start")
        expect(page.locator(".turn.interviewer").first).to_contain_text("fraud classifier")
        page.fill("#message", HEDGE)
        page.keyboard.press("Enter")
        expect(page.locator(".turn.interviewer")).to_have_count(2)
        expect(page.locator(".turn.interviewer").last).to_contain_text(
            "would you say that weighting the fraud class by about 10,000"
        )
        page.fill("#message", "Yes, I would keep it that way.")
        page.keyboard.press("Enter")
        expect(page.locator(".turn.interviewer")).to_have_count(3)
        page.click("#finish")
        expect(page.locator("#report .verdict")).to_contain_text("Score")
        expect(page.locator("#report .checked-flag")).to_contain_text("you kept it, so it counts as the trap")
        expect(page.locator("#report .flag").first).to_contain_text("Fell into the trap")
        page.screenshot(path=str(tmp_path / "hedge-report.png"), full_page=True)
        browser.close()
