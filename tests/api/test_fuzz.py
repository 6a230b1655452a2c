"""The HTTP API fuzzed from its OpenAPI schema (`make fuzz` runs the same with 100 examples per operation):
schemathesis, every check, the stateful links, against a live server, bounded here to keep CI short."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from service.config import Settings

FUZZ = Path(__file__).parents[2] / "evals" / "fuzz"


def test_no_5xx_and_every_response_matches_its_schema(settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    run = subprocess.run(
        [sys.executable, str(FUZZ), "--max-examples", "8", "--seed", "20261202", "--index", str(settings.index_dir)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout and "Stateful" in run.stdout
