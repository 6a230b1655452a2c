"""The schema comes from migrations: an older database is carried forward, and replicas may upgrade at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli.main import app
from service.config import Settings
from service.db import upgrade


def test_a_database_from_before_shared_batch_jobs_keeps_its_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs were a pid's, with their lines and results in files; `interviewer db upgrade` moves them into
    the database, and a job left running can be taken over at once."""
    settings = Settings(data_dir=tmp_path)
    upgrade(settings, "0001")
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "old.in.jsonl").write_text('{"id": "a", "answer": "x"}\nnot json\n{"id": "b", "answer": "y"}\n')
    (folder / "old.out.jsonl").write_text(
        '{"id": "a", "error": "timeout"}\n{"id": null, "error": "line 2: not JSON"}\n{"id": "a", "score": 70}\n'
    )
    with sqlite3.connect(settings.db_path) as conn:
        conn.execute("INSERT INTO batch_jobs VALUES ('old', 'running', 'semantic', 2, 123, '{}', 1.0)")

    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path))
    from service.config import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["db", "upgrade"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0 and "schema revision 0004" in result.output

    from service.batch.jobs import BatchJobs

    jobs = BatchJobs(settings)
    assert len(list(jobs.lines("old"))) == 3
    results = list(jobs.results("old"))
    assert {"id": "a", "score": 70} in results and {"id": None, "error": "line 2: not JSON"} in results
    assert len(results) == 2  # a's error was replaced by its grade
    assert jobs.output("old").graded == {"a"}
    assert [j[0] for j in jobs.claim_expired()] == ["old"]


@pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"), reason="needs TEST_POSTGRES_URL (.ci/run sets it)")
def test_replicas_that_start_together_upgrade_one_at_a_time(tmp_path: Path) -> None:
    import psycopg

    url = os.environ["TEST_POSTGRES_URL"]
    with psycopg.connect(url, autocommit=True) as conn:  # from nothing: every table made by the migrations
        conn.execute(
            "DROP TABLE IF EXISTS alembic_version, batch_jobs, batch_lines, batch_results, slack_failed_posts, disputes"
        )
    env = {**os.environ, "INTERVIEWER_DATABASE_URL": url, "INTERVIEWER_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "service.cli.main", "db", "upgrade"]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(3)]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    assert all("schema revision 0004" in out for out in outputs)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0004",)]
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'batch_jobs' ORDER BY column_name"
        ).fetchall()
    assert [c[0] for c in columns] == [
        "concurrency",
        "created",
        "id",
        "lease_until",
        "mode",
        "owner",
        "progress",
        "state",
    ]
