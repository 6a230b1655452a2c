"""The embedder under onnxruntime against sentence-transformers' own torch path, in one run.

Fidelity (the cosine between the two vectors of every catalog text: the calibrated thresholds
assume torch's vectors) and speed: one short sentence, as an interview turn embeds, and the
whole catalog.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from evals.benchmarks.stats import percentile
from service.config import Settings
from service.embeddings import _encoder, sentence_transformer
from service.grading.text import sentences
from service.runtime import Runtime

SENTENCE = "I would weight the fraud class by ten thousand in the cross-entropy, variant {i}."


def _catalog_texts() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Runtime.build(Settings(data_dir=Path(tmp))).catalog
        texts: list[str] = []
        for trap in catalog:
            texts += sentences(trap.card.correct_answer) + [trap.card.question, trap.card.trap]
            texts += [c.description for c in trap.rubric.criteria] + [f.statement for f in trap.rubric.red_flags]
    return texts


def run(repeat: int = 60) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    st = sentence_transformer()
    onnx = _encoder()

    def torch_encode(texts: list[str]) -> np.ndarray:
        return st.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)

    texts = _catalog_texts()
    cos = (torch_encode(texts) * onnx.encode(texts)).sum(axis=1)
    figures: dict[str, Any] = {"catalog_texts": len(texts), "min_cosine_onnx_vs_torch": round(float(cos.min()), 7)}
    for name, fn in (("torch", torch_encode), ("onnx", onnx.encode)):
        for i in range(5):
            fn([SENTENCE.format(i=-i)])
        one = []
        for i in range(repeat):  # a new sentence each time, as the memo in service/embeddings.py would hide repeats
            start = time.perf_counter()
            fn([SENTENCE.format(i=i)])
            one.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        fn(texts)
        batch_s = time.perf_counter() - start
        figures[f"{name}_one_sentence_p50_ms"] = round(percentile(one, 50), 2)
        figures[f"{name}_batch_texts_per_s"] = round(len(texts) / batch_s, 1)
    return figures
