"""Jobs: task runs, paper vectors in the database, the embedding backlog; procrastinate's schema.

Revision ID: 0007
Revises: 0006

On PostgreSQL this also creates the tables and functions of procrastinate (the job queue the
workers use), from the schema file of the pinned procrastinate release: our migrations own the
whole database. A later procrastinate release that changes its schema comes with a migration of
ours that applies its SQL migration files.

Every stored paper goes into the embedding backlog: vectors computed before this revision lived
in each node's files and are computed once more, now shared by every node.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from dailypapers.store import schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NEW_TABLES = (schema.task_runs, schema.paper_vectors, schema.embedding_backlog)


def upgrade() -> None:
    bind = op.get_bind()
    schema.metadata.create_all(bind, tables=list(NEW_TABLES))
    papers = schema.papers
    on_list = sa.or_(papers.c.daily_date.is_not(None), papers.c.score > 0)
    backlog = sa.select(
        papers.c.paper_id,
        sa.case((on_list, 1), else_=0),
        papers.c.list_date,
        sa.literal(datetime.now(UTC), sa.DateTime(timezone=True)),
    )
    columns = ["paper_id", "priority", "list_date", "queued_at"]
    bind.execute(sa.insert(schema.embedding_backlog).from_select(columns, backlog))
    if bind.dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # Straight to the driver, with no parameters: the file holds many statements, PL/pgSQL
        # bodies and literal % signs that a parameterised execution would misread.
        cursor = bind.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(SchemaManager.get_schema())
        finally:
            cursor.close()


def downgrade() -> None:
    bind = op.get_bind()
    schema.metadata.drop_all(bind, tables=list(reversed(NEW_TABLES)))
