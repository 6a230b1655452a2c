"""The polarity set: labelled (statement, passage) pairs written from every trap's rubric.

One file per trap in evals/polarity/. Each line pairs a criterion's claim or a red flag's statement
with a passage a candidate might say, labelled entails / partial / contradicts / neither, and the
kind of passage it is (a plain assertion, a paraphrase, a rejection, a concession, ...). Odd-numbered
traps train the entailment model, as they fit the grader's thresholds; even-numbered traps are the
held-out figures, so neither the model nor the thresholds have seen them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from service.config import ROOT
from service.errors import InvalidInputError
from service.grading.entailment import LABELS

DEFAULT_DIR = ROOT / "evals" / "polarity"


@dataclass(frozen=True)
class Pair:
    trap_id: str
    target: str  # "criterion:<id>" or "flag:<id>"
    statement: str
    passage: str
    label: str
    kind: str

    @property
    def is_flag(self) -> bool:
        return self.target.startswith("flag:")


def is_training_trap(trap_id: str) -> bool:
    """The usual half: odd-numbered traps fit and train, even-numbered traps are held out."""
    return int(trap_id.rsplit("-", 1)[1]) % 2 == 1


def load(directory: Path = DEFAULT_DIR) -> list[Pair]:
    """Every pair, with a clear error naming the file and line of a malformed one."""
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise InvalidInputError(f"{directory}: no polarity files (*.jsonl) found")
    pairs = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                pair = Pair(**{k: row[k] for k in ("trap_id", "target", "statement", "passage", "label", "kind")})
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise InvalidInputError(f"{path}:{n}: not a polarity pair ({exc})") from exc
            if pair.label not in LABELS:
                raise InvalidInputError(f"{path}:{n}: label '{pair.label}' is not one of {', '.join(LABELS)}")
            pairs.append(pair)
    return pairs
