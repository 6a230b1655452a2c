"""The ONNX-run embedder must give sentence-transformers' own vectors: every threshold was fitted on them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from service import embeddings
from service.embeddings import DIM, _encoder, embed, sentence_transformer
from service.errors import LocalModelError

TEXTS = [
    "Class weights change the loss, not the decision threshold.",
    "ok",
    "Focal loss down-weights easy negatives by (1 - p)^gamma; with gamma = 2 an example at p = 0.9 "
    "contributes a hundredth of its cross-entropy, so the gradient is spent on the hard examples near the boundary.",
    "",
    "KV cache: 2 x layers x heads x head_dim x bytes per token " * 30,  # beyond 256 tokens: truncated alike
]


def test_onnx_vectors_match_sentence_transformers() -> None:
    # torch encodes these as one padded batch; ours one by one, unpadded: the vectors must agree.
    reference = sentence_transformer().encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    ours = _encoder().encode(TEXTS)
    assert ours.shape == (len(TEXTS), DIM)
    assert (ours * reference).sum(axis=1).min() > 0.99999


def test_embed_returns_unit_rows_in_input_order_with_repeats() -> None:
    out = embed([TEXTS[0], TEXTS[2], TEXTS[0]])
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(out[0], out[2])
    assert float(out[0] @ out[1]) < 0.99


def test_a_later_process_embeds_from_the_prepared_export_without_torch() -> None:
    assert embeddings.onnx_path().exists()  # prepared for the test session (tests/conftest.py)
    code = "import sys; from service.embeddings import embed; embed(['x']); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_missing_or_damaged_export_names_the_fix_which_replaces_it(tmp_path: Path) -> None:
    path = tmp_path / "embedder.onnx"
    with pytest.raises(LocalModelError, match=r"not prepared .*; run `interviewer model prepare`"):
        embeddings.load_session(path)
    path.write_bytes(b"half a model")
    with pytest.raises(LocalModelError, match=r"does not load .*; run `interviewer model prepare`"):
        embeddings.load_session(path)
    assert embeddings.prepare(path) == path  # what `interviewer model prepare` does
    again = embeddings.OnnxEncoder(embeddings.model_dir(), embeddings.load_session(path))
    np.testing.assert_allclose(again.encode(TEXTS[:1]), _encoder().encode(TEXTS[:1]), atol=1e-6)


def test_saved_vectors_come_back_without_running_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["Saved vector one: reservoir slot 17.", "Saved vector two: the tail of the stream."]
    before = embed(texts)
    embeddings.save_vectors(tmp_path / "vectors.npz")
    for t in texts:
        del embeddings._memo[t]

    def no_model() -> None:
        raise AssertionError("the model ran")

    monkeypatch.setattr(embeddings, "_encoder", no_model)
    assert embeddings.load_vectors(tmp_path / "vectors.npz") >= 2
    assert np.array_equal(embed(texts), before)


def test_a_damaged_vectors_file_is_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "vectors.npz").write_bytes(b"not a numpy archive")
    assert embeddings.load_vectors(tmp_path / "vectors.npz") == 0
    assert "ignoring the saved vectors" in caplog.text
    assert embeddings.load_vectors(tmp_path / "absent.npz") == 0
