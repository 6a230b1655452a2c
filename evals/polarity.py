"""`interviewer eval polarity`: the reader on pairs from writers and traps it never saw.

Every figure is given per cell (seen or unseen writer × seen or unseen trap, and the general
statements tied to no trap); the cell that counts is unseen-writer/unseen-trap. Beside accuracy:
how often a rejection is read as an assertion, how often a terse correct passage is credited, and
the reader's precision as a red-flag detector (claim pairs it reads as asserted).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evals.polarity_data import CELLS, DEFAULT_DIR, Pair, by_cell, load, load_disputes, with_some_neither
from evals.relabel import disagreement
from service.catalog import Catalog
from service.grading.entailment import LABELS

Method = Callable[[list[Pair]], Sequence[str]]


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


def _share(hits: list[bool]) -> float | None:
    return round(sum(hits) / len(hits), 4) if hits else None


def report(pairs: list[Pair], pred: Sequence[str]) -> dict[str, Any]:
    """The confusion report, plus the readings that decide grades. `accuracy` counts every pair in the cell
    (labelled pairs and a few left-out "neither" pairs per passage); `labelled_accuracy` only the pairs a
    writer labelled, the harder figure."""
    out = confusion_report([p.label for p in pairs], pred)
    out["labelled_accuracy"] = _share([p.label == q for p, q in zip(pairs, pred, strict=True) if p.explicit])
    both = list(zip(pairs, pred, strict=True))
    out["rejections_read_as_assertions"] = _share([q == "entails" for p, q in both if p.label == "contradicts"])
    out["terse_credited"] = _share([q == "entails" for p, q in both if p.kind == "terse" and p.label == "entails"])
    out["flag_precision"] = _share([p.label == "entails" for p, q in both if p.is_claim and q == "entails"])
    out["flag_recall"] = _share([q == "entails" for p, q in both if p.is_claim and p.label == "entails"])
    by_kind: dict[str, list[bool]] = {}
    for p, q in both:
        if p.explicit:
            by_kind.setdefault(p.kind, []).append(p.label == q)
    out["accuracy_by_kind"] = {k: _share(v) for k, v in sorted(by_kind.items())}
    return out


def cross_encoder_method(pairs: list[Pair]) -> list[str]:
    from service.grading.entailment import cross_encoder, decide

    return decide(cross_encoder().probabilities([(p.statement, p.passage) for p in pairs]))


def run(
    catalog: Catalog,
    directory: Path = DEFAULT_DIR,
    *,
    methods: dict[str, Method] | None = None,
    disputes: Path | None = None,
) -> dict[str, Any]:
    """Each method on each held-out cell (pairs never trained on), and on candidates' settled disputes
    when a file of them is given; training pairs are only counted."""
    pairs, problems = load(catalog, directory)
    if disputes is not None:
        pairs += load_disputes(disputes)
    cells = by_cell(with_some_neither(pairs))
    methods = methods or {"cross-encoder": cross_encoder_method}
    results: dict[str, Any] = {}
    for name, fn in methods.items():
        results[name] = {cell: report(cells[cell], fn(cells[cell])) for cell in CELLS if cells.get(cell)}
    return {
        "pairs": len(pairs),
        "explicit_pairs": sum(p.explicit for p in pairs),
        "passages": len({p.passage_id for p in pairs}),
        "writers": dict(sorted(Counter(p.writer for p in pairs).items())),
        "cells": {cell: len(cells.get(cell, [])) for cell in ("train", *CELLS)},
        "problems": problems,
        "relabel": disagreement(pairs),
        "methods": results,
    }
