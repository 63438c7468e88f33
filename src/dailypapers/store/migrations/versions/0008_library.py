"""Your library: collections of papers, their members and items.

Revision ID: 0008
Revises: 0007

Creates `collections`, `collection_members` and `collection_items` (store/collections.py), and
an index on `papers.doi` (a library's entries are matched by DOI; store/library.py).
Saved papers stay `paper_marks` rows with the mark "saved". The follows, notifications and
account tables of the same issue come in a later revision.
"""

from __future__ import annotations

from alembic import op

from dailypapers.store import schema

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

NEW_TABLES = (schema.collections, schema.collection_members, schema.collection_items)


def upgrade() -> None:
    bind = op.get_bind()
    schema.metadata.create_all(bind, tables=list(NEW_TABLES))
    schema.ix_papers_doi.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    schema.ix_papers_doi.drop(bind)
    schema.metadata.drop_all(bind, tables=list(reversed(NEW_TABLES)))
