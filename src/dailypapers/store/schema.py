"""Table definitions shared by SQLite and PostgreSQL. Migrations create exactly these."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Text columns hold JSON (authors, categories, versions, sources) as compact strings so the
# same schema works unchanged on SQLite and PostgreSQL and bulk writes stay cheap.
papers = sa.Table(
    "papers",
    metadata,
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
    sa.Index("ix_papers_title_key", "title_key"),
    # Papers known only by title are few; records with ids look for them in this small index.
    sa.Index(
        "ix_papers_title_only",
        "title_key",
        sqlite_where=sa.text("id_kind = 'title'"),
        postgresql_where=sa.text("id_kind = 'title'"),
    ),
    sa.Index("ix_papers_published", "published"),
    sa.Index("ix_papers_daily_date", "daily_date"),
    sa.Index("ix_papers_modified_at", "modified_at"),
)

paper_categories = sa.Table(
    "paper_categories",
    metadata,
    sa.Column(
        "paper_id",
        sa.String(200),
        sa.ForeignKey("papers.paper_id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    sa.Column("category", sa.String(40), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Index("ix_paper_categories_category", "category", "paper_id"),
)

harvest_checkpoints = sa.Table(
    "harvest_checkpoints",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
