"""Notifications in the digest (issue 15 item 4).

Revision ID: 0013
Revises: 0012

Adds `users.notifications_in_digest` (a reader's choice to get their unread notifications in
their digest; off) and `notifications.emailed_at` / `notifications.emailed_key` (when, and in
which digest, a notification was put in an email: set in the digest's transaction, so each is
emailed at most once). Existing notifications count as not emailed, which changes nothing
until a reader turns the choice on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

NOTIFICATION_COLUMNS = ("emailed_at", "emailed_key")


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    # Migrations 0002 and 0012 create `users` and `notifications` from today's schema, so a
    # database made from scratch has these columns already; an older one gets them here.
    # Plain ADD COLUMN, not a batch: on SQLite a batch would copy `users` for the default,
    # and dropping the old table (foreign keys on) would delete every row that refers to it.
    if "notifications_in_digest" not in _columns("users"):
        op.add_column(
            "users",
            sa.Column(
                "notifications_in_digest", sa.Boolean, nullable=False, server_default=sa.false()
            ),
        )
    columns = _columns("notifications")
    if "emailed_at" not in columns:
        op.add_column("notifications", sa.Column("emailed_at", sa.DateTime(timezone=True)))
    if "emailed_key" not in columns:
        op.add_column("notifications", sa.Column("emailed_key", sa.String(200)))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), not a batch copy, for the same reason.
    for name in reversed(NOTIFICATION_COLUMNS):
        op.execute(f"ALTER TABLE notifications DROP COLUMN {name}")
    op.execute("ALTER TABLE users DROP COLUMN notifications_in_digest")
