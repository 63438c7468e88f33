"""The admins' list of users on a 375 px phone in a real headless Chromium against a real
`dailypapers serve`: every account's address can be read without scrolling sideways."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Browser

from dailypapers.store.accounts import create_user, set_disabled
from dailypapers.store.engine import open_store
from dailypapers.web.security import hash_password
from tests.web.browser_fixtures import MOBILE, horizontal_overflow_px, new_page, screenshot
from tests.web.conftest import PASSWORD, LiveServer, site_settings

LONG_ADDRESS = "maximilian.alexander.schmidt-hohenstein@informatik.uni-example-university.de"


def _accounts(home: Path) -> None:
    engine = open_store(site_settings(home))
    now = datetime.now(UTC)
    password_hash = hash_password(PASSWORD)
    create_user(
        engine, username="boss", password_hash=password_hash, email="boss@example.org", now=now,
        is_admin=True,
    )  # fmt: skip
    reader = create_user(
        engine, username="reader", password_hash=password_hash, email=LONG_ADDRESS, now=now
    )
    create_user(engine, username="quiet", password_hash=password_hash, email=None, now=now)
    set_disabled(engine, user_id=reader.user_id, disabled=True, now=now)
    engine.dispose()


def test_every_address_is_readable_on_a_phone(browser: Browser, site_home: Path) -> None:
    _accounts(site_home)
    server = LiveServer(site_home)
    try:
        phone = new_page(browser, server.url, viewport=MOBILE, is_mobile=True, has_touch=True)
        phone.goto("/login?next=/admin/users")
        phone.get_by_label("Name").fill("boss")
        phone.get_by_label("Password").fill(PASSWORD)
        phone.get_by_role("button", name="Log in").click()
        phone.locator("table.users").wait_for()
        assert horizontal_overflow_px(phone) == 0
        # Each address lies inside the screen, whole: not cut by the list's box.
        cells = phone.eval_on_selector_all(
            "table.users td:nth-child(4)",
            """cells => cells.map(cell => {
                const box = cell.getBoundingClientRect();
                const list = cell.closest('.users-scroll').getBoundingClientRect();
                return {text: cell.textContent, left: box.left, right: box.right,
                        listRight: list.right, visible: cell.getClientRects().length > 0};
            })""",
        )
        shown = {cell["text"]: cell for cell in cells if cell["visible"] and cell["text"]}
        assert set(shown) == {"boss@example.org", LONG_ADDRESS}
        for cell in shown.values():
            assert 0 <= cell["left"] and cell["right"] <= min(cell["listRight"], 375), cell
        assert phone.get_by_role("button", name="Enable reader").is_visible()
        assert "disabled" in phone.locator("table.users tr.disabled").inner_text()
        screenshot(phone, "admin-users-phone")
    finally:
        server.stop()
