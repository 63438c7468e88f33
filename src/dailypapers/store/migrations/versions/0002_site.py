"""Site tables: users, sessions, API tokens, votes, comments, submissions; list columns.

Revision ID: 0002
Revises: 0001

The new tables are created from `store.schema` as it stands at this revision; any later change
to them comes as a migration of its own.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from dailypapers.dates import as_utc
from dailypapers.ranking.hotness import hotness, listed_at
from dailypapers.store import schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NEW_TABLES = (
    schema.users,
    schema.user_sessions,
    schema.api_tokens,
    schema.login_failures,
    schema.votes,
    schema.comments,
    schema.submissions,
)


def upgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.add_column(sa.Column("list_date", sa.Date))
        for name in ("local_votes", "local_comments", "score"):
            batch.add_column(sa.Column(name, sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("hotness", sa.Float, nullable=False, server_default="0"))
        batch.add_column(sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()))
    bind = op.get_bind()
    _backfill(bind)
    op.create_index("ix_papers_list", "papers", ["list_date", "score"])
    op.create_index("ix_papers_hotness", "papers", ["hotness"])
    schema.metadata.create_all(bind, tables=list(NEW_TABLES))


def _backfill(bind: sa.Connection) -> None:
    """list_date, score and hotness for the papers stored before this revision."""
    if bind.dialect.name == "sqlite":
        published_day = "substr(published, 1, 10)"
    else:
        published_day = "(published AT TIME ZONE 'UTC')::date"
    bind.execute(
        sa.text(
            f"UPDATE papers SET list_date = COALESCE(daily_date, {published_day}), score = upvotes"
        )
    )
    select = sa.text(
        "SELECT paper_id, score, list_date, published, created_at FROM papers"
        " WHERE paper_id > :after ORDER BY paper_id LIMIT 20000"
    )
    update = sa.text("UPDATE papers SET hotness = :hotness WHERE paper_id = :paper_id")
    after = ""
    while batch := bind.execute(select, {"after": after}).all():
        params = [
            {"paper_id": row[0], "hotness": _hotness(row[1], row[2], row[3], row[4])}
            for row in batch
        ]
        bind.execute(update, params)
        after = batch[-1][0]


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _hotness(score: int, list_date: Any, published: Any, created_at: Any) -> float:
    day = date.fromisoformat(str(list_date)[:10]) if list_date is not None else None
    published_at = _as_datetime(published)
    created = _as_datetime(created_at)
    assert created is not None
    return hotness(
        score,
        listed_at(day, as_utc(published_at) if published_at else None, as_utc(created)),
    )


def downgrade() -> None:
    for table in reversed(NEW_TABLES):
        op.drop_table(table.name)
    op.drop_index("ix_papers_hotness", "papers")
    op.drop_index("ix_papers_list", "papers")
    with op.batch_alter_table("papers") as batch:
        for name in ("hidden", "hotness", "score", "local_comments", "local_votes", "list_date"):
            batch.drop_column(name)
