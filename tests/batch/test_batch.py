"""Batch grading: every record form, per-line errors, resume after a kill, and faults from a model."""

from __future__ import annotations

import json
from pathlib import Path

from evals.grading import DEFAULT_GOLD
from service.batch.output import latest
from service.batch.runner import grade_file
from service.catalog import Catalog
from service.config import Settings
from service.grading.factory import make_grader
from service.llm.stub import StubConfig, StubServer

GOLD = [json.loads(line) for line in DEFAULT_GOLD.read_text().splitlines()]


def _write(path: Path, lines: list[object]) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def _run(
    settings: Settings, catalog: Catalog, index, src: Path, out: Path, mode: str = "semantic", concurrency: int = 4
):  # type: ignore[no-untyped-def]
    grader = make_grader(settings=settings, mode=mode, use_cache=False)  # type: ignore[arg-type]
    import asyncio

    return asyncio.run(grade_file(src, out, grader, catalog, index, concurrency=concurrency))


def test_every_form_and_every_bad_line(tmp_path: Path, settings: Settings, catalog: Catalog, index) -> None:  # type: ignore[no-untyped-def]
    src = _write(
        tmp_path / "in.jsonl",
        [
            {"id": "a", "trap_id": "mlsd-33", "answer": GOLD[6 * 1]["answer"]},
            {
                "id": "q",
                "question": "Why is the sky blue?",
                "reference_answer": "Rayleigh scattering favours blue light.",
                "answer": "Blue light is scattered more by air molecules.",
                "max_score": 5,
            },
            {
                "id": "t",
                "turns": [
                    {"role": "interviewer", "content": "How do you sample an endless stream uniformly?"},
                    {"role": "candidate", "content": "Reservoir sampling with k slots."},
                ],
            },
            "{not json",
            {"id": "m", "trap_id": "mlsd-33"},
            {"id": "u", "trap_id": "mlsd-999", "answer": "x"},
            {"id": "e", "trap_id": "mlsd-33", "answer": " "},
            {"id": "big", "trap_id": "mlsd-33", "answer": "word " * 2_100_000},
            {"id": "a", "trap_id": "mlsd-33", "answer": "a duplicate id"},
            {"id": "n", "answer": "an answer to nothing in particular"},
            {"id": "r", "turns": [{"role": "narrator", "content": "Once upon a time"}]},
        ],
    )
    out = tmp_path / "out.jsonl"
    summary = _run(settings, catalog, index, src, out)
    got = latest(out)
    assert summary.graded == 3 and summary.errors == 7 and summary.duplicates == ["a"]
    assert got["q"]["score_scaled"] == round(got["q"]["score"] / 100 * 5, 2)
    assert got["t"]["trap_id"] == "mlsd-33" and got["t"]["trap_retrieved"] is True
    assert got["line 4"]["error"].startswith("line 4: not JSON") and got["line 4"]["retryable"] is False
    assert got["m"]["error"] == "missing or non-text field 'answer'"
    assert got["u"]["error"].startswith("unknown trap id 'mlsd-999'; nearest ids: mlsd-")
    assert got["e"]["error"] == "the answer is empty: there is nothing to grade"
    assert got["big"]["error"] == "the answer is 10,500,000 characters; the limit is 20,000"
    assert got["n"]["error"] == "give trap_id, turns, or question + reference_answer"
    assert got["r"]["error"] == "'turns' must be a list of {role, content}"


def test_reruns_keep_one_record_per_id(tmp_path: Path, settings: Settings, catalog: Catalog, index) -> None:  # type: ignore[no-untyped-def]
    """Failures a re-run cannot change are reported again, not appended again; an edited line is graded."""
    from service.batch import report

    rows: list[object] = [
        {"id": "a", "trap_id": "mlsd-33", "answer": GOLD[6]["answer"]},
        "{not json",
        {"id": "u", "trap_id": "mlsd-999", "answer": "x"},
        {"id": "e", "trap_id": "mlsd-33", "answer": " "},
        {"id": "w", "question": "What is the capital of France?", "reference_answer": "Paris.", "answer": "Paris"},
    ]
    src, out = _write(tmp_path / "in.jsonl", rows), tmp_path / "out.jsonl"
    first = _run(settings, catalog, index, src, out)
    assert (first.graded, first.errors) == (2, 3)  # the one-word reference is graded, not an internal error
    assert latest(out)["w"]["score"] == 100
    for _ in range(2):
        again = _run(settings, catalog, index, src, out)
        assert (again.skipped, again.errors, again.graded) == (2, 3, 0)
        records = [json.loads(line) for line in out.read_text().splitlines()]
        assert len(records) == 5 and sorted(latest(out)) == ["a", "e", "line 2", "u", "w"]
    stats = report.stats(report.rows(out))
    assert (stats["graded"], stats["errors"]) == (2, 3)  # --summary counts what the file holds

    rows[3] = {"id": "e", "trap_id": "mlsd-33", "answer": "Reservoir sampling keeps k items."}  # the author fixes it
    _write(src, rows)
    fixed = _run(settings, catalog, index, src, out)
    assert (fixed.graded, fixed.errors, fixed.skipped) == (1, 2, 2)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 5 and "error" not in latest(out)["e"]


def test_resume_after_a_kill_mid_line(tmp_path: Path, settings: Settings, catalog: Catalog, index) -> None:  # type: ignore[no-untyped-def]
    rows = [{"id": f"g{i}", "trap_id": r["trap_id"], "answer": r["answer"]} for i, r in enumerate(GOLD[:12])]
    src = _write(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    _run(settings, catalog, index, src, out)
    lines = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:5]) + lines[5][: len(lines[5]) // 2])  # as if killed while writing line 6
    summary = _run(settings, catalog, index, src, out)
    assert summary.skipped == 5 and summary.graded == 7
    assert all(json.loads(line) for line in out.read_text().splitlines())  # no torn line survives
    assert sorted(latest(out)) == sorted(r["id"] for r in rows)


def test_model_faults_lose_nothing_and_rerun_completes(
    tmp_path: Path, settings: Settings, catalog: Catalog, index
) -> None:  # type: ignore[no-untyped-def]
    # Two sentences of each expert answer: enough to pass the guards (so the model is asked), cheap to embed.
    experts = [(r["trap_id"], ". ".join(r["answer"].split(". ")[:2])) for r in GOLD if r["kind"] == "expert"]
    rows = [{"id": f"x{i}", "trap_id": experts[i % 49][0], "answer": experts[i % 49][1]} for i in range(500)]
    src = _write(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    faults = StubConfig(error_rate=0.1, malformed_rate=0.1, hang_rate=0.1, hang_seconds=3.0, seed=3)
    with StubServer(faults) as stub:
        own = settings.model_copy(
            update={
                "data_dir": tmp_path,
                "model": "openai/stub",
                "api_base": stub.api_base,
                "api_key": "sk",
                "json_mode": "schema_object",
                "retries": 0,
                "timeout": 0.3,
                "concurrency": 32,
            }
        )
        first = _run(own, catalog, index, src, out, mode="llm", concurrency=32)
    assert first.graded + first.errors == 500 and first.errors > 0
    assert set(latest(out)) == {r["id"] for r in rows}  # every line graded or carrying its error
    with StubServer() as healthy:
        own = own.model_copy(update={"api_base": healthy.api_base, "timeout": 30.0})
        second = _run(own, catalog, index, src, out, mode="llm", concurrency=32)
    errors = [r["error"] for r in latest(out).values() if "error" in r]
    assert second.skipped == first.graded and second.graded == first.errors and second.errors == 0, errors[:3]
    assert all("error" not in r for r in latest(out).values())
