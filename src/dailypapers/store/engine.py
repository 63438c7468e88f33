"""Engine construction: SQLite tuned for a single writer with WAL, or any SQLAlchemy URL."""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.dates import as_utc
from dailypapers.store.migrate import upgrade_database


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the web app) run while an import writes; NORMAL sync is durable
    # across application crashes and only risks the last transaction on power loss.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")
    # Fewer, larger checkpoints: each one fsyncs, and bulk imports write hundreds of MB.
    cursor.execute("PRAGMA wal_autocheckpoint=16384")
    cursor.close()


def _register_sqlite_adapters() -> None:
    # The bulk writer hands datetimes straight to the driver; store them in exactly the text
    # SQLAlchemy binds (UTC, always six microsecond digits, no offset) so that comparisons
    # between stored values and query parameters are exact. Registered explicitly because the
    # driver's default adapters are deprecated from Python 3.12 on.
    # "YYYY-MM-DD HH:MM:SS.ffffff": isoformat without its "+00:00" (faster than strftime).
    sqlite3.register_adapter(
        datetime, lambda value: as_utc(value).isoformat(" ", "microseconds")[:26]
    )
    sqlite3.register_adapter(date, lambda value: value.isoformat())


class DatabaseMissing(RuntimeError):
    """A command that only reads found no SQLite database file where the settings point."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no database at {path}")
        self.path = path


def create_db_engine(settings: Settings, *, create: bool = True) -> sa.Engine:
    """An Engine for the configured database.

    With `create`, a missing SQLite data directory and file are made; without it, a missing
    file raises DatabaseMissing (a read-only command pointed at the wrong place must not leave
    an empty database behind).
    """
    url = sa.make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            path = Path(url.database)
            if not create and not path.is_file():
                raise DatabaseMissing(path)
            settings.home.mkdir(parents=True, exist_ok=True)
        _register_sqlite_adapters()
        # Enough kept-open connections for a web worker's concurrent requests: opening one
        # re-runs the PRAGMAs and starts with a cold page cache.
        engine = sa.create_engine(url, pool_size=16, max_overflow=32)
        sa.event.listen(engine, "connect", _tune_sqlite)
    else:
        connect_args: dict[str, Any] = {}
        if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
            # Without it the driver waits 130 s per address on a host that drops packets.
            connect_args["connect_timeout"] = settings.database_connect_timeout_s
        engine = sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    return engine


def database_location(url: str) -> str:
    """Where a database URL points, for messages: host:port/name, without the password."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    host = parsed.host or "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{host}{port}/{parsed.database or ''}"


def database_error_reason(error: BaseException) -> str:
    """The driver's reason for a database error, in one line (no SQL, no help link)."""
    cause = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(cause).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(cause).__name__


def open_store(settings: Settings, *, create: bool = True) -> sa.Engine:
    """An Engine whose schema is up to date (when auto_migrate is on); `create` as for
    `create_db_engine`."""
    engine = create_db_engine(settings, create=create)
    if settings.auto_migrate:
        upgrade_database(engine)
    return engine


class StoreVersion:
    """A number that changes whenever a write is committed to the store, by any connection of
    any process: SQLite's `PRAGMA data_version`, read on a connection of its own (so that the
    commits of the engine's pooled connections count too). About 2 microseconds a read.

    `current()` is None where no such number can be read cheaply: other databases (PostgreSQL
    has no counter of commits that a reader can trust without a table of its own), an
    in-memory database, or a failed read.
    """

    def __init__(self, engine: sa.Engine) -> None:
        url = engine.url
        self._uri: str | None = None
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            # mode=rw: never creates the file (the engine made it); it only reads a pragma.
            self._uri = f"{Path(url.database).resolve().as_uri()}?mode=rw"
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = 0  # the process that opened the connection (none is shared over a fork)
        self._opened = 0  # connections opened: the numbers of two are not comparable

    def current(self) -> tuple[int, int] | None:
        """The store's version now (which connection, its number); None if it cannot be told
        (see the class)."""
        if self._uri is None:
            return None
        with self._lock:
            try:
                if self._connection is None or self._pid != os.getpid():
                    self._connection = sqlite3.connect(
                        self._uri, uri=True, check_same_thread=False, isolation_level=None
                    )
                    self._pid = os.getpid()
                    self._opened += 1
                number = self._connection.execute("PRAGMA data_version").fetchone()[0]
                return self._opened, int(number)
            except sqlite3.Error:
                return None

    def close(self) -> None:
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = None
