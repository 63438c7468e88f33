"""Entry point for ASGI servers: `uvicorn --factory dailypapers.web.asgi:app_from_environment`."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing

from fastapi import FastAPI

from dailypapers.config import SettingsError, load_settings
from dailypapers.web.app import create_app

# Each SQLite connection keeps a page cache of its own (up to 64 MiB, see store/engine.py) and
# a worker holds a pool of connections, one per request thread at work: under varied reads the
# caches grew each worker by a gigabyte within minutes (issue 11 item 14). Past this limit,
# which counts all of SQLite's memory in the process, every connection reuses its own cache
# pages instead of taking more; the database file stays in the operating system's cache.
SQLITE_HEAP_LIMIT_BYTES = 64 * 1024 * 1024


def limit_sqlite_heap(limit_bytes: int = SQLITE_HEAP_LIMIT_BYTES) -> None:
    """Bound the memory SQLite keeps in this process (a soft limit: caches give way first;
    no query fails because of it)."""
    with closing(sqlite3.connect(":memory:")) as connection:
        connection.execute(f"PRAGMA soft_heap_limit={int(limit_bytes)}")


def app_from_environment() -> FastAPI:
    """The app configured from DAILYPAPERS_* variables (each worker process builds its own)."""
    try:
        settings = load_settings(os.environ)
    except SettingsError as error:
        # One line per bad variable, not a traceback from each worker; the server stops.
        raise SystemExit(f"dailypapers cannot start: bad settings\n{error}") from None
    if settings.resolved_database_url.startswith("sqlite"):
        limit_sqlite_heap()
    return create_app(settings)
