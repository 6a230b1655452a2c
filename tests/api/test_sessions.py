"""Interview sessions, progress and one-off grading over REST (semantic mode, no model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.config import Settings


@pytest.fixture
def client(tmp_path: Path, settings: Settings, index) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    with TestClient(create_app(settings.model_copy(update={"data_dir": tmp_path}))) as client:
        yield client


def test_whole_session_over_rest(client: TestClient) -> None:
    res = client.post("/sessions", json={"trap_id": "mlsd-33", "user": "eve"})
    assert res.status_code == 201
    sid = res.json()["session_id"]
    reply = client.post(f"/sessions/{sid}/messages", json={"message": "Reservoir sampling with k slots."}).json()
    assert reply["status"] == "active"
    done = client.post(f"/sessions/{sid}/messages", json={"message": "finish"}).json()
    assert done["status"] == "finished" and done["report"]["trap_id"] == "mlsd-33"
    state = client.get(f"/sessions/{sid}").json()
    assert [t["role"] for t in state["transcript"]][:2] == ["interviewer", "candidate"]
    progress = client.get("/users/eve/progress").json()
    assert progress["finished"] == 1 and progress["seen"] == ["mlsd-33"]
    assert res.json()["alternatives"] == state["alternatives"] == []  # chosen by id
    by_topic = client.post("/sessions", json={"topic": "uniform sample of an endless event stream"}).json()
    assert len(by_topic["alternatives"]) == 2 and by_topic["trap_id"] not in {
        a["trap_id"] for a in by_topic["alternatives"]
    }
    assert client.get(f"/sessions/{by_topic['session_id']}").json()["alternatives"] == by_topic["alternatives"]


def test_session_errors(client: TestClient) -> None:
    res = client.post("/sessions", json={"trap_id": "adl-70"})
    assert res.status_code == 404 and res.json()["detail"].startswith("unknown trap id 'adl-70'")
    assert client.post("/sessions/nope/messages", json={"message": "hi"}).status_code == 404
    sid = client.post("/sessions", json={"trap_id": "adl-7"}).json()["session_id"]
    too_long = client.post(f"/sessions/{sid}/messages", json={"message": "x" * 20_001})
    assert too_long.status_code == 413
    assert too_long.json()["detail"] == "the message is 20,001 characters; the limit is 20,000"
    bad = client.post(f"/sessions/{sid}/messages", json={"text": "hi"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "message"]
    # The session was not corrupted by the bad requests.
    assert client.post(f"/sessions/{sid}/messages", json={"message": "finish"}).json()["status"] == "finished"


def test_grade_trap_and_reference_forms(client: TestClient) -> None:
    trap = client.post("/grade", json={"trap_id": "mlsd-33", "answer": "Use reservoir sampling, Algorithm R."})
    assert trap.status_code == 200 and trap.json()["grader"]["mode"] == "semantic"
    ref = client.post(
        "/grade",
        json={
            "question": "Why is the sky blue?",
            "reference_answer": "Rayleigh scattering scatters short blue wavelengths far more than red ones.",
            "answer": "Because air molecules scatter blue light much more strongly than red light.",
            "max_score": 5,
        },
    )
    body = ref.json()
    assert ref.status_code == 200 and body["trap_id"] is None
    assert body["score_scaled"] == round(body["score"] / 100 * 5, 2)
    assert client.post("/grade", json={"answer": "x"}).status_code == 422
    # The same three forms as a batch line, a transcript included; the mode goes in the query, as for /batch.
    turns = [
        {"role": "interviewer", "content": "How do you sample an endless stream uniformly?"},
        {"role": "candidate", "content": "Reservoir sampling with k slots."},
    ]
    transcript = client.post("/grade", params={"mode": "semantic"}, json={"turns": turns})
    assert transcript.status_code == 200 and transcript.json()["trap_id"] == "mlsd-33"
    assert client.post("/grade", params={"mode": "fast"}, json={"turns": turns}).status_code == 422
    empty = client.post("/grade", json={"trap_id": "mlsd-33", "answer": "  "})
    assert empty.status_code == 422 and empty.json()["detail"] == "the answer is empty: there is nothing to grade"


def test_batch_upload_progress_and_results(client: TestClient) -> None:
    import json
    import time

    body = "\n".join(
        [
            json.dumps({"id": "a", "trap_id": "mlsd-33", "answer": "Reservoir sampling keeps k items."}),
            "not json",
            json.dumps(
                {
                    "id": "b",
                    "question": "Why is the sky blue?",
                    "reference_answer": "Rayleigh scattering.",
                    "answer": "Rayleigh scattering of blue light.",
                    "max_score": 10,
                }
            ),
        ]
    )
    res = client.post("/batch", content=body, params={"mode": "semantic"})
    assert res.status_code == 202
    job_id = res.json()["id"]
    deadline = time.monotonic() + 60
    while (job := client.get(f"/batch/{job_id}", params={"results": True}).json())["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert job["state"] == "done" and (job["graded"], job["errors"]) == (2, 1)
    by_id = {r["id"]: r for r in job["results"]}
    assert by_id["b"]["score_scaled"] == round(by_id["b"]["score"] / 10, 2)
    assert by_id[None]["error"].startswith("line 2: not JSON")
    lines = client.get(f"/batch/{job_id}/results").text.splitlines()
    assert len(lines) == 3
    assert client.get("/batch/nope").status_code == 404
    assert client.post("/batch", content="").status_code == 422


def test_batch_jobs_survive_a_restart(tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    """A job left running by a service that died is resumed by the next one; a finished job still answers."""
    import json
    import subprocess
    import sys
    import time

    from service.batch.jobs import BatchJobs, paths

    own = settings.model_copy(update={"data_dir": tmp_path})
    source, _ = paths(tmp_path, "orphan")
    source.parent.mkdir(parents=True)
    records = [
        {"id": f"a{i}", "trap_id": "mlsd-33", "answer": f"Reservoir sampling keeps k items ({i})."} for i in range(3)
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    jobs = BatchJobs(own)
    jobs.add("orphan", "semantic", 2)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    jobs._conn.execute("UPDATE batch_jobs SET pid = ?", (dead.pid,))  # as if that process had started it
    jobs._conn.commit()

    with TestClient(create_app(own)) as client:  # startup resumes it
        deadline = time.monotonic() + 60
        while (job := client.get("/batch/orphan").json())["state"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert (job["state"], job["graded"], job["errors"]) == ("done", 3, 0)
    again = TestClient(create_app(own))  # another restart: the finished job is still there, not rerun
    assert again.get("/batch/orphan").json()["state"] == "done"
    assert len(again.get("/batch/orphan/results").text.splitlines()) == 3


def test_an_orphaned_job_is_claimed_by_one_worker_only(tmp_path: Path, settings: Settings) -> None:
    """The workers of one service start together and each looks for orphans: only the first takes a job."""
    import subprocess
    import sys

    from service.batch.jobs import BatchJobs

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    own = settings.model_copy(update={"data_dir": tmp_path})
    first, second = BatchJobs(own), BatchJobs(own)
    first.add("orphan", "semantic", 2)
    first._conn.execute("UPDATE batch_jobs SET pid = ?", (dead.pid,))
    first._conn.commit()
    assert first.claim("orphan", dead.pid)
    assert not second.claim("orphan", dead.pid)  # it read the dead owner too, but too late
