"""Issue 14's pages in a real headless Chromium against a real `dailypapers serve`: cards whose
abstract opens in place (with and without JavaScript), author and category pages at desktop and
phone width, light and dark, the keyboard shortcuts, and a clean console. Screenshots of every
page are kept in $DAILYPAPERS_ARTIFACTS (test-artifacts/screenshots)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.web.browser_fixtures import (
    DESKTOP,
    MOBILE,
    PageWatch,
    horizontal_overflow_px,
    screenshot,
    sign_up_in_browser,
)
from tests.web.conftest import LiveServer

SNAPSHOT_DAY = "2007-04-02"
BALAZS = "0704.0001"
SEED_DAY = "2024-05-01"  # three of its papers link their code
TIMEOUT_MS = 10_000
PAGES = {
    "cards": f"/papers/date/{SNAPSHOT_DAY}",
    "cards-with-code": f"/papers/date/{SEED_DAY}?code=1",
    "categories": "/categories",
    "category": "/categories/hep-ph",
    "category-week": "/categories/hep-ph/week/2007-W14",
    "author": "/authors/c-balazs",
    "search-has-code": "/search?q=models+has%3Acode&mode=keyword",
    "paper-authors": f"/papers/{BALAZS}",
}

OpenPage = Callable[..., Page]


@pytest.fixture(scope="module")
def server(
    browser: Browser,  # noqa: ARG001 (skip before starting a server when there is no browser)
    seeded_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("browser-pages") / "home"
    shutil.copytree(seeded_home, home)
    live = LiveServer(home)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def open_page(browser: Browser, server: LiveServer) -> Iterator[OpenPage]:
    contexts: list[BrowserContext] = []

    def open_(**options: Any) -> Page:
        options.setdefault("viewport", DESKTOP)
        context = browser.new_context(base_url=server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


def luminance(page: Page) -> float:
    rgb: str = page.evaluate("getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(v) for v in re.findall(r"\d+", rgb)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("mobile", MOBILE)])
def test_new_pages_fit_the_screen_and_log_no_errors(
    open_page: OpenPage, server: LiveServer, scheme: str, width: str, viewport: Any
) -> None:
    page = open_page(viewport=viewport, color_scheme=scheme, is_mobile=width == "mobile")
    watch = PageWatch(origin=server.url)
    watch.attach(page)
    for name, path in PAGES.items():
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        assert horizontal_overflow_px(page) == 0, f"{path} scrolls sideways at {width}"
        if scheme == "dark":
            assert luminance(page) < 0.15, path
        screenshot(page, f"{name}-{width}-{scheme}")
    assert watch.problems == []


@pytest.mark.parametrize("javascript", [True, False])
def test_an_abstract_opens_in_place_with_or_without_javascript(
    open_page: OpenPage, javascript: bool
) -> None:
    page = open_page(java_script_enabled=javascript)
    page.goto(f"/papers/date/{SNAPSHOT_DAY}")
    card = page.locator("article.card", has=page.locator(f'a[href="/papers/{BALAZS}"]'))
    teaser = card.locator("details.teaser")
    clamp = teaser.locator(".clamp")
    closed = clamp.bounding_box()
    assert closed is not None and closed["height"] < 80  # three lines
    assert "judicious selection of events" in (clamp.text_content() or "")  # all of it is there
    url = page.url
    teaser.locator("summary").click()
    expect(teaser).to_have_attribute("open", "")
    opened = clamp.bounding_box()
    assert opened is not None and opened["height"] > 2 * closed["height"]
    assert page.url == url, "opening the abstract left the page"
    screenshot(page, f"card-open-{'js' if javascript else 'nojs'}")
    teaser.locator("summary").click()
    expect(teaser).not_to_have_attribute("open", "")


def test_card_links_lead_to_authors_categories_and_code(open_page: OpenPage) -> None:
    page = open_page()
    page.goto(f"/papers/date/{SNAPSHOT_DAY}")
    card = page.locator("article.card", has=page.locator(f'a[href="/papers/{BALAZS}"]'))
    card.get_by_role("link", name="C. Balázs").click()
    expect(page.locator("h1")).to_have_text("C. Balázs")
    expect(page.locator(".author-side")).to_contain_text("E. L. Berger")
    page.locator(".author-side").get_by_role("link", name="hep-ph").click()
    expect(page).to_have_url(re.compile(r"/categories/hep-ph$"))
    expect(page.locator("h1")).to_contain_text("hep-ph")
    page.get_by_role("link", name="Weekly").click()
    expect(page).to_have_url(re.compile(r"/categories/hep-ph/week/\d{4}-W\d{2}$"))
    page.goto(f"/papers/date/{SEED_DAY}")
    page.get_by_role("link", name="with code only").click()
    expect(page.locator("article.card")).to_have_count(3)
    code = page.locator("article.card a.code-link")
    expect(code).to_have_count(3)
    assert all(
        href.startswith("https://github.com/")
        for href in code.evaluate_all("links => links.map(a => a.href)")
    )


def test_keyboard_shortcuts_move_open_and_upvote(open_page: OpenPage) -> None:
    page = open_page()
    sign_up_in_browser(page, "keys")
    page.goto(f"/papers/date/{SNAPSHOT_DAY}")
    cards = page.locator("article.card")
    page.keyboard.press("j")
    expect(cards.nth(0)).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    second = cards.nth(1)
    expect(second).to_have_class(re.compile(r"\bselected\b"))
    expect(second.locator("h3 a")).to_be_focused()
    count = second.locator(".count")
    before = int(count.inner_text())
    page.keyboard.press("u")
    expect(count).to_have_text(str(before + 1))
    expect(second.locator("button.vote")).to_have_attribute("aria-pressed", "true")

    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Next paper")
    screenshot(page, "shortcuts-help")
    page.keyboard.press("j")  # keys do nothing behind the dialog
    expect(second).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    title = second.locator("h3 a").inner_text()
    page.keyboard.press("o")
    expect(page.locator("h1")).to_have_text(title)
    page.wait_for_load_state()  # the shortcuts listen from the page's load on
    page.keyboard.press("/")
    expect(page).to_have_url(re.compile(r"/search$"))
    box = page.get_by_role("searchbox", name="Query")
    expect(box).to_be_focused()
    box.type("j")  # typing in a field is typing
    expect(box).to_have_value("j")


def test_the_footer_offers_the_shortcuts_only_with_javascript(open_page: OpenPage) -> None:
    page = open_page()
    page.goto("/categories")
    page.get_by_role("button", name="Keyboard shortcuts (?)").click()
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    without = open_page(java_script_enabled=False)
    without.goto("/categories")
    expect(without.get_by_role("button", name="Keyboard shortcuts (?)")).to_be_hidden()


def test_keyboard_alone_reaches_an_author_and_opens_an_abstract(open_page: OpenPage) -> None:
    page = open_page()
    page.goto(f"/papers/date/{SNAPSHOT_DAY}")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('.byline a')"):
            break
    else:
        raise AssertionError("Tab never reached an author link")
    style = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement); "
        "return [document.activeElement.matches(':focus-visible'), s.outlineStyle]; }"
    )
    assert style[0] and style[1] != "none"
    page.keyboard.press("Tab")
    for _ in range(10):
        if page.evaluate("document.activeElement.matches('details.teaser > summary')"):
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("details.teaser[open]")).to_have_count(1)
    author = page.locator("details.teaser[open]").locator("xpath=ancestor::article")
    expect(author).to_have_count(1)
