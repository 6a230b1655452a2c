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
    assert too_long.status_code == 422
    assert too_long.json()["detail"] == "the message is 20,001 characters; the limit is 20,000"
    bad = client.post(f"/sessions/{sid}/messages", json={"text": "hi"})
    assert bad.status_code == 422 and bad.json()["detail"] == "message: Field required"
    assert bad.json()["errors"][0]["loc"] == ["body", "message"]
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
    """A job whose owner died is taken over when its lease runs out, and goes on where it stopped; a
    finished job still answers after a restart, and is not run again."""
    import json
    import time

    from service.batch.jobs import BatchJobs

    own = settings.model_copy(update={"data_dir": tmp_path, "batch_lease_seconds": 1.0})
    records = [
        {"id": f"a{i}", "trap_id": "mlsd-33", "answer": f"Reservoir sampling keeps k items ({i})."} for i in range(3)
    ]
    dead = BatchJobs(own)  # the replica that died: it stored the job, graded a0, and renews nothing any more
    dead.add_lines("orphan", [json.dumps(r) for r in records])
    dead.add("orphan", "semantic", 2)
    dead.output("orphan").write({"id": "a0", "score": 99}, 1)

    with TestClient(create_app(own)) as client:  # this one takes it over once the lease has run out
        deadline = time.monotonic() + 60
        while (job := client.get("/batch/orphan").json())["state"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert (job["state"], job["graded"], job["errors"], job["skipped"]) == ("done", 2, 0, 1)
    again = TestClient(create_app(own))  # another restart: the finished job is still there, not rerun
    assert again.get("/batch/orphan").json()["state"] == "done"
    lines = [json.loads(line) for line in again.get("/batch/orphan/results").text.splitlines()]
    assert [r["id"] for r in lines] == ["a0", "a1", "a2"] and lines[0]["score"] == 99  # a0 kept, not regraded


def test_the_results_of_a_running_job_are_a_conflict_not_bad_input(tmp_path: Path, settings: Settings) -> None:
    """The request is valid; the job is not done yet (a 422 read as "your input was wrong")."""
    from service.batch.jobs import BatchJobs

    own = settings.model_copy(update={"data_dir": tmp_path, "batch_lease_seconds": 600.0})
    busy = BatchJobs(own)  # another replica holds the job's lease: this one leaves it running
    busy.add_lines("busy", ['{"id": "a", "trap_id": "mlsd-33", "answer": "Reservoir sampling."}'])
    busy.add("busy", "semantic", 1)
    with TestClient(create_app(own)) as client:
        assert client.get("/batch/busy").json()["state"] == "running"
        res = client.get("/batch/busy/results")
        assert res.status_code == 409 and "poll /batch/busy" in res.json()["detail"]


def test_an_expired_job_is_claimed_by_one_replica_only(tmp_path: Path, settings: Settings) -> None:
    """Replicas look for expired leases on their own clocks: of two that read the same one, one wins;
    the loser of a lease stops renewing it."""
    import time

    from service.batch.jobs import BatchJobs

    own = settings.model_copy(update={"data_dir": tmp_path, "batch_lease_seconds": 0.2})
    owner, first, second = BatchJobs(own), BatchJobs(own), BatchJobs(own)
    owner.add("job", "semantic", 2)
    assert set(owner.renew()) == {"job"} and first.claim_expired() == []  # a live lease is nobody else's
    time.sleep(0.3)
    assert [j[0] for j in first.claim_expired()] == ["job"]
    assert second.claim_expired() == []  # it came too late
    assert owner.renew() == {} and set(first.renew()) == {"job"}  # the old owner learns it lost the job
