"""Migration 0013 on both databases: a database from before it gets the notification mail
columns and keeps its accounts and notifications (none counts as emailed, nobody opted in);
going back down to 0012 drops the columns and keeps every row."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from dailypapers.config import Settings
from dailypapers.store.engine import create_db_engine
from dailypapers.store.migrate import _alembic_config, schema_status, upgrade_database
from tests.store.migration_rows import add_user_with_session

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def _columns(engine: sa.Engine, table: str) -> set[str]:
    with engine.connect() as conn:
        return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def _rows(engine: sa.Engine) -> list[tuple[object, ...]]:
    query = "SELECT u.username, n.subject FROM notifications n JOIN users u USING (user_id)"
    with engine.connect() as conn:
        rows = conn.execute(sa.text(query)).all()
        sessions = conn.execute(sa.text("SELECT count(*) FROM user_sessions")).scalar_one()
    return [tuple(row) for row in rows] + [("sessions", sessions)]


def test_0013_adds_the_mail_columns_and_keeps_every_row(settings: Settings) -> None:
    engine = create_db_engine(settings)
    upgrade_database(engine)
    with engine.begin() as conn:
        user_id = add_user_with_session(conn, NOW)
        conn.execute(
            sa.text(
                "INSERT INTO notifications (user_id, kind, subject, created_at)"
                " VALUES (:user, 'reply', 'reply:1', :now)"
            ),
            {"user": user_id, "now": NOW},
        )
    before = _rows(engine)
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0012")
    assert "emailed_at" not in _columns(engine, "notifications")
    assert "notifications_in_digest" not in _columns(engine, "users")
    assert _rows(engine) == before

    upgrade_database(engine)
    assert schema_status(engine) == ("0013", "0013")
    assert {"emailed_at", "emailed_key"} <= _columns(engine, "notifications")
    assert _rows(engine) == before
    with engine.connect() as conn:
        emailed = conn.execute(sa.text("SELECT emailed_at FROM notifications")).scalar_one()
        chose = conn.execute(sa.text("SELECT notifications_in_digest FROM users")).scalar_one()
    engine.dispose()
    assert emailed is None
    assert not chose
