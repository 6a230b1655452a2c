"""The web app's pages in headless Chromium (Debian's, driven by Playwright) against a live server in
semantic mode: home (catalog, search, surprise, weakest topic), an interview with the hint and finish
buttons, the report and its Markdown download, history with progress by topic and replay, and a
phone-width screen; the same interview by keyboard alone; and every page through axe-core's WCAG 2 A/AA
rules, colour contrast among them. Each page is saved as a screenshot, in $SCREENSHOT_DIR or the test's
temporary folder."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.config import Settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
AXE = Path(__file__).parents[2] / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Algorithm R in words no reader takes for the random-overwrite trap (an answer read as a trap claim in part
# is asked about first, which these tests are not about).
ALGORITHM_R = (
    "Reservoir sampling, Algorithm R: keep the first k events in the buffer and sample later ones so every "
    "event ends up equally likely."
)


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
        page.fill("#message", ALGORITHM_R)
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
        expect(page.locator("#score-chart .series")).to_have_count(1)  # one topic so far: ML system design
        expect(page.locator("#score-chart .point")).to_have_count(1)
        expect(page.locator("#progress .legend li")).to_have_text([re.compile(r"^ML system design: \d+ \(latest")])
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


def _shots(tmp_path: Path) -> Path:
    shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    return shots


# The focused element, and whether it shows a focus ring: :focus-visible and a solid outline of 2px or more.
FOCUSED = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  return {
    what: `${e.tagName.toLowerCase()}#${e.id} ${(e.textContent || "").trim().slice(0, 40)}`,
    ring: e.matches(":focus-visible") && s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2
      && s.outlineColor !== "rgba(0, 0, 0, 0)",
  };
}"""


