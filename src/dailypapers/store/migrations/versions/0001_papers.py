"""Papers, their categories, and harvest checkpoints.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "papers",
        sa.Column("paper_id", sa.String(200), primary_key=True),
        sa.Column("id_kind", sa.String(10), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("title_key", sa.Text, nullable=False),
        sa.Column("abstract", sa.Text, nullable=False, server_default=""),
        sa.Column("authors", sa.Text, nullable=False, server_default="[]"),
        sa.Column("author_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("categories", sa.Text, nullable=False, server_default="[]"),
        sa.Column("primary_category", sa.String(40)),
        sa.Column("versions", sa.Text, nullable=False, server_default="[]"),
        sa.Column("latest_version", sa.Integer),
        sa.Column("published", sa.DateTime(timezone=True)),
        sa.Column("updated", sa.DateTime(timezone=True)),
        sa.Column("doi", sa.Text),
        sa.Column("journal_ref", sa.Text),
        sa.Column("comments", sa.Text),
        sa.Column("license", sa.Text),
        sa.Column("abs_url", sa.Text),
        sa.Column("pdf_url", sa.Text),
        sa.Column("code_url", sa.Text),
        sa.Column("project_url", sa.Text),
        sa.Column("sources", sa.Text, nullable=False, server_default="[]"),
        sa.Column("text_rank", sa.Integer, nullable=False, server_default="0"),
        sa.Column("upvotes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("comment_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("daily_date", sa.Date),
        sa.Column("submitted_by", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_papers_title_key", "papers", ["title_key"])
    op.create_index(
        "ix_papers_title_only",
        "papers",
        ["title_key"],
        sqlite_where=sa.text("id_kind = 'title'"),
        postgresql_where=sa.text("id_kind = 'title'"),
    )
    op.create_index("ix_papers_published", "papers", ["published"])
    op.create_index("ix_papers_daily_date", "papers", ["daily_date"])
    op.create_index("ix_papers_modified_at", "papers", ["modified_at"])
    op.create_table(
        "paper_categories",
        sa.Column(
            "paper_id",
            sa.String(200),
            sa.ForeignKey("papers.paper_id", ondelete="CASCADE", onupdate="CASCADE"),
            primary_key=True,
        ),
        sa.Column("category", sa.String(40), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_index("ix_paper_categories_category", "paper_categories", ["category", "paper_id"])
    op.create_table(
        "harvest_checkpoints",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("harvest_checkpoints")
    op.drop_table("paper_categories")
    op.drop_table("papers")
