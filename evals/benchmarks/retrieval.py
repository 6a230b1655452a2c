"""Index build time, warm query latency, and cold start to the first answered query."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evals.benchmarks.stats import percentile, time_ms
from service.catalog import Catalog
from service.config import Settings
from service.index import TrapIndex

QUERIES = [
    "quiz me on GPU memory",
    "my fraud model has too many false positives",
    "speculative decoding gives no speedup",
    "why does fp16 training diverge",
    "uniform sample from an endless stream",
    "MoE routing collapses",
]
_COLD = """
import time, json; t0 = time.perf_counter()
from service.config import Settings
from service.runtime import Runtime
s = Settings(data_dir={data_dir!r})
hits = Runtime.build(s).index.search("how much memory does Adam need for a 7B model", k=3)
print(json.dumps({{"seconds": time.perf_counter() - t0, "top": hits[0].trap_id}}))
"""


def run(repeat: int = 200) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        catalog = Catalog.load(settings.seeds_dir, settings.rubrics_dir)
        index = TrapIndex(catalog, settings)
        from service.embeddings import embed

        embed(["warm the model up"])  # load time belongs to cold start, not to the build
        start = time.perf_counter()
        chunks = index.build()
        build_s = time.perf_counter() - start
        for q in QUERIES:
            index.search(q)
        lat = time_ms(lambda: [index.search(q) for q in QUERIES], repeat // len(QUERIES) + 1)
        per_query = [x / len(QUERIES) for x in lat]
        env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", ANONYMIZED_TELEMETRY="False")
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", _COLD.format(data_dir=tmp)], capture_output=True, text=True, env=env, check=True
        )
        cold_wall = time.perf_counter() - t0
        cold = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "cards": len(catalog),
        "chunks": chunks,
        "index_build_s": round(build_s, 3),
        "query_p50_ms": round(percentile(per_query, 50), 2),
        "query_p99_ms": round(percentile(per_query, 99), 2),
        "cold_start_to_first_query_s": round(cold_wall, 2),
        "cold_start_in_process_s": round(cold["seconds"], 2),
    }
