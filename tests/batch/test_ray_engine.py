"""`--engine ray` on a real local Ray runtime that the test starts (`ray start --head`): the same
records, errors, skips and resume rule as the local engine."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.batch.output import latest
from service.batch.ray_engine import grade_file_ray
from service.batch.runner import grade_file
from service.catalog import Catalog
from service.config import Settings
from service.grading.factory import make_grader

LINES = [
    {
        "id": "a",
        "trap_id": "mlsd-33",
        "answer": "Reservoir sampling keeps k items, replacing one with probability k/n.",
    },
    "not json",
    "",
    {"id": "b", "trap_id": "nope", "answer": "x"},
    {"id": "a", "trap_id": "mlsd-33", "answer": "the same id again"},
    {"id": "c", "question": "Why is the sky blue?", "reference_answer": "Rayleigh scattering.", "answer": "Rayleigh."},
    {
        "id": "d",
        "trap_id": "llm-46",
        "answer": "Page the KV cache in blocks, as vLLM does, so no request reserves its max.",
    },
    {
        "id": "e",
        "turns": [
            {"role": "interviewer", "content": "Your KV cache runs out of memory at long context."},
            {"role": "candidate", "content": "Quantise the cache to FP8 and page it."},
        ],
    },
]


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ray_cli = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    temp = tmp_path_factory.mktemp("ray")
    # Token authentication, as a cluster should run: the head and this driver share the token.
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    with pytest.MonkeyPatch.context() as env:
        for name, value in auth.items():
            env.setenv(name, value)
        yield from _head(ray_cli, port, temp)


def _head(ray_cli: str, port: int, temp: Path) -> Iterator[str]:
    subprocess.run(
        [
            ray_cli,
            "start",
            "--head",
            "--port",
            str(port),
            "--node-ip-address",
            "127.0.0.1",
            "--num-cpus",
            "2",
            "--include-dashboard",
            "false",
            "--disable-usage-stats",
            "--temp-dir",
            str(temp),
            "--object-store-memory",
            str(300 * 1024 * 1024),
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True)


def _records(path: Path) -> list[dict[str, object]]:
    return sorted((json.loads(line) for line in path.read_text().splitlines()), key=lambda r: str(r["id"]))


def test_ray_engine_writes_what_the_local_engine_writes(
    tmp_path: Path, settings: Settings, catalog: Catalog, index, ray_address: str
) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in LINES) + "\n")
    grader = make_grader(settings=settings, mode="semantic", use_cache=False)
    local = asyncio.run(grade_file(source, tmp_path / "local.jsonl", grader, catalog, index, concurrency=2))
    ray_out = tmp_path / "ray.jsonl"
    ray = grade_file_ray(source, ray_out, settings, "semantic", concurrency=2, address=ray_address)

    assert (ray.graded, ray.errors, ray.skipped, ray.duplicates) == (local.graded, local.errors, 0, ["a"])
    assert (ray.graded, ray.errors) == (4, 2)
    assert _records(ray_out) == _records(tmp_path / "local.jsonl")

    # Resume: a run killed after two records goes on where its output stops, as a local one does.
    kept = ray_out.read_text().splitlines()[:2]
    ray_out.write_text("\n".join(kept) + "\n")
    again = grade_file_ray(source, ray_out, settings, "semantic", concurrency=2, address=ray_address)
    good_kept = sum("error" not in json.loads(line) for line in kept)
    assert again.skipped == good_kept and again.graded + again.skipped == 4
    assert sorted(latest(ray_out)) == sorted(latest(tmp_path / "local.jsonl"))
