"""The fault matrix. Model faults (5xx, 429, a cut reply, a timeout) on each interface that talks to
the model in a turn: REST and the WebSocket here, Slack in tests/slack, batch in tests/batch. Each
time the candidate gets a clear message and a question, their message is kept, and the session goes
on from the last good checkpoint. Database faults (SQLite locked, Postgres gone; conftest's
DatabaseFault) on REST, the WebSocket, chat and batch here, Slack in tests/slack: the turn fails with
a StorageError that says so, the session stays at its last good turn, and sending the message again
once the database is back saves it. And a full disk under `interviewer grade`: no torn line."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from service.api.app import create_app
from service.config import Settings
from service.llm.stub import StubConfig, StubServer
from tests.conftest import DatabaseFault

# Not a trap claim: an answer read as one in part is asked about, from the rubric, with no model.
ANSWER = "I would train with plain log-loss on downsampled negatives and set the threshold from the review budget."
CUT = "Good, that is a start. Events should be sampled in proportion to their revenue. How would you check it?"
# A malformed reply is still words, which the turn checks reject: the card's question stands, with no
# notice. A reply cut mid-body is cut before its question: nothing of it is shown (an opening sentence
# waits for its question), and like the others the notice says the model could not be reached.
FAULTS = {
    "5xx": (StubConfig(error_rate=1.0), "could not be reached"),
    "429": (StubConfig(rate_limit_rate=1.0), "could not be reached"),
    "a malformed reply": (StubConfig(malformed_rate=1.0), None),
    "a reply cut mid-body": (StubConfig(cut_rate=1.0, responder=lambda _: CUT), "could not be reached"),
    "timeout": (StubConfig(hang_rate=1.0, hang_seconds=5), "could not be reached"),
}


def _client(tmp_path: Path, settings: Settings, stub: StubServer) -> TestClient:
    """The app on a model that fails every call; one try, and a timeout of 1 s."""
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    model = stub.settings(tmp_path, mode="llm", retries=0, timeout=1.0)
    own = settings.model_copy(update={**model.model_dump(include=_MODEL), "data_dir": tmp_path})
    return TestClient(create_app(own))


_MODEL = {"model", "api_base", "api_key", "json_mode", "retries", "timeout", "mode", "grader"}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_rest_turns_survive_each_model_fault(fault: str, tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    config, notice = FAULTS[fault]
    with StubServer(config) as stub, _client(tmp_path, settings, stub) as client:
        sid = client.post("/sessions", json={"trap_id": "mlsd-35"}).json()["session_id"]
        reply = client.post(f"/sessions/{sid}/messages", json={"message": ANSWER})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["status"] == "active" and body["message"].strip().endswith("?")  # the card's question
        assert notice is None or any(notice in n for n in body["notices"]), body["notices"]
        turns = client.get(f"/sessions/{sid}").json()["transcript"]
        assert [t["content"] for t in turns if t["role"] == "candidate"] == [ANSWER]  # the message was kept
        report = client.post(f"/sessions/{sid}/messages", json={"message": "finish"}).json()
        assert report["status"] == "finished" and report["report"]["grade"]["criteria"]


@pytest.mark.parametrize("fault", list(FAULTS))
def test_websocket_turns_survive_each_model_fault(fault: str, tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    config, notice = FAULTS[fault]
    with StubServer(config) as stub, _client(tmp_path, settings, stub) as client:
        sid = client.post("/sessions", json={"trap_id": "mlsd-35"}).json()["session_id"]
        with client.websocket_connect(f"/ws/sessions/{sid}") as ws:
            assert ws.receive_json()["type"] == "state"
            ws.send_json({"message": ANSWER})
            events = [ws.receive_json()]
            while events[-1]["type"] not in ("final", "error"):
                events.append(ws.receive_json())
        final = events[-1]
        notices = final["reply"]["notices"]
        assert final["type"] == "final" and (notice is None or any(notice in n for n in notices))
        assert not final["reply"]["message"].startswith("Good, that is a start.")  # nothing of a cut reply
        assert final["reply"]["message"].strip().endswith("?")
        assert any(e["type"] == "interviewer" and e["text"].strip() for e in events)
        with client.websocket_connect(f"/ws/sessions/{sid}") as ws:  # a reconnect finds the turn saved
            state = ws.receive_json()
            assert [t["role"] for t in state["transcript"]] == ["interviewer", "candidate", "interviewer"]


def _on_database(settings: Settings, fault: DatabaseFault, **update: Any) -> Settings:
    (fault.update["data_dir"] / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    return settings.model_copy(update={**fault.update, "mode": "semantic", **update})


def _cli_env(monkeypatch: pytest.MonkeyPatch, **values: object) -> None:
    """The settings the `interviewer` command reads from its environment, read afresh."""
    from service.config import get_settings

    for key, value in values.items():
        monkeypatch.setenv(f"INTERVIEWER_{key.upper()}", str(value))
    get_settings.cache_clear()


def _roles_and_answers(client: TestClient, sid: str) -> tuple[list[str], list[str]]:
    """The saved transcript once the database answers again. After an outage the connection pool
    reconnects with growing back-off (1, 2, 4… s), so a read in the first seconds may still get its
    503 "try again" (seen once in CI under load); what is pinned is that nothing was lost."""
    deadline = time.monotonic() + 60
    while (reply := client.get(f"/sessions/{sid}")).status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert reply.status_code == 200, reply.text
    turns = reply.json()["transcript"]
    return [t["role"] for t in turns], [t["content"] for t in turns if t["role"] == "candidate"]


def _until_end(ws: Any) -> list[dict[str, Any]]:
    events = [ws.receive_json()]
    while events[-1]["type"] not in ("final", "error"):
        events.append(ws.receive_json())
    return events


def test_rest_turn_on_a_database_fault(settings: Settings, index, database_fault: DatabaseFault) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(_on_database(settings, database_fault))) as client:
        sid = client.post("/sessions", json={"trap_id": "mlsd-35"}).json()["session_id"]
        with database_fault.on():
            failed = client.post(f"/sessions/{sid}/messages", json={"message": ANSWER, "message_id": "m1"})
        assert failed.status_code == 503, failed.text
        assert "interview database is unavailable" in failed.json()["detail"]
        assert "try again" in failed.json()["detail"]
        assert _roles_and_answers(client, sid) == (["interviewer"], [])  # the last good checkpoint
        again = client.post(f"/sessions/{sid}/messages", json={"message": ANSWER, "message_id": "m1"})
        assert again.status_code == 200, again.text
        assert _roles_and_answers(client, sid) == (["interviewer", "candidate", "interviewer"], [ANSWER])


def test_websocket_turn_on_a_database_fault(settings: Settings, index, database_fault: DatabaseFault) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(_on_database(settings, database_fault))) as client:
        sid = client.post("/sessions", json={"trap_id": "mlsd-35"}).json()["session_id"]
        with client.websocket_connect(f"/ws/sessions/{sid}") as ws:
            assert ws.receive_json()["type"] == "state"
            with database_fault.on():
                ws.send_json({"message": ANSWER, "message_id": "m1"})
                failed = _until_end(ws)[-1]
            assert failed["type"] == "error" and failed["status"] == 503
            assert "unavailable" in failed["detail"]
            ws.send_json({"message": ANSWER, "message_id": "m1"})  # the page sends it again: the same socket works
            assert _until_end(ws)[-1]["type"] == "final"
        if database_fault.kind == "postgres gone":  # no state to show: the socket says so and closes
            with (
                database_fault.on(),
                pytest.raises(WebSocketDisconnect) as closed,
                client.websocket_connect(f"/ws/sessions/{sid}") as ws,
            ):
                ws.receive_json()
            assert closed.value.code == 1013 and "unavailable" in closed.value.reason
        assert _roles_and_answers(client, sid) == (["interviewer", "candidate", "interviewer"], [ANSWER])


def test_chat_keeps_the_message_a_database_fault_failed(  # type: ignore[no-untyped-def]
    settings: Settings, index, database_fault: DatabaseFault, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from service.cli import chat
    from service.cli.main import app
    from service.config import get_settings

    own = _on_database(settings, database_fault)
    _cli_env(monkeypatch, **{"data_dir": own.data_dir, "mode": "semantic", **database_fault.update})
    fault = database_fault.on()
    # The last empty line ends the report's dispute prompt.
    typed = iter(
        [(ANSWER, fault.__enter__), ("", lambda: fault.__exit__(None, None, None)), ("finish", None), ("", None)]
    )

    def candidate(prompt: str) -> str:
        text, then = next(typed)
        if then is not None:
            then()
        return text

    monkeypatch.setattr(chat.console, "input", candidate)
    user = f"chat-fault-{database_fault.kind.split()[0]}-{time.time_ns()}"  # the Postgres database outlives runs
    result = CliRunner().invoke(app, ["chat", "--trap", "mlsd-35", "--user", user])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "interview database is unavailable" in out and "Your message is kept: press Enter" in out
    assert out.index("Your message is kept") < out.index("Score ")  # sent again, answered, then the report
    with TestClient(create_app(own)) as client:
        (session,) = client.get(f"/users/{user}/progress").json()["history"]
        roles, answers = _roles_and_answers(client, session["id"])
    assert answers == [ANSWER, "finish"] and roles == ["interviewer", "candidate"] * 2 + ["interviewer"]


def test_a_batch_job_the_database_stopped_goes_on_when_it_is_back(  # type: ignore[no-untyped-def]
    settings: Settings, index, database_fault: DatabaseFault, caplog: pytest.LogCaptureFixture
) -> None:
    from evals.grading import DEFAULT_GOLD

    gold = [json.loads(line) for line in DEFAULT_GOLD.read_text().splitlines()][:60]
    body = "\n".join(
        json.dumps({"id": f"a{i}", "trap_id": g["trap_id"], "answer": g["answer"]}) for i, g in enumerate(gold)
    )
    caplog.set_level(logging.INFO, logger="service.api.routes_batch")
    with TestClient(create_app(_on_database(settings, database_fault, batch_lease_seconds=1.5))) as client:
        job = client.post("/batch?concurrency=2", content=body).json()["id"]
        with database_fault.on():
            time.sleep(7)  # past SQLite's 5 s busy timeout, so the job's next write fails
            if database_fault.kind == "postgres gone":
                refused = client.post("/batch", content=body)
                assert refused.status_code == 503 and "unavailable" in refused.json()["detail"]
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:  # a pool back from the dead may still answer 503 for a few seconds
            reply = client.get(f"/batch/{job}")
            assert reply.status_code in (200, 503), reply.text
            if reply.status_code == 200 and (status := reply.json())["state"] != "running":
                break
            time.sleep(0.5)
        assert status["state"] == "done", status
        records = client.get(f"/batch/{job}", params={"results": True}).json()["results"]
    assert sorted(r["id"] for r in records) == sorted(f"a{i}" for i in range(len(gold)))  # one record each
    assert not [r for r in records if "error" in r]
    said = [r.getMessage() for r in caplog.records]
    assert any("unavailable" in m for m in said), said  # the fault hit the running job
    if database_fault.kind == "postgres gone":  # every write fails at once: the job stopped, and ran again
        assert any("stopped: " in m for m in said) and any("running again where it stopped" in m for m in said), said


# A driver for `interviewer grade`'s engine with a cap on file size: writes past it fail with EFBIG after
# a partial write, as writes to a full disk fail with ENOSPC. No cache and no index (the lines name their
# traps), so only the output grows.
_CAPPED = """
import asyncio, resource, signal, sys
from pathlib import Path
from service.batch.runner import grade_file
from service.config import Settings
from service.errors import StorageError
from service.grading.factory import make_grader
from service.runtime import Runtime

