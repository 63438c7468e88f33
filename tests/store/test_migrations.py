"""Migrations create exactly the schema the code declares, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from dailypapers.config import Settings
from dailypapers.store.checkpoints import get_checkpoint, set_checkpoint
from dailypapers.store.engine import open_store
from dailypapers.store.migrate import schema_status
from dailypapers.store.schema import metadata


def test_migrated_schema_matches_declared_tables(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_migrating_twice_is_harmless(settings: Settings) -> None:
    first = open_store(settings)
    first.dispose()
    second = open_store(settings)
    assert schema_status(second) == ("0002", "0002")
    second.dispose()


def test_checkpoints_round_trip(engine: sa.Engine) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert get_checkpoint(engine, key="oai:cs") is None
    set_checkpoint(engine, key="oai:cs", value="token-1", now=now)
    set_checkpoint(engine, key="oai:cs", value="token-2", now=now)
    assert get_checkpoint(engine, key="oai:cs") == "token-2"
    set_checkpoint(engine, key="oai:cs", value=None, now=now)
    assert get_checkpoint(engine, key="oai:cs") is None
