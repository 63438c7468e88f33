"""Account care in a real headless Chromium against a real `dailypapers serve` with a real SMTP
server: a forgotten password reset through the mailed link, then a login with the new one;
the account pages without JavaScript at phone width in dark mode."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from dailypapers.store.accounts import set_admin
from dailypapers.store.engine import open_store
from tests.smtp_server import SmtpServer
from tests.web.browser_fixtures import (
    MOBILE,
    PageWatch,
    horizontal_overflow_px,
    new_page,
    screenshot,
)
from tests.web.conftest import PASSWORD, LiveServer, site_settings

NEW_PASSWORD = "a much better passphrase"


@pytest.fixture
def site(
    browser: Browser,  # noqa: ARG001 (skip before starting a server when there is no browser)
    seeded_home: Path,
    tmp_path: Path,
) -> Iterator[tuple[LiveServer, SmtpServer, Path]]:
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
        yield server, smtp, home
    finally:
        server.stop()
        smtp.stop()


def _sign_up(page: Page, username: str, email: str) -> None:
    page.goto("/signup")
    page.get_by_label("Name").fill(username)
    page.get_by_label("Email (optional)").fill(email)
    page.get_by_label("Password (at least 8 characters)").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.locator("header.site a.me", has_text=username).wait_for()


def _luminance(page: Page) -> float:
    rgb: str = page.evaluate("getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(v) for v in re.findall(r"\d+", rgb)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def test_reset_a_forgotten_password_from_the_mailed_link_and_log_in(
    browser: Browser, site: tuple[LiveServer, SmtpServer, Path]
) -> None:
    server, smtp, _ = site
    page = new_page(browser, server.url)
    watch = PageWatch(origin=server.url)
    watch.attach(page)
    _sign_up(page, "ada", "ada@example.org")
    page.get_by_role("button", name="Log out").click()
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email address").fill("ada@example.org")
    screenshot(page, "password-forgot")
    page.get_by_role("button", name="Send reset link").click()
    expect(page.locator("h1")).to_have_text("Check your inbox")
    for _ in range(100):
        if smtp.mailbox.to("ada@example.org"):
            break
        page.wait_for_timeout(100)
    [message] = smtp.mailbox.to("ada@example.org")
    body = message.get_body(("plain",))
    assert body is not None
    link = re.search(r"http://127\.0\.0\.1:\d+(/password/reset\?t=\S+)", body.get_content())
    assert link, "no reset link in the message"
    page.goto(link.group(1))
    page.get_by_label("New password (8 to 256 characters)").fill(NEW_PASSWORD)
    screenshot(page, "password-reset")
    page.get_by_role("button", name="Set new password").click()
    expect(page.locator("h1")).to_have_text("Password changed")
    # (A favicon request cut short by the next navigation is no problem of the page.)
    assert [p for p in watch.problems if "favicon" not in p] == []
    # Below, a wrong password (401) and a spent link (404) on purpose.
    page.locator("main").get_by_role("link", name="Log in").click()
    page.get_by_label("Name").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("main .error")).to_contain_text("wrong name or password")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("header.site a.me", has_text="ada").wait_for()
    # The link worked once.
    page.goto(link.group(1))
    expect(page.locator("h1")).to_have_text("Not found")


def test_account_pages_work_without_javascript_on_a_phone_in_dark_mode(
    browser: Browser, site: tuple[LiveServer, SmtpServer, Path]
) -> None:
    server, _, home = site
    phone = new_page(
        browser,
        server.url,
        viewport=MOBILE,
        is_mobile=True,
        has_touch=True,
        color_scheme="dark",
        java_script_enabled=False,
    )
    _sign_up(phone, "boss", "boss@example.org")
    engine = open_store(site_settings(home))
    set_admin(engine, username="boss", is_admin=True)
    engine.dispose()
    other = new_page(browser, server.url)
    _sign_up(other, "reader", "reader@example.org")
    for path, name in [
        ("/settings/account", "account"),
        ("/settings/delete", "account-delete"),
        ("/admin/users", "admin-users"),
    ]:
        phone.goto(path)
        assert horizontal_overflow_px(phone) == 0, path
        assert _luminance(phone) < 0.15, path
        screenshot(phone, f"{name}-mobile-dark")
    # Without a script: disable a reader from the list, and change the password.
    phone.goto("/admin/users")
    phone.get_by_role("button", name="Disable reader").click()
    expect(phone.locator("table.users tr.disabled")).to_contain_text("reader")
    other.reload()
    expect(other.locator("header.site")).to_contain_text("Log in")
    phone.goto("/settings/account")
    phone.get_by_label("Current password").fill(PASSWORD)
    phone.get_by_label("New password (8 to 256 characters)").fill(NEW_PASSWORD)
    phone.get_by_role("button", name="Change password").click()
    expect(phone.locator("main .notice")).to_contain_text("Password changed")
