"""Account care: password and email changes, password resets, disabled accounts (issue 15 item 5).

Revision ID: 0011
Revises: 0010

Adds `users.last_login_at`, `users.disabled_at` and `users.deleted_at`; creates
`account_tokens` (single-use, expiring tokens of password-reset and address-change links, stored
hashed); lets an outbox message belong to a user instead of a subscription (`outbox.user_id`,
`outbox.subscription_id` now nullable), so account mail goes out the way digests do. On SQLite
the outbox table is copied once for the nullable column.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dailypapers.store import schema

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

USER_COLUMNS = ("last_login_at", "disabled_at", "deleted_at")


def _columns(table: str) -> dict[str, dict[str, object]]:
    return {c["name"]: dict(c) for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    # Migrations 0002 and 0004 create `users` and `outbox` from today's schema, so a database
    # made from scratch has these columns already; one made before this revision gets them here.
    missing = [name for name in USER_COLUMNS if name not in _columns("users")]
    if missing:
        with op.batch_alter_table("users") as batch:
            for name in missing:
                batch.add_column(sa.Column(name, sa.DateTime(timezone=True)))
    if "user_id" not in _columns("outbox"):
        with op.batch_alter_table("outbox") as batch:
            batch.alter_column("subscription_id", existing_type=sa.Integer, nullable=True)
            batch.add_column(sa.Column("user_id", sa.Integer))
            batch.create_foreign_key(
                "fk_outbox_user_id_users", "users", ["user_id"], ["user_id"], ondelete="CASCADE"
            )
            batch.create_index("ix_outbox_user", ["user_id"])
    schema.metadata.create_all(op.get_bind(), tables=[schema.account_tokens])


def downgrade() -> None:
    schema.metadata.drop_all(op.get_bind(), tables=[schema.account_tokens])
    op.execute("DELETE FROM outbox WHERE subscription_id IS NULL")
    # A database made from scratch got `outbox.user_id` from today's schema (0004), whose
    # foreign key has the database's own name (PostgreSQL) or none (SQLite, where the table
    # copy leaves it out with the column); one upgraded here has ours.
    foreign_keys = sa.inspect(op.get_bind()).get_foreign_keys("outbox")
    names = [fk["name"] for fk in foreign_keys if fk["constrained_columns"] == ["user_id"]]
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_user")
        for name in names:
            if name:
                batch.drop_constraint(name, type_="foreignkey")
        batch.drop_column("user_id")
        batch.alter_column("subscription_id", existing_type=sa.Integer, nullable=False)
    # Plain DROP COLUMN (SQLite 3.35+), not a batch copy: on SQLite a copy drops the old
    # `users` table, and with foreign keys on that deletes every user's sessions, votes,
    # comments and collections by cascade.
    for name in reversed(USER_COLUMNS):
        op.execute(f"ALTER TABLE users DROP COLUMN {name}")
