"""Semantic grading cost per answer (warm): the checklist (the reader) beside the similarity rule.

Targets for the checklist (the reader issue): p50 at most 300 ms, p99 at most 800 ms an answer.
"""

from __future__ import annotations

import json
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from evals.benchmarks.stats import percentile, time_ms
from evals.grading import DEFAULT_GOLD
from service.config import Settings
from service.grading.factory import make_grader
from service.grading.subject import Subject
from service.runtime import Runtime


def run(n: int = 120) -> dict[str, Any]:
    rows = [json.loads(line) for line in DEFAULT_GOLD.read_text(encoding="utf-8").splitlines()][:n]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), mode="semantic")
        catalog = Runtime.build(settings).catalog
        subjects = {r["trap_id"]: Subject.from_trap(catalog.get(r["trap_id"])) for r in rows}
        lat: dict[str, list[float]] = {}
        # Later passes find the answers' sentences in the embedder's memo: the similarity pass (last) is
        # the rule without the cross-encoder and without embedding the answer.
        for decider in ("checklist", "similarity"):
            grader = make_grader(settings=settings, mode="semantic", use_cache=False, decider=decider)  # type: ignore[arg-type]
            for subject in subjects.values():  # warm: card targets embedded once per trap, as in a running service
                grader.grade(subject, "A warm-up answer that is not one of the timed ones.")
            lat[decider] = [time_ms(partial(grader.grade, subjects[r["trap_id"]], r["answer"]), 1)[0] for r in rows]
        cached = make_grader(settings=settings, mode="semantic")
        for r in rows:
            cached.grade(subjects[r["trap_id"]], r["answer"])
        hit = [time_ms(partial(cached.grade, subjects[r["trap_id"]], r["answer"]), 1)[0] for r in rows]
    words = sum(len(r["answer"].split()) for r in rows) / len(rows)
    return {
        "answers": len(rows),
        "mean_words": round(words, 1),
        **{f"{d}_{q}_ms": round(percentile(v, int(q[1:])), 2) for d, v in lat.items() for q in ("p50", "p99")},
        "cache_hit_p50_ms": round(percentile(hit, 50), 3),
    }
