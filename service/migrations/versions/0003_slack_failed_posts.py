"""Slack posts that failed after their retries: recorded, so /readyz and the logs can say so.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "slack_failed_posts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
    )
