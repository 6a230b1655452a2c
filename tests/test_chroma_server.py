"""Chroma as a server: a real `chroma run` (the chromadb package ships it) that two replicas, each
with its own data dir, share. The index is built into it once, and retrieval matches the embedded store."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from evals import retrieval
from service.catalog import Catalog
from service.config import Settings
from service.index import TrapIndex


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = tmp_path_factory.mktemp("chroma-server")
    log = (store / "server.log").open("wb")
    proc = subprocess.Popen(
        [binary, "run", "--path", str(store / "data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail(f"chroma run did not start; see {store / 'server.log'}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


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