def _tab_to(page, target, *, back: bool = False, limit: int = 80) -> None:  # type: ignore[no-untyped-def]
    """Press Tab (Shift+Tab with back) until target has focus; every control on the way shows a focus ring."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focused = page.evaluate(FOCUSED)
        assert focused["ring"], f"no visible focus on {focused['what']}"
        if target.evaluate("e => e === document.activeElement"):
            return
    raise AssertionError(f"{limit} presses of Tab never reached {target}")


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: str, b: str = "#ffffff") -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_keyboard_only_interview_and_progress_by_topic(live: str, tmp_path: Path) -> None:
    """Start from the catalog, answer (Shift+Enter for a new line, Enter to send), ask a hint and finish,
    open the history and replay: Tab and Enter only, never a click. Then the chart of progress by topic."""
    from playwright.sync_api import expect, sync_playwright

    shots = _shots(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(live)
        expect(page.locator("#catalog .cards li")).to_have_count(49)
        _tab_to(page, page.locator("#user"))
        page.keyboard.press("Control+A")
        page.keyboard.type("kim")
        _tab_to(page, page.locator("#catalog button", has_text="adl-12"))
        page.keyboard.press("Enter")
        expect(page.locator(".turn.interviewer").first).to_contain_text("custom backward pass")
        expect(page.locator("#message")).to_be_focused()  # the catalog is gone; typing goes straight in
        assert page.evaluate(FOCUSED)["ring"]

        page.keyboard.type("Tensor cores sit idle when the matmul shapes are not multiples of 8.")
        page.keyboard.press("Shift+Enter")
        page.keyboard.type("Profile first: the roofline says whether it is memory-bound.")
        expect(page.locator("#message")).to_have_value(re.compile(r"multiples of 8\.\nProfile first"))
        expect(page.locator(".turn.candidate")).to_have_count(0)  # Shift+Enter did not send
        page.keyboard.press("Enter")
        expect(page.locator(".turn.candidate")).to_have_count(1)
        expect(page.locator(".turn.candidate")).to_contain_text("multiples of 8.\nProfile first")
        expect(page.locator("#message")).to_have_value("")
        expect(page.locator(".turn.interviewer")).to_have_count(2)

        _tab_to(page, page.locator("#hint"))
        page.keyboard.press("Enter")
        expect(page.locator(".turn.interviewer").last).to_contain_text("A hint")
        _tab_to(page, page.locator("#finish"))
        page.keyboard.press("Enter")
        expect(page.locator("#report .verdict")).to_contain_text("Score")
        expect(page.locator("#report-title")).to_be_focused()  # not lost with the hidden finish button
        _tab_to(page, page.locator("#report summary").first)
        page.keyboard.press("Enter")
        expect(page.locator("#report details").first).to_have_attribute("open", "")
        _tab_to(page, page.locator("#download"))
        page.screenshot(path=str(shots / "keyboard-report.png"), full_page=True)

        _tab_to(page, page.locator("#nav-history"), back=True)
        page.keyboard.press("Enter")
        expect(page.locator("#sessions tbody tr")).to_have_count(1)
        _tab_to(page, page.locator("#sessions button"))
        page.keyboard.press("Enter")
        expect(page.locator(".turn.candidate").first).to_contain_text("multiples of 8")
        expect(page.locator("#report-title")).to_be_focused()

        # Two more sessions, both ML system design, through the API: the chart has a line per topic.
        for trap_id, answer in (
            ("mlsd-33", "Reservoir sampling: replace a random slot with probability k/i."),
            ("mlsd-35", "Weighted cross-entropy, then recalibrate the threshold."),
        ):
            started = page.request.post(f"{live}/sessions", data={"user": "kim", "trap_id": trap_id})
            assert started.status == 201, started.text()
            sid = started.json()["session_id"]
            for message in (answer, "finish"):
                replied = page.request.post(f"{live}/sessions/{sid}/messages", data={"message": message})
                assert replied.status == 200, replied.text()
            assert replied.json()["status"] == "finished"
        scores = {s["trap_id"]: s["score"] for s in page.request.get(f"{live}/users/kim/progress").json()["history"]}

        _tab_to(page, page.locator("#nav-history"), back=True)
        page.keyboard.press("Enter")
        expect(page.locator("#sessions tbody tr")).to_have_count(3)
        chart = page.locator("#score-chart")
        expect(chart.locator(".series")).to_have_count(2)
        expect(chart.locator(".point")).to_have_count(3)
        expect(chart.locator(".series[data-series=mlsd] polyline")).to_have_count(1)  # two points make a line
        expect(chart.locator(".series[data-series=adl] polyline")).to_have_count(0)  # one point is a marker
        mlsd, adl = f"{scores['mlsd-33']}, {scores['mlsd-35']}", f"{scores['adl-12']}"
        expect(page.locator("#progress .legend li")).to_have_text(
            [
                f"ML system design: {mlsd} (latest {scores['mlsd-35']}/100)",
                f"Advanced deep learning: {adl} (latest {adl}/100)",
            ]
        )
        # The text alternative: the chart's accessible name is its <title> and <desc>, topics and scores in words.
        assert chart.get_attribute("aria-labelledby") == "chart-title chart-desc"
        desc = chart.locator("desc").text_content() or ""
        assert f"ML system design: {mlsd}." in desc and f"Advanced deep learning: {adl}." in desc
        # Each topic's colour is distinct and at least 3:1 against the page (WCAG 1.4.11), and so is its marker.
        styles = chart.locator(".series").evaluate_all(
            "gs => gs.map((g) => [g.querySelector('.point').getAttribute('fill'), g.querySelector('.point').tagName])"
        )
        colours, shapes = zip(*styles, strict=True)
        assert len(set(colours)) == len(set(shapes)) == 2
        assert all(_contrast(c) >= 3 for c in colours), colours
        page.screenshot(path=str(shots / "history-by-topic.png"), full_page=True)
        browser.close()


def _axe() -> Path:
    """axe-core's script, which .ci/run installs from npm under .ci/node; missing, the test skips, or fails under CI."""
    if AXE.exists():
        return AXE
    why = f"axe-core is not installed at {AXE} (.ci/run installs it: npm install --prefix .ci/node axe-core)"
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(why)
    pytest.skip(why)


