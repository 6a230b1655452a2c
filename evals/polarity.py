"""`interviewer eval polarity`: each decision method on the held-out traps' polarity pairs.

Methods: the shipped cross-encoder; the old grader's cosine rule (a pair is "entails" when the
statement and passage vectors are as close as the fitted thresholds ask; it has no "contradicts");
and, with --llm, a model asked the same per-pair question the LLM grader asks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evals.polarity_data import DEFAULT_DIR, Pair, is_training_trap, load
from service.grading.entailment import LABELS


def confusion_report(gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-class precision / recall / F1, macro-F1 over the classes present, and the matrix."""
    n = len(gold)
    present = [label for label in LABELS if label in gold]
    per_class = {}
    for label in present:
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per_class[label] = {"precision": round(prec, 4), "recall": round(rec, 4), "f1": round(f1, 4)}
    counts = Counter(zip(gold, pred, strict=True))
    return {
        "n": n,
        "accuracy": round(sum(g == p for g, p in zip(gold, pred, strict=True)) / max(n, 1), 4),
        "macro_f1": round(float(np.mean([c["f1"] for c in per_class.values()])) if per_class else 0.0, 4),
        "per_class": per_class,
        "confusion": {g: {p: counts[(g, p)] for p in LABELS} for g in present},
    }


def _report(all_pairs: list[Pair], all_pred: Sequence[str | None]) -> dict[str, Any]:
    """The confusion report, plus the measure that matters most for red flags: how often a passage
    that rejects the trap is read as asserting it. A method that sampled reports its sample (None = not asked)."""
    kept = [(p, q) for p, q in zip(all_pairs, all_pred, strict=True) if q is not None]
    pairs, pred = [p for p, _ in kept], [q for _, q in kept]
    out = confusion_report([p.label for p in pairs], pred)
    rejections = [i for i, p in enumerate(pairs) if p.is_flag and p.label == "contradicts"]
    flagged = sum(pred[i] == "entails" for i in rejections)
    out["rejections_read_as_assertions"] = round(flagged / len(rejections), 4) if rejections else None
    by_kind: dict[str, list[bool]] = {}
    for p, q in zip(pairs, pred, strict=True):
        by_kind.setdefault(p.kind, []).append(p.label == q)
    out["accuracy_by_kind"] = {k: round(sum(v) / len(v), 4) for k, v in sorted(by_kind.items())}
    return out


def cross_encoder_method(pairs: list[Pair]) -> list[str]:
    from service.grading.entailment import cross_encoder, decide

    return decide(cross_encoder().probabilities([(p.statement, p.passage) for p in pairs]))


def cosine_method(pairs: list[Pair]) -> list[str]:
    """The old rule, applied to one pair: the trap thresholds on the raw cosine."""
    from service.embeddings import embed
    from service.grading.semantic import thresholds

    th = thresholds("trap")
    sv = embed([p.statement for p in pairs])
    pv = embed([p.passage for p in pairs])
    cos = (sv * pv).sum(axis=1)
    out = []
    for p, c in zip(pairs, cos, strict=True):
        if p.is_flag:
            out.append("entails" if c >= th.flag else "neither")
        else:
            out.append("entails" if c >= th.full else "partial" if c >= th.partial else "neither")
    return out


METHODS: dict[str, Callable[[list[Pair]], Sequence[str | None]]] = {
    "cross-encoder": cross_encoder_method,
    "cosine (old)": cosine_method,
}


def run(
    directory: Path = DEFAULT_DIR,
    *,
    held_out_only: bool = True,
    extra: dict[str, Callable[[list[Pair]], Sequence[str | None]]] | None = None,
) -> dict[str, Any]:
    pairs = [p for p in load(directory) if not (held_out_only and is_training_trap(p.trap_id))]
    methods = {**METHODS, **(extra or {})}
    return {
        "pairs": len(pairs),
        "traps": len({p.trap_id for p in pairs}),
        "split": "held-out (even-numbered) traps" if held_out_only else "all traps",
        "methods": {name: _report(pairs, fn(pairs)) for name, fn in methods.items()},
    }


def llm_method(settings: Any, sample: int = 0) -> Callable[[list[Pair]], Sequence[str | None]]:
    """The LLM grader's per-decision question, asked of each pair: the passage stands as the answer
    to the trap's question, the statement as the point (criterion) or red flag."""
    import asyncio

    from service.grading.grader import judge_statement
    from service.llm.factory import make_llm
    from service.runtime import Runtime

    catalog = Runtime.build(settings).catalog

    async def ask(pairs: list[Pair], chosen: list[int]) -> list[str]:
        llm = make_llm(settings=settings, role="grade")
        out: list[str] = []
        for i in chosen:  # in order: the local server serves one request at a time anyway
            p = pairs[i]
            trap = catalog.get(p.trap_id)
            kind, target_id = p.target.split(":", 1)
            targets = trap.rubric.criteria if kind == "criterion" else trap.rubric.red_flags
            target = next(t for t in targets if t.id == target_id)
            out.append((await judge_statement(llm, settings, trap.card.question, p.passage, target)).decision)
        return out

    def method(pairs: list[Pair]) -> list[str | None]:
        chosen = balanced(pairs, sample) if sample else list(range(len(pairs)))
        out: list[str | None] = [None] * len(pairs)
        for i, decision in zip(chosen, asyncio.run(ask(pairs, chosen)), strict=True):
            out[i] = decision
        return out

    return method


def balanced(pairs: list[Pair], n: int, seed: int = 13) -> list[int]:
    """A reproducible sample of n pair indices, as even across the labels as the set allows."""
    import random

    rng = random.Random(seed)
    by_label = {label: [i for i, p in enumerate(pairs) if p.label == label] for label in LABELS}
    chosen: list[int] = []
    for k, label in enumerate(LABELS):
        want = (n - len(chosen)) // (len(LABELS) - k)
        chosen += rng.sample(by_label[label], min(want, len(by_label[label])))
    return sorted(chosen)
