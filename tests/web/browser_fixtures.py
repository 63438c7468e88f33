"""Helpers for the browser tests: the local Chromium, a watch on what a page logs and loads,
signing up through the form, screenshots, and importing real arXiv lines before serving."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Request,
    Response,
    ViewportSize,
    sync_playwright,
)

from dailypapers.index.build import sync_keyword_index
from dailypapers.ingest.files import ImportOptions, import_paths
from dailypapers.store.engine import open_store
from tests.web.conftest import PASSWORD, site_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# Playwright's own browser download is not used: the system Chromium is driven directly.
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
MOBILE: ViewportSize = {"width": 375, "height": 812}
TIMEOUT_MS = 10_000


@contextmanager
def launched_chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (skips as `require_chromium`)."""
    chromium = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=LAUNCH_ARGS
        )
        yield browser
        browser.close()


def new_page(browser: Browser, base_url: str, **options: object) -> Page:
    """A page in a context of its own (its own cookies: another reader) on the site at
    `base_url`, desktop-sized unless `viewport` is given; `options` go to new_context."""
    options.setdefault("viewport", DESKTOP)
    context = browser.new_context(base_url=base_url, **options)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def require_chromium() -> Path:
    """The Chromium binary; skips without it unless DAILYPAPERS_REQUIRE_BROWSER=1 (CI sets it)."""
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("DAILYPAPERS_REQUIRE_BROWSER") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def artifacts_dir() -> Path:
    """Where screenshots go: $DAILYPAPERS_ARTIFACTS, or test-artifacts/screenshots."""
    configured = os.environ.get("DAILYPAPERS_ARTIFACTS")
    folder = Path(configured) if configured else PROJECT_ROOT / "test-artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG of what the page shows now, kept as a test artefact."""
    path = artifacts_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@dataclass
class PageWatch:
    """Console errors, uncaught exceptions and failed requests to the site, as they happen."""

    origin: str
    problems: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.problems.append(f"console error: {message.text} ({where})")

    def _failed(self, request: Request) -> None:
        # ERR_ABORTED is the browser itself cancelling a request it no longer needs (a favicon
        # or a page load overtaken by the next navigation): timing on a busy machine, not the
        # site. A refused, reset or empty answer has its own error code and is still reported.
        if request.url.startswith(self.origin) and request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response: Response) -> None:
        if response.url.startswith(self.origin) and response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")


def sign_up_in_browser(page: Page, username: str) -> None:
    """Create an account through the sign-up form; the page's context is then logged in."""
    page.goto("/signup")
    page.get_by_label("Name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.locator("header.site a.me", has_text=username).wait_for()


def horizontal_overflow_px(page: Page) -> int:
    """How far the page is wider than the viewport (0: no sideways scrolling)."""
    width: int = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width


def icon_status(page: Page) -> int:
    """The HTTP status of the icon the browser shows for the page (declared, or /favicon.ico)."""
    url: str = page.evaluate(
        "() => (document.querySelector('link[rel~=icon]') || {href: '/favicon.ico'}).href"
    )
    return page.request.get(url).status


def import_arxiv_papers(home: Path, source: Path, paper_ids: set[str]) -> None:
    """Import the lines of a real arXiv listing file with these ids, through the real importer."""
    wanted: dict[str, str] = {}
    with source.open(encoding="utf-8") as lines:
        for line in lines:
            paper_id = json.loads(line)["id"]
            if paper_id in paper_ids:
                wanted.setdefault(paper_id, line)
    missing = paper_ids - wanted.keys()
    assert not missing, f"{sorted(missing)} not found in {source}"
    extract = home.parent / "arxiv-extract.jsonl"
    extract.write_text("".join(wanted.values()), encoding="utf-8")
    settings = site_settings(home)
    engine = open_store(settings)
    try:
        options = ImportOptions(format="auto", reference_date=date(2025, 3, 18), batch_size=50)
        summary = import_paths(engine, [extract], options, now=datetime.now(UTC))
        assert summary.imported == len(paper_ids), summary
        sync_keyword_index(engine, settings)
    finally:
        engine.dispose()
