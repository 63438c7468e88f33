"""Migrations create exactly the schema the code declares, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from dailypapers.config import Settings
from dailypapers.ranking.hotness import hotness
from dailypapers.store.checkpoints import get_checkpoint, set_checkpoint
from dailypapers.store.engine import create_db_engine, open_store
from dailypapers.store.migrate import schema_status, upgrade_database
from dailypapers.store.schema import metadata

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _ours(name: str | None, type_: str, *_: object) -> bool:
    # procrastinate's tables (PostgreSQL only) come from its own schema file, not from ours.
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def test_migrated_schema_matches_declared_tables(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": _ours})
        differences = compare_metadata(context, metadata)
    assert differences == []


@pytest.mark.postgres
def test_postgres_gets_the_job_queue_tables(postgres_server: object) -> None:
    from tests.pg_server import PostgresServer

    assert isinstance(postgres_server, PostgresServer)
    url = postgres_server.create_database()
    store = open_store(Settings(database_url=url))
    try:
        with store.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
    finally:
        store.dispose()
    assert {"procrastinate_jobs", "procrastinate_periodic_defers", "procrastinate_workers"} <= names
    assert {"task_runs", "paper_vectors", "embedding_backlog"} <= names


def test_migrating_twice_is_harmless(settings: Settings) -> None:
    first = open_store(settings)
    first.dispose()
    second = open_store(settings)
    assert schema_status(second) == ("0013", "0013")
    second.dispose()


def test_checkpoints_round_trip(engine: sa.Engine) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert get_checkpoint(engine, key="oai:cs") is None
    set_checkpoint(engine, key="oai:cs", value="token-1", now=now)
    set_checkpoint(engine, key="oai:cs", value="token-2", now=now)
    assert get_checkpoint(engine, key="oai:cs") == "token-2"
    set_checkpoint(engine, key="oai:cs", value=None, now=now)
    assert get_checkpoint(engine, key="oai:cs") is None


def test_upgrade_from_0001_fills_the_list_columns(settings: Settings) -> None:
    engine = create_db_engine(settings)
    upgrade_database(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO papers (paper_id, id_kind, title, title_key, upvotes, daily_date,"
                " published, created_at, modified_at) VALUES"
                " ('2501.00001', 'arxiv', 'A', 'a', 7, '2025-01-02', :published, :now, :now),"
                " ('2501.00002', 'arxiv', 'B', 'b', 0, NULL, :published, :now, :now)"
            ),
            {"published": datetime(2025, 1, 5, 13, 0, tzinfo=UTC), "now": NOW},
        )
    upgrade_database(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT paper_id, list_date, score, hotness FROM papers ORDER BY paper_id")
        ).all()
    engine.dispose()
    assert [(r[0], str(r[1])[:10], r[2]) for r in rows] == [
        ("2501.00001", "2025-01-02", 7),
        ("2501.00002", "2025-01-05", 0),
    ]
    assert rows[0][3] == pytest.approx(hotness(7, datetime(2025, 1, 2, tzinfo=UTC)))
    assert rows[1][3] == pytest.approx(hotness(0, datetime(2025, 1, 5, tzinfo=UTC)))
