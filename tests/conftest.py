"""Shared fixtures: offline environment, a no-network guard, settings on a temporary data dir."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "OMP_NUM_THREADS": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ[_name] = _value
for _name in [k for k in os.environ if k.startswith("INTERVIEWER_") and k != "INTERVIEWER_RECORD"]:
    del os.environ[_name]

from service.config import Settings, offline_environment  # noqa: E402

offline_environment()  # what the CLI does first; here also tiktoken's shipped encodings (Inspect's token counts)

RECORDING = os.environ.get("INTERVIEWER_RECORD") == "1"


class NetworkBlocked(AssertionError):
    """A test tried to reach beyond the loopback interface."""


def _loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # AF_UNIX paths and the like never leave the machine


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _loopback(address):
        raise NetworkBlocked(f"test tried to open a socket to {address!r}; tests must not use the network")
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _loopback(address):
        raise NetworkBlocked(f"test tried to open a socket to {address!r}; tests must not use the network")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True, scope="session")
def _embedder_prepared() -> None:
    """What `interviewer model prepare` does once per machine; the service itself never exports it."""
    from service import embeddings

    embeddings.prepare()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    """Semantic-mode settings on a session-wide temporary data dir (the index is built once)."""
    return Settings(data_dir=data_dir, mode="semantic")


@pytest.fixture(scope="session")
def runtime(settings: Settings):  # type: ignore[no-untyped-def]
    """The test session's Runtime; a test on a data dir of its own builds one from its parts (own_runtime)."""
    from service.runtime import Runtime

    return Runtime.build(settings)


@pytest.fixture(scope="session")
def catalog(runtime):  # type: ignore[no-untyped-def]
    return runtime.catalog


@pytest.fixture(scope="session")
def index(runtime):  # type: ignore[no-untyped-def]
    """The session's index, built: the tests' own data dirs link to its files."""
    runtime.index.ready()
    return runtime.index


@pytest.fixture
def own_runtime(tmp_path: Path, settings: Settings, runtime, index):  # type: ignore[no-untyped-def]
    """`own_runtime(**settings)`: a Runtime on this test's data dir, sharing the session's catalog and index files."""
    from service.runtime import Runtime

    def make(**update: object) -> Runtime:
        own = settings.model_copy(update={"data_dir": tmp_path, **update})
        if not (tmp_path / "chroma").is_symlink():
            (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
        return Runtime(own, runtime.catalog)

    return make


CASSETTES = Path(__file__).parent / "cassettes"


@pytest.fixture
def recorded(tmp_path: Path, settings: Settings, index):  # type: ignore[no-untyped-def]
    """`with recorded("name") as s:` — settings whose model calls replay tests/cassettes/name.yaml.

    With INTERVIEWER_RECORD=1 (`make record`) the embedded local models answer and the cassette is
    rewritten; otherwise nothing listens and an unrecorded request fails the test.
    """
    from contextlib import contextmanager

    from service.llm.recording import cassette

    @contextmanager
    def use(name: str):  # type: ignore[no-untyped-def]
        own = settings.model_copy(update={"data_dir": tmp_path, "mode": "llm"})
        if not (tmp_path / "chroma").is_symlink():
            (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
        if RECORDING:  # the model files live in the real data dir, not the temporary one
            own = own.model_copy(update={"data_dir": Settings().data_dir})
        with cassette(CASSETTES / f"{name}.yaml", own, record=RECORDING) as active:
            yield active

    return use


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], str]]]:
    """`serve(data_dir, workers=1, **env)`: `interviewer serve` in a process of its own (semantic mode unless
    env says otherwise), returned once it answers; killed at the end of the test if still running."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(data_dir: Path, workers: int = 1, **env: str) -> tuple[subprocess.Popen[bytes], str]:
        port = _free_port()
        environ = {**os.environ, "INTERVIEWER_DATA_DIR": str(data_dir), "INTERVIEWER_MODE": "semantic", **env}
        cli = str(Path(sys.executable).with_name("interviewer"))
        log = (data_dir / "serve.log").open("ab")
        proc = subprocess.Popen(
            [cli, "serve", "--port", str(port), "--workers", str(workers)], env=environ, stdout=log, stderr=log
        )
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return proc, base
            except httpx.HTTPError:
                time.sleep(0.3)
        proc.kill()
        raise AssertionError(f"interviewer serve did not come up (exit code {proc.poll()}); see {data_dir}/serve.log")

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` server, as replicas on several machines share one."""
    binary = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = _free_port()
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


@pytest.fixture
def live_app() -> Callable[..., AbstractContextManager[str]]:
    """`with live_app(app) as url:` the ASGI app served by uvicorn on a free loopback port, in a thread
    (a browser needs a real server), stopped when the block ends."""
    import threading

    import uvicorn

    @contextmanager
    def serve(app: Any, wait: float = 60) -> Iterator[str]:
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + wait
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    return serve


class _Proxy:
    """A TCP proxy on loopback: `down()` cuts every connection through it and refuses new ones, as a
    database server that went away does; `up()` lets them through again, on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        import threading

        self.target, self.port = target, _free_port()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._threading = threading
        self._lock = threading.Lock()  # a connection accepted as the proxy goes down is closed, not kept

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        listener.settimeout(0.1)
        self._listener = listener
        self._threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._open = self._open, []
        if listener is not None:
            listener.close()
        for conn in conns:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            server = socket.create_connection(self.target)
            with self._lock:
                if self._listener is not listener:  # went down meanwhile
                    client.close()
                    server.close()
                    continue
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                self._threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


class DatabaseFault:
    """The interview database failing on cue: SQLite held locked by another connection for as long as the
    fault is on (a writer waits its 5 s busy timeout, then fails), or Postgres cut off behind a proxy."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind, self.update = kind, {"data_dir": tmp_path}
        self._db = Settings(data_dir=tmp_path).db_path
        self._proxy: _Proxy | None = None
        if kind == "postgres gone":
            from urllib.parse import urlsplit

            url = urlsplit(os.environ["TEST_POSTGRES_URL"])
            self._proxy = _Proxy((url.hostname or "127.0.0.1", url.port or 5432))
            self._proxy.up()
            netloc = url.netloc.rsplit("@", 1)[0] + f"@127.0.0.1:{self._proxy.port}"
            self.update["database_url"] = url._replace(netloc=netloc).geturl()

    @contextmanager
    def on(self) -> Iterator[None]:
        if self._proxy is not None:
            self._proxy.down()
            try:
                yield
            finally:
                self._proxy.up()
            return
        import sqlite3

        lock = sqlite3.connect(self._db, isolation_level=None, check_same_thread=False)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            lock.rollback()
            lock.close()

    def close(self) -> None:
        if self._proxy is not None:
            self._proxy.down()


@pytest.fixture(params=["sqlite locked", "postgres gone"])
def database_fault(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DatabaseFault]:
    """Each database fault in turn; the Postgres one needs TEST_POSTGRES_URL (.ci/run sets it)."""
    if request.param == "postgres gone" and not os.environ.get("TEST_POSTGRES_URL"):
        pytest.skip("needs TEST_POSTGRES_URL (.ci/run sets it)")
    fault = DatabaseFault(request.param, tmp_path)
    yield fault
    fault.close()
