"""Fit the semantic thresholds on gold answers of half the traps; report both halves honestly.

Odd-numbered traps fit, even-numbered traps test. The fitted thresholds are written to
service/grading/calibration.json with the figures of both halves beside them.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from evals.grading import DEFAULT_GOLD, load_gold, metrics
from service.catalog import Catalog
from service.grading import semantic
from service.grading.models import CriterionScore
from service.grading.scoring import final_score, guarded
from service.grading.subject import Subject


def _score(subject: Subject, d: semantic.Decision, th: semantic.Thresholds) -> int:
    """The score a decision earns, computed as the grader computes it (levels, caps, guard)."""
    crit = [
        CriterionScore(id=c.id, score=lv, evidence=None, rationale="")
        for c, lv in zip(subject.rubric.criteria, d.levels, strict=True)
    ]
    return guarded(final_score(subject.rubric, crit, d.flags), d.guard, th.guard_cap, subject.rubric.pass_mark)


def _predict(items: list[tuple[Subject, semantic.Evidence]], th: semantic.Thresholds) -> tuple[list[int], list[bool]]:
    scores, flagged = [], []
    for subject, ev in items:
        d = semantic.decide(subject, ev, th)
        scores.append(_score(subject, d, th))
        flagged.append(bool(d.flags))
    return scores, flagged


def _objective(m: dict[str, Any]) -> float:
    recall, precision = m["trap_recall"], m["trap_precision"]
    f1 = 2 * recall * precision / (recall + precision) if recall + precision else 0.0
    return m["band_accuracy"] + 0.5 * max(m["spearman"], 0) + 0.5 * f1 + (m["injection_robustness"] or 0)


def fit(catalog: Catalog, gold: Path = DEFAULT_GOLD) -> dict[str, Any]:
    base = semantic.Thresholds()
    rows = load_gold(gold, catalog)
    items = [(Subject.from_trap(catalog.get(r["trap_id"])), r) for r in rows]
    analysed = [(s, semantic.analyse(s, r["answer"], base)) for s, r in items]
    split = [int(r["trap_id"].split("-")[1]) % 2 == 1 for r in rows]
    fit_rows = [r for r, f in zip(rows, split, strict=True) if f]
    fit_items = [a for a, f in zip(analysed, split, strict=True) if f]

    def score(th: semantic.Thresholds) -> float:
        return _objective(metrics(fit_rows, *_predict(fit_items, th)))

    best = base
    # Coordinate search: levels first (flags off) with how they are normalised, then flags, then the
    # relevance guard. floor_weight None compares raw cosines; a number, the cosine's place between
    # the card's trap (x the weight) and its model answer.
    off = best.model_copy(update={"flag": 2.0})
    candidates = []
    for fw in (None, 0.0, 0.25, 0.5, 0.75, 1.0):
        lo, hi, step = (0.25, 0.80, 0.02) if fw is None else (0.10, 1.20, 0.04)
        grid = [(f, p) for f, p in itertools.product(np.arange(lo, hi, step), repeat=2) if p < f - 0.03]
        f, p = max(
            grid, key=lambda fp: score(off.model_copy(update={"full": fp[0], "partial": fp[1], "floor_weight": fw}))
        )
        th = best.model_copy(update={"full": round(float(f), 2), "partial": round(float(p), 2), "floor_weight": fw})
        candidates.append((score(th.model_copy(update={"flag": 2.0})), th))
    best = max(candidates, key=lambda c: c[0])[1]
    grid_flags = list(itertools.product(np.arange(0.40, 0.90, 0.02), np.arange(-0.20, 0.21, 0.04)))
    fl, mg = max(grid_flags, key=lambda fm: score(best.model_copy(update={"flag": fm[0], "flag_margin": fm[1]})))
    best = best.model_copy(update={"flag": round(float(fl), 2), "flag_margin": round(float(mg), 2)})
    rel = max(np.arange(0.10, 0.60, 0.02), key=lambda r: score(best.model_copy(update={"relevant": r})))
    best = best.model_copy(update={"relevant": round(float(rel), 2)})

    out: dict[str, Any] = {"thresholds": best.model_dump(), "gold": str(gold.name)}
    out["trap_recall_tradeoff"] = _recall_tradeoff(rows, analysed, best, grid_flags)
    for name, keep in (("fit_odd_traps", True), ("test_even_traps", False)):
        sel_rows = [r for r, s in zip(rows, split, strict=True) if s == keep]
        sel = [a for a, s in zip(analysed, split, strict=True) if s == keep]
        out[name] = metrics(sel_rows, *_predict(sel, best))
    return out


def _recall_tradeoff(
    rows: list[dict[str, Any]],
    analysed: list[tuple[Subject, semantic.Evidence]],
    best: semantic.Thresholds,
    grid: list[tuple[float, float]],
) -> list[dict[str, Any]]:
    """What a looser flag threshold would cost, on every gold answer: for each recall worth asking for,
    the most precise flag threshold and margin that reach it, and whom its false flags land on.

    Not a fit (the fitted thresholds above balance recall against precision); it shows why recall is
    not simply turned up: similarity flags answers that name the trap to reject it.
    """
    points = []
    for flag, margin in grid:
        th = best.model_copy(update={"flag": round(float(flag), 2), "flag_margin": round(float(margin), 2)})
        scores, flagged = _predict(analysed, th)
        points.append((th, metrics(rows, scores, flagged), flagged))
    out = []
    for goal in (0.85, 0.90, 0.95):
        reaching = [p for p in points if p[1]["trap_recall"] >= goal]
        if not reaching:
            continue
        th, m, flagged = max(reaching, key=lambda p: (p[1]["trap_precision"], p[1]["band_accuracy"]))
        wrong = Counter(r["kind"] for r, f in zip(rows, flagged, strict=True) if f and not r["fell_into_trap"])
        out.append(
            {
                "recall_at_least": goal,
                "flag": th.flag,
                "flag_margin": th.flag_margin,
                **{k: m[k] for k in ("trap_recall", "trap_precision", "band_accuracy", "spearman")},
                "false_flags_by_kind": dict(sorted(wrong.items())),
            }
        )
    return out


def write(result: dict[str, Any], path: Path = semantic.CALIBRATION_PATH) -> None:
    path.write_text(json.dumps(result, indent=2) + "\n")
    semantic.thresholds.cache_clear()


def fit_reference(items: list[Any]) -> dict[str, Any]:
    """Reference-path thresholds fitted on SemEval fold 0 (2-way macro-F1), reported on fold 1."""
    from evals.semeval import f1_report
    from service.grading.reference import claims_rubric

    subjects: dict[tuple[str, str], Subject] = {}
    analysed = []
    base = semantic.Thresholds()
    for it in items:
        key = (it.question, it.reference)
        if key not in subjects:
            subjects[key] = Subject.from_reference(it.question, it.reference, claims_rubric(it.reference))
        analysed.append((subjects[key], semantic.analyse(subjects[key], it.answer, base)))

    def predict(sel: list[int], th: semantic.Thresholds) -> list[bool]:
        scores, _ = _predict([analysed[i] for i in sel], th)
        pass_marks = [analysed[i][0].rubric.pass_mark for i in sel]
        return [s >= p for s, p in zip(scores, pass_marks, strict=True)]

    fold = {k: [i for i, it in enumerate(items) if it.fold == k] for k in (0, 1)}
    gold = {k: [items[i].correct for i in fold[k]] for k in (0, 1)}

    def f1(th: semantic.Thresholds) -> float:
        return float(f1_report(gold[0], predict(fold[0], th))["macro_f1"])

    no_flags = base.model_copy(update={"flag": 2.0})

    def at(w: float, f: float, p: float) -> semantic.Thresholds:
        update = {"word_weight": round(float(w), 2), "full": round(float(f), 2), "partial": round(float(p), 2)}
        return no_flags.model_copy(update=update)

    # Word weight and "full" together first ("partial" one step below), then "partial" for that pair:
    # it only matters for references of several claims, where partial credit can add up to a pass.
    pairs = itertools.product(np.arange(0.0, 1.51, 0.1), np.arange(0.30, 1.80, 0.02))
    w, f = max(pairs, key=lambda wf: f1(at(wf[0], wf[1], wf[1] - 0.1)))
    p = max(np.arange(0.20, f - 0.03, 0.04), key=lambda p: f1(at(w, f, p)))
    best = at(w, f, p)
    rel = max(np.arange(0.0, 0.50, 0.05), key=lambda r: f1(best.model_copy(update={"relevant": r})))
    best = best.model_copy(update={"relevant": round(float(rel), 2)})
    return {
        "reference_thresholds": best.model_dump(),
        "semeval_fit_fold0": f1_report(gold[0], predict(fold[0], best)),
        "semeval_test_fold1": f1_report(gold[1], predict(fold[1], best)),
    }
