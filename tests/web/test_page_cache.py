"""The anonymous page cache: bounded by bytes, and concurrent misses of one page rendered once
(issue 13 item 6) without ever sharing a reader's own response."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from dailypapers.web.app import create_app
from dailypapers.web.state import CachedResponse, CacheKey, PageCache
from tests.web.conftest import site_settings

HF_DAY = "2024-10-25"  # Hugging Face's recorded list: four papers
TOP = "2410.17243"
READERS = 8


def _key(path: str) -> CacheKey:
    return ("http", b"testserver", path, b"")


def _page(size: int) -> CachedResponse:
    return CachedResponse(200, [(b"content-type", b"text/html")], b"x" * size)


def test_the_page_cache_keeps_at_most_its_bytes_dropping_the_oldest_pages() -> None:
    cache = PageCache(60, max_bytes=100_000, max_entries=1000)
    for number in range(40):  # 40 pages of 10 KB: four times the budget
        cache.put(_key(f"/papers/{number}"), _page(10_000))
        assert cache.size_bytes <= 100_000
    assert 8 <= len(cache) <= 9
    assert cache.get(_key("/papers/0")) is None and cache.get(_key("/papers/39")) is not None
    # Storing a page again replaces it instead of counting it twice.
    before = cache.size_bytes
    cache.put(_key("/papers/39"), _page(10_000))
    assert cache.size_bytes == before
    cache.clear()
    assert cache.size_bytes == 0 and len(cache) == 0


def test_one_huge_response_is_not_kept_so_it_cannot_push_out_the_others() -> None:
    cache = PageCache(60, max_bytes=100_000)
    cache.put(_key("/small"), _page(1_000))
    cache.put(_key("/feed.atom"), _page(50_000))  # more than an eighth of the budget
    assert cache.get(_key("/feed.atom")) is None and cache.get(_key("/small")) is not None


def test_expired_pages_leave_the_cache_instead_of_waiting_to_be_pushed_out() -> None:
    cache = PageCache(0.05, max_bytes=10_000_000)
    for number in range(50):
        cache.put(_key(f"/papers/{number}"), _page(10_000))
    time.sleep(0.1)
    cache.put(_key("/papers/new"), _page(10_000))
    assert len(cache) == 1 and cache.size_bytes < 20_000


async def _concurrent_gets(app: Any, path: str, count: int) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await asyncio.gather(*(client.get(path) for _ in range(count)))


def test_concurrent_readers_of_one_uncached_page_wait_for_one_render(site_home: Path) -> None:
    app = create_app(site_settings(site_home, page_cache_s=60))
    engine = app.state.dp.engine
    (day,) = asyncio.run(_concurrent_gets(app, f"/api/v1/papers/date/{HF_DAY}", 1))
    other = next(p["id"] for p in day.json()["papers"] if p["id"] != TOP)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    try:
        # What one render of a paper page costs the database, read on another paper.
        (single,) = asyncio.run(_concurrent_gets(app, f"/papers/{other}", 1))
        assert single.status_code == 200
        one_render = len(statements)
        statements.clear()
        pages = asyncio.run(_concurrent_gets(app, f"/papers/{TOP}", READERS))
    finally:
        engine.dispose()
    assert [page.status_code for page in pages] == [200] * READERS
    assert (
        len({page.text for page in pages}) == 1 and "Breaking the Memory Barrier" in pages[0].text
    )
    # One render's queries, not one render per reader.
    assert len(statements) == one_render


def test_concurrent_readers_of_a_private_page_each_get_their_own(site_home: Path) -> None:
    app = create_app(site_settings(site_home, page_cache_s=60))
    try:
        pages = asyncio.run(_concurrent_gets(app, "/login", READERS))
    finally:
        app.state.dp.engine.dispose()
    assert [page.status_code for page in pages] == [200] * READERS
    # The login form carries a CSRF token of its own for each reader: never shared.
    tokens = {page.cookies.get("dp_csrf") for page in pages}
    assert len(tokens) == READERS and None not in tokens
