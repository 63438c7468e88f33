"""A web worker's SQLite memory stays within its budget however many request threads read
(issue 11 item 14: the per-connection caches grew each worker by a gigabyte), and malloc keeps
two arenas however many threads allocate."""

from __future__ import annotations

import _sqlite3
import ctypes
import os
import platform
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from dailypapers.web.asgi import SQLITE_HEAP_LIMIT_BYTES, app_from_environment, limit_sqlite_heap

READERS = 6
BALLAST_MB = 40


def _sqlite_memory_used() -> int:
    """All memory SQLite holds in this process, from the library the driver uses."""
    used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    used.restype = ctypes.c_int64
    return int(used())


@pytest.fixture
def worker_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    """The engine of an app built the way each `serve` worker builds its own."""
    for name in [n for n in os.environ if n.startswith("DAILYPAPERS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DAILYPAPERS_HOME", str(tmp_path / "home"))
    app = app_from_environment()
    engine: sa.Engine = app.state.dp.engine
    try:
        yield engine
    finally:
        engine.dispose()
        limit_sqlite_heap(0)  # the limit is process-wide: leave other tests without it


def test_many_request_threads_reading_keep_sqlite_within_the_worker_budget(
    worker_engine: sa.Engine,
) -> None:
    with worker_engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE ballast (data BLOB)")
        conn.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO ballast SELECT randomblob(1000) FROM n",
            (BALLAST_MB * 1000,),
        )
    worker_engine.dispose()  # start from empty caches
    ready = threading.Barrier(READERS)
    totals: list[int] = []

    def read_everything() -> None:
        # Each thread holds a pooled connection of its own, as concurrent requests do.
        with worker_engine.connect() as conn:
            ready.wait()
            for _ in range(2):
                total = conn.exec_driver_sql("SELECT sum(length(data)) FROM ballast").scalar()
                totals.append(int(total or 0))
            ready.wait()  # all connections open, each having read the whole table
            totals.append(_sqlite_memory_used())

    threads = [threading.Thread(target=read_everything) for _ in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert totals.count(BALLAST_MB * 1_000_000) == 2 * READERS  # every read was complete
    # Without the limit each connection caches the whole table: 6 x 40 MB.
    assert max(totals[-READERS:]) < SQLITE_HEAP_LIMIT_BYTES + 16 * 1024 * 1024


# Twelve threads each allocate through malloc (bytes past pymalloc's small-object sizes, under
# the mmap threshold), then glibc's malloc_stats() prints one "Arena N:" block per arena.
ARENAS_SCRIPT = """
import ctypes, sys, threading
from dailypapers.web.asgi import limit_malloc_arenas
if sys.argv[1] == "limited":
    assert limit_malloc_arenas()
barrier = threading.Barrier(12)
def allocate():
    barrier.wait()
    kept = [bytes(50_000) for _ in range(20)]
    barrier.wait()
threads = [threading.Thread(target=allocate) for _ in range(12)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL(None).malloc_stats()
"""


def _arenas(mode: str) -> int:
    environment = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", ARENAS_SCRIPT, mode],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return len(re.findall(r"^Arena \d+:", done.stderr, flags=re.M))


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc arenas are glibc's")
def test_a_worker_lets_malloc_keep_two_arenas_however_many_threads_allocate() -> None:
    assert _arenas("default") > 2  # what glibc does by itself: an arena per thread, nearly
    assert _arenas("limited") <= 2


# A worker as `serve` starts it: its app from the environment, started (lifespan) by a client.
FREEZE_SCRIPT = """
import gc
from fastapi.testclient import TestClient
from dailypapers.web.asgi import app_from_environment
assert gc.get_freeze_count() == 0
with TestClient(app_from_environment(), base_url="http://127.0.0.1") as client:
    assert client.get("/").status_code == 200
    print(gc.get_freeze_count(), len(gc.get_objects()))
"""


def test_a_started_worker_leaves_its_startup_objects_out_of_each_full_collection(
    tmp_path: Path,
) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    environment["DAILYPAPERS_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-c", FREEZE_SCRIPT],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    frozen, collected = (int(n) for n in done.stdout.split())
    # Everything alive once it started is frozen; a collection walks only what came after.
    assert frozen > 50_000 and collected < frozen
