"""An index that yields a day's list in page order, so a page reads 30 rows, not the day.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_papers_list", "papers")
    op.create_index(
        "ix_papers_list_order", "papers", ["list_date", "hidden", "score", "published", "paper_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_papers_list_order", "papers")
    op.create_index("ix_papers_list", "papers", ["list_date", "score"])
