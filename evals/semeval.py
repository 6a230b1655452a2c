"""SemEval-2013 Task 7 (training split), 2-way: graded through the reference-answer path.

Each question's first BEST reference answer is the reference; a grade at or above the pass mark
predicts "correct". Questions are split by position: even-indexed fit the reference-path
thresholds, odd-indexed are the held-out figures.
"""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.config import ROOT
from service.errors import InvalidInputError

DEFAULT_DIR = ROOT.parent / "shared" / "datasets" / "semeval2013-train"


@dataclass(frozen=True)
class Item:
    qid: str
    corpus: str
    question: str
    reference: str
    answer: str
    correct: bool
    fold: int  # 0 = fit, 1 = held out
    label: str  # the 3-way label: correct, contradictory or incorrect


def load(directory: Path = DEFAULT_DIR) -> list[Item]:
    if not directory.exists():
        raise InvalidInputError(f"{directory}: SemEval data not found; pass --data DIR")
    items: list[Item] = []
    files = sorted(directory.glob("*/*.xml"))
    for n, path in enumerate(files):
        root = ET.parse(path).getroot()
        refs = root.findall("./referenceAnswers/referenceAnswer")
        best = [r for r in refs if r.get("category") == "BEST"] or refs
        if not best:
            continue
        question = (root.findtext("questionText") or "").strip()
        for sa in root.findall("./studentAnswers/studentAnswer"):
            text = (sa.text or "").strip()
            if text:
                items.append(
                    Item(
                        root.get("id", path.stem),
                        path.parent.name,
                        question,
                        (best[0].text or "").strip(),
                        text,
                        sa.get("accuracy") == "correct",
                        n % 2,
                        sa.get("accuracy", "incorrect"),
                    )
                )
    return items


def sample(items: list[Item], n: int, seed: int = 13) -> list[Item]:
    """A reproducible, label-balanced sample of held-out items (for the recorded LLM run)."""
    held = [i for i in items if i.fold == 1]
    rng = random.Random(seed)
    pos = rng.sample([i for i in held if i.correct], n // 2)
    neg = rng.sample([i for i in held if not i.correct], n - n // 2)
    return sorted(pos + neg, key=lambda i: (i.qid, i.answer))


def f1_report(gold: list[bool], pred: list[bool]) -> dict[str, Any]:
    def f1(label: bool) -> float:
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    n = max(len(gold), 1)
    pos = sum(gold) / n
    return {
        "answers": len(gold),
        "macro_f1": round((f1(True) + f1(False)) / 2, 4),
        "weighted_f1": round(pos * f1(True) + (1 - pos) * f1(False), 4),
        "accuracy": round(sum(g == p for g, p in zip(gold, pred, strict=True)) / n, 4),
    }
