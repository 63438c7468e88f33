"""Rows the migration tests store before going down and up again, in plain SQL (the schema
of the revision under test, not today's)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa


def add_user_with_session(conn: sa.Connection, now: datetime) -> int:
    """The account 'ada' with one login session; her user id."""
    conn.execute(
        sa.text(
            "INSERT INTO users (username, username_key, password_hash, created_at)"
            " VALUES ('ada', 'ada', 'x', :now)"
        ),
        {"now": now},
    )
    user_id = int(conn.execute(sa.text("SELECT user_id FROM users")).scalar_one())
    conn.execute(
        sa.text(
            "INSERT INTO user_sessions (token_hash, user_id, created_at, expires_at)"
            " VALUES ('h', :user, :now, :now)"
        ),
        {"user": user_id, "now": now},
    )
    return user_id
