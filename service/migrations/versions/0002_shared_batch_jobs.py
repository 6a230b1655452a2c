"""Batch jobs any replica can run: their input lines and results in the database, owned under a lease.

A job was owned by a pid on one machine, with its input and output as files in that machine's data dir.
Now the input lines and the results are rows, and the owner holds a lease it renews; another replica
takes a job whose lease ran out. Jobs of the old kind (SQLite only) are carried over: their files are
read into the new tables.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("batch_jobs") as table:  # batch mode: SQLite rebuilds the table to drop a column
        table.drop_column("pid")
        table.add_column(sa.Column("owner", sa.Text, nullable=True))
        table.add_column(sa.Column("lease_until", sa.Float, nullable=False, server_default="0"))
    op.create_table(
        "batch_lines",
        sa.Column("job_id", sa.Text, primary_key=True),
        sa.Column("line_no", sa.Integer, primary_key=True),
        sa.Column("line", sa.Text, nullable=False),
    )
    op.create_table(
        "batch_results",
        sa.Column("job_id", sa.Text, primary_key=True),
        sa.Column("line_no", sa.Integer, primary_key=True),
        sa.Column("record_id", sa.Text, nullable=True),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and bind.engine.url.database:
        _carry_over(bind, Path(bind.engine.url.database).parent / "batch")


def _carry_over(bind: sa.Connection, folder: Path) -> None:
    """The old jobs' files, read into rows: an input line per line; the last output record per line."""
    for (job_id,) in bind.execute(sa.text("SELECT id FROM batch_jobs")).all():
        source, output = folder / f"{job_id}.in.jsonl", folder / f"{job_id}.out.jsonl"
        numbers: dict[str, int] = {}
        if source.exists():
            with source.open(encoding="utf-8", errors="replace") as fh:
                for number, line in enumerate(fh, 1):
                    bind.execute(
                        sa.text("INSERT INTO batch_lines VALUES (:j, :n, :l)"), {"j": job_id, "n": number, "l": line}
                    )
                    with contextlib.suppress(ValueError, AttributeError):
                        numbers.setdefault(str(json.loads(line).get("id")), number)
        if output.exists():
            with output.open(encoding="utf-8", errors="replace") as fh:
                for extra, raw in enumerate(fh, 1):
                    try:
                        rec = json.loads(raw)
                    except ValueError:
                        continue
                    rid = None if rec.get("id") is None else str(rec["id"])
                    number = numbers.get(str(rid), -extra)  # a line-error without an id keeps a place of its own
                    bind.execute(
                        sa.text(
                            "INSERT INTO batch_results VALUES (:j, :n, :r, :f, :rec) ON CONFLICT (job_id, line_no)"
                            " DO UPDATE SET record = excluded.record, failed = excluded.failed"
                        ),
                        {"j": job_id, "n": number, "r": rid, "f": int("error" in rec), "rec": raw},
                    )
