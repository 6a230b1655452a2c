"""What the reader trains on: never a held-out writer, trap or validation passage, nor SemEval's fold 1."""

from __future__ import annotations

from service.catalog import Catalog
from service.grading.entailment import LABELS
from service.grading.training import Recipe, examples, held_out


def test_training_pairs_leave_every_held_out_cell_out(catalog: Catalog) -> None:
    rows, sources = examples(Recipe(), catalog)
    trained = {(s, p) for s, p, _ in rows}
    for name, pairs in held_out(catalog).items():
        leaked = trained & {(p.statement, p.passage) for p in pairs}
        assert not leaked, f"{name}: {len(leaked)} held-out pairs in training, e.g. {sorted(leaked)[:1]}"
    assert {LABELS[label] for _, _, label in rows} == set(LABELS)
    assert sources["semeval_fold0"] == 3000 and not {"socratic", "spoken-ramble", "project"} & set(sources)


def test_the_same_recipe_gives_the_same_examples(catalog: Catalog) -> None:
    assert examples(Recipe(), catalog) == examples(Recipe(), catalog)
    assert examples(Recipe(), catalog)[0] != examples(Recipe(seed=14), catalog)[0]  # the seed orders them
