"""Chroma as a server: a real `chroma run` (the chromadb package ships it) that two replicas, each
with its own data dir, share. The index is built into it once, and retrieval matches the embedded store."""

from __future__ import annotations

from pathlib import Path

from evals import retrieval
from service.catalog import Catalog
from service.config import Settings
from service.index import TrapIndex


def test_replicas_share_one_index_in_a_chroma_server(
    chroma_url: str, tmp_path: Path, settings: Settings, catalog: Catalog, index: TrapIndex
) -> None:
    first, second = (
        TrapIndex(catalog, settings.model_copy(update={"data_dir": tmp_path / n, "chroma_url": chroma_url}))
        for n in ("a", "b")
    )
    assert first.ensure() is True  # built into the server once...
    assert second.ensure() is False  # ...and the other replica finds it current
    assert not (tmp_path / "b" / "chroma").exists()  # nothing of it in the replica's own data dir
    served, embedded = retrieval.run(second), retrieval.run(index)
    assert served["methods"] == embedded["methods"]
