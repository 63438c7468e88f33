"""Following and notifications in a real headless Chromium against a real `dailypapers serve`:
a reader follows an author beside a paper's byline and comments; another reader replies; a new
paper by the author arrives through the real importer and the real `notifications` task runs;
the header counts both, /notifications lists them with links that open the paper and the
reply, and the count goes to zero. At desktop width and on a phone, without JavaScript, in
dark mode; screenshots kept."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from dailypapers.index.build import sync_keyword_index
from dailypapers.jobs.local import run_once
from dailypapers.jobs.registry import enabled_tasks
from dailypapers.store.engine import open_store
from tests.search.conftest import import_files
from tests.web.browser_fixtures import (
    MOBILE,
    PageWatch,
    horizontal_overflow_px,
    new_page,
    screenshot,
    sign_up_in_browser,
)
from tests.web.conftest import LiveServer, site_settings
from tests.web.hf_fixtures import daily_item, write_items

PAPER = "2410.17243"  # on the seeded site, by Zesen Cheng, Hang Zhang, Kehan Li, ...
AUTHOR = "Zesen Cheng"
# A later real paper he co-signed, from the arXiv cs listing of 2025-03 to 2026-07.
NEW_PAPER = "2503.14428"
LISTING = Path("arxiv-cs-2025") / "arxiv-cs-2025-03_2026-07.jsonl.gz"


@pytest.fixture
def server(
    browser: Browser,  # noqa: ARG001 (skip before starting a server when there is no browser)
    site_home: Path,
) -> Iterator[LiveServer]:
    live = LiveServer(site_home)
    try:
        yield live
    finally:
        live.stop()


def _listing_line(shared_data: Path, paper_id: str) -> dict[str, Any]:
    with gzip.open(shared_data / LISTING, "rt", encoding="utf-8") as lines:
        for line in lines:
            if f'"id": "{paper_id}"' in line:
                found: dict[str, Any] = json.loads(line)
                return found
    raise AssertionError(f"{paper_id} is not in {LISTING}")


def new_paper_arrives(home: Path, shared_data: Path, directory: Path) -> str:
    """The real paper, listed today as Hugging Face's daily list gives it, imported by the real
    importer while the site runs; then the real `notifications` task runs once. Its title."""
    line = _listing_line(shared_data, NEW_PAPER)
    now = datetime.now(UTC).replace(tzinfo=None)
    item = daily_item(
        paper_id=NEW_PAPER,
        title=str(line["title"]),
        abstract=str(line["summary"]),
        authors=tuple(line["authors"]),
        published_at=datetime(2025, 3, 18, 17, 0),
        listed_at=now - timedelta(minutes=1),
        upvotes=3,
        submitter="hf-user",
    )
    settings = site_settings(home)
    engine = open_store(settings)
    try:
        import_files(engine, [write_items(directory / "daily_papers-today.json", [item])])
        sync_keyword_index(engine, settings)
        spec = next(s for s in enabled_tasks(settings) if s.name == "notifications")
        outcomes = run_once(engine, settings, [spec])
        assert [(o.task, o.outcome) for o in outcomes] == [("notifications", "succeeded")]
    finally:
        engine.dispose()
    return str(line["title"])


def _unread(page: Page) -> str:
    """The header's unread count as shown ('' when there is none)."""
    badge = page.locator("header.site .unread-count")
    return badge.inner_text() if badge.count() else ""


def _reply(browser: Browser, server: LiveServer, comment_url: str) -> None:
    """Another reader replies to the comment, through the form (without JavaScript)."""
    other = new_page(browser, server.url, java_script_enabled=False)
    sign_up_in_browser(other, "bob")
    other.goto(comment_url)
    comment_id = comment_url.rsplit("#", 1)[1]
    actions = other.locator(f"#{comment_id} > .comment-actions")
    actions.locator("summary", has_text="Reply").click()
    actions.get_by_label("Reply").fill("Section 4 answers it.")
    actions.locator("form button", has_text="Reply").click()
    expect(other.locator(f"#{comment_id} .reply .comment-body")).to_contain_text("Section 4")
    other.context.close()


