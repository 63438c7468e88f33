"""Entry point for ASGI servers: `uvicorn --factory dailypapers.web.asgi:app_from_environment`."""

from __future__ import annotations

import ctypes
import gc
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing

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


# glibc's malloc gives each thread that allocates an arena of its own, up to 8 per core, and
# a worker's request threads (16) then leave freed memory spread over many arenas. With two,
# the 10-minute soak (bench/soak.py) kept each worker about 40 MB smaller and flat, at the same
# requests/s. MALLOC_ARENA_MAX in the environment, if set, wins.
MALLOC_ARENAS = 2
M_ARENA_MAX = -8  # glibc's mallopt() parameter number


def limit_malloc_arenas(count: int = MALLOC_ARENAS) -> bool:
    """Let malloc make at most `count` arenas in this process from now on, unless
    MALLOC_ARENA_MAX is set; False (nothing done) then, or where the C library is not glibc."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, count))


def freeze_startup_objects(app: FastAPI) -> None:
    """Once the app has started (modules, templates and the query encoder loaded: about 180,000
    objects in a worker over the benchmark's data), move what is alive out of the garbage
    collector's reach (gc.freeze, as Instagram does for its Django workers). A full collection
    holds the GIL while it walks every tracked object, and under load a worker makes one every
    few hundred requests: 76-160 ms each with those objects, 15-30 ms without (measured in a
    worker serving the benchmark's mix). Nothing frozen is lost: it lives as long as the
    process anyway."""
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with started(app):  # the app's own lifespan keeps no state in the scope
            gc.collect()  # what starting left behind is freed, not frozen
            gc.freeze()
            yield

    app.router.lifespan_context = lifespan


def app_from_environment() -> FastAPI:
    """The app configured from DAILYPAPERS_* variables (each worker process builds its own)."""
    try:
        settings = load_settings(os.environ)
    except SettingsError as error:
        # One line per bad variable, not a traceback from each worker; the server stops.
        raise SystemExit(f"dailypapers cannot start: bad settings\n{error}") from None
    limit_malloc_arenas()  # before the request threads start
    if settings.resolved_database_url.startswith("sqlite"):
        limit_sqlite_heap()
    app = create_app(settings)
    freeze_startup_objects(app)
    return app
