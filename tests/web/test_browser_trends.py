"""/trends and a paper's votes over time in a real headless Chromium against a real `dailypapers
serve`: desktop and a 375 px phone, light and dark, keyboard only, a clean console.

Screenshots are kept in $DAILYPAPERS_ARTIFACTS (test-artifacts/screenshots): trends-*.png and
paper-votes-*.png.
"""

from __future__ import annotations

import re
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
)
from tests.web.conftest import LiveServer
from tests.web.test_browser import assert_focus_visible, luminance, tab_until
from tests.web.trends_fixtures import build_trends_home

TIMEOUT_MS = 10_000
QUERIES = "/trends?q=agent&q=%22language+model%22&q=diffusion"
OpenPage = Callable[..., Page]


@pytest.fixture(scope="module")
def upvoted(
    browser: Browser,  # noqa: ARG001 (skip before building when there is no browser)
    tmp_path_factory: pytest.TempPathFactory,
    shared_data: Path,
) -> tuple[Path, list[str]]:
    home = tmp_path_factory.mktemp("browser-trends") / "home"
    return home, build_trends_home(home, shared_data)


@pytest.fixture(scope="module")
def server(upvoted: tuple[Path, list[str]]) -> Iterator[LiveServer]:
    live = LiveServer(upvoted[0])
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture
def open_page(browser: Browser, server: LiveServer) -> Iterator[OpenPage]:
    """Opens a page in a fresh context, its console and failed requests watched."""
    contexts: list[BrowserContext] = []
    watches: list[PageWatch] = []

    def open_(*, expected: str | None = None, **options: Any) -> Page:
        """`expected`: a URL whose error status (and the console line about it) is the point."""
        options.setdefault("viewport", DESKTOP)
        context = browser.new_context(base_url=server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        watches.append(PageWatch(origin=server.url))
        watches[-1].attach(page)
        if expected:
            allowed.append(expected)
        return page

    allowed: list[str] = []
    yield open_
    for context in contexts:
        context.close()
    problems = [p for w in watches for p in w.problems]
    unexpected = [p for p in problems if not any(url in p for url in allowed)]
    if allowed:  # what was expected did happen: a 422 and the console's line about it
        assert len(problems) - len(unexpected) == 2, problems
    assert unexpected == []  # no console error, no failed load


def _chart_box(page: Page, chart: str) -> dict[str, float]:
    box = page.locator(f'svg[aria-labelledby^="{chart}-title"]').bounding_box()
    assert box is not None, chart
    return box


def _bar_colour(page: Page) -> str:
    colour: str = page.evaluate("getComputedStyle(document.querySelector('#daily svg rect')).fill")
    return colour


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_trends_on_a_desktop(open_page: OpenPage, scheme: str) -> None:
    page = open_page(color_scheme=scheme)
    page.goto(QUERIES)
    for chart in ("daily-chart", "weekly-chart", "queries-chart"):
        expect(page.locator(f'svg[aria-labelledby^="{chart}-title"]')).to_be_visible()
    # Two columns: the day and week charts side by side, each about half the page.
    daily, weekly = _chart_box(page, "daily-chart"), _chart_box(page, "weekly-chart")
    assert abs(daily["y"] - weekly["y"]) < 2 and weekly["x"] > daily["x"] + daily["width"]
    expect(page.get_by_role("img", name="Papers per day by primary category")).to_be_visible()
    expect(page.locator("#queries ul.legend li")).to_have_count(3)
    expect(page.locator("ol.rising li").first).to_be_visible()
    expect(page.locator("#top ol.top-papers li")).to_have_count(3)
    assert horizontal_overflow_px(page) == 0
    assert (luminance(page) < 0.15) == (scheme == "dark")
    screenshot(page, f"trends-desktop-{scheme}")


def test_trends_on_a_phone_in_dark_mode(open_page: OpenPage) -> None:
    light = open_page(viewport=MOBILE, is_mobile=True, has_touch=True, color_scheme="light")
    light.goto("/trends")
    phone = open_page(viewport=MOBILE, is_mobile=True, has_touch=True, color_scheme="dark")
    phone.goto(QUERIES)
    assert horizontal_overflow_px(phone) == 0
    for chart in ("daily-chart", "weekly-chart", "queries-chart"):
        box = _chart_box(phone, chart)
        assert box["x"] >= 0 and box["x"] + box["width"] <= MOBILE["width"]
        assert box["width"] > 300  # one column: the chart takes the phone's width
    # The charts follow the theme: the same series is drawn in another colour in the dark.
    assert _bar_colour(phone) != _bar_colour(light)
    text = phone.evaluate("getComputedStyle(document.querySelector('#daily svg text')).fill")
    assert sum(int(v) for v in re.findall(r"\d+", text)[:3]) > 300  # light text on dark
    # Opening the numbers of a chart keeps the page from scrolling sideways: the table scrolls.
    phone.locator("#daily summary").click()
    expect(phone.locator("#daily table")).to_be_visible()
    assert horizontal_overflow_px(phone) == 0
    screenshot(phone, "trends-phone-dark")
    screenshot(light, "trends-phone-light")


def test_keyboard_only_draws_a_comparison_and_reads_the_numbers(open_page: OpenPage) -> None:
    page = open_page()
    page.goto("/")
    tab_until(page, 'header.site a[href="/trends"]')
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    page.wait_for_url("**/trends")
    tab_until(page, "#q0")
    assert_focus_visible(page)
    page.keyboard.type("agent")
    page.keyboard.press("Tab")
    page.keyboard.type('"language model"')
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_url(re.compile(r"q=agent&q=%22language\+model%22"))
    expect(page.get_by_role("img", name=re.compile("Share of each month's papers"))).to_be_visible()
    expect(page.locator("#q2")).to_have_value("")  # room for a third query
    # The numbers behind the queries' chart open from the keyboard, and their table scrolls.
    tab_until(page, "#queries summary")
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    expect(page.locator("#queries table")).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.matches('#queries .table-scroll')")
    assert_focus_visible(page)
    # A rising topic's link is reachable and leads to its share per month.
    tab_until(page, "ol.rising a.small", limit=80)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/trends\?q="))
    expect(page.locator("#q0")).not_to_have_value("")
    screenshot(page, "trends-keyboard")


def test_a_bad_query_is_explained_beside_the_form(open_page: OpenPage) -> None:
    page = open_page(expected="/trends?q=author:")
    response = page.goto("/trends?q=author:")
    assert response is not None and response.status == 422
    expect(page.get_by_role("alert")).to_contain_text("query 1 ('author:')")
    expect(page.locator("#q0")).to_have_attribute("aria-describedby", "queries-error")
    expect(page.locator('svg[aria-labelledby^="daily-chart-title"]')).to_be_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_paper_page_draws_its_votes_over_time(
    open_page: OpenPage, upvoted: tuple[Path, list[str]], scheme: str
) -> None:
    voted, upvoted_only = upvoted[1][0], upvoted[1][1]
    for viewport, name in ((DESKTOP, "desktop"), (MOBILE, "phone")):
        page = open_page(viewport=viewport, color_scheme=scheme)
        page.goto(f"/papers/{voted}")
        chart = page.get_by_role("img", name="Votes on this site over time")
        expect(chart).to_be_visible()
        expect(page.locator(".votes-history")).to_contain_text("3 votes on this site since")
        expect(page.locator(".votes-history")).to_contain_text("have no dates")
        assert horizontal_overflow_px(page) == 0
        screenshot(page, f"paper-votes-{name}-{scheme}")
    page.goto(f"/papers/{upvoted_only}")
    expect(page.locator(".votes-history")).to_have_count(0)