def _follow_and_comment(page: Page) -> str:
    """Follow the author beside the paper's byline, then comment; the comment's address."""
    page.goto(f"/papers/{PAPER}")
    page.locator("summary", has_text="Follow authors").click()
    page.get_by_role("button", name=f"Follow {AUTHOR}", exact=True).click()
    expect(page.get_by_role("button", name=f"Unfollow {AUTHOR}")).to_be_visible()
    expect(page.locator("summary", has_text="Follow authors")).to_contain_text("(1 followed)")
    page.get_by_label("Add a comment (Markdown)").fill("Does this scale to hour-long video?")
    page.get_by_role("button", name="Comment", exact=True).click()
    page.wait_for_url(re.compile(r"#comment-\d+$"))
    return page.url


def test_follow_an_author_get_notified_and_read_it_all(
    browser: Browser, server: LiveServer, site_home: Path, shared_data: Path, tmp_path: Path
) -> None:
    page = new_page(browser, server.url)
    watch = PageWatch(origin=server.url)
    watch.attach(page)
    sign_up_in_browser(page, "ada")
    comment_url = _follow_and_comment(page)
    assert _unread(page) == ""

    _reply(browser, server, comment_url)
    title = new_paper_arrives(site_home, shared_data, tmp_path)

    page.goto("/")
    expect(page.locator("header.site .unread-count")).to_have_text("2")
    link = page.locator("header.site a.notifications-link")
    expect(link).to_have_attribute("aria-label", "Notifications: 2 unread")
    link.click()
    expect(page.locator("h1")).to_have_text("Notifications")
    items = page.locator("ul.notifications li.unread")
    expect(items).to_have_count(2)
    paper_item = items.filter(has_text=f"New paper by {AUTHOR}")
    expect(paper_item).to_contain_text(title)
    reply_item = items.filter(has_text="bob replied to your comment")
    expect(reply_item).to_contain_text("Breaking the Memory Barrier")
    screenshot(page, "notifications-desktop")

    # Each link opens what it is about and marks it read.
    paper_item.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/papers/{NEW_PAPER}$"))
    expect(page.locator("h1")).to_contain_text("MagicComp")
    assert _unread(page) == "1"
    page.go_back()
    page.reload()
    page.locator("ul.notifications li.unread").get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/papers/{PAPER}#comment-\d+$"))
    reply_id = page.url.rsplit("#", 1)[1]
    expect(page.locator(f"#{reply_id} .comment-body")).to_contain_text("Section 4 answers it.")
    assert _unread(page) == ""
    page.goto("/notifications")
    expect(page.locator("ul.notifications li")).to_have_count(2)
    expect(page.locator("ul.notifications li.unread")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("0 unread of 2")
    assert watch.problems == []


def test_notifications_on_a_phone_without_javascript_in_dark_mode(
    browser: Browser, server: LiveServer, site_home: Path, shared_data: Path, tmp_path: Path
) -> None:
    phone = new_page(
        browser,
        server.url,
        viewport=MOBILE,
        is_mobile=True,
        has_touch=True,
        color_scheme="dark",
        java_script_enabled=False,
    )
    sign_up_in_browser(phone, "ada")
    comment_url = _follow_and_comment(phone)
    _reply(browser, server, comment_url)
    new_paper_arrives(site_home, shared_data, tmp_path)

    phone.goto("/notifications")
    expect(phone.locator("header.site .unread-count")).to_have_text("2")
    assert horizontal_overflow_px(phone) == 0
    screenshot(phone, "notifications-mobile-dark")
    # The choice to get them by email, then "Mark all read", as forms.
    phone.get_by_role("button", name="Put them in my digest").click()
    expect(phone.get_by_role("button", name="Stop putting them in my digest")).to_be_visible()
    phone.get_by_role("button", name="Mark all read").click()
    expect(phone.locator("main")).to_contain_text("0 unread of 2")
    assert _unread(phone) == ""
    assert horizontal_overflow_px(phone) == 0
    screenshot(phone, "notifications-mobile-dark-read")
    phone.goto("/following")
    expect(phone.locator("main article.card").first).to_be_visible()
    assert horizontal_overflow_px(phone) == 0
    screenshot(phone, "following-mobile-dark")