def _audit(page, axe: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    """axe-core's WCAG 2.0/2.1 A and AA rules on the page as it stands: no violations, and contrast was checked."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(axe))
    result = page.evaluate(
        "tags => axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })", WCAG_AA
    )
    found = [
        f"{v['id']} on {[n['target'] for n in v['nodes'][:5]]}: {v['nodes'][0]['failureSummary']}"
        for v in result["violations"]
    ]
    assert not found, f"{name}: " + "\n".join(found)
    assert "color-contrast" in {r["id"] for r in result["passes"]}, f"{name}: no text was checked for contrast"


def test_every_page_meets_wcag_aa(live: str, tmp_path: Path) -> None:
    """Home (with an error showing), an interview chosen by topic, the report with its folds open, history
    with its chart and a phone-width report: axe-core finds no WCAG 2 A/AA violation, contrast among them."""
    from playwright.sync_api import expect, sync_playwright

    axe = _axe()
    shots = _shots(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(live)
        page.fill("#user", "lee")
        expect(page.locator("#catalog .cards li")).to_have_count(49)
        page.click("#weakest")  # nothing finished yet: the error line shows
        expect(page.locator("#setup-error")).to_contain_text("Finish an interview first")
        _audit(page, axe, "home")

        page.fill("#topic", "class imbalance in a fraud classifier")
        page.click("#start")
        expect(page.locator("#alternatives")).to_contain_text("Chosen for your topic: ", timeout=30_000)
        page.fill("#message", "I'd use weighted cross-entropy with weight 10,000 on the fraud class.")
        page.click("#send")
        expect(page.locator(".turn.interviewer")).to_have_count(2)
        page.click("#hint")
        expect(page.locator(".turn.interviewer").last).to_contain_text("A hint")
        _audit(page, axe, "interview")
        page.screenshot(path=str(shots / "wcag-interview.png"), full_page=True)

        page.click("#finish")
        expect(page.locator("#report .verdict")).to_contain_text("Score")
        for summary in page.locator("#report summary").all():
            summary.click()
        expect(page.locator("#report details[open]")).to_have_count(2)
        _audit(page, axe, "report")

        page.click("#nav-history")
        expect(page.locator("#score-chart .point")).to_have_count(1)
        _audit(page, axe, "history")

        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(live)
        phone.fill("#user", "lee")
        phone.click("#nav-history")
        phone.click("#sessions button")
        expect(phone.locator("#report .verdict")).to_contain_text("Score")
        _audit(phone, axe, "report on a phone")
        browser.close()


def test_a_turn_the_database_could_not_save_puts_the_message_back(live: str, tmp_path: Path) -> None:
    """SQLite held locked while the answer is sent: the page says the message was not saved, takes the
    turn out of the transcript and puts the words back in the box; sent again, it is saved once."""
    from playwright.sync_api import expect, sync_playwright

    from tests.conftest import DatabaseFault

    answer = ALGORITHM_R
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(live)
        page.locator("#catalog button", has_text="mlsd-33").click()
        expect(page.locator(".turn.interviewer").first).to_contain_text("Kafka")
        page.fill("#message", answer)
        with DatabaseFault("sqlite locked", tmp_path).on():
            page.click("#send")
            expect(page.locator("#chat-error")).to_contain_text("not saved", timeout=20_000)
        expect(page.locator("#chat-error")).to_contain_text("interview database is unavailable")
        expect(page.locator("#message")).to_have_value(answer)
        expect(page.locator(".turn.candidate")).to_have_count(0)
        page.click("#send")
        expect(page.locator(".turn.interviewer")).to_have_count(2)
        page.reload()  # what the server kept: the answer once, and the follow-up
        page.locator("#nav-history").click()
        page.locator("#sessions button").first.click()
        expect(page.locator(".turn.candidate")).to_have_count(1)
        expect(page.locator(".turn.candidate")).to_have_text(answer)
        browser.close()
