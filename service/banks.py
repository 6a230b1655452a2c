"""Writing a bank of your own: a card scaffolded from a question and a reference answer, and a rubric
drafted from the card (see service/catalog.py for what a bank is).

`interviewer traps new` fills what a question and an answer give (the scenario, the model answer, a
title, a summary) and marks with TODO what only the author knows: the trap itself, the follow-ups,
the setting. `interviewer rubrics derive` drafts the rubric: with a model, its criteria and red
flags, anchors checked against the answer verbatim and weights repaired to 100; with none, one
criterion per group of the answer's claims. Either way the hints are the author's to write, and the
answer's hash is stamped. `interviewer traps check --bank DIR` refuses a bank with a TODO left.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from service.catalog import Card, Point, Rubric, answer_hash, bank_name, load_card, statement_problems
from service.checks import PLACEHOLDER
from service.config import Settings
from service.errors import InvalidInputError, UnknownTrapError
from service.grading.text import sentences

HINT = f"{PLACEHOLDER}: a pointer toward this point that does not state it (one sentence, not a question)."


def _dump(data: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")


def new_card(bank: Path, question: str, answer: str, series: str, title: str | None = None) -> Path:
    """Write traps/<series>-<n>.yaml (n the next free number) and return its path."""
    question, answer = " ".join(question.split()), answer.strip()
    if len(question) < 30:
        raise InvalidInputError("the question needs at least 30 characters: the scenario and what is asked")
    if not re.fullmatch(r"[a-z][a-z0-9]*", series):
        raise InvalidInputError(f"series '{series}' must be lowercase letters and digits, like db or sre")
    taken = [int(p.stem.rsplit("-", 1)[1]) for p in (bank / "traps").glob(f"{series}-*.yaml")]
    number = max(taken, default=0) + 1
    first = (sentences(question) or [question])[0]
    card = {
        "id": f"{series}-{number}",
        "series": series,
        "number": number,
        "title": title or " ".join(first.rstrip("?.").split()[:8]),
        "seed_summary": first if len(first) >= 20 else question[:200],
        "setting": f"{PLACEHOLDER}: where this is asked, e.g. a backend system design interview",
        "tags": [series],
        "difficulty": "hard",
        "question": question,
        "trap": f"{PLACEHOLDER}: the answer most candidates give first, and why it is wrong.",
        "correct_answer": answer,
        "follow_ups": [
            {
                "question": f"{PLACEHOLDER}: a follow-up that probes point {i} of the answer.",
                "good_answer": f"{PLACEHOLDER}: what a strong answer to it says.",
            }
            for i in (1, 2, 3)
        ],
    }
    path = bank / "traps" / f"{card['id']}.yaml"
    _dump(card, path)
    if not (bank / "bank.yaml").exists():
        _dump(
            {"name": re.sub(r"[^a-z0-9]+", "-", bank.resolve().name.lower()).strip("-") or "bank"}, bank / "bank.yaml"
        )
    return path


def locate(trap_id: str, settings: Settings, bank: Path | None = None) -> tuple[Path, Path]:
    """(card file, rubric file) for an id: `<bank>:<id>` in one of the settings' banks (or `bank`), or built-in."""
    name, _, local = trap_id.strip().lower().rpartition(":")
    if bank is not None:
        folders = {bank_name(bank): bank}
        name = name or bank_name(bank)
    else:
        folders = {bank_name(folder): folder for folder in settings.banks}
    if not name:
        return settings.seeds_dir / f"{local}.yaml", settings.rubrics_dir / f"{local}.yaml"
    if name not in folders:
        raise InvalidInputError(
            f"no bank named '{name}' (banks: {', '.join(folders) or 'none; set INTERVIEWER_BANKS'})"
        )
    card_path = folders[name] / "traps" / f"{local}.yaml"
    if not card_path.exists():
        known = sorted(p.stem for p in (folders[name] / "traps").glob("*.yaml"))
        raise UnknownTrapError(trap_id, [f"{name}:{k}" for k in known[:3]])
    return card_path, folders[name] / "rubrics" / f"{local}.yaml"


def write_rubric(card: Card, rubric: Rubric, path: Path) -> None:
    """The drafted rubric for the card: its local id, the answer's hash, and a hint placeholder per criterion."""
    data = rubric.model_dump(exclude_none=True)
    data["trap_id"], data["derived_from"] = card.id, answer_hash(card.correct_answer)
    for criterion in data["criteria"]:
        criterion["hint"] = criterion.get("hint") or HINT
    _dump(data, path)


def draft_points(rubric: Rubric) -> Rubric:
    """The answer's claims as each criterion's points (the first the core); where a criterion has fewer than
    two sentences, a placeholder the author must replace, which `traps check --bank` reports."""
    criteria, used = [], set()
    for crit in rubric.criteria:
        said = [s for s in sentences(crit.anchor) if not statement_problems("", s) and s not in used][:5]
        used.update(said)
        points = [Point(id=f"point-{n}", text=s, core=n == 1, source=s) for n, s in enumerate(said, 1)]
        while len(points) < 2:
            n = len(points) + 1
            todo = f"{PLACEHOLDER}: fact {n} a strong answer states."
            points.append(Point(id=f"point-{n}", text=todo, core=n == 1))
        full = "States the core point and at least 1 other point."
        levels = crit.levels.model_copy(update={"full": full})
        criteria.append(crit.model_copy(update={"points": points, "full_others": 1, "levels": levels}))
    return rubric.model_copy(update={"criteria": criteria})


async def derive(card_path: Path, settings: Settings, use_model: bool) -> tuple[Card, Rubric]:
    """The card and a rubric drafted for it (model or claims); raises with the card's own problem."""
    from service.grading.reference import claims_rubric, llm_rubric

    card = load_card(card_path)
    if not use_model:
        return card, draft_points(claims_rubric(card.correct_answer, card.id))
    from service.llm.factory import make_llm

    llm = make_llm(settings=settings, role="grade")
    return card, await llm_rubric(llm, settings, card.question, card.correct_answer, card.id)
