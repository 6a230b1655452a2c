"""`interviewer traps check`: every problem in the content at once, not just the first."""

from __future__ import annotations

from pathlib import Path

from service.catalog import answer_hash, load_card, load_rubric, normalise_space, parse_seed, trap_rubric_problems
from service.errors import ContentError


def check_content(seeds_dir: Path, rubrics_dir: Path, source: Path) -> list[str]:
    """Problems as 'file: field: what is wrong' lines; an empty list means the content is sound."""
    problems: list[str] = []
    seed = parse_seed(source.read_text(encoding="utf-8"))
    cards = {}
    for path in sorted(seeds_dir.glob("*.yaml")):
        try:
            card = load_card(path)
        except ContentError as exc:
            problems.append(exc.message)
            continue
        cards[card.id] = card
        if path.stem != card.id:
            problems.append(f"{path}: field 'id': '{card.id}' does not match the file name")
        if card.id not in seed:
            problems.append(f"{path}: field 'id': {card.id} is not an entry of {source.name}")
            continue
        title, summary = seed[card.id]
        if card.title != title:
            problems.append(f"{path}: field 'title': differs from the source ('{title}')")
        if card.seed_summary != summary:
            problems.append(f"{path}: field 'seed_summary': not the source entry verbatim")
    for tid in sorted(set(seed) - set(cards)):
        problems.append(f"{seeds_dir}/{tid}.yaml: (file): missing card for source entry {tid}")

    for path in sorted(rubrics_dir.glob("*.yaml")):
        try:
            rubric = load_rubric(path)
        except ContentError as exc:
            problems.append(exc.message)
            continue
        problems += [f"{path}: field '{field}': {problem}" for field, problem in trap_rubric_problems(rubric)]
        owner = cards.get(rubric.trap_id)
        if owner is None:
            problems.append(f"{path}: field 'trap_id': names unknown trap '{rubric.trap_id}'")
            continue
        if path.stem != rubric.trap_id:
            problems.append(f"{path}: field 'trap_id': '{rubric.trap_id}' does not match the file name")
        expected = answer_hash(owner.correct_answer)
        if rubric.derived_from != expected:
            problems.append(
                f"{path}: field 'derived_from': stale ({rubric.derived_from}, card answer is {expected}); "
                "re-derive or review the rubric, then run `interviewer rubrics rehash`"
            )
        answer = normalise_space(owner.correct_answer)
        for i, crit in enumerate(rubric.criteria):
            if normalise_space(crit.anchor) not in answer:
                problems.append(
                    f"{path}: field 'criteria.{i}.anchor': not a verbatim span of {owner.id}'s correct_answer"
                )
    for tid in sorted(set(cards) - {p.stem for p in rubrics_dir.glob("*.yaml")}):
        problems.append(f"{rubrics_dir}/{tid}.yaml: (file): missing rubric for trap {tid}")
    return problems