settings = Settings(data_dir=Path(sys.argv[3]), mode="semantic")
rt = Runtime.build(settings)
grader = make_grader(settings=settings, use_cache=False)
cap = int(sys.argv[4])
if cap:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))
try:
    summary = asyncio.run(grade_file(Path(sys.argv[1]), Path(sys.argv[2]), grader, rt.catalog, None, concurrency=2))
except StorageError as exc:
    print(exc.message)
    sys.exit(3)
print(summary.graded, summary.skipped)
"""


def test_a_full_disk_leaves_no_torn_line_and_the_rerun_finishes(tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    from evals.grading import DEFAULT_GOLD

    gold = [json.loads(line) for line in DEFAULT_GOLD.read_text().splitlines()][:12]
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": f"a{i}", "trap_id": g["trap_id"], "answer": g["answer"]}) + "\n"
            for i, g in enumerate(gold)
        )
    )
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)

    def run(cap: int) -> subprocess.CompletedProcess[str]:
        args = [sys.executable, "-c", _CAPPED, str(source), str(out), str(tmp_path), str(cap)]
        return subprocess.run(args, capture_output=True, text=True, timeout=300)

    full = run(cap=40_000)  # a few records (8-16 kB each, every point listed) fit; one is cut part-way
    assert full.returncode == 3, full.stderr[-2000:]
    assert f"cannot write {out} (File too large)" in full.stdout and "run the same command again" in full.stdout
    kept = out.read_bytes()
    assert 0 < len(kept) <= 40_000 and kept.endswith(b"\n")  # whole lines only
    first = [json.loads(line) for line in kept.splitlines()]
    assert 0 < len(first) < len(gold)
    done = run(cap=0)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [str(len(gold) - len(first)), str(len(first))]  # went on from there
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["id"] for r in records) == sorted(f"a{i}" for i in range(len(gold)))


def test_chroma_down_fails_only_the_searches_and_they_come_back_with_it(  # type: ignore[no-untyped-def]
    tmp_path: Path, settings: Settings, index, chroma_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chroma behind a proxy that is cut before the service starts: it starts, interviews by trap id
    run, a topic or a search is a 503 that names the index, a batch line that needs retrieval is a
    retryable error beside the graded ones, chat by topic fails in one line; back up, search works."""
    from urllib.parse import urlsplit

    from typer.testing import CliRunner

    from service.batch.runner import grade_file
    from service.cli.main import app
    from service.config import get_settings
    from service.grading.factory import make_grader
    from service.runtime import Runtime
    from tests.conftest import _Proxy

    target = urlsplit(chroma_url)
    proxy = _Proxy((target.hostname or "127.0.0.1", target.port or 8000))
    own = settings.model_copy(
        update={"data_dir": tmp_path, "mode": "semantic", "chroma_url": f"http://127.0.0.1:{proxy.port}"}
    )
    with TestClient(create_app(own)) as client:  # Chroma unreachable from the start
        assert client.get("/healthz").status_code == 200
        sid = client.post("/sessions", json={"trap_id": "mlsd-35"}).json()["session_id"]
        assert client.post(f"/sessions/{sid}/messages", json={"message": ANSWER}).status_code == 200
        for refused in (client.post("/sessions", json={"topic": "GPU memory"}), client.get("/traps?q=GPU+memory")):
            assert refused.status_code == 503 and "Chroma" in refused.json()["detail"], refused.text
        assert len(client.get("/traps").json()) == 49  # the catalog needs no index
        proxy.up()
        try:
            hits = client.get("/traps?q=KV+cache+memory+for+long+context")  # builds the index in the server
            assert hits.status_code == 200 and hits.json()[0]["id"].startswith("llm-"), hits.text
        finally:
            proxy.down()

    lines = tmp_path / "in.jsonl"
    lines.write_text(
        json.dumps({"id": "by-id", "trap_id": "mlsd-35", "answer": ANSWER})
        + "\n"
        + json.dumps(
            {
                "id": "by-words",
                "turns": [{"role": "interviewer", "content": "KV cache?"}, {"role": "candidate", "content": ANSWER}],
            }
        )
        + "\n"
    )
    rt = Runtime.build(own)
    import asyncio

    summary = asyncio.run(grade_file(lines, tmp_path / "out.jsonl", make_grader(settings=own), rt.catalog, rt.index))
    records = {r["id"]: r for r in map(json.loads, (tmp_path / "out.jsonl").read_text().splitlines())}
    assert summary.graded == 1 and "score" in records["by-id"]
    assert records["by-words"]["retryable"] is True and "Chroma" in records["by-words"]["error"]

    _cli_env(monkeypatch, data_dir=tmp_path, mode="semantic", chroma_url=own.chroma_url)
    chat = CliRunner().invoke(app, ["chat", "--topic", "GPU memory"], input="")
    get_settings.cache_clear()
    assert chat.exit_code == 1 and "Chroma" in chat.output and "Traceback" not in chat.output, chat.output


