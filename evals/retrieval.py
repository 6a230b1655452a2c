"""Retrieval eval: top-1, top-3 and MRR of paraphrased queries, for each retrieval method."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

from evals import EVALS_DIR
from evals.common import read_jsonl
from service.errors import UnknownTrapError
from service.index import Method, TrapIndex

DEFAULT_QUERIES = EVALS_DIR / "retrieval" / "queries.jsonl"


def run(index: TrapIndex, queries: Path = DEFAULT_QUERIES) -> dict[str, Any]:
    """Figures per method, plus the queries the default (hybrid) method ranks wrong."""
    rows = list(read_jsonl(queries, ("query", "trap_id")))
    for r in rows:
        if r["trap_id"] not in index.catalog:
            raise UnknownTrapError(r["trap_id"], index.catalog.nearest(r["trap_id"]))
    out: dict[str, Any] = {"queries": len(rows), "file": str(queries), "methods": {}}
    for method in get_args(Method):
        top1 = top3 = rr = 0.0
        misses = []
        for r in rows:
            ranked = [h.trap_id for h in index.search(r["query"], k=len(index.catalog), method=method)]
            rank = ranked.index(r["trap_id"]) + 1 if r["trap_id"] in ranked else None
            top1 += rank == 1
            top3 += rank is not None and rank <= 3
            rr += 1 / rank if rank else 0.0
            if method == "hybrid" and rank != 1:
                misses.append({"query": r["query"], "expected": r["trap_id"], "got": ranked[:3]})
        n = max(len(rows), 1)
        out["methods"][method] = {"top1": round(top1 / n, 4), "top3": round(top3 / n, 4), "mrr": round(rr / n, 4)}
        if method == "hybrid":
            out["misses"] = misses
    return out
