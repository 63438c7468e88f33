"""Paper removals: ids that left the store (a re-keyed paper's old id), for the index updaters.

Revision ID: 0006
Revises: 0005

The keyword index follows `papers.modified_at`; a paper re-keyed from its `title:...` id to its
arXiv id left a document under the old id that nothing deleted. The table starts empty: an index
built before this revision is rebuilt anyway (keyword index format 3).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_removals",
        sa.Column("removal_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("paper_id", sa.String(200), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_paper_removals_removed_at", "paper_removals", ["removed_at"])


def downgrade() -> None:
    op.drop_index("ix_paper_removals_removed_at", "paper_removals")
    op.drop_table("paper_removals")
