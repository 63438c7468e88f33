"""Inbox tables: signing secrets, subscriptions, paper marks, recommender models, the outbox.

Revision ID: 0004
Revises: 0003

The tables are created from `store.schema` as it stands at this revision; any later change to
them comes as a migration of its own.
"""

from __future__ import annotations

from alembic import op

from dailypapers.store import schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NEW_TABLES = (
    schema.site_secrets,
    schema.subscriptions,
    schema.paper_marks,
    schema.recommender_models,
    schema.outbox,
    schema.sent_papers,
)


def upgrade() -> None:
    schema.metadata.create_all(op.get_bind(), tables=list(NEW_TABLES))


def downgrade() -> None:
    schema.metadata.drop_all(op.get_bind(), tables=list(reversed(NEW_TABLES)))
