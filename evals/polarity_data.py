"""The reader's data: (statement, passage) pairs written by many writers, each in one voice.

`evals/reader/<writer>/` holds one writer's files, and no writer saw another's. Each line is a
passage a candidate might say, with its labels (entails / partial / contradicts / neither):
- in `<trap_id>.jsonl`, `labels` maps refs of that trap's statements to a label: `<criterion>/<point>`
  for a rubric point, `<flag>/<claim>` for a red flag's claim. Every statement of the trap the writer
  left out is "neither" (the writer checked each); those pairs are marked `explicit=False`.
- in `general.jsonl` (and in the `project` writer's files, written against the old long claims),
  `statements` lists `{text, label}`: statements tied to no rubric point.

Splits are by whole writers and whole traps, so the held-out cells measure voices and traps the
reader never saw. The writers and traps held out were drawn once, by seed (random.Random(29)), before
any data was read: two of `HELD_OUT_WRITERS` of the first ten voices, `HELD_OUT_TRAPS` of the 49 traps.
Writers added later are seen writers, except two written only to be held out (`forum-answer`,
`email-reply`, named here before they wrote a line), which doubled the unseen-writer cells: one pair
had been 1% of the counting cell's rejections. Compare readers with `interviewer eval polarity` on
the same data, never with figures from before a data change.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from service.catalog import Catalog
from service.config import ROOT
from service.disputes import WRITER as DISPUTE_WRITER
from service.errors import InvalidInputError
from service.grading.entailment import LABELS

DEFAULT_DIR = ROOT / "evals" / "reader"
HELD_OUT_WRITERS = frozenset({"socratic", "spoken-ramble", "forum-answer", "email-reply"})
HELD_OUT_TRAPS = frozenset(
    {"adl-17", "adl-18", "llm-27", "llm-31", "llm-34", "llm-42", "llm-45", "llm-48", "mlsd-31", "mlsd-32"}
)
VALIDATION_PERCENT = 15  # of seen writers' passages on seen traps: fits thresholds, never trained on
CELLS = (
    "seen-writer/seen-trap",
    "seen-writer/unseen-trap",
    "unseen-writer/seen-trap",
    "unseen-writer/unseen-trap",
    "seen-writer/general",
    "unseen-writer/general",
    "project",  # the first polarity set: one writer, the old multi-part claims; never trained on now
    "disputes",  # candidates' settled disputes (`interviewer disputes export`), when a file of them is given
)
FIRST_SET = "project"


@dataclass(frozen=True)
class Pair:
    writer: str
    trap_id: str | None  # None: a general statement, tied to no trap
    target: str  # "<criterion>/<point>", "<flag>/<claim>", or "" for a statement given as text
    statement: str
    passage: str
    label: str
    kind: str
    passage_id: str  # "<writer>/<file>:<line>": every pair of one passage shares it
    explicit: bool = True  # False: "neither" because the writer left the statement out
    is_claim: bool = False  # a red flag's claim (the trap's assertion), not a point to earn

    @property
    def cell(self) -> str:
        """Which split the pair belongs to: "train", or one of CELLS."""
        if self.writer == FIRST_SET:
            return FIRST_SET
        if self.writer == DISPUTE_WRITER:
            return "disputes"
        writer = "unseen-writer" if self.writer in HELD_OUT_WRITERS else "seen-writer"
        trap = "general" if self.trap_id is None else "unseen-trap" if self.trap_id in HELD_OUT_TRAPS else "seen-trap"
        if writer == "seen-writer" and trap != "unseen-trap" and _bucket(self.passage_id) >= VALIDATION_PERCENT:
            return "train"
        return f"{writer}/{trap}"


def _bucket(passage_id: str) -> int:
    return int(hashlib.sha256(passage_id.encode()).hexdigest()[:8], 16) % 100


def statements(catalog: Catalog, trap_id: str) -> dict[str, tuple[str, bool]]:
    """A trap's statements by ref: each point and each flag claim, with whether it is a claim."""
    rubric = catalog.get(trap_id).rubric
    out = {f"{c.id}/{p.id}": (p.text, False) for c in rubric.criteria for p in c.points}
    out |= {f"{f.id}/{cl.id}": (cl.text, True) for f in rubric.red_flags for cl in f.claims}
    return out


