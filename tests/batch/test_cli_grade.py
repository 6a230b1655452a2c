"""`interviewer grade`: exit code, outputs beside OUT, and the line count behind the ETA."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli.grade import _count_lines
from service.cli.main import app
from service.config import get_settings


def test_count_lines_without_trailing_newline(tmp_path: Path) -> None:
    f = tmp_path / "x.jsonl"
    f.write_bytes(b'{"a": 1}\n{"a": 2}')
    assert _count_lines(f) == 2


def test_grade_command_writes_jsonl_csv_html(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings, index) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("INTERVIEWER_MODE", "semantic")
    get_settings.cache_clear()
    src = tmp_path / "in.jsonl"
    trap_answer = (
        "I'd keep each event with a fixed 1% probability; that gives a uniform fixed-size buffer. Reservoir sampling."
    )
    weak = "Weight the fraud class by 10,000 in the cross-entropy and classify at 0.5."  # read weakly as the trap
    lines = [
        {"id": "a", "trap_id": "mlsd-33", "answer": trap_answer},
        {"id": "b", "trap_id": "mlsd-35", "answer": weak},
    ]
    src.write_text("".join(json.dumps(line) + "\n" for line in lines) + "nope\n")
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(app, ["grade", str(src), "-o", str(out), "--summary"])
    assert res.exit_code == 0, res.output
    assert "2 graded, 1 errors" in res.output
    assert len(out.read_text().splitlines()) == 3
    csv_text = out.with_suffix(".csv").read_text()
    assert csv_text.startswith("id,trap_id,score") and ",inverse-frequency-weight-default-threshold," in csv_text
    page = out.with_suffix(".html").read_text()
    assert "<svg" in page and "mlsd-33 — " in page  # the trap's title beside its id
    assert "Verdicts: 2 fail." in page and "{" not in page.split("<style>")[0]  # counts in words, no dict
    assert "Describes reservoir sampling correctly" in page  # a criterion in its own words, not algorithm-r
    assert '<a href="#a-a">a</a>' in page and '<section id="a-a">' in page  # each answer reachable from its row
    assert '<mark class="flag">' in page  # the words that fell into the trap, marked in the answer
    assert "You may have meant" in page and '<mark class="unclear">' in page  # a trap read weakly is asked about
    assert "Traps the answers may mean" in page
    missing = CliRunner().invoke(app, ["grade", str(tmp_path / "none.jsonl"), "-o", str(out)])
    assert missing.exit_code == 1 and "none.jsonl: no such file" in missing.output
    get_settings.cache_clear()
