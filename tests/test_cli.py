"""The `interviewer` command: exit codes and one-line errors."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from service.cli.main import app
from service.config import Settings, get_settings
from service.runtime import Runtime


@pytest.fixture(autouse=True)
def _cli_settings(monkeypatch: pytest.MonkeyPatch, data_dir) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(data_dir))
    monkeypatch.setenv("INTERVIEWER_MODE", "semantic")
    get_settings.cache_clear()


runner = CliRunner()


def test_traps_list_json() -> None:
    res = runner.invoke(app, ["traps", "list", "--series", "mlsd", "--json"])
    assert res.exit_code == 0
    assert [t["id"] for t in json.loads(res.stdout)][:2] == ["mlsd-26", "mlsd-27"]


def test_traps_show_unknown_id_fails_with_nearest() -> None:
    res = runner.invoke(app, ["traps", "show", "mlsd-350"])
    assert res.exit_code == 1
    assert "unknown trap id 'mlsd-350'; nearest ids: mlsd-35" in res.output


def test_traps_search_json() -> None:
    res = runner.invoke(app, ["traps", "search", "reservoir sampling of a stream", "--json", "-k", "3"])
    assert res.exit_code == 0
    assert json.loads(res.stdout)[0]["id"] == "mlsd-33"


def test_traps_search_empty_query() -> None:
    res = runner.invoke(app, ["traps", "search", " "])
    assert res.exit_code == 1
    assert "empty query" in res.output


def test_traps_check_passes() -> None:
    res = runner.invoke(app, ["traps", "check"])
    assert res.exit_code == 0, res.output
    assert "ok: 49 cards and their rubrics are valid and current" in res.output


def test_chat_shows_the_scenario_then_the_report() -> None:
    res = runner.invoke(app, ["chat", "--trap", "mlsd-33"], input="hint\nfinish\n")
    assert res.exit_code == 0, res.output
    assert res.output.index("interviewer> A Kafka topic carries") < res.output.index("A hint (it costs 5 points")
    assert "Score 0/100" in res.output
    assert "Also close" not in res.output  # chosen by id
    table = " ".join(res.output.split())  # the report's criteria in their own words, not their ids
    for c in Runtime.build(get_settings()).catalog.get("mlsd-33").rubric.criteria:
        assert " ".join(c.description.split()[:3]) in table and f"│ {c.id} │" not in table


def test_terminal_prints_brackets_as_written() -> None:
    """Cards index tensors as W[o,i,k]: the terminal must not take that for its own markup, which
    silently dropped it (and stops with an error on a stray closing tag in a model's words)."""
    for args, given in ((["chat", "--trap", "adl-17"], "finish\n"), (["traps", "show", "adl-17"], None)):
        res = runner.invoke(app, args, input=given)
        assert res.exit_code == 0, res.output
        assert "W[o,i,k]" in " ".join(res.output.split()), args


def test_chat_by_topic_offers_the_next_closest_traps() -> None:
    res = runner.invoke(app, ["chat", "--topic", "KV cache memory for long context"], input="finish\n")
    assert res.exit_code == 0, res.output
    first, second, _ = Runtime.build(get_settings()).index.search("KV cache memory for long context", k=3)
    shown = " ".join(res.output.split())  # the console wraps long lines
    assert f"Chosen for your topic: {first.trap_id}. Also close: {second.trap_id} ({second.title})" in shown


def _serve(tmp_path: Path, settings: Settings, serve, workers: int) -> tuple[subprocess.Popen[bytes], str]:  # type: ignore[no-untyped-def]
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)  # the shared test index
    return serve(tmp_path, workers=workers)  # type: ignore[no-any-return]


def _state(pid: str) -> str | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return None
    return status.split("State:")[1].split()[0]


def test_serve_ends_through_its_exit_path_on_sigterm(settings, index, tmp_path, serve) -> None:  # type: ignore[no-untyped-def]
    # Exit status 143 is sys.exit(128 + SIGTERM): atexit ran (it stops the model servers we started).
    # Killed by the signal instead, the status would be -15 and the model servers orphaned.
    proc, _ = _serve(tmp_path, settings, serve, workers=1)
    try:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        proc.kill()


def test_serve_with_workers_runs_interviews_and_stops_them_all(settings, index, tmp_path, serve) -> None:  # type: ignore[no-untyped-def]
    proc, base = _serve(tmp_path, settings, serve, workers=2)
    try:
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        workers = [pid for pid in children if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(workers) == 2  # beside them, multiprocessing's resource tracker

        # Every request on a fresh connection, so one session's turns go to whichever worker the kernel picks.
        def post(path: str, body: dict[str, str]) -> dict[str, Any]:
            res = httpx.post(f"{base}{path}", json=body, timeout=60)
            assert res.status_code in (200, 201), res.text
            return res.json()  # type: ignore[no-any-return]

        ids = [post("/sessions", {"trap_id": "mlsd-33"})["session_id"] for _ in range(6)]
        for sid in ids:
            assert (
                post(f"/sessions/{sid}/messages", {"message": "Reservoir sampling keeps k items."})["status"]
                == "active"
            )
        for sid in ids:
            assert post(f"/sessions/{sid}/messages", {"message": "finish"})["report"]
        assert all(httpx.get(f"{base}/sessions/{sid}").json()["status"] == "finished" for sid in ids)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0  # uvicorn's supervisor stops the workers, then returns
        # The supervisor joined its workers before it returned: they have exited (gone, or zombies where
        # this sandbox's init does not reap orphans).
        assert [pid for pid in workers if _state(pid) not in (None, "Z")] == []
    finally:
        proc.kill()


def test_chat_pauses_and_resumes_where_it_stopped() -> None:
    paused = runner.invoke(app, ["chat", "--trap", "mlsd-33"], input="")  # end of input: the candidate leaves
    assert paused.exit_code == 0, paused.output
    session = paused.output.split("interviewer chat --resume ")[1].split()[0]
    resumed = runner.invoke(app, ["chat", "--resume", session], input="finish\n")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.output.index("interviewer> A Kafka topic carries") < resumed.output.index("Score 0/100")
    unknown = runner.invoke(app, ["chat", "--resume", "nope"])
    assert unknown.exit_code == 1 and "unknown session 'nope'" in unknown.output


def test_logs_show_the_latest_calls_with_prompt_and_response(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.llm.calllog import CallLog, CallRecord

    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    log = CallLog(get_settings())
    prompt = [{"role": "user", "content": "Ask me about KV caches."}]
    log.add(
        CallRecord(
            role="ask",
            model="gpt-x",
            ok=True,
            attempt=0,
            latency_ms=812.0,
            prompt_tokens=9,
            completion_tokens=14,
            cost_usd=0.00012,
            messages=prompt,
            response="How big is it?",
        )
    )
    log.add(CallRecord(role="grade", model="gpt-y", ok=False, attempt=1, latency_ms=30000.0, error="Timeout"))

    res = runner.invoke(app, ["logs", "-n", "2"])
    assert res.exit_code == 0, res.output
    first, second = res.output.split("\n# ")
    assert "gpt-x (ask, attempt 0)" in first and "9 → 14 tokens, 812 ms, $0.000120; ok" in first
    assert "**user**: Ask me about KV caches." in first and "How big is it?" in first
    assert "gpt-y (grade, attempt 1)" in second and "failed: Timeout" in second  # newest last
    rows = json.loads(runner.invoke(app, ["logs", "-n", "1", "--json"]).stdout)
    assert [(r["model"], r["ok"], r["messages"]) for r in rows] == [("gpt-y", False, [])]
