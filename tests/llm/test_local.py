"""The embedded model file: assembled from parts, verified by sha256 before every load."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from urllib.parse import urlparse

import pytest

from service.config import Settings
from service.errors import LocalModelError
from service.llm.local import LocalModel, LocalServer, prepare, verify


def _model(content: bytes) -> LocalModel:
    return LocalModel("tiny-test", "no-such-package-part", 2, hashlib.sha256(content).hexdigest(), 1)


def test_verified_file_is_accepted(tmp_path: Path) -> None:
    content = b"GGUF" + b"\x00" * 1000
    model = _model(content)
    (tmp_path / model.filename).write_bytes(content)
    assert prepare(model, tmp_path) == tmp_path / model.filename


def test_corrupted_file_is_refused(tmp_path: Path) -> None:
    model = _model(b"GGUF good bytes")
    (tmp_path / model.filename).write_bytes(b"GGUF bad bytes!")
    with pytest.raises(LocalModelError, match="fails its checksum .* delete it and run `interviewer model prepare`"):
        verify(model, tmp_path / model.filename)


def test_missing_parts_name_the_package(tmp_path: Path) -> None:
    with pytest.raises(LocalModelError, match="model part package 'no-such-package-part1' is not installed"):
        prepare(_model(b"x"), tmp_path)


def test_server_refuses_to_load_a_corrupted_file(tmp_path: Path) -> None:
    model = _model(b"GGUF good bytes")
    settings = Settings(data_dir=tmp_path)
    settings.models_dir.mkdir(parents=True)
    (settings.models_dir / model.filename).write_bytes(b"GGUF bad bytes!")
    with pytest.raises(LocalModelError, match="fails its checksum"):
        LocalServer(settings, model).start()


async def test_a_worker_uses_the_model_server_its_parent_started(tmp_path: Path) -> None:
    """`interviewer serve --workers N` starts each local model once, at the port its settings give it;
    a worker reading the same settings finds it answering there."""
    from service.llm import local
    from service.llm.factory import make_llm
    from service.llm.stub import StubServer

    with StubServer() as stub:  # stands in for the parent's llama.cpp server
        settings = Settings(data_dir=tmp_path, local_port=urlparse(stub.api_base).port)
        assert local.port_for(settings, "qwen2.5-coder-0.5b") == settings.local_port  # the first model
        llm = make_llm(settings=settings, role="ask")
        assert await llm.atext([{"role": "user", "content": "Ask me something."}])
        assert stub.config.requests[-1]["model"] == "qwen2.5-coder-0.5b"
    assert "qwen2.5-coder-0.5b" not in local._servers  # attached, not started


def test_a_model_server_that_dies_is_started_again_on_its_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The watcher brings a dead server back where every endpoint already points; a stopped one stays stopped.
    The stub model server stands in for llama.cpp's (same readiness check, same port handling)."""
    import sys
    import time

    import httpx

    content = b"GGUF" + b"\x00" * 100
    model = _model(content)
    settings = Settings(data_dir=tmp_path, local_watch_seconds=0.2, local_start_timeout=30)
    settings.models_dir.mkdir(parents=True)
    (settings.models_dir / model.filename).write_bytes(content)
    monkeypatch.setattr(
        LocalServer, "_command", lambda self, cfg: [sys.executable, "-m", "service.llm.stub", "--port", str(self.port)]
    )
    server = LocalServer(settings, model)
    base = server.start()
    try:
        assert server._proc is not None
        first = server._proc.pid
        server._proc.kill()
        server._proc.wait()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/models", timeout=5)
        deadline, answered = time.monotonic() + 30, False
        while not answered and time.monotonic() < deadline:
            time.sleep(0.1)
            with contextlib.suppress(httpx.ConnectError):
                answered = httpx.get(f"{base}/models", timeout=5).status_code == 200
        assert answered and server.running and server._proc.pid != first  # a new server at the same address
    finally:
        server.stop()
    time.sleep(1.0)  # five watch periods
    assert not server.running and server._proc is None
    try:  # a stopped server can be started again, and is watched again
        assert server.start() == base
        server._proc.kill()
        server._proc.wait()
        deadline = time.monotonic() + 30
        while not server.running and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.running
    finally:
        server.stop()
