"""A second reading of each writer's labels: a different person re-labels a random 5% of their passages.

`sample` writes, per writer, the passages to re-label with their statements and no labels
(evals/reader/relabel/<writer>.todo.jsonl); the re-labeller answers in <writer>.jsonl, one line a
passage: {"passage_id": ..., "labels": {<ref or statement text>: label}}, every statement labelled.
`disagreement` compares the two readings pair by pair; a writer over 5% has their pairs fixed.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from evals.polarity_data import DEFAULT_DIR, Pair

RELABEL_DIR = DEFAULT_DIR.parent / "relabel"
SHARE = 0.05
LIMIT = 0.05  # disagreement above which a writer's pairs are fixed


def _key(p: Pair) -> str:
    return p.target or p.statement


def _by_passage(pairs: list[Pair]) -> dict[str, list[Pair]]:
    out: dict[str, list[Pair]] = defaultdict(list)
    for p in pairs:
        out[p.passage_id].append(p)
    return out


def sample(pairs: list[Pair], out: Path = RELABEL_DIR, share: float = SHARE, seed: int = 29) -> dict[str, int]:
    """A seeded 5% of each writer's passages, written without their labels; how many per writer."""
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    by_writer: dict[str, dict[str, list[Pair]]] = defaultdict(dict)
    for pid, group in _by_passage(pairs).items():
        by_writer[group[0].writer][pid] = group
    for writer, passages in sorted(by_writer.items()):
        ids = sorted(passages)
        chosen = sorted(random.Random(f"{seed}:{writer}").sample(ids, max(1, round(share * len(ids)))))
        lines = []
        for pid in chosen:
            group = passages[pid]
            lines.append(
                {
                    "passage_id": pid,
                    "trap_id": group[0].trap_id,
                    "passage": group[0].passage,
                    "statements": [{"ref": _key(p), "text": p.statement} for p in group],
                }
            )
        (out / f"{writer}.todo.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines))
        counts[writer] = len(lines)
    return counts


def disagreement(pairs: list[Pair], directory: Path = RELABEL_DIR) -> dict[str, Any]:
    """Per writer: pairs re-labelled, the share read differently, and the commonest differences."""
    index = {(p.passage_id, _key(p)): p for p in pairs}
    result: dict[str, Any] = {}
    for path in sorted(directory.glob("*.jsonl")):
        if path.name.endswith(".todo.jsonl"):
            continue
        seen = differ = labelled = labelled_differ = 0
        kinds: dict[str, int] = defaultdict(int)
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            for ref, label in row["labels"].items():
                p = index.get((row["passage_id"], ref))
                if p is None:
                    continue
                seen += 1
                if p.label != "neither" or label != "neither":
                    labelled += 1
                    labelled_differ += p.label != label
                if p.label != label:
                    differ += 1
                    kinds[f"{p.label}->{label}"] += 1
        result[path.stem] = {
            "pairs": seen,
            "disagreement": round(differ / seen, 4) if seen else None,
            "over_limit": bool(seen and differ / seen > LIMIT),
            # Among pairs either reading took a stand on: the stricter figure (most pairs are "neither" to both).
            "labelled_disagreement": round(labelled_differ / labelled, 4) if labelled else None,
            "differences": dict(sorted(kinds.items(), key=lambda kv: -kv[1])[:5]),
        }
    return result
