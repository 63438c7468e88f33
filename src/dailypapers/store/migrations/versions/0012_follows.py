"""Follows and notifications (issue 15 items 3-4).

Revision ID: 0012
Revises: 0011

Creates `follows` (a reader's followed authors, categories and public collections, one row
each) and `notifications` (replies to a reader's comments, new papers by followed authors,
papers added to followed collections; one row per reader and subject, with its read time).
Both start empty.
"""

from __future__ import annotations

from alembic import op

from dailypapers.store import schema

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

NEW_TABLES = (schema.follows, schema.notifications)


def upgrade() -> None:
    schema.metadata.create_all(op.get_bind(), tables=list(NEW_TABLES))


def downgrade() -> None:
    schema.metadata.drop_all(op.get_bind(), tables=list(reversed(NEW_TABLES)))
