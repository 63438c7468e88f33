"""Account care: password and email changes, password resets, disabled accounts (issue 15 item 5).

Revision ID: 0011
Revises: 0010

Reserved, empty for now.
"""

from __future__ import annotations

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
