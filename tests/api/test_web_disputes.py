"""Disputes in the web app (headless Debian Chromium, driven by Playwright): every decision of the report
has its number and a Dispute button; a dispute filed there shows both scores and is in the API, a refused
one says why and keeps what was typed, and a settled one shows the reviewer's word. axe-core checks the
report with the form open and with a dispute shown, where it is installed (test_web_app requires it)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.config import Settings
from tests.api.test_disputes import REVIEWER, TRAP_ANSWER
from tests.api.test_web_app import AXE, _audit

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


@pytest.fixture
def live(tmp_path: Path, settings: Settings, index, live_app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from service.api.app import create_app

    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    own = settings.model_copy(update={"data_dir": tmp_path, "mode": "semantic", "reviewer_token": "rev-secret"})
    with live_app(create_app(own)) as url:
        yield url


def test_a_decision_is_disputed_in_the_report(live: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(live)
        page.fill("#user", "eve")
        page.select_option("#trap", "mlsd-35")
        page.click("#start")
        expect(page.locator(".turn.interviewer").first).to_contain_text("fraud classifier")
        page.fill("#message", TRAP_ANSWER)
        page.click("#send")
        expect(page.locator(".turn.interviewer")).to_have_count(2)
        page.click("#finish")
        expect(page.locator("#report .verdict")).to_contain_text("Score")

        (sid,) = [s["id"] for s in page.request.get(f"{live}/users/eve/progress").json()["history"]]
        decisions = page.request.get(f"{live}/sessions/{sid}/decisions").json()
        expect(page.locator("#report .decision")).to_have_count(len(decisions))
        flag = next(d for d in decisions if d["kind"] == "flag" and d["decided"] == "raised")
        first = page.locator(f'#report .decision[data-key="{decisions[0]["key"]}"]')
        raised = page.locator(f'#report .decision[data-key="{flag["key"]}"]')
        expect(raised).to_contain_text(f"Decision {flag['number']}: counted as the trap")
        expect(raised.get_by_role("button")).to_have_accessible_name(
            re.compile(rf"^Dispute decision {flag['number']}: {re.escape(flag['statement'][:30])}")
        )

        # A sentence that is not in the answer: the API's reason shows by the form, and what was typed stays.
        first.get_by_role("button", name=re.compile("^Dispute")).click()
        expect(first.locator("textarea")).to_be_focused()
        first.locator("textarea").fill("I covered this.")
        first.locator("input").fill("I never wrote this sentence at all.")
        first.get_by_role("button", name="Submit dispute").click()
        expect(first.get_by_role("alert")).to_have_text("that sentence is not in your answer: copy it as you wrote it")
        expect(first.locator("textarea")).to_have_value("I covered this.")
        expect(first.locator("input")).to_have_value("I never wrote this sentence at all.")
        if AXE.exists():
            _audit(page, AXE, "report with a dispute form")
        first.get_by_role("button", name="Cancel").click()
        expect(first.locator("form")).to_have_count(0)
        expect(first.get_by_role("button", name=re.compile("^Dispute"))).to_be_focused()

        raised.get_by_role("button", name=re.compile("^Dispute")).click()
        raised.locator("textarea").fill("I meant it as the naive baseline, not my answer.")
        raised.get_by_role("button", name="Submit dispute").click()
        expect(raised.locator(".dispute-state")).to_be_focused()
        (dispute,) = page.request.get(f"{live}/sessions/{sid}/disputes").json()
        assert dispute["number"] == flag["number"] and dispute["status"] == "open"
        assert dispute["reason"] == "I meant it as the naive baseline, not my answer."
        shown = (
            f"Disputed “{dispute['reason']}”: score {dispute['score']}, or {dispute['score_if']} if this stands."
            " A reviewer will settle it."
        )
        expect(raised.locator(".dispute-state")).to_have_text(shown)
        expect(raised.get_by_role("button", name=re.compile("^Dispute"))).to_be_hidden()  # one open dispute at a time
        if AXE.exists():
            _audit(page, AXE, "report with a dispute")
        page.screenshot(path=str(tmp_path / "dispute.png"), full_page=True)

        def replayed():  # type: ignore[no-untyped-def]
            page.reload()
            page.fill("#user", "eve")
            page.click("#nav-history")
            page.click("#sessions button")
            expect(page.locator("#report .verdict")).to_contain_text("Score")
            return page.locator(f'#report .decision[data-key="{flag["key"]}"]')

        expect(replayed().locator(".dispute-state")).to_have_text(shown)  # read back from the API
        rejected = page.request.post(
            f"{live}/disputes/{dispute['id']}/reject",
            data={"reviewer": "ann", "note": "the answer gives it as the fix"},
            headers=REVIEWER,
        )
        assert rejected.status == 200, rejected.text()
        settled = replayed()
        expect(settled.locator(".dispute-state")).to_have_text(
            f"Your dispute “{dispute['reason']}” was rejected by ann: “the answer gives it as the fix”."
            " The decision stands."
        )
        expect(settled.get_by_role("button", name=re.compile("^Dispute"))).to_be_visible()
        browser.close()
