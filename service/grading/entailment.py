"""The decision stage: does this answer passage assert a statement, part of it, its negation, or neither?

A cross-encoder reads the statement and the passage together, which a pair of sentence vectors
cannot: "X fixes it" and "X will not fix it" sit close in embedding space and far apart here. The
model is MiniLM-L6 fine-tuned in this project (`interviewer train polarity`), exported to int8 ONNX
and shipped beside this file with its model card; it runs under onnxruntime, without torch.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

LABELS = ("entails", "partial", "contradicts", "neither")
ENTAILS, PARTIAL, CONTRADICTS, NEITHER = range(4)
MODEL_DIR = Path(__file__).with_name("polarity")
MAX_TOKENS = 192  # statement + passage; longer passages are cut from the end
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
MEMO_SIZE = 20_000  # pairs read recently: a few MB of text and probabilities


class Entailer(Protocol):
    """Anything that turns (statement, passage) pairs into probabilities over LABELS, one row a pair."""

    name: str

    def probabilities(self, pairs: list[tuple[str, str]]) -> np.ndarray: ...


class CrossEncoder:
    """The shipped cross-encoder under onnxruntime."""

    def __init__(self, directory: Path = MODEL_DIR) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((directory / "labels.json").read_text())
        if tuple(meta["labels"]) != LABELS:
            raise RuntimeError(f"{directory}: the model's labels {meta['labels']} are not {LABELS}")
        self.name = meta["name"]
        # Log-prior offsets fitted when the model was trained (training.fit_offsets): added to the logits.
        self.offsets = np.asarray(meta.get("offsets", [0.0] * len(LABELS)), dtype=np.float32)
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS, strategy="only_second")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.session: Any = ort.InferenceSession(
            str(directory / "model.onnx"), opts, providers=["CPUExecutionProvider"]
        )
        self._memo: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def probabilities(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """One pair per run: int8 dynamic quantisation scales activations over the whole batch, so padding
        or a pair's batch-mates would change its reading (measured: up to 0.03), and it runs no faster.
        Pairs read recently are not read again: an interview's report re-reads every earlier answer."""
        out = np.empty((len(pairs), len(LABELS)), dtype=np.float32)
        with self._lock:
            todo = [i for i, pair in enumerate(pairs) if pair not in self._memo]
            encs = self.tokenizer.encode_batch([pairs[i] for i in todo]) if todo else []
            for i, enc in zip(todo, encs, strict=True):
                feed = {
                    name: np.asarray([ids], dtype=np.int64)
                    for name, ids in zip(_INPUTS, (enc.ids, enc.attention_mask, enc.type_ids), strict=True)
                }
                logits = self.session.run(None, feed)[0][0] + self.offsets
                e = np.exp(logits - logits.max())
                self._memo[pairs[i]] = e / e.sum()
            for i, pair in enumerate(pairs):
                self._memo.move_to_end(pair)
                out[i] = self._memo[pair]
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        return out


@lru_cache(maxsize=1)
def cross_encoder() -> CrossEncoder:
    """Loaded once per process (~0.2 s)."""
    return CrossEncoder()


def decide(probs: np.ndarray) -> list[str]:
    """The most probable label of each row."""
    return [LABELS[int(i)] for i in probs.argmax(axis=1)]
