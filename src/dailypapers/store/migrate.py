"""Schema migrations with Alembic, run from code (no alembic.ini needed)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory


def _alembic_config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", "dailypapers.store:migrations")
    config.attributes["connection"] = connection
    return config


def upgrade_database(engine: sa.Engine, revision: str = "head") -> None:
    """Apply every pending migration (safe to call on an up-to-date database)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two web nodes starting at once must not both run the same migration.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(7242001)"))
        command.upgrade(_alembic_config(connection), revision)


def schema_status(engine: sa.Engine) -> tuple[str | None, str | None]:
    """(current revision of the database, newest revision this code knows)."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        head = ScriptDirectory.from_config(_alembic_config(connection)).get_current_head()
    return current, head
