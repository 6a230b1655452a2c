"""What the reader trains on (never a held-out writer, trap or validation passage, nor SemEval's fold 1), and
which model training keeps."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from evals.polarity_data import HELD_OUT_WRITERS
from service.catalog import Catalog
from service.grading import training
from service.grading.entailment import LABELS
from service.grading.training import Recipe, examples, held_out


def test_training_pairs_leave_every_held_out_cell_out(catalog: Catalog) -> None:
    rows, sources = examples(Recipe(), catalog)
    trained = {(s, p) for s, p, _ in rows}
    for name, pairs in held_out(catalog).items():
        leaked = trained & {(p.statement, p.passage) for p in pairs}
        assert not leaked, f"{name}: {len(leaked)} held-out pairs in training, e.g. {sorted(leaked)[:1]}"
    assert {LABELS[label] for _, _, label in rows} == set(LABELS)
    assert sources["semeval_fold0"] == 3000 and not (HELD_OUT_WRITERS | {"project"}) & set(sources)


def test_the_same_recipe_gives_the_same_examples(catalog: Catalog) -> None:
    assert examples(Recipe(), catalog) == examples(Recipe(), catalog)
    assert examples(Recipe(), catalog)[0] != examples(Recipe(seed=14), catalog)[0]  # the seed orders them


def _stand_ins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, new_f1: float) -> Path:
    """Training, export and measuring stand in (an hour of CPU); what is under test is which model
    `train` keeps, and that it never throws one away. The shipped model reads the counting cell at 0.7."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(training, "examples", lambda recipe, catalog, **_: ([("s", "p", 0)], {"w": 1}))
    monkeypatch.setattr(training, "held_out", lambda catalog, **_: {training.COUNTS: [], "seen-writer/seen-trap": []})
    monkeypatch.setattr(training, "_train", lambda rows, recipe, work: None)

    def export(torch_dir: Path, staged: Path) -> None:
        for name in ("model.onnx", "tokenizer.json"):
            (staged / name).write_text("new")

    def measure(model: Path, sets: dict[str, list[Any]]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        f1 = new_f1 if model.name == "staged" else 0.7
        return {n: {"macro_f1": f1} for n in sets}, {n: np.zeros((0, 4)) for n in sets}

    monkeypatch.setattr(training, "_export", export)
    monkeypatch.setattr(training, "CrossEncoder", lambda path: path)
    monkeypatch.setattr(training, "measure", measure)
    monkeypatch.setattr(training, "fit_thresholds", lambda pairs, probs: {"point": 0.5, "flag": 0.9})
    monkeypatch.setattr(training, "model_card", lambda card: "card")
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    for name in ("model.onnx", "tokenizer.json", "labels.json", "card.json"):
        (shipped / name).write_text("old")
    return shipped


def test_a_model_that_reads_worse_is_kept_beside_the_shipped_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shipped = _stand_ins(monkeypatch, tmp_path, new_f1=0.69)
    card = training.train(None, shipped, Recipe())
    assert card["shipped_macro_f1_on_counting_cell"] == 0.7
    assert (shipped / "model.onnx").read_text() == "old" and (shipped / "card.json").read_text() == "old"
    (staged,) = tmp_path.glob("reader-train-*/staged")
    assert (staged / "model.onnx").read_text() == "new" and json.loads((staged / "card.json").read_text()) == card
    assert str(staged) in caplog.text


def test_a_model_that_reads_better_replaces_the_shipped_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shipped = _stand_ins(monkeypatch, tmp_path, new_f1=0.71)
    card = training.train(None, shipped, Recipe())
    assert (shipped / "model.onnx").read_text() == "new" and json.loads((shipped / "card.json").read_text()) == card
    assert not list(tmp_path.glob("reader-train-*"))  # nothing left behind once it is shipped


def test_offsets_stop_a_reader_reading_unrelated_pairs_as_partial() -> None:
    """A reader that calls most "neither" pairs "partial" (as the class weights and one left-out statement a
    passage teach it to) is corrected on the validation passages; "contradicts" is never moved."""
    rng = np.random.default_rng(0)
    gold = ["neither"] * 600 + ["partial"] * 100 + ["entails"] * 200 + ["contradicts"] * 100
    probs = np.full((len(gold), len(LABELS)), 0.05)
    for row, label in zip(probs, gold, strict=True):
        row[LABELS.index(label)] = 0.6
        if label == "neither":
            row[LABELS.index("partial")] = rng.choice([0.7, 0.5])  # above "neither" on about half of them
    probs /= probs.sum(axis=1, keepdims=True)
    pairs = [SimpleNamespace(label=label) for label in gold]
    offsets = training.fit_offsets(pairs, probs)
    assert offsets[LABELS.index("entails")] == offsets[LABELS.index("contradicts")] == 0.0
    assert offsets[LABELS.index("neither")] - offsets[LABELS.index("partial")] > 0
    shifted = (np.log(probs) + offsets).argmax(axis=1)
    assert [LABELS[i] for i in shifted] == gold
