"""The anonymous page cache: bounded by bytes, and concurrent misses of one page rendered once
(issue 13 item 6) without ever sharing a reader's own response; paper pages kept while what
they show is unchanged (StampedPages), and answered without reading anything while no commit
to the store or its indexes has been made since (DataVersion)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from dailypapers.index.build import sync_keyword_index
from dailypapers.index.layout import IndexLayout
from dailypapers.store.accounts import create_user
from dailypapers.store.comments import add_comment, set_comment_hidden
from dailypapers.store.engine import open_store
from dailypapers.store.schema import papers
from dailypapers.store.votes import record_vote
from dailypapers.web import views
from dailypapers.web.app import create_app
from dailypapers.web.state import (
    AppState,
    CachedResponse,
    CacheKey,
    DataVersion,
    KeptPage,
    PageCache,
    StampedPages,
)
from tests.search.conftest import import_files
from tests.web.conftest import sign_up, site_settings

HF_DAY = "2024-10-25"  # Hugging Face's recorded list: four papers
TOP = "2410.17243"
READERS = 8
HTML = b"text/html; charset=utf-8"


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


STAMP = b"s" * 16


def test_a_stamped_page_comes_back_only_for_its_own_stamp_and_within_its_age() -> None:
    pages = StampedPages(60)
    pages.put(_key("/papers/1"), STAMP, b"<p>one</p>")
    assert pages.get(_key("/papers/1"), STAMP) == b"<p>one</p>"
    assert pages.get(_key("/papers/1"), b"t" * 16) is None  # what it shows has changed
    assert pages.get(_key("/papers/2"), STAMP) is None
    short = StampedPages(0.05)
    short.put(_key("/papers/1"), STAMP, b"<p>one</p>")
    # A list's stamp is all it shows: it does not age (it goes when the list changes).
    short.put(_key("/papers/date/2024-10-25"), STAMP, b"<p>a day</p>", complete=True)
    time.sleep(0.1)
    assert short.get(_key("/papers/1"), STAMP) is None
    assert short.get(_key("/papers/date/2024-10-25"), STAMP) == b"<p>a day</p>"
    off = StampedPages(0)
    off.put(_key("/papers/1"), STAMP, b"<p>one</p>")
    assert len(off) == 0 and off.get(_key("/papers/1"), STAMP) is None


def test_a_stamped_page_comes_back_unread_only_at_the_version_it_was_last_confirmed_at() -> None:
    pages = StampedPages(60)
    pages.put(_key("/papers/1"), STAMP, b"<p>one</p>", version=("store", 1))
    assert pages.unchanged(_key("/papers/1"), ("store", 1)) == KeptPage(b"<p>one</p>", HTML)
    assert pages.unchanged(_key("/papers/1"), ("store", 2)) is None  # a commit since
    assert pages.unchanged(_key("/papers/1"), None) is None  # a store that cannot tell
    # The same facts read at the new version confirm it there (and no longer at the old).
    assert pages.get(_key("/papers/1"), STAMP, ("store", 2)) == b"<p>one</p>"
    assert pages.unchanged(_key("/papers/1"), ("store", 2)) == KeptPage(b"<p>one</p>", HTML)
    assert pages.unchanged(_key("/papers/1"), ("store", 1)) is None
    assert pages.get(_key("/papers/1"), b"t" * 16, ("store", 3)) is None
    assert pages.unchanged(_key("/papers/1"), ("store", 3)) is None  # not confirmed: changed
    pages.put(_key("/papers/2"), STAMP, b"<p>two</p>")  # kept where versions are unknown
    assert pages.unchanged(_key("/papers/2"), None) is None
    short = StampedPages(0.05)
    short.put(_key("/papers/1"), STAMP, b"<p>one</p>", version=1)
    time.sleep(0.1)
    assert short.unchanged(_key("/papers/1"), 1) is None  # aged, as for `get`
    answer = b'{"hits":[]}'
    pages.put(_key("/api/v1/search"), STAMP, answer, version=1, media_type=b"application/json")
    assert pages.unchanged(_key("/api/v1/search"), 1) == KeptPage(answer, b"application/json")


def test_the_data_version_moves_with_each_commit_of_any_connection_and_each_index_commit(
    site_home: Path, tmp_path: Path
) -> None:
    settings = site_settings(site_home)
    engine, other_node = open_store(settings), open_store(settings)
    versions = DataVersion(engine, IndexLayout.under(site_home))
    try:
        seen = [versions.current()]
        assert seen[0] is not None and versions.current() == seen[0]  # nothing written
        now = datetime.now(UTC)
        create_user(engine, username="here", password_hash="x", email=None, now=now)
        seen.append(versions.current())  # a commit of this process's own pool
        create_user(other_node, username="there", password_hash="x", email=None, now=now)
        seen.append(versions.current())
        source = tmp_path / "records.jsonl"
        record = {"id": "quillwort-1", "title": "Quillwort phenology", "abstract": "A b c."}
        source.write_text(json.dumps(record) + "\n", "utf-8")
        import_files(other_node, [source], "generic")
        seen.append(versions.current())
        store_before = versions.current()[0]  # type: ignore[index]
        assert sync_keyword_index(other_node, settings) >= 1
        seen.append(versions.current())
        assert seen[-1][0] == store_before  # type: ignore[index]  # only the index moved
        assert len(set(seen)) == len(seen), seen
        memory = DataVersion(sa.create_engine("sqlite://"), IndexLayout.under(tmp_path))
        assert memory.current() is None  # another connection could not see that database
    finally:
        versions.close()
        engine.dispose()
        other_node.dispose()


@pytest.mark.parametrize(
    ("path", "media_type"),
    [("/search", "text/html"), ("/api/v1/search", "application/json")],
    ids=["page", "json"],
)
def test_a_kept_search_page_shows_a_paper_once_the_keyword_index_has_it_with_no_other_write(
    site_home: Path, tmp_path: Path, path: str, media_type: str
) -> None:
    """The store commits first and the index follows: a search page (or its JSON twin)
    confirmed between the two (same results, the index lagging) must not stay as it was once
    the index commits. Between commits it is answered without searching or reading."""
    # The server's own index keeper stays out of it: the test makes the index commit itself.
    settings = site_settings(site_home, page_cache_s=60, search_refresh_s=3600)
    app = create_app(settings)
    state = app.state.dp
    other_node = open_store(settings)
    statements: list[str] = []
    sa.event.listen(state.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    url = f"{path}?q=quillwort&mode=keyword"
    # Pages and the API's answers are kept apart, each within a budget of its own.
    kept = state.kept_answers if path.startswith("/api/") else state.kept_pages
    other = state.kept_pages if path.startswith("/api/") else state.kept_answers
    key = ("http", b"testserver", path, b"q=quillwort&mode=keyword")

    def read() -> tuple[str, int]:
        state.page_cache.clear()  # the seconds of the anonymous micro-cache have passed
        statements.clear()
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media_type)
        return response.text, len(statements)

    try:
        with TestClient(app, base_url="http://testserver") as client:
            empty, _ = read()
            assert "Quillwort phenology" not in empty
            assert read() == (empty, 0)
            source = tmp_path / "records.jsonl"
            record = {"id": "quillwort-1", "title": "Quillwort phenology", "abstract": "A b c."}
            source.write_text(json.dumps(record) + "\n", "utf-8")
            import_files(other_node, [source], "generic")  # stored, not yet indexed
            assert kept.unchanged(key, state.versions.current()) is None
            lagging, _ = read()  # searched again: the index does not have it yet
            assert "Quillwort phenology" not in lagging
            # The page is now confirmed at the version after the import, the index lagging ...
            assert kept.unchanged(key, state.versions.current()) is not None
            assert read() == (lagging, 0)
            sync_keyword_index(other_node, settings)  # ... which commits nothing to the store
            found, reads = read()
            assert "Quillwort phenology" in found and reads > 0  # searched and drawn again
            assert read() == (found, 0)  # kept again: not searched, nothing read
            assert other.unchanged(key, state.versions.current()) is None
    finally:
        state.engine.dispose()
        other_node.dispose()


def test_stamped_pages_keep_at_most_their_bytes_dropping_the_least_recently_read() -> None:
    pages = StampedPages(60, max_bytes=100_000, max_entries=1000)
    bodies = {number: os.urandom(10_000) for number in range(20)}  # zlib cannot shrink these
    for number in range(9):  # what the budget holds
        pages.put(_key(f"/papers/{number}"), STAMP, bodies[number])
    assert len(pages) == 9
    assert pages.get(_key("/papers/0"), STAMP) == bodies[0]  # read: now the most recent
    pages.put(_key("/papers/9"), STAMP, bodies[9])
    assert pages.get(_key("/papers/1"), STAMP) is None  # the least recently read went
    assert pages.get(_key("/papers/0"), STAMP) == bodies[0]
    for number in range(10, 20):
        pages.put(_key(f"/papers/{number}"), STAMP, bodies[number])
        assert pages.size_bytes <= 100_000
    assert len(pages) == 9 and pages.get(_key("/papers/19"), STAMP) == bodies[19]
    pages.put(_key("/huge"), STAMP, os.urandom(20_000))  # over an eighth of the budget
    assert pages.get(_key("/huge"), STAMP) is None
    pages.clear()
    assert len(pages) == 0 and pages.size_bytes == 0


def test_an_anonymous_paper_page_is_rendered_again_only_when_what_it_shows_changes(
    site_home: Path,
) -> None:
    settings = site_settings(site_home, page_cache_s=60)
    app = create_app(settings)
    state = app.state.dp
    other_node = open_store(settings)  # writes as another web node would: not through this app
    statements: list[str] = []
    sa.event.listen(state.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    def read(path: str = f"/papers/{TOP}") -> tuple[str, int]:
        state.page_cache.clear()  # the seconds of the anonymous micro-cache have passed
        statements.clear()
        response = client.get(path)
        assert response.status_code == 200
        return response.text, len(statements)

    try:
        with TestClient(app, base_url="http://testserver") as client:
            first, render_reads = read()
            second, unchanged_reads = read()
            assert second == first and unchanged_reads == 0  # nothing written: nothing read
            now = datetime.now(UTC)
            user = create_user(
                other_node, username="elsewhere", password_hash="x", email=None, now=now
            )
            third, kept_reads = read()  # a write elsewhere: the facts are read, not drawn
            assert third == first and 0 < kept_reads < render_reads
            record_vote(other_node, user_id=user.user_id, paper_id=TOP, now=now)
            voted, reads = read()
            assert reads > kept_reads and voted != second  # its votes changed: drawn again
            comment = add_comment(
                other_node,
                paper_id=TOP,
                user_id=user.user_id,
                body="Seen from another node",
                body_html="<p>Seen from another node</p>",
                now=now,
            )
            assert "Seen from another node" in read()[0]
            assert read()[1] == 0
            set_comment_hidden(other_node, comment_id=comment.comment_id, hidden=True)
            assert "Seen from another node" not in read()[0]
            # What it shows of its similar papers is in its stamp too: a new title shows at once.
            similar = views.similar_ids(state, views.find_paper(state, TOP))
            assert similar and views.find_paper(state, similar[0]).title in read()[0]
            with other_node.begin() as conn:
                retitle = papers.update().where(papers.c.paper_id == similar[0])
                conn.execute(retitle.values(title="A title changed on another node"))
            assert "A title changed on another node" in read()[0]
            assert read()[1] == 0
            # The page shows its own address (the copy-link button): each query string its own.
            asked, _ = read(f"/papers/{TOP}?from=newsletter")
            assert "from=newsletter" in asked and "from=newsletter" not in read()[0]
            # A signed-in reader never gets the anonymous page: the comment form is theirs.
            sign_up(client, "reader")
            assert "Add a comment" in client.get(f"/papers/{TOP}").text
    finally:
        state.engine.dispose()
        other_node.dispose()


def test_a_write_on_the_same_worker_leaves_its_kept_pages_to_their_stamps(site_home: Path) -> None:
    """A kept page's stamp sees every write, so a write does not empty the kept pages (under
    load that would make a worker draw every page again after each vote or sign-in)."""
    app = create_app(site_settings(site_home, page_cache_s=60))
    state = app.state.dp
    statements: list[str] = []
    sa.event.listen(state.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    def read() -> tuple[str, int]:
        state.page_cache.clear()  # the seconds of the anonymous micro-cache have passed
        statements.clear()
        response = reader.get(f"/papers/{TOP}")
        assert response.status_code == 200
        return response.text, len(statements)

    try:
        with TestClient(app, base_url="http://testserver") as reader:
            first, render_reads = read()
            sign_up(TestClient(app, base_url="http://testserver"), "writer")  # a write here
            again, reads = read()  # its facts are read again (a commit since), not drawn
            assert again == first and 0 < reads < render_reads
    finally:
        state.engine.dispose()


def _search_facts(state: AppState) -> str:
    return views.search_view(state, "memory", mode="keyword").model_dump_json()


def _list_facts(state: AppState) -> str:
    return views.period_view(state, "date", HF_DAY, page=1, sort="score").model_dump_json()


@pytest.mark.parametrize(
    ("path", "query", "facts"),
    [
        ("/search", b"q=memory&mode=keyword", _search_facts),
        (f"/papers/date/{HF_DAY}", b"", _list_facts),
    ],
    ids=["search", "daily list"],
)
def test_a_list_is_read_every_time_and_its_drawing_is_kept_for_the_same_papers(
    site_home: Path, path: str, query: bytes, facts: Callable[[AppState], str]
) -> None:
    settings = site_settings(site_home, page_cache_s=60)
    app = create_app(settings)
    state = app.state.dp
    other_node = open_store(settings)
    url = f"{path}?{query.decode()}" if query else path
    key = ("http", b"testserver", path, query)
    marker = b"<p>the kept drawing</p>"
    try:
        with TestClient(app, base_url="http://testserver") as client:
            first = client.get(url)
            assert first.status_code == 200 and TOP in first.text
            # The route stamps its drawing with the search's results or the day's list.
            assert state.kept_pages.get(key, StampedPages.stamp(facts(state))) == first.content
            # A kept drawing is what the next reader gets while the papers are the same ...
            state.kept_pages.put(key, StampedPages.stamp(facts(state)), marker)
            state.page_cache.clear()  # the seconds of the anonymous micro-cache have passed
            assert client.get(url).content == marker
            # ... and not once one of them changes: a vote on another node changes its count.
            now = datetime.now(UTC)
            user = create_user(other_node, username="voter", password_hash="x", email=None, now=now)
            record_vote(other_node, user_id=user.user_id, paper_id=TOP, now=now)
            state.page_cache.clear()
            again = client.get(url)
            assert again.status_code == 200 and TOP in again.text
            assert again.content not in (first.content, marker)
            # A signed-in reader's page is drawn for them (sign-up, a write, empties the store).
            sign_up(client, "reader")
            state.kept_pages.put(key, StampedPages.stamp(facts(state)), marker)
            mine = client.get(url)
            assert mine.status_code == 200 and b"the kept drawing" not in mine.content
    finally:
        state.engine.dispose()
        other_node.dispose()