def _label(value: object, where: str) -> str:
    if value not in LABELS:
        raise InvalidInputError(f"{where}: label '{value}' is not one of {', '.join(LABELS)}")
    return str(value)


def _passage_pairs(
    row: dict[str, object], writer: str, trap_id: str | None, where: str, known: dict[str, tuple[str, bool]]
) -> tuple[list[Pair], list[str]]:
    """One line's pairs, and the refs it names that the rubric does not hold (reported, not fatal:
    a rubric point renamed after the writing loses its labels, nothing else)."""
    passage, kind = str(row["passage"]), str(row.get("kind", "unknown"))
    pairs: list[Pair] = []
    unknown: list[str] = []
    if "statements" in row:
        for s in row["statements"]:  # type: ignore[attr-defined]
            pairs.append(
                Pair(
                    writer,
                    trap_id,
                    "",
                    str(s["text"]),
                    passage,
                    _label(s["label"], where),
                    kind,
                    where,
                    is_claim=bool(s.get("claim", False)),
                )
            )
        return pairs, unknown
    labels = dict(row.get("labels") or {})  # type: ignore[call-overload]
    for ref in labels:
        if ref not in known:
            unknown.append(f"{where}: unknown statement '{ref}'")
    for ref, (text, is_claim) in known.items():
        given = labels.get(ref)
        label = _label(given, where) if given is not None else "neither"
        pairs.append(Pair(writer, trap_id, ref, text, passage, label, kind, where, given is not None, is_claim))
    return pairs, unknown


def load(catalog: Catalog, directory: Path = DEFAULT_DIR) -> tuple[list[Pair], list[str]]:
    """Every pair of every writer, and the problems worth reporting (unknown refs). A malformed line is a
    clear error naming its file and line."""
    writers = sorted(p for p in directory.iterdir() if p.is_dir()) if directory.is_dir() else []
    if not writers:
        raise InvalidInputError(f"{directory}: no writer folders with *.jsonl files found")
    pairs: list[Pair] = []
    problems: list[str] = []
    for folder in writers:
        for path in sorted(folder.glob("*.jsonl")):
            trap_id = None if path.stem == "general" else path.stem
            known = statements(catalog, trap_id) if trap_id and trap_id in catalog else {}
            if trap_id and trap_id not in catalog:
                problems.append(f"{path}: no trap '{trap_id}' in the catalog; skipped")
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
                if not line.strip():
                    continue
                where = f"{folder.name}/{path.name}:{n}"
                try:
                    row = json.loads(line)
                    got, unknown = _passage_pairs(row, folder.name, trap_id, where, known)
                except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                    raise InvalidInputError(f"{path}:{n + 1}: not a reader line ({exc})") from exc
                pairs += got
                problems += unknown
    return pairs, problems


def load_disputes(path: Path) -> list[Pair]:
    """The pairs of an exported disputes file: writer "dispute", a cell of their own (never a held-out cell)."""
    pairs: list[Pair] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{path}: cannot read the disputes file ({exc})") from exc
    for n, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            where = f"{DISPUTE_WRITER}/{row['dispute']}"
            got, _ = _passage_pairs(row, DISPUTE_WRITER, row.get("trap_id"), where, {})
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInputError(f"{path}:{n + 1}: not an exported dispute ({exc})") from exc
        pairs += got
    return pairs


NEITHER_PER_PASSAGE = 3  # of the statements a writer left out of a passage ("neither"), kept per passage


def with_some_neither(pairs: Iterable[Pair], per_passage: int = NEITHER_PER_PASSAGE, seed: int = 13) -> list[Pair]:
    """Every labelled pair, and a few of each passage's statements the writer left out ("neither"): those
    outnumber the labelled ones about six to one and are mostly easy, so all of them would drown the
    figures (and the training) in the easiest case."""
    rng = random.Random(seed)
    out: list[Pair] = []
    left_out: dict[str, list[Pair]] = {}
    for p in pairs:
        if p.explicit:
            out.append(p)
        else:
            left_out.setdefault(p.passage_id, []).append(p)
    for group in left_out.values():
        out += rng.sample(group, min(per_passage, len(group)))
    return out


def by_cell(pairs: Iterable[Pair]) -> dict[str, list[Pair]]:
    out: dict[str, list[Pair]] = {}
    for p in pairs:
        out.setdefault(p.cell, []).append(p)
    return out
