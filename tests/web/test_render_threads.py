"""Under many concurrent requests a worker runs at most RENDER_THREADS routes at once, so it
holds that many database connections (and their caches) instead of one per request; its
API searches take turns, in the order they came."""

from __future__ import annotations

import asyncio
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from dailypapers.web.app import create_app
from dailypapers.web.middleware import RENDER_THREADS
from dailypapers.web.state import SharedSearcher
from tests.web.conftest import site_settings

HF_DAY = "2024-10-25"
REQUESTS = 200


async def _serve(app: Any, paths: list[str]) -> list[httpx.Response]:
    """Start the app as a server does (lifespan), answer `paths` all at once, stop it."""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    started, stopped = asyncio.Event(), asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()
        elif message["type"] == "lifespan.shutdown.complete":
            stopped.set()

    await inbox.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    lifespan = asyncio.create_task(app(scope, inbox.get, send))
    await started.wait()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await asyncio.gather(*(client.get(path) for path in paths))
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await stopped.wait()
        await lifespan


def test_many_concurrent_requests_hold_at_most_render_threads_connections(
    site_home: Path,
) -> None:
    app = create_app(site_settings(site_home))  # no page cache: every request renders
    engine: sa.Engine = app.state.dp.engine
    held = {"now": 0, "most": 0}

    def checked_out(*_: object) -> None:
        held["now"] += 1
        held["most"] = max(held["most"], held["now"])

    def checked_in(*_: object) -> None:
        held["now"] -= 1

    sa.event.listen(engine, "checkout", checked_out)
    sa.event.listen(engine, "checkin", checked_in)
    paths = [f"/papers/date/{HF_DAY}?n={n}" for n in range(REQUESTS)]
    try:
        pages = asyncio.run(_serve(app, paths))
    finally:
        engine.dispose()
    assert [page.status_code for page in pages] == [200] * REQUESTS
    # The routes' threads, and the index keeper's one.
    assert 2 <= held["most"] <= RENDER_THREADS + 1


def test_searches_take_turns_in_the_order_they_came(site_home: Path) -> None:
    app = create_app(site_settings(site_home))
    shared: SharedSearcher = app.state.dp.search
    guard = threading.Lock()
    seen = {"inside": 0, "most": 0}
    began: list[int] = []

    def search(number: int) -> int:
        with guard:
            seen["inside"] += 1
            seen["most"] = max(seen["most"], seen["inside"])
            began.append(number)
        try:
            found = shared.run(lambda s: s.search(f"diffusion {number}", mode="keyword"))
            time.sleep(0.02)  # a slow search: the others wait for it
            return len(found.hits)
        finally:
            with guard:
                seen["inside"] -= 1

    async def arrive() -> list[int]:
        return await asyncio.gather(*(shared.in_turn(partial(search, n)) for n in range(8)))

    try:
        asyncio.run(arrive())
    finally:
        app.state.dp.engine.dispose()
    assert seen["most"] == 1
    assert began == list(range(8))


def test_search_pages_and_answers_under_many_concurrent_requests(site_home: Path) -> None:
    app = create_app(site_settings(site_home))
    paths = [f"/api/v1/search?q=diffusion+{n}" for n in range(40)]
    paths += [f"/search?q=language+model+{n}" for n in range(40)]
    paths += [f"/search?q=%24&n={n}" for n in range(5)]  # no words: refused
    try:
        answers = asyncio.run(_serve(app, paths))
    finally:
        app.state.dp.engine.dispose()
    assert [answer.status_code for answer in answers] == [200] * 80 + [422] * 5
    assert all(answer.json()["query"] for answer in answers[:40])
    assert all("language" in answer.text for answer in answers[40:80])
    assert all("no words to search for" in answer.text for answer in answers[80:])
