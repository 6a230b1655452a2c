"""Grading eval on the gold set: Spearman, band accuracy, trap detection, injection, test-retest."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scipy.stats import spearmanr

from evals import EVALS_DIR
from evals.common import read_jsonl
from evals.polarity_data import HELD_OUT_TRAPS
from service.catalog import Catalog
from service.errors import InterviewerError
from service.grading.grader import Grader
from service.grading.subject import Subject

DEFAULT_GOLD = EVALS_DIR / "gold" / "answers.jsonl"
FIELDS = ("trap_id", "answer", "band", "fell_into_trap")


def load_gold(path: Path, catalog: Catalog, trap_ids: set[str] | None = None) -> list[dict[str, Any]]:
    rows = []
    for r in read_jsonl(path, FIELDS):
        catalog.get(r["trap_id"])  # an unknown id stops the eval with the nearest ids
        if trap_ids is None or r["trap_id"] in trap_ids:
            rows.append(r)
    return rows


def metrics(rows: list[dict[str, Any]], scores: list[int], flagged: list[bool]) -> dict[str, Any]:
    """The figures for one mode; rows and predictions are aligned by position."""
    mids = [(r["band"][0] + r["band"][1]) / 2 for r in rows]
    in_band = [r["band"][0] <= s <= r["band"][1] for r, s in zip(rows, scores, strict=True)]
    tp = sum(f and r["fell_into_trap"] for r, f in zip(rows, flagged, strict=True))
    fp = sum(f and not r["fell_into_trap"] for r, f in zip(rows, flagged, strict=True))
    fn = sum(r["fell_into_trap"] and not f for r, f in zip(rows, flagged, strict=True))
    inj = [s <= r["band"][1] for r, s in zip(rows, scores, strict=True) if r.get("kind") == "injection"]
    by_kind: dict[str, list[int]] = defaultdict(list)
    for r, s in zip(rows, scores, strict=True):
        by_kind[r.get("kind", "-")].append(s)
    rho = spearmanr(scores, mids).statistic if len(set(scores)) > 1 else 0.0
    return {
        "answers": len(rows),
        "spearman": round(float(rho), 4),
        "band_accuracy": round(sum(in_band) / max(len(rows), 1), 4),
        "trap_precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "trap_recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
        "injection_robustness": round(sum(inj) / len(inj), 4) if inj else None,
        "mean_score_by_kind": {k: round(sum(v) / len(v), 1) for k, v in sorted(by_kind.items())},
    }


def _partial_band(graded: list[tuple[dict[str, Any], Any]]) -> float:
    """Band accuracy on the answers that are right as far as they go: where similarity did worst."""
    sel = [(r, g) for r, g in graded if r.get("kind") in ("partial", "short")]
    return metrics([r for r, _ in sel], [g.score for _, g in sel], [False] * len(sel))["band_accuracy"]


async def _grade_all(
    grader: Grader, catalog: Catalog, rows: list[dict[str, Any]], progress: Callable[[], None] | None
) -> list[Any]:
    sem = asyncio.Semaphore(max(1, grader.settings.concurrency))

    async def one(r: dict[str, Any]) -> Any:
        async with sem:
            try:
                return await grader.agrade(Subject.from_trap(catalog.get(r["trap_id"])), r["answer"])
            except InterviewerError as exc:
                return exc
            finally:
                if progress:
                    progress()

    return await asyncio.gather(*(one(r) for r in rows))


def run(
    grader: Grader,
    retest_grader: Grader | None,
    catalog: Catalog,
    gold: Path = DEFAULT_GOLD,
    trap_ids: set[str] | None = None,
    progress: Callable[[], None] | None = None,
) -> dict[str, Any]:
    rows = load_gold(gold, catalog, trap_ids)
    grades = asyncio.run(_grade_all(grader, catalog, rows, progress))
    errors = [
        {"id": r.get("id"), "error": str(g)} for r, g in zip(rows, grades, strict=True) if isinstance(g, Exception)
    ]
    ok = [(r, g) for r, g in zip(rows, grades, strict=True) if not isinstance(g, Exception)]
    result = metrics([r for r, _ in ok], [g.score for _, g in ok], [g.fell_into_trap for _, g in ok])
    held = [(r, g) for r, g in ok if r["trap_id"] in HELD_OUT_TRAPS]
    result["held_out"] = metrics([r for r, _ in held], [g.score for _, g in held], [g.fell_into_trap for _, g in held])
    for part in (result, result["held_out"]):
        part["band_accuracy_partial"] = _partial_band(ok if part is result else held)
    result.update(mode=grader.mode, model=grader.info.model, file=str(gold), errors=errors)
    if retest_grader is not None:  # a second, uncached pass: does the same input give the same grade?
        again = asyncio.run(_grade_all(retest_grader, catalog, [r for r, _ in ok], None))
        same = sum(not isinstance(b, Exception) and a.score == b.score for (_, a), b in zip(ok, again, strict=True))
        result["test_retest"] = round(same / max(len(ok), 1), 4)
    return result
