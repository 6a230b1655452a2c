"""Question banks of your own: scaffold a card, draft its rubric, check the bank, and use it everywhere
the built-in traps are used (the sample bank in docs/sample-bank, end to end)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.api.app import create_app
from service.catalog import Catalog
from service.cli.main import app
from service.config import Settings, get_settings
from service.errors import ContentError

SAMPLE = Path(__file__).parents[1] / "docs" / "sample-bank"
QUESTION = (
    "Checkout reads a product's stock, subtracts one in Python and writes it back; under a sale, 200 "
    "orders a second oversell the last items. A colleague suggests wrapping it in a transaction. Will it work?"
)
ANSWER = " ".join(
    [
        "No: under READ COMMITTED, PostgreSQL's default, two transactions can both read stock = 1 and both write 0.",
        "The transaction makes each read-modify-write atomic to others only once it commits, not isolated from them.",
        "The fix moves the decision into the database: UPDATE stock SET n = n - 1 WHERE id = $1 AND n > 0.",
        "That statement takes the row lock and re-checks the condition after any wait, so exactly one order wins.",
    ]
    * 5
)
runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INTERVIEWER_MODE", "semantic")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_new_card_then_derived_rubric_then_check(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    bank = tmp_path / "shop"
    res = runner.invoke(
        app, ["traps", "new", "--bank", str(bank), "--question", QUESTION, "--answer", ANSWER, "--series", "db"]
    )
    assert res.exit_code == 0, res.output
    card_path = bank / "traps" / "db-1.yaml"
    assert card_path.exists() and yaml.safe_load((bank / "bank.yaml").read_text()) == {"name": "shop"}

    res = runner.invoke(app, ["rubrics", "derive", "--bank", str(bank), "db-1"])  # semantic: from the claims
    assert res.exit_code == 0, res.output
    rubric = yaml.safe_load((bank / "rubrics" / "db-1.yaml").read_text())
    assert rubric["trap_id"] == "db-1" and rubric["derived_from"].startswith("sha256:")
    assert sum(c["weight"] for c in rubric["criteria"]) == 100 and len(rubric["criteria"]) >= 3
    assert runner.invoke(app, ["rubrics", "derive", "--bank", str(bank), "db-1"]).exit_code == 1  # no overwrite

    res = runner.invoke(app, ["traps", "check", "--bank", str(bank)])
    assert res.exit_code == 1
    assert f"{card_path}: field 'trap': still the placeholder from `interviewer traps new`" in res.output
    assert "rubrics/db-1.yaml: field 'criteria.0.hint': still the placeholder" in res.output
    assert all(c["points"][0]["core"] and len(c["points"]) >= 2 for c in rubric["criteria"])  # the claims, drafted
    assert "rubrics/db-1.yaml: field 'criteria.5.points.1.text': still the placeholder" in res.output

    # Filled in, the bank checks clean and its trap is in the catalog under the bank's name.
    card = yaml.safe_load(card_path.read_text())
    card.update(setting="backend system design interview", trap="Wrapping the read and the write in a transaction.")
    card["follow_ups"] = [
        {"question": f"What if it were step {i}?", "good_answer": f"The answer to step {i}."} for i in (1, 2, 3)
    ]
    card_path.write_text(yaml.safe_dump(card, sort_keys=False))
    for i, c in enumerate(rubric["criteria"]):
        c["hint"] = "Think about what the database can check for you at the moment it writes."
        for p in c["points"]:
            if p["text"].startswith("TODO"):
                p.update(text=f"Fact {p['id']} that criterion {i} of the answer states.", source=c["anchor"])
    (bank / "rubrics" / "db-1.yaml").write_text(yaml.safe_dump(rubric, sort_keys=False))
    res = runner.invoke(app, ["traps", "check", "--bank", str(bank)])
    assert res.exit_code == 0, res.output
    settings = Settings(data_dir=tmp_path, banks=[bank])
    assert "shop:db-1" in Catalog.with_banks(settings.seeds_dir, settings.rubrics_dir, settings.banks)


def test_bank_errors_name_the_file_and_the_field(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    bank = tmp_path / "broken"
    (bank / "traps").mkdir(parents=True)
    (bank / "rubrics").mkdir()
    card = yaml.safe_load((SAMPLE / "traps" / "db-1.yaml").read_text())
    card["correct_answer"] = "Too short."
    (bank / "traps" / "db-1.yaml").write_text(yaml.safe_dump(card))
    (bank / "rubrics" / "db-9.yaml").write_text(yaml.safe_dump({"trap_id": "db-9", "criteria": []}))
    res = runner.invoke(app, ["traps", "check", "--bank", str(bank)])
    assert res.exit_code == 1
    assert f"{bank}/traps/db-1.yaml: field 'correct_answer': Value error, must be 150-400 words, has 2" in res.output
    assert f"{bank}/rubrics/db-9.yaml: field 'criteria'" in res.output
    assert "not a bank" in runner.invoke(app, ["traps", "check", "--bank", str(tmp_path / "nowhere")]).output
    with pytest.raises(ContentError, match="already"):
        Catalog.with_banks(Settings().seeds_dir, Settings().rubrics_dir, [SAMPLE, SAMPLE])


def test_the_sample_bank_end_to_end(tmp_path: Path, settings: Settings) -> None:
    """Interview, grade and batch on the sample bank's traps, beside the built-in ones."""
    assert runner.invoke(app, ["traps", "check", "--bank", str(SAMPLE)]).exit_code == 0
    own = settings.model_copy(update={"data_dir": tmp_path, "banks": [SAMPLE]})
    with TestClient(create_app(own)) as client:
        ids = [t["id"] for t in client.get("/traps").json()]
        assert ":" not in ids[0] and ids[-3:] == ["sql:db-1", "sql:db-2", "sql:db-3"] and len(ids) == 52
        assert client.get("/traps", params={"q": "keyset pagination deep OFFSET"}).json()[0]["id"] == "sql:db-3"

        sid = client.post("/sessions", json={"trap_id": "sql:db-2"}).json()["session_id"]
        reply = client.post(
            f"/sessions/{sid}/messages", json={"message": "I'd wrap the read and write in a transaction."}
        )
        assert reply.json()["status"] == "active"
        report = client.post(f"/sessions/{sid}/messages", json={"message": "finish"}).json()["report"]
        assert report["trap_id"] == "sql:db-2" and report["grade"]["criteria"]

        grade = client.post("/grade", json={"trap_id": "sql:db-1", "answer": "Just add an index on the column."})
        assert grade.status_code == 200 and grade.json()["trap_id"] == "sql:db-1"
        assert client.post("/grade", json={"trap_id": "db-1", "answer": "x y z"}).json()["nearest"][0] == "sql:db-1"

        body = "\n".join(
            json.dumps({"id": f"r{i}", "trap_id": f"sql:db-{i}", "answer": "Use EXPLAIN first."}) for i in (1, 2, 3)
        )
        job = client.post("/batch", content=body, params={"mode": "semantic"}).json()["id"]
        deadline = time.monotonic() + 60
        while (state := client.get(f"/batch/{job}", params={"results": True}).json())["state"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert [r["trap_id"] for r in state["results"]] == ["sql:db-1", "sql:db-2", "sql:db-3"]


def test_a_model_drafted_rubric_is_repaired_in_code(tmp_path: Path, cli_env, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The model's draft is not trusted: an anchor it paraphrased becomes the answer's own sentence, its
    weights are scaled to sum to 100, and the hash is stamped by code."""
    from service.llm.client import served
    from service.llm.stub import StubConfig, StubServer

    bank = tmp_path / "shop"
    assert (
        runner.invoke(
            app, ["traps", "new", "--bank", str(bank), "--question", QUESTION, "--answer", ANSWER, "--series", "db"]
        ).exit_code
        == 0
    )
    draft = {
        "criteria": [
            {
                "id": "Lost update",
                "description": "Names the lost update under READ COMMITTED.",
                "weight": 0,
                "anchor": "two transactions can both read stock = 1 and both write 0",  # verbatim
                "none": "No.",
                "partial": "Partly.",
                "full": "Yes.",
                "points": [
                    "Under READ COMMITTED two checkouts can both read the same stock.",
                    "The second update writes a value computed from a stale read.",
                    "It",  # too short to be a point: dropped
                ],
            },
            {
                "id": "atomic-update",
                "description": "Moves the check into one UPDATE.",
                "weight": 50,
                "anchor": "use an atomic update statement",  # not in the answer: repaired
                "none": "No.",
                "partial": "Partly.",
                "full": "Yes.",
            },
            {
                "id": "row-lock",
                "description": "The row lock re-checks after the wait.",
                "weight": 20,
                "anchor": "re-checks the condition after any wait",
                "none": "No.",
                "partial": "Partly.",
                "full": "Yes.",
            },
        ],
        "red_flags": [
            {
                "id": "tx-fixes-it",
                "statement": "Wrapping it in a transaction prevents the overselling.",
                "cap": 35,
                "claims": ["A transaction around the read and the write prevents the overselling."],
            }
        ],
    }
    with StubServer(StubConfig(responder=lambda body: json.dumps(draft))) as stub:
        for name, value in {
            "INTERVIEWER_MODE": "llm",
            "INTERVIEWER_GRADER_MODEL": served("stub"),
            "INTERVIEWER_MODEL": served("stub"),
            "INTERVIEWER_API_BASE": stub.api_base,
            "INTERVIEWER_API_KEY": "sk-stub",
            "INTERVIEWER_JSON_MODE": "schema_object",
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        res = runner.invoke(app, ["rubrics", "derive", "--bank", str(bank), "db-1"])
        assert res.exit_code == 0, res.output
        assert stub.request_count() == 1
    rubric = yaml.safe_load((bank / "rubrics" / "db-1.yaml").read_text())
    anchors = [c["anchor"] for c in rubric["criteria"]]
    answer = " ".join(yaml.safe_load((bank / "traps" / "db-1.yaml").read_text())["correct_answer"].split())
    assert all(" ".join(a.split()) in answer for a in anchors) and anchors[1] != "use an atomic update statement"
    assert (
        sum(c["weight"] for c in rubric["criteria"]) == 100
        and [c["id"] for c in rubric["criteria"]][0] == "lost-update"
    )
    assert rubric["red_flags"][0]["id"] == "tx-fixes-it" and rubric["derived_from"].startswith("sha256:")
    points = rubric["criteria"][0]["points"]  # drafted as a checklist: the first point the core, levels from the rule
    assert [p.get("core", False) for p in points] == [True, False] and rubric["criteria"][0]["full_others"] == 1
    assert rubric["criteria"][0]["levels"]["full"] == "States the core point and at least 1 other point."
    assert rubric["red_flags"][0]["claims"][0]["raises"] is True
