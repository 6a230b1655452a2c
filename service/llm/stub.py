"""A stand-in OpenAI-compatible server for tests and benchmarks only: a real HTTP server on loopback.

Faults are configurable per server: fixed latency, and rates of 5xx errors, 429s, malformed JSON,
hangs (longer than any client timeout) and replies cut off mid-stream (the connection closes before
the body its headers promised). Structured requests get the minimal instance of the requested JSON
schema, so benchmarks exercise the real parsing path. The server counts its requests and the faults
it injected, for benchmarks (GET /_stub/requests).
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import accumulate
from pathlib import Path
from typing import Any

from service.config import Settings
from service.llm.client import served

Responder = Callable[[dict[str, Any]], str]


@dataclass
class StubConfig:
    latency: float = 0.0
    word_seconds: float = 0.0  # between streamed words, to let a client drop mid-reply
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    malformed_rate: float = 0.0
    hang_rate: float = 0.0
    hang_seconds: float = 30.0
    cut_rate: float = 0.0  # half the reply, then the connection closes: the client sees a truncated body
    fail_first: int = 0  # the first N requests get a 500, whatever the rates
    seed: int = 0
    responder: Responder | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)  # injected, by kind: error, rate_limit, hang, ...


# The faults StubProcess passes to its child, as StubConfig's fields and the child's --flags.
FAULTS = ("error_rate", "rate_limit_rate", "malformed_rate", "hang_rate", "hang_seconds", "cut_rate", "seed")


def minimal_instance(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """The smallest value that validates against a (pydantic-generated) JSON schema."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return minimal_instance(defs[schema["$ref"].split("/")[-1]], defs)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return minimal_instance(options[0], defs)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: minimal_instance(props[k], defs) for k in schema.get("required", props)}
    if kind == "array":
        return [minimal_instance(schema.get("items", {}), defs) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    return "stub " * max(1, schema.get("minLength", 1) // 5 + 1)


def _default_reply(body: dict[str, Any], number: int) -> str:
    fmt = body.get("response_format") or {}
    schema = fmt.get("schema") or (fmt.get("json_schema") or {}).get("schema")
    if schema:
        return json.dumps(minimal_instance(schema))
    if fmt.get("type") == "json_object":
        return "{}"
    # Numbered, so no two replies are the same text: a service that checks what a model says (the
    # interviewer's leak check embeds each sentence) does that work on every reply, as with a real model.
    return f"Stub reply {number}: tell me more about how you would measure that."


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def setup(self) -> None:
        super().setup()
        # As uvicorn and llama.cpp's server do: without it, Nagle holds each small streamed chunk
        # until the previous one is acknowledged, and the client's wait looks like overhead.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _send(self, status: int, payload: dict[str, Any] | str, cut: bool = False) -> None:
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if cut:  # the length promised, half the body sent, the connection closed
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if self.path == "/_stub/requests":  # how many model calls were made, for benchmarks
            with self.server.lock:
                counts = {"count": len(self.server.config.requests), "faults": dict(self.server.config.faults)}
            self._send(200, counts)
        elif self.path.rstrip("/").endswith("/models"):
            self._send(200, {"object": "list", "data": [{"id": "stub", "object": "model"}]})
        else:
            self._send(200 if self.path in ("/health", "/") else 404, {"status": "ok"})

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        cfg = self.server.config
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        with self.server.lock:
            cfg.requests.append(body)
            number = len(cfg.requests)
            roll = self.server.rng.random()
            fault = "scripted" if len(cfg.requests) <= cfg.fail_first else None
            if fault is None:
                rates = [cfg.error_rate, cfg.rate_limit_rate, cfg.hang_rate, cfg.malformed_rate, cfg.cut_rate]
                edges = zip(("error", "rate_limit", "hang", "malformed", "cut"), accumulate(rates), strict=True)
                fault = next((kind for kind, edge in edges if roll < edge), None)
            if fault is not None:
                cfg.faults[fault] = cfg.faults.get(fault, 0) + 1
        if cfg.latency:
            time.sleep(cfg.latency)
        if fault == "scripted":
            return self._send(503, {"error": {"message": "stub: scripted failure", "type": "server_error"}})
        if fault == "error":
            return self._send(500, {"error": {"message": "stub: injected server error", "type": "server_error"}})
        if fault == "rate_limit":
            return self._send(429, {"error": {"message": "stub: injected rate limit", "type": "rate_limit"}})
        if fault == "hang":
            time.sleep(cfg.hang_seconds)
        content = cfg.responder(body) if cfg.responder else _default_reply(body, number)
        if fault in ("hang", "malformed"):  # a hang shorter than the client's timeout ends broken
            content = content[: max(1, len(content) // 2)] + ' "broken'
        if body.get("stream"):
            return self._stream(body, content, cut=fault == "cut")
        usage = {
            "prompt_tokens": sum(len(str(m.get("content", "")).split()) for m in body.get("messages", [])),
            "completion_tokens": len(content.split()),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        self._send(
            200,
            json.dumps(
                {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "stub"),
                    "usage": usage,
                    "choices": [
                        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                    ],
                }
            ),
            cut=fault == "cut",
        )

    def _stream(self, body: dict[str, Any], content: str, cut: bool = False) -> None:
        words = content.split(" ")
        frames = []
        for i, word in enumerate(words):
            piece = word if i == len(words) - 1 else word + " "
            chunk = {
                "id": "chatcmpl-stub",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": body.get("model", "stub"),
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
            }
            frames.append(f"data: {json.dumps(chunk)}\n\n".encode())
        end = {
            "id": "chatcmpl-stub",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", "stub"),
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        if cut:  # without a length, a closed connection would just end the stream, and look whole
            self.send_header(
                "Content-Length", str(sum(map(len, frames)) + len(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n"))
            )
        self.end_headers()
        for frame in frames[: len(frames) // 2] if cut else frames:
            self.wfile.write(frame)
            time.sleep(self.server.config.word_seconds)
        if not cut:
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 refuses connections under benchmark concurrency

    allow_reuse_address = True  # a stand-in started again on the port of one that died

    def __init__(self, config: StubConfig, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.config = config
        self.lock = threading.Lock()
        self.rng = random.Random(config.seed)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that gave up on a hang: expected
            super().handle_error(request, client_address)


class _StubBase:
    api_base: str

    def settings(self, data_dir: Path, **overrides: Any) -> Settings:
        """Settings whose models are this stub (grading semantic unless overridden)."""
        values: dict[str, Any] = {
            "data_dir": data_dir,
            "model": served("stub"),
            "api_base": self.api_base,
            "api_key": "sk-stub",
            "json_mode": "schema_object",
            "grader": "semantic",
        }
        return Settings(**{**values, **overrides})

    def request_count(self) -> int:
        import httpx

        return int(httpx.get(self.api_base.removesuffix("/v1") + "/_stub/requests", timeout=10).json()["count"])

    def fault_counts(self) -> dict[str, int]:
        """The faults injected so far, by kind (error, rate_limit, hang, malformed, cut, scripted)."""
        import httpx

        return dict(httpx.get(self.api_base.removesuffix("/v1") + "/_stub/requests", timeout=10).json()["faults"])


class StubServer(_StubBase):
    """Context manager: `with StubServer(StubConfig(latency=0.05)) as stub: stub.api_base`."""

    def __init__(self, config: StubConfig | None = None) -> None:
        self.config = config or StubConfig()
        self._server = _Server(self.config)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:  # type: ignore[override]
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class StubProcess(_StubBase):
    """The stub in a child process, for benchmarks: its threads must not share the measured process's GIL.

    A real model server is another process too, so the service's overhead is measured without the
    stub's own JSON work in it. Latency, a fixed reply and the StubConfig faults in FAULTS are
    configurable here: `StubProcess(0.2, error_rate=0.1, hang_rate=0.1, hang_seconds=10)`.
    """

    def __init__(self, latency: float, reply: str | None = None, **faults: float) -> None:
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise TypeError(f"unknown stub fault(s) {', '.join(sorted(unknown))}; choose from {', '.join(FAULTS)}")
        self.latency = latency
        self.reply = reply  # the same text every time, instead of numbered replies
        self.faults = faults
        self._proc: subprocess.Popen[str] | None = None
        self.api_base = ""

    def __enter__(self) -> StubProcess:
        fixed = ["--reply", self.reply] if self.reply is not None else []
        flags = [x for name, value in self.faults.items() for x in (f"--{name.replace('_', '-')}", str(value))]
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "service.llm.stub", "--latency", str(self.latency), *fixed, *flags],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        self.api_base = self._proc.stdout.readline().strip()  # the child prints its address when listening
        if not self.api_base.startswith("http://127.0.0.1:"):
            self._proc.kill()
            raise RuntimeError(f"the stub model server did not start: {self.api_base!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description="A stand-in OpenAI-compatible model server on loopback.")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--reply", default=None, help="Reply with this text every time.")
    parser.add_argument("--port", type=int, default=0, help="Listen here (default: a free port).")
    for name in FAULTS:
        kind = int if name == "seed" else float
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=getattr(StubConfig(), name))
    args = parser.parse_args()
    reply: str | None = args.reply
    fixed: Responder | None = None if reply is None else (lambda body: reply)
    faults = {name: getattr(args, name) for name in FAULTS}
    server = _Server(StubConfig(latency=args.latency, responder=fixed, **faults), port=args.port)
    print(f"http://127.0.0.1:{server.server_address[1]}/v1", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
