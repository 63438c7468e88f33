"""Follows and notifications (issue 15 items 3-4).

Revision ID: 0012
Revises: 0011

Reserved, empty for now.
"""

from __future__ import annotations

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
