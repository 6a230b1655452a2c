"""`--engine ray` against the local engine: the same input, mode, stub latency and concurrency, run one
after the other in fresh processes, so the ratio is read within one run.

The stub answers after RAY_LATENCY s. Local grades in one process after warming up; Ray starts a local
runtime and a pool of actors (one per CPU), and its throughput is taken from its first record back,
with its start-up reported on its own: a fixed cost per batch, not a rate.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

LINES = 300
LATENCY = 0.2
CONCURRENCY = 16

_RAY_CHILD = """
import json, sys, time
from pathlib import Path
import ray
from service.batch.ray_engine import grade_file_ray
from service.config import Settings
from service.llm.client import served
from service.llm.stub import StubConfig, StubServer
src, out, data = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[4])
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=300 * 2**20)
with StubServer(StubConfig(latency={latency})) as stub:
    s = Settings(data_dir=data, model=served("stub"), api_base=stub.api_base, api_key="sk", json_mode="schema_object",
                 concurrency={c}, timeout=30)
    first = []
    start = time.perf_counter()
    summary = grade_file_ray(src, out, s, "llm", concurrency={c},
                             progress=lambda p: first or first.append((time.perf_counter() - start, p.graded)))
print(json.dumps({{"lines": summary.graded, "errors": summary.errors, "seconds": summary.seconds,
                   "first_record_s": first[0][0], "lines_before_steady": first[0][1]}}))
"""


def run() -> dict[str, Any]:
    from evals.benchmarks.batch import _child, _input

    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        src = tmp / "ray-vs-local.jsonl"
        _input(src, LINES)
        local = _child(src, "llm", tmp, LATENCY, CONCURRENCY)
        ray = _child(src, "ray", tmp, LATENCY, CONCURRENCY, code=_RAY_CHILD)
    local_rate = local["lines"] / local["seconds"]
    steady = (ray["lines"] - ray["lines_before_steady"]) / (ray["seconds"] - ray["first_record_s"])
    return {
        "lines": LINES,
        "stub_latency_s": LATENCY,
        "concurrency": CONCURRENCY,
        "local_lines_per_s": round(local_rate, 1),
        "ray_lines_per_s": round(steady, 1),
        "ray_vs_local": round(steady / local_rate, 3),
        "ray_start_s": round(ray["first_record_s"], 1),
        "ray_vs_local_with_start": round(ray["lines"] / ray["seconds"] / local_rate, 3),
        "errors": local["errors"] + ray["errors"],
    }
