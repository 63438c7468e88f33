"""Trends: precomputed counts and topics for /trends.

Revision ID: 0010
Revises: 0009

Creates `trend_counts` (visible papers per list day and primary category) and
`trend_snapshots` (the fastest-rising topics and when the counts were made). Both start empty:
the `trends` task fills them (store/trends.py), at once when a runner starts.
"""

from __future__ import annotations

from alembic import op

from dailypapers.store import schema

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

NEW_TABLES = (schema.trend_counts, schema.trend_snapshots)


def upgrade() -> None:
    schema.metadata.create_all(op.get_bind(), tables=list(NEW_TABLES))


def downgrade() -> None:
    schema.metadata.drop_all(op.get_bind(), tables=list(reversed(NEW_TABLES)))
