"""The library in a real headless Chromium against a real `dailypapers serve`: saving a paper,
collecting it from a card (the menu with JavaScript, the page of boxes without), importing a
library, sharing an unlisted link with someone signed out, and the pages at phone width."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.web.browser_fixtures import (
    MOBILE,
    PageWatch,
    horizontal_overflow_px,
    new_page,
    screenshot,
    sign_up_in_browser,
)
from tests.web.conftest import LiveServer

PAPER = "2410.17243"


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


def test_save_collect_share_and_import(browser: Browser, server: LiveServer) -> None:
    page = new_page(browser, server.url)
    watch = PageWatch(origin=server.url)
    watch.attach(page)
    sign_up_in_browser(page, "reader")

    page.goto(f"/papers/{PAPER}")
    title = page.locator("h1").inner_text()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("button", name="Saved")).to_be_visible()
    page.locator("header.site").get_by_role("link", name="Collections").click()
    page.get_by_role("link", name="Saved papers").click()
    expect(page.locator("main article.card h3")).to_have_text([title])

    # "Add to collection" on a card of the home page opens a menu in place.
    page.goto("/")
    card = page.locator("main article.card", has=page.locator(f'a[href="/papers/{PAPER}"]'))
    card.get_by_role("button", name="Add to collection").click()
    menu = card.locator(".collect-menu")
    expect(menu).to_be_visible()
    menu.get_by_label("New collection").fill("Reading group")
    menu.get_by_role("button", name="Create and add").click()
    expect(menu.locator(".collect-status")).to_have_text("Added to Reading group")
    expect(menu.get_by_label("Reading group")).to_be_checked()
    screenshot(page, "collect-menu")
    page.keyboard.press("Escape")
    expect(card.locator(".collect-menu")).to_have_count(0)

    page.goto("/collections")
    page.get_by_role("link", name="Reading group").click()
    expect(page.locator("main article.card h3")).to_have_text([title])
    page.get_by_label("Note").fill("start with section 3")
    page.get_by_role("button", name="Save note").click()
    expect(page.get_by_label("Note")).to_have_value("start with section 3")
    page.get_by_label("Unlisted (secret link)").check()
    page.get_by_role("button", name="Save", exact=True).click()
    link = page.get_by_role("textbox", name="Secret link").input_value()
    assert re.search(r"/collections/\d+-reading-group\?key=[\w-]{22}$", link), link
    screenshot(page, "collection-owner")

    # Someone signed out: the secret link opens it, the bare address does not.
    stranger = new_page(browser, server.url)
    stranger.goto(link)
    expect(stranger.locator("h1")).to_contain_text("Reading group")
    expect(stranger.locator("main article.card h3")).to_have_text([title])
    expect(stranger.locator("main")).to_contain_text("start with section 3")
    response = stranger.goto(link.split("?")[0])
    assert response is not None and response.status == 404

    # Import a library by pasting ids into the same collection.
    page.get_by_role("link", name="Import into it").click()
    page.get_by_label("Or paste it").fill(f"{PAPER}\n2410.16251\nnot a paper\n")
    page.get_by_role("button", name="Import", exact=True).click()
    report = page.locator(".import-report")
    expect(report).to_contain_text("2 matched")
    expect(report).to_contain_text("1 failed")
    expect(report).to_contain_text("1 added to the collection, 1 there already")
    expect(report.locator("tr.failed")).to_contain_text("line 3")
    screenshot(page, "library-import-report")
    report.get_by_role("link", name="Reading group").click()
    expect(page.locator("main article.card")).to_have_count(2)
    assert watch.problems == []


def test_collecting_without_javascript(browser: Browser, server: LiveServer) -> None:
    page = new_page(browser, server.url, java_script_enabled=False)
    sign_up_in_browser(page, "plain")
    page.goto("/collections")
    page.get_by_label("Name").fill("Offline list")
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator("h1")).to_contain_text("Offline list")
    page.goto(f"/papers/{PAPER}")
    page.get_by_role("button", name="Add to collection").click()
    expect(page.locator("h1")).to_have_text("Add to collection")
    page.get_by_label("Offline list").check()
    page.get_by_role("button", name="Save").click()
    assert page.url.endswith(f"/papers/{PAPER}")
    page.goto("/collections")
    page.get_by_role("link", name="Offline list").click()
    expect(page.locator("main article.card")).to_have_count(1)
    page.get_by_role("button", name=re.compile("^Remove from this collection")).click()
    expect(page.locator("main article.card")).to_have_count(0)


def test_library_pages_fit_a_phone(browser: Browser, server: LiveServer) -> None:
    phone = new_page(browser, server.url, viewport=MOBILE, is_mobile=True, has_touch=True)
    sign_up_in_browser(phone, "phone")
    phone.goto("/collections")
    phone.get_by_label("Name").fill("A rather long collection name for a small screen")
    phone.get_by_role("button", name="Create collection").click()
    collection = phone.url
    phone.goto(f"/papers/{PAPER}")
    phone.get_by_role("button", name="Add to collection").click()
    phone.locator(".collect-menu").get_by_role("checkbox").check()
    expect(phone.locator(".collect-status")).to_contain_text("Added to")
    for path in (collection, "/collections", "/saved", "/library/import", f"/papers/{PAPER}"):
        phone.goto(path)
        assert horizontal_overflow_px(phone) == 0, path
    phone.goto(collection)
    screenshot(phone, "collection-mobile")
