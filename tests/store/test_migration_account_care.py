"""Migration 0011 going back down (to 0010) drops the account-care columns and keeps every
user's rows: on SQLite a table copy of `users` would delete them by cascade."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from dailypapers.config import Settings
from dailypapers.store.engine import create_db_engine
from dailypapers.store.migrate import _alembic_config, schema_status, upgrade_database
from tests.store.migration_rows import add_user_with_session

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def _counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("users", "user_sessions", "votes")
        }


def test_going_back_below_0011_keeps_sessions_and_votes(settings: Settings) -> None:
    engine = create_db_engine(settings)
    upgrade_database(engine)
    with engine.begin() as conn:
        user_id = add_user_with_session(conn, NOW)
        conn.execute(
            sa.text(
                "INSERT INTO papers (paper_id, id_kind, title, title_key, created_at, modified_at)"
                " VALUES ('2401.00001', 'arxiv', 'T', 't', :now, :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO votes (user_id, paper_id, created_at)"
                " VALUES (:user, '2401.00001', :now)"
            ),
            {"user": user_id, "now": NOW},
        )
    before = _counts(engine)
    assert before == {"users": 1, "user_sessions": 1, "votes": 1}
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0010")
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("users")}
    assert not {"last_login_at", "disabled_at", "deleted_at"} & columns
    assert _counts(engine) == before
    upgrade_database(engine)
    assert schema_status(engine) == ("0013", "0013")
    assert _counts(engine) == before
    engine.dispose()