@pytest.mark.parametrize("fault", ["5xx", "a reply cut mid-body"])
def test_chat_turns_survive_model_faults_and_hostile_input(  # type: ignore[no-untyped-def]
    fault: str, tmp_path: Path, settings: Settings, index, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The terminal chat on a failing model: each turn shows the notice and asks; a message over the
    limit is said back as an error, and binary-looking bytes with Rich markup are an answer like any."""
    from typer.testing import CliRunner

    from service.cli.main import app
    from service.config import get_settings

    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    config, notice = FAULTS[fault]
    with StubServer(config) as stub:
        model = stub.settings(tmp_path, mode="llm", retries=0, timeout=1.0)
        _cli_env(monkeypatch, **{key: getattr(model, key) for key in (*_MODEL, "data_dir")})
        typed = "\n".join(["x" * 20_001, "\x00\xff\ufffd [bold]not markup[/bold]", ANSWER, "finish", ""])
        result = CliRunner().invoke(app, ["chat", "--trap", "mlsd-35"], input=typed)
    get_settings.cache_clear()
    out = " ".join(result.output.split())
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert "the message is 20,001 characters; the limit is 20,000" in out  # said, and the chat goes on
    assert out.count(notice) >= 2  # each follow-up says the model failed it
    assert out.count("interviewer>") == 4 and "Score " in out  # the scenario, two follow-ups, the end
