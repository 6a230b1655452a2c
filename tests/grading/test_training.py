"""What the entailment model trains on: never the held-out traps, never SemEval's held-out fold."""

from __future__ import annotations

from evals import polarity_data, semeval
from service.grading.entailment import LABELS
from service.grading.training import Recipe, examples, held_out


def test_training_pairs_leave_the_held_out_halves_out() -> None:
    rows = examples(Recipe())
    trained = {(s, p) for s, p, _ in rows}
    held = held_out()
    assert not trained & {(s, p) for s, p, _ in held["polarity"]}
    assert not trained & {(s, p) for s, p, _ in held["semeval"]}
    even_statements = {p.statement for p in polarity_data.load() if not polarity_data.is_training_trap(p.trap_id)}
    assert not {s for s, _, _ in rows} & even_statements
    fold1 = {it.answer for it in semeval.load() if it.fold == 1}
    assert len(fold1) > 4000 and {LABELS[label] for _, _, label in rows} == set(LABELS)


def test_the_same_recipe_gives_the_same_examples() -> None:
    assert examples(Recipe()) == examples(Recipe())
    assert examples(Recipe()) != examples(Recipe(seed=14))  # the seed is what orders them
