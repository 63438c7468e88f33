"""The inbox in a real headless Chromium against a real `dailypapers serve` with a real SMTP
server: subscribing and confirming from the email's link, For you and its marks, phone width."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.smtp_server import SmtpServer
from tests.web.browser_fixtures import (
    MOBILE,
    PageWatch,
    horizontal_overflow_px,
    new_page,
    screenshot,
    sign_up_in_browser,
)
from tests.web.conftest import LiveServer


@pytest.fixture
def site(
    browser: Browser,  # noqa: ARG001 (skip before starting a server when there is no browser)
    seeded_home: Path,
    tmp_path: Path,
) -> Iterator[tuple[LiveServer, SmtpServer]]:
    home = tmp_path / "home"
    shutil.copytree(seeded_home, home)
    smtp = SmtpServer().start()
    server = LiveServer(
        home,
        DAILYPAPERS_SMTP_HOST="127.0.0.1",
        DAILYPAPERS_SMTP_PORT=str(smtp.port),
        DAILYPAPERS_SMTP_SECURITY="none",
        DAILYPAPERS_DIGEST_HOUR_UTC="-1",
    )
    try:
        yield server, smtp
    finally:
        server.stop()
        smtp.stop()


def test_subscribe_and_confirm_from_the_emailed_link(
    browser: Browser, site: tuple[LiveServer, SmtpServer]
) -> None:
    server, smtp = site
    page = new_page(browser, server.url)
    watch = PageWatch(origin=server.url)
    watch.attach(page)
    page.goto("/")
    page.locator("footer.site").get_by_role("link", name="Email digest").click()
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("Weekly").check()
    page.get_by_label("Saved searches, one per line").fill('"language model" -survey')
    screenshot(page, "subscribe-form")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.locator("h1")).to_have_text("Check your inbox")
    for _ in range(50):
        if smtp.mailbox.messages:
            break
        page.wait_for_timeout(100)
    [confirmation] = smtp.mailbox.messages
    body = confirmation.get_body(("plain",))
    assert body is not None
    link = re.search(r"http://127\.0\.0\.1:\d+(/subscribe/confirm\?\S+)", body.get_content())
    assert link, "no confirmation link in the message"
    page.goto(link.group(1))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("h1")).to_have_text("Subscribed")
    expect(page.locator("main")).to_contain_text("weekly digest will go to ada@example.org")
    assert watch.problems == []


def test_for_you_marks_and_phone_width(
    browser: Browser, site: tuple[LiveServer, SmtpServer]
) -> None:
    server, _ = site
    page = new_page(browser, server.url)
    watch = PageWatch(origin=server.url)
    watch.attach(page)
    sign_up_in_browser(page, "reader")
    page.locator("header.site").get_by_role("link", name="For you").click()
    expect(page.locator("h1")).to_have_text("For you")
    first = page.locator("main article.card").first
    title = first.locator("h3").inner_text()
    expect(first.locator(".why")).to_contain_text("Why:")
    # The reason and the marks belong to the card: inside its border, in line with its title.
    card, marks = first.bounding_box(), first.locator(".marks").bounding_box()
    heading = first.locator("h3").bounding_box()
    assert card and marks and heading
    assert card["x"] <= marks["x"] and marks["x"] + marks["width"] <= card["x"] + card["width"]
    assert card["y"] <= marks["y"] and marks["y"] + marks["height"] <= card["y"] + card["height"]
    assert abs(marks["x"] - heading["x"]) < 1
    screenshot(page, "for-you")
    first.get_by_role("button", name="Not interested").click()
    expect(page.locator("h1")).to_have_text("For you")
    expect(page.locator("main article.card h3", has_text=title)).to_have_count(0)
    second = page.locator("main article.card").first
    saved_title = second.locator("h3").inner_text()
    saved_url = second.locator("h3 a").get_attribute("href")
    assert saved_url
    second.get_by_role("button", name="Save").click()
    # A saved paper teaches For you and leaves its list; its page shows it saved.
    expect(page.locator("main article.card h3", has_text=saved_title)).to_have_count(0)
    page.goto(saved_url)
    expect(page.get_by_role("button", name="Saved")).to_be_visible()
    phone = new_page(browser, server.url, viewport=MOBILE, is_mobile=True, has_touch=True)
    sign_up_in_browser(phone, "phone-reader")
    for path in ("/for-you", "/subscribe", "/settings/subscription"):
        phone.goto(path)
        assert horizontal_overflow_px(phone) == 0, path
    phone.goto("/for-you")
    card = phone.locator("main article.card").first
    card_box, marks_box = card.bounding_box(), card.locator(".marks").bounding_box()
    assert card_box and marks_box
    assert marks_box["x"] + marks_box["width"] <= card_box["x"] + card_box["width"]
    screenshot(phone, "for-you-mobile")
    assert watch.problems == []
