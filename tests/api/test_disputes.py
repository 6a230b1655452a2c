"""Disputes over REST: a candidate disputes a report's decision and a batch line's; a reviewer settles them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.config import Settings

TRAP_ANSWER = (
    "With one fraud in ten thousand, the model will just predict legit for everything, so the fix is to weight "
    "the fraud class by its inverse frequency, about 10,000, in the cross-entropy. That balances the two classes' "
    "total contribution to the loss, so the model treats them equally. Then I'd train normally and flag anything "
    "above 0.5 as fraud."
)
REVIEWER = {"Authorization": "Bearer rev-secret"}


@pytest.fixture
def client(tmp_path: Path, settings: Settings, index) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    own = settings.model_copy(update={"data_dir": tmp_path, "reviewer_token": "rev-secret"})
    with TestClient(create_app(own)) as client:
        yield client


def _finished(client: TestClient, answer: str = TRAP_ANSWER) -> str:
    sid = client.post("/sessions", json={"trap_id": "mlsd-35", "user": "eve"}).json()["session_id"]
    client.post(f"/sessions/{sid}/messages", json={"message": answer})
    assert client.post(f"/sessions/{sid}/messages", json={"message": "finish"}).json()["status"] == "finished"
    return sid


def test_a_session_dispute_shows_both_scores_and_a_reviewer_accepts_it(client: TestClient) -> None:
    sid = _finished(client)
    decisions = client.get(f"/sessions/{sid}/decisions").json()
    assert [d["number"] for d in decisions] == list(range(1, len(decisions) + 1))
    flag = next(d for d in decisions if d["kind"] == "flag" and d["decided"] == "raised")
    before = client.get(f"/sessions/{sid}").json()["report"]

    res = client.post(
        f"/sessions/{sid}/disputes",
        json={"decision": flag["number"], "reason": "I meant it as the naive baseline, not my answer."},
    )
    assert res.status_code == 201, res.text
    dispute = res.json()
    assert dispute["status"] == "open" and dispute["reading"] == "contradicts"
    assert dispute["score"] == before["score"] and dispute["score_if"] >= dispute["score"]
    assert dispute["passage"] in TRAP_ANSWER and all(s["claim"] for s in dispute["statements"])
    # Filing changed nothing: the report is as graded.
    assert client.get(f"/sessions/{sid}").json()["report"] == before
    assert [d["id"] for d in client.get(f"/sessions/{sid}/disputes").json()] == [dispute["id"]]

    again = client.post(f"/sessions/{sid}/disputes", json={"decision": flag["number"]})
    assert again.status_code == 409 and "already has an open dispute" in again.json()["detail"]

    assert client.get("/disputes").status_code == 401
    assert [d["id"] for d in client.get("/disputes", headers=REVIEWER).json()] == [dispute["id"]]
    accepted = client.post(f"/disputes/{dispute['id']}/accept", json={"note": "baseline only"}, headers=REVIEWER)
    assert accepted.status_code == 200 and accepted.json()["label"] == "contradicts"
    after = client.get(f"/sessions/{sid}").json()["report"]
    assert after["score"] == dispute["score_if"]
    assert flag["key"].removeprefix("flag:") not in after["grade"]["red_flags"]
    assert after["grade"]["amendments"] and dispute["id"] in after["grade"]["amendments"][0]
    assert client.post(f"/disputes/{dispute['id']}/reject", json={}, headers=REVIEWER).status_code == 409
    assert client.get("/disputes", headers=REVIEWER).json() == []


def test_dispute_errors_say_what_was_wrong(client: TestClient) -> None:
    sid = _finished(client)
    n = len(client.get(f"/sessions/{sid}/decisions").json())
    wrong = client.post(f"/sessions/{sid}/disputes", json={"decision": n + 1})
    assert wrong.status_code == 422 and f"this grade has {n}" in wrong.json()["detail"]
    forged = client.post(f"/sessions/{sid}/disputes", json={"decision": 1, "sentence": "I said something else."})
    assert forged.status_code == 422 and "not in your answer" in forged.json()["detail"]
    huge = client.post(f"/sessions/{sid}/disputes", json={"decision": 1, "reason": "x" * 1001})
    assert huge.status_code == 422
    assert client.post("/sessions/nope/disputes", json={"decision": 1}).status_code == 404
    active = client.post("/sessions", json={"trap_id": "mlsd-35"}).json()["session_id"]
    early = client.post(f"/sessions/{active}/disputes", json={"decision": 1})
    assert early.status_code == 404 and "no report yet" in early.json()["detail"]
    assert client.post("/disputes/nope/accept", json={}, headers=REVIEWER).status_code == 404


def test_a_batch_line_is_disputed_and_the_reviewer_rejects_it(client: TestClient) -> None:
    lines = [{"id": "a1", "trap_id": "mlsd-35", "answer": TRAP_ANSWER}, {"id": "b2", "trap_id": "nope", "answer": "x"}]
    job = client.post("/batch", content="\n".join(json.dumps(x) for x in lines)).json()["id"]
    for _ in range(600):
        if client.get(f"/batch/{job}").json()["state"] != "running":
            break
        time.sleep(0.1)
    decisions = client.get(f"/batch/{job}/lines/1/decisions").json()
    missing = next(d for d in decisions if d["decided"] in ("0/2", "missing"))
    sentence = "That balances the two classes' total contribution to the loss"
    res = client.post(f"/batch/{job}/lines/1/disputes", json={"decision": missing["number"], "sentence": sentence})
    assert res.status_code == 201 and res.json()["passage"] == sentence and res.json()["reading"] == "entails"
    assert client.post(f"/batch/{job}/lines/2/disputes", json={"decision": 1}).status_code == 422  # an error line
    rejected = client.post(f"/disputes/{res.json()['id']}/reject", json={"reviewer": "ann"}, headers=REVIEWER)
    assert rejected.json()["status"] == "rejected" and rejected.json()["label"] == "neither"
    record = next(r for r in client.get(f"/batch/{job}/results").iter_lines() if r and '"a1"' in r)
    assert json.loads(record)["amendments"] == []  # a rejected dispute leaves the grade as it was
