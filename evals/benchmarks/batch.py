"""Batch throughput against the stub model (fixed latency L, concurrency C) versus the ideal C/L,
memory as the input grows (each size in a fresh process), semantic-mode lines/s, and the Ray engine
against the local one (batch_ray, also `evals/bench batch-ray` alone)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from evals.benchmarks import batch_ray
from evals.grading import DEFAULT_GOLD

LATENCY = 2.0  # the semantic guard caps a process near 20-40 lines/s, so L is set where the model dominates
CONCURRENCY = 32
_CHILD = """
import asyncio, json, resource, sys, time
from pathlib import Path
from service.runtime import Runtime
from service.batch.runner import grade_file
from service.config import Settings
from service.grading.factory import make_grader
from service.llm.client import served
from service.llm.stub import StubConfig, StubServer
src, out, mode, data = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
with StubServer(StubConfig(latency={latency})) as stub:
    s = Settings(data_dir=data, model=served("stub"), api_base=stub.api_base, api_key="sk", json_mode="schema_object",
                 concurrency={c}, timeout=30)
    grader = make_grader(settings=s, mode=mode, use_cache=False)
    cat = Runtime.build(s).catalog
    from service.grading.subject import Subject
    for trap in cat:  # warm: the embedder and every card's vectors load once, as in a running service
        make_grader(settings=s, mode="semantic", use_cache=False).grade(Subject.from_trap(trap), "warm up " + trap.id)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    summary = asyncio.run(grade_file(src, out, grader, cat, None, concurrency={c}))
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"lines": summary.graded, "errors": summary.errors, "seconds": summary.seconds,
                   "rss_growth_mb": round((rss1 - rss0) / 1024, 1), "peak_rss_mb": round(rss1 / 1024, 1)}}))
"""


def _input(path: Path, n: int) -> None:
    rows = [json.loads(line) for line in DEFAULT_GOLD.read_text().splitlines() if '"expert"' in line]
    with path.open("w") as fh:
        for i in range(n):
            r = rows[i % len(rows)]
            short = ". ".join(r["answer"].split(". ")[:2])
            fh.write(json.dumps({"id": f"l{i}", "trap_id": r["trap_id"], "answer": short}) + "\n")


def _child(
    src: Path, mode: str, tmp: Path, latency: float = LATENCY, c: int = CONCURRENCY, code: str = _CHILD
) -> dict[str, Any]:
    """One run in a fresh process; `code` is this module's local child, or batch_ray's."""
    out = tmp / f"out-{src.stem}-{mode}.jsonl"
    args = [str(src), str(out), mode, str(tmp)]
    proc = subprocess.run(
        [sys.executable, "-c", code.format(latency=latency, c=c), *args], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        small, large = tmp / "small.jsonl", tmp / "large.jsonl"
        _input(small, 500)
        _input(large, 2000)
        llm_small = _child(small, "llm", tmp)
        llm_large = _child(large, "llm", tmp)
        sem = _child(small, "semantic", tmp)
    ideal = CONCURRENCY / LATENCY
    achieved = llm_large["lines"] / llm_large["seconds"]
    return {
        "stub_latency_s": LATENCY,
        "concurrency": CONCURRENCY,
        "ideal_lines_per_s": ideal,
        "llm_lines_per_s": round(achieved, 1),
        "fraction_of_ideal": round(achieved / ideal, 3),
        "peak_rss_mb_500_lines": llm_small["peak_rss_mb"],
        "peak_rss_mb_2000_lines": llm_large["peak_rss_mb"],
        "semantic_lines_per_s": round(sem["lines"] / sem["seconds"], 1),
        "errors": llm_small["errors"] + llm_large["errors"] + sem["errors"],
        "ray": batch_ray.run(),
    }
