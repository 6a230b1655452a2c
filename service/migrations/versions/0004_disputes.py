"""Disputes: a candidate says one decision of a grade is wrong; a reviewer settles it.

One open dispute per decision is the database's rule (a unique index over the open ones), so two
replicas taking the same dispute at once cannot both store it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("target", sa.Text, nullable=False),  # "session/<id>" or "batch/<job>/<line>"
        sa.Column("trap_id", sa.Text, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),  # the decision's number as the report shows it
        sa.Column("decision", sa.Text, nullable=False),  # "point:<criterion>/<point>", "criterion:<id>", "flag:<id>"
        sa.Column("statements", sa.Text, nullable=False),  # JSON: [{ref, text, claim}] the reader decides
        sa.Column("decided", sa.Text, nullable=False),
        sa.Column("reading", sa.Text, nullable=False),  # what the candidate says the passage does
        sa.Column("passage", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("score_if", sa.Integer, nullable=False),
        sa.Column("status", sa.Text, nullable=False),  # open, accepted, rejected
        sa.Column("label", sa.Text),  # the reviewer's reading, once settled
        sa.Column("reviewer", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("settled", sa.Float),
    )
    op.create_index("disputes_by_target", "disputes", ["target"])
    op.create_index(
        "one_open_dispute_per_decision",
        "disputes",
        ["target", "decision"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
