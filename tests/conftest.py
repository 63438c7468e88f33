"""Shared fixtures: paths to the real sample data beside the checkout."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from dailypapers.config import Settings, load_settings
from dailypapers.index.embeddings import Embedder, load_embedder
from dailypapers.store.engine import open_store
from tests.pg_server import PostgresServer, find_pg_bindir

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real sample data not found at {path} (expected ../shared beside main)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data`: real public inputs; tests skip with a message when it is absent."""
    return _require(SHARED / "data")


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """`../shared/seeds`: the saved Daily Papers pages."""
    return _require(SHARED / "seeds")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session, started and stopped here.

    Skips when the server binaries are missing, unless DAILYPAPERS_REQUIRE_POSTGRES=1 (CI sets
    it), in which case the absence is an error.
    """
    bindir = find_pg_bindir()
    if bindir is None:
        message = "PostgreSQL server binaries not found (apt-get install postgresql)"
        if os.environ.get("DAILYPAPERS_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    server = PostgresServer(bindir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings with a fresh, empty database: SQLite in tmp_path, or a new PostgreSQL database."""
    database_url = None
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        database_url = server.create_database()
    return load_settings({}, home=tmp_path / "home", database_url=database_url)


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings with a fresh SQLite database only (for tests about files, not the database)."""
    return load_settings({}, home=tmp_path / "home")


@pytest.fixture
def engine(settings: Settings) -> Iterator[sa.Engine]:
    """An engine on the fresh database with the schema migrated."""
    store = open_store(settings)
    yield store
    store.dispose()


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    """The default embedding model, loaded once (from site-packages, no download)."""
    return load_embedder("all-minilm-l6-v2")
