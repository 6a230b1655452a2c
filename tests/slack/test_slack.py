"""Slack end to end: requests signed in the test, replies caught by a stand-in Slack Web API on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.config import Settings
from service.llm.stub import StubConfig, StubServer

SECRET = "test-signing-secret"


class _SlackAPI(BaseHTTPRequestHandler):
    posts: list[dict[str, Any]] = []
    fail_next = 0  # answer this many requests with a 503 first

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        if _SlackAPI.fail_next:
            _SlackAPI.fail_next -= 1
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        _SlackAPI.posts.append({"method": self.path.rsplit("/", 1)[-1], **body})
        data = json.dumps(
            {"ok": True, "channel": body.get("channel"), "ts": f"{1700000000 + len(_SlackAPI.posts)}.0001"}
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data.encode())


@pytest.fixture
def slack_api() -> Iterator[str]:
    _SlackAPI.posts = []
    _SlackAPI.fail_next = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlackAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/"
    server.shutdown()


def _client(tmp_path: Path, settings: Settings, slack_api: str, **update: Any) -> TestClient:
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    own = settings.model_copy(
        update={
            "data_dir": tmp_path,
            "slack_signing_secret": SECRET,
            "slack_bot_token": "xoxb-test",
            "slack_api_url": slack_api,
            **update,
        }
    )
    return TestClient(create_app(own))


def _signed(body: str, *, age: int = 0, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(time.time()) - age)
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


def _event(client: TestClient, event_id: str, event: dict[str, Any], retry: int | None = None) -> Any:
    body = json.dumps({"type": "event_callback", "event_id": event_id, "event": event})
    headers = {**_signed(body), "Content-Type": "application/json"}
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
    return client.post("/slack/events", content=body, headers=headers)


def _command(client: TestClient, text: str, headers: dict[str, str] | None = None) -> Any:
    body = urlencode({"command": "/interview", "text": text, "channel_id": "C1", "user_id": "U1"})
    signed = headers or _signed(body)
    return client.post(
        "/slack/commands", content=body, headers={**signed, "Content-Type": "application/x-www-form-urlencoded"}
    )


def test_whole_interview_in_a_thread(tmp_path: Path, settings: Settings, index, slack_api: str) -> None:  # type: ignore[no-untyped-def]
    with _client(tmp_path, settings, slack_api) as client:
        help_ = _command(client, "help")
        assert help_.status_code == 200 and "/interview llm-46" in help_.json()["text"]
        assert _command(client, "mlsd-33").status_code == 200
        opening = _SlackAPI.posts[-1]
        assert opening["channel"] == "C1" and "mlsd-33" in opening["text"] and "thread_ts" not in opening
        thread = "1700000001.0001"
        answer = {
            "type": "message",
            "channel": "C1",
            "user": "U1",
            "thread_ts": thread,
            "text": "Reservoir sampling: keep k and replace a random slot with probability k/n.",
        }
        assert _event(client, "Ev1", answer).status_code == 200
        assert _SlackAPI.posts[-1]["thread_ts"] == thread and len(_SlackAPI.posts) == 2
        _event(client, "Ev1", answer, retry=1)  # Slack's retry of the same delivery
        assert len(_SlackAPI.posts) == 2  # no second reply
        _event(client, "Ev2", {"type": "message", "channel": "C1", "thread_ts": thread, "bot_id": "B1", "text": "ours"})
        assert len(_SlackAPI.posts) == 2  # the bot ignores its own messages
        _event(client, "Ev3", {**answer, "text": "finish"})
        final = _SlackAPI.posts[-1]
        assert final["thread_ts"] == thread and final["blocks"][0]["type"] == "header"
        assert final["blocks"][0]["text"]["text"].startswith("mlsd-33: ")
        assert "Also close" not in opening["text"]  # chosen by id
        _command(client, "KV cache memory for long context")
        first, second, _ = index.search("KV cache memory for long context", k=3)
        assert f"Interview {first.trap_id}" in _SlackAPI.posts[-1]["text"]
        assert f"Also close to your topic: `{second.trap_id}` {second.title}" in _SlackAPI.posts[-1]["text"]


def test_url_verification_and_forged_stale_requests(tmp_path: Path, settings: Settings, index, slack_api: str) -> None:  # type: ignore[no-untyped-def]
    with _client(tmp_path, settings, slack_api) as client:
        body = json.dumps({"type": "url_verification", "challenge": "abc"})
        ok = client.post("/slack/events", content=body, headers=_signed(body))
        assert ok.json() == {"challenge": "abc"}
        assert client.post("/slack/events", content=body).status_code == 401  # unsigned
        assert client.post("/slack/events", content=body, headers=_signed(body, secret="wrong")).status_code == 401
        stale = client.post("/slack/events", content=body, headers=_signed(body, age=600))
        assert stale.status_code == 401 and stale.json()["detail"] == "invalid or stale Slack signature"
        replayed = _signed(body)
        tampered = body.replace("abc", "xyz")
        assert client.post("/slack/events", content=tampered, headers=replayed).status_code == 401
        assert _SlackAPI.posts == []  # nothing was posted for any of them


def test_a_signed_event_that_is_not_json_is_a_clear_422(
    tmp_path: Path, settings: Settings, index, slack_api: str
) -> None:  # type: ignore[no-untyped-def]
    with _client(tmp_path, settings, slack_api) as client:
        for body in ("not json", "[1, 2]", "\u0000\u00ff"):
            reply = client.post(
                "/slack/events", content=body, headers={**_signed(body), "Content-Type": "application/json"}
            )
            assert reply.status_code == 422 and reply.json()["detail"] == "a Slack event must be a JSON object"
        odd = _event(client, "Ev1", "a string, not an event")  # type: ignore[arg-type]
        assert odd.status_code == 200 and _SlackAPI.posts == []


def test_an_answer_the_database_refused_is_taken_on_slacks_retry(  # type: ignore[no-untyped-def]
    tmp_path: Path, settings: Settings, index, slack_api: str, database_fault
) -> None:
    """A 503 is Slack's cue to deliver the event again: the answer, refused while the database was
    locked or gone, is answered when the retry comes; nothing was posted for the refused delivery."""
    extra = {k: v for k, v in database_fault.update.items() if k != "data_dir"}
    with _client(tmp_path, settings, slack_api, **extra) as client:
        _command(client, "mlsd-33")
        thread = "1700000001.0001"  # the opening post's ts, as the stand-in numbers them
        answer = {"type": "message", "channel": "C1", "user": "U1", "thread_ts": thread, "text": "Reservoir sampling."}
        event_id = f"Ev-{time.time_ns()}"  # unique: the Postgres database outlives test runs
        with database_fault.on():
            refused = _event(client, event_id, answer)
        assert refused.status_code == 503 and "database is unavailable" in refused.json()["detail"]
        assert len(_SlackAPI.posts) == 1
        assert _event(client, event_id, answer, retry=1).status_code == 200
        assert len(_SlackAPI.posts) == 2 and _SlackAPI.posts[-1]["thread_ts"] == thread
        assert "unavailable" not in _SlackAPI.posts[-1]["text"] and _SlackAPI.posts[-1]["text"].strip().endswith("?")


def test_model_failure_is_said_in_the_thread(tmp_path: Path, settings: Settings, index, slack_api: str) -> None:  # type: ignore[no-untyped-def]
    with (
        StubServer(StubConfig(error_rate=1.0)) as stub,
        _client(
            tmp_path,
            settings,
            slack_api,
            mode="llm",
            model="openai/stub",
            api_base=stub.api_base,
            api_key="sk",
            json_mode="schema_object",
            retries=0,
            grader="semantic",
        ) as client,
    ):
        _command(client, "llm-46")
        _event(
            client,
            "Ev9",
            {
                "type": "message",
                "channel": "C1",
                "user": "U1",
                "thread_ts": "1700000001.0001",
                # An answer that says nothing of the traps: one read as perhaps meaning a trap is asked
                # about from the card, with no model call to fail.
                "text": "I'd look at the step-time breakdown before changing anything.",
            },
        )
    reply = _SlackAPI.posts[-1]
    assert reply["thread_ts"] == "1700000001.0001"
    assert "_Note: The interviewer model could not be reached" in reply["text"]


def test_replayed_command_starts_nothing(tmp_path: Path, settings: Settings, index, slack_api: str) -> None:  # type: ignore[no-untyped-def]
    with _client(tmp_path, settings, slack_api) as client:
        body = urlencode({"command": "/interview", "text": "mlsd-33", "channel_id": "C1", "user_id": "U1"})
        headers = _signed(body)
        assert _command(client, "mlsd-33", headers).json()["text"].startswith("Starting")
        assert len(_SlackAPI.posts) == 1
        replay = _command(client, "mlsd-33", headers)  # the same signed request again, inside the window
        assert replay.status_code == 200 and replay.json()["text"] == "This command was already received."
        assert len(_SlackAPI.posts) == 1  # no second interview
        assert _command(client, "llm-46").json()["text"].startswith("Starting")  # a new command still works


def test_a_failed_post_is_retried(tmp_path: Path, settings: Settings, index, slack_api: str) -> None:  # type: ignore[no-untyped-def]
    with _client(tmp_path, settings, slack_api) as client:
        _SlackAPI.fail_next = 2  # Slack's API has a bad moment as the scenario is posted
        assert _command(client, "mlsd-33").status_code == 200
        assert _SlackAPI.fail_next == 0 and len(_SlackAPI.posts) == 1 and "mlsd-33" in _SlackAPI.posts[0]["text"]


def test_a_post_that_still_fails_is_recorded_and_shown_in_readyz(
    tmp_path: Path, settings: Settings, index, slack_api: str
) -> None:  # type: ignore[no-untyped-def]
    with _client(tmp_path, settings, slack_api) as client:
        assert client.get("/readyz").json()["slack_failed_posts"] == 0
        _SlackAPI.fail_next = 10  # more than the three retries
        assert _command(client, "mlsd-33").status_code == 200
        ready = client.get("/readyz").json()
        assert ready["slack_failed_posts"] == 1 and "chat.postMessage" in ready["slack_last_failure"]
    _SlackAPI.fail_next = 0


def test_report_quotes_the_trap_and_the_words_that_fell_into_it_inertly(
    tmp_path: Path, settings: Settings, index, slack_api: str
) -> None:  # type: ignore[no-untyped-def]
    with _client(tmp_path, settings, slack_api) as client:
        _command(client, "mlsd-33")
        thread = "1700000001.0001"
        answer = (
            "Since we don't know how many events there will be, I'd keep each event with a fixed probability, "
            "say 1%, with a random-number check as it arrives <!channel>. That gives every event exactly the same "
            "chance of being selected, so it's uniform by construction."
        )
        for event_id, text in (("Ev1", answer), ("Ev2", "Yes, that is what I would do."), ("Ev3", "finish")):
            if event_id == "Ev2" and "Before we go on" not in _SlackAPI.posts[-1]["text"]:
                continue  # read as the trap outright: nothing to settle (read in part, it is asked about)
            _event(
                client, event_id, {"type": "message", "channel": "C1", "user": "U1", "thread_ts": thread, "text": text}
            )
        final = _SlackAPI.posts[-1]
        flags = [b["text"]["text"] for b in final["blocks"] if "Fell into the trap" in b["text"].get("text", "")]
        assert flags, "keeping each event with a fixed probability is mlsd-33's trap"
        assert "Keep each event with a fixed probability" in flags[0]  # the flag's statement, not its id
        assert "You said: _“Since we don't know" in flags[0] and "as it arrives &lt;!channel&gt;." in flags[0]
        assert all("<!channel>" not in json.dumps(post) for post in _SlackAPI.posts)  # nobody is pinged
        scores = final["blocks"][1]["text"]["text"]  # each criterion in its own words, not its id
        for c in index.catalog.get("mlsd-33").rubric.criteria:
            assert f"*{c.id}*" not in scores and " ".join(c.description.split()[:4]) in scores


def test_a_dispute_in_a_finished_thread(tmp_path: Path, settings: Settings, index, slack_api: str) -> None:  # type: ignore[no-untyped-def]
    """`dispute N <reason>` in a finished interview's thread files the dispute and says both scores; a bad
    number, a forged request and a plain message each get their own answer, and none files anything."""
    from tests.api.test_disputes import TRAP_ANSWER

    with _client(tmp_path, settings, slack_api) as client:
        _command(client, "mlsd-35")
        thread = "1700000001.0001"

        def say(event_id: str, text: str) -> str:
            msg = {"type": "message", "channel": "C1", "user": "U1", "thread_ts": thread, "text": text}
            assert _event(client, event_id, msg).status_code == 200
            assert _SlackAPI.posts[-1]["thread_ts"] == thread
            return str(_SlackAPI.posts[-1]["text"])

        say("Ev1", TRAP_ANSWER)
        say("Ev2", "finish")
        (sid,) = [s["id"] for s in client.get("/users/U1/progress").json()["history"]]
        decisions = client.get(f"/sessions/{sid}/decisions").json()
        listed = _SlackAPI.posts[-1]["blocks"][-1]["text"]["text"]  # the report's decisions, numbered
        assert listed.startswith("*To dispute a decision*, reply `dispute N <reason>` in this thread")
        assert listed.count("\n`") == len(decisions) and f"\n`{len(decisions)}` " in listed
        flag = next(d for d in decisions if d["kind"] == "flag" and d["decided"] == "raised")
        assert f"\n`{flag['number']}` {flag['statement'][:40]}" in listed

        other = {"type": "message", "channel": "C1", "user": "U2", "thread_ts": thread, "text": "dispute 1 mine too"}
        assert _event(client, "Ev2b", other).status_code == 200
        assert _SlackAPI.posts[-1]["text"] == "Only <@U1>, who took this interview, can dispute it."
        said = say("Ev3", f"Dispute {flag['number']} I meant it as the naive baseline, not my answer.")
        (dispute,) = client.get(f"/sessions/{sid}/disputes").json()
        assert said == (
            f"Decision {flag['number']} disputed: score {dispute['score']}, or {dispute['score_if']} if it stands."
            " A reviewer will settle it."
        )
        assert (
            dispute["number"] == flag["number"]
            and dispute["reason"] == "I meant it as the naive baseline, not my answer."
        )
        assert dispute["status"] == "open" and dispute["score_if"] >= dispute["score"]

        missing = next(d for d in decisions if d["decided"] in ("missing", "0/2"))
        sentence = "That balances the two classes' total contribution to the loss"
        said = say("Ev4", f'dispute {missing["number"]}: I said it "{sentence}"')
        assert said.startswith(f"Decision {missing['number']} disputed: ")
        quoted = client.get(f"/sessions/{sid}/disputes").json()[-1]
        assert quoted["passage"] == sentence and quoted["reason"] == "I said it" and quoted["reading"] == "entails"

        n = len(decisions)
        wrong = say("Ev5", f"dispute {n + 1} the last one")
        assert wrong == f"Not disputed: no decision {n + 1}: this grade has {n} (numbered 1-{n})."
        again = say("Ev6", f"dispute {flag['number']}")
        assert again.startswith(f"Not disputed: decision {flag['number']} already has an open dispute")
        assert say("Ev7", "Thanks, that was useful.").startswith("This interview is finished. To dispute a decision")

        posts = len(_SlackAPI.posts)
        body = json.dumps(
            {
                "type": "event_callback",
                "event_id": "Ev8",
                "event": {"type": "message", "channel": "C1", "thread_ts": thread, "text": f"dispute {n} forged"},
            }
        )
        forged = client.post("/slack/events", content=body, headers=_signed(body, secret="wrong"))
        assert forged.status_code == 401 and forged.json()["detail"] == "invalid or stale Slack signature"
        assert len(_SlackAPI.posts) == posts and len(client.get(f"/sessions/{sid}/disputes").json()) == 2


def test_a_regraded_report_says_what_a_dispute_changed() -> None:
    from service.agent.report import Report
    from service.grading.models import Grade, GraderInfo
    from service.slack import report_blocks

    grade = Grade(
        trap_id="mlsd-33",
        score=40,
        verdict="fail",
        fell_into_trap=False,
        criteria=[],
        red_flags=[],
        feedback="",
        grader=GraderInfo(mode="semantic", model="m", prompt_hash="-", version="v"),
        amendments=["“Reservoir sampling keeps k items”: missing, now stated (dispute d1, accepted by <!channel>)"],
    )
    rep = Report(
        trap_id="mlsd-33", title="t", grade=grade, hints=[], hint_penalty=0, score=40, verdict="fail",
        strong=[], missing=[], red_flags=[], model_answer="m", trap_explained="t", notices=[],
    )  # fmt: skip
    (said,) = [b["text"]["text"] for b in report_blocks(rep) if "Changed after a dispute" in b["text"]["text"]]
    assert "now stated (dispute d1" in said and "<!channel>" not in said  # shown inertly, like every quote
