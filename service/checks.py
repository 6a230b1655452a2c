"""`interviewer traps check [--bank DIR]`: every problem in the content at once, not just the first.

Each problem is one 'file: field: what is wrong' line. The built-in bank is also checked against its
source file; a bank of your own is checked for placeholders that `interviewer traps new` left.
"""

from __future__ import annotations

from pathlib import Path

from service.catalog import (
    Card,
    answer_hash,
    bank_name,
    checklist_problems,
    load_card,
    load_rubric,
    normalise_space,
    parse_seed,
    trap_rubric_problems,
)
from service.errors import ContentError

PLACEHOLDER = "TODO"  # what `traps new` writes where only the author knows what goes


def _cards_and_rubrics(seeds_dir: Path, rubrics_dir: Path) -> tuple[list[str], dict[str, tuple[Path, Card]]]:
    """What any bank must get right: valid files, names that match ids, and rubrics current with their cards."""
    problems: list[str] = []
    cards: dict[str, tuple[Path, Card]] = {}
    for path in sorted(seeds_dir.glob("*.yaml")):
        try:
            card = load_card(path)
        except ContentError as exc:
            problems.append(exc.message)
            continue
        cards[card.id] = (path, card)
        if path.stem != card.id:
            problems.append(f"{path}: field 'id': '{card.id}' does not match the file name")

    for path in sorted(rubrics_dir.glob("*.yaml")):
        try:
            rubric = load_rubric(path)
        except ContentError as exc:
            problems.append(exc.message)
            continue
        problems += [f"{path}: field '{field}': {problem}" for field, problem in trap_rubric_problems(rubric)]
        if rubric.trap_id not in cards:
            problems.append(f"{path}: field 'trap_id': names unknown trap '{rubric.trap_id}'")
            continue
        owner = cards[rubric.trap_id][1]
        if path.stem != rubric.trap_id:
            problems.append(f"{path}: field 'trap_id': '{rubric.trap_id}' does not match the file name")
        expected = answer_hash(owner.correct_answer)
        if rubric.derived_from != expected:
            problems.append(
                f"{path}: field 'derived_from': stale ({rubric.derived_from}, card answer is {expected}); "
                "re-derive or review the rubric, then run `interviewer rubrics rehash`"
            )
        problems += [f"{path}: field '{field}': {problem}" for field, problem in checklist_problems(rubric, owner)]
        answer = normalise_space(owner.correct_answer)
        for i, crit in enumerate(rubric.criteria):
            if normalise_space(crit.anchor) not in answer:
                problems.append(
                    f"{path}: field 'criteria.{i}.anchor': not a verbatim span of {owner.id}'s correct_answer"
                )
    for tid in sorted(set(cards) - {p.stem for p in rubrics_dir.glob("*.yaml")}):
        problems.append(f"{rubrics_dir}/{tid}.yaml: (file): missing rubric for trap {tid}")
    return problems, cards


def check_content(seeds_dir: Path, rubrics_dir: Path, source: Path) -> list[str]:
    """The built-in bank: sound, and every card true to its entry in the source file."""
    problems, cards = _cards_and_rubrics(seeds_dir, rubrics_dir)
    seed = parse_seed(source.read_text(encoding="utf-8"))
    for tid, (path, card) in cards.items():
        if tid not in seed:
            problems.append(f"{path}: field 'id': {tid} is not an entry of {source.name}")
            continue
        title, summary = seed[tid]
        if card.title != title:
            problems.append(f"{path}: field 'title': differs from the source ('{title}')")
        if card.seed_summary != summary:
            problems.append(f"{path}: field 'seed_summary': not the source entry verbatim")
    for tid in sorted(set(seed) - set(cards)):
        problems.append(f"{seeds_dir}/{tid}.yaml: (file): missing card for source entry {tid}")
    return problems


def check_bank(folder: Path) -> list[str]:
    """A bank of your own: sound, named, and with no placeholder left from `interviewer traps new`."""
    if not (folder / "traps").is_dir():
        return [f"{folder}: (bank): not a bank: it needs a traps/ folder and a rubrics/ folder"]
    problems: list[str] = []
    try:
        bank_name(folder)
    except ContentError as exc:
        problems.append(exc.message)
    found, cards = _cards_and_rubrics(folder / "traps", folder / "rubrics")
    problems += found
    for path, card in cards.values():
        for field, value in card.model_dump().items():
            if PLACEHOLDER in str(value):
                problems.append(f"{path}: field '{field}': still the placeholder from `interviewer traps new`")
    for path in sorted((folder / "rubrics").glob("*.yaml")):
        try:
            criteria = load_rubric(path).criteria
        except ContentError:
            continue  # reported above
        for i, crit in enumerate(criteria):
            if PLACEHOLDER in (crit.hint or ""):
                problems.append(
                    f"{path}: field 'criteria.{i}.hint': still the placeholder from `interviewer rubrics derive`"
                )
            for j, point in enumerate(crit.points):
                if PLACEHOLDER in point.text:
                    problems.append(
                        f"{path}: field 'criteria.{i}.points.{j}.text': still the placeholder from "
                        "`interviewer rubrics derive`"
                    )
    return problems
