"""Web fixtures: a site over the real seed pages, an in-process client, signed-in users, and a
real `dailypapers serve` process."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi.testclient import TestClient

from dailypapers.config import Settings, load_settings
from dailypapers.index.build import sync_keyword_index
from dailypapers.ingest.files import ImportOptions, expand_paths, import_paths
from dailypapers.store.engine import open_store
from dailypapers.web.app import create_app
from tests.ports import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


def site_settings(home: Path, **overrides: object) -> Settings:
    """Test settings: no page cache (tests see writes at once), no online lookups, and the
    test client's host ("testserver") allowed besides the default hosts."""
    values: dict[str, object] = {"page_cache_s": 0, "submit_lookup_online": False}
    values["allowed_hosts"] = "testserver,127.0.0.1,localhost,[::1]"
    values.update(overrides)
    return load_settings({}, home=home, **values)


@pytest.fixture(scope="session")
def seeded_home(
    tmp_path_factory: pytest.TempPathFactory, seeds_dir: Path, shared_data: Path
) -> Path:
    """A data directory with real papers imported and keyword-indexed (no embeddings): the
    saved Daily Papers pages, Hugging Face's recorded daily list of 2024-10-25 (arXiv ids,
    upvotes, submitters) and 200 arXiv snapshot records (with their publication dates)."""
    home = tmp_path_factory.mktemp("seeded") / "home"
    settings = site_settings(home)
    engine = open_store(settings)
    options = ImportOptions(format="auto", reference_date=date(2024, 10, 25), batch_size=500)
    inputs = [
        seeds_dir,
        shared_data / "hf-daily-papers",
        shared_data / "kaggle-arxiv-snapshot",
    ]
    import_paths(engine, expand_paths(inputs), options, now=datetime.now(UTC))
    sync_keyword_index(engine, settings)
    engine.dispose()
    return home


@pytest.fixture
def site_home(seeded_home: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded data directory for one test."""
    home = tmp_path / "home"
    shutil.copytree(seeded_home, home)
    return home


@pytest.fixture
def client(site_home: Path) -> Iterator[TestClient]:
    """An in-process client of a site over a copy of the seeded data."""
    app = create_app(site_settings(site_home))
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client
    app.state.dp.engine.dispose()


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_up(client: TestClient | httpx.Client, username: str, password: str = PASSWORD) -> None:
    """Create an account through the sign-up form; the client is then logged in."""
    page = client.get("/signup")
    form = {"username": username, "password": password, "csrf_token": csrf_from(page.text)}
    response = client.post("/signup", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text


def csrf_cookie(client: TestClient | httpx.Client) -> str:
    token = client.cookies.get("dp_csrf")
    assert token
    return token


class LiveServer:
    """`dailypapers serve` as a real process on 127.0.0.1, stopped by the test."""

    def __init__(
        self, home: Path, *, workers: int = 1, jobs: bool = False, **environment: str
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DAILYPAPERS_HOME": str(home),
            "DAILYPAPERS_PAGE_CACHE_S": "0",
            "DAILYPAPERS_SUBMIT_LOOKUP_ONLINE": "false",
            **environment,
        }
        command = [sys.executable, "-m", "dailypapers", "-q", "serve", "--port", str(self.port)]
        command += ["--workers", str(workers)]
        if not jobs:
            command.append("--no-jobs")  # tests that want the task runner ask for it
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                _, err = self.process.communicate()
                raise RuntimeError(f"serve exited early: {err.decode(errors='replace')}")
            try:
                if httpx.get(self.url + "/api/v1/trending", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("serve did not answer in time")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()


@pytest.fixture
def live_server(site_home: Path) -> Iterator[LiveServer]:
    server = LiveServer(site_home)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one browser test module (skips without it, see `require_chromium`)."""
    # Imported here: browser_fixtures imports this module, and only browser tests need it.
    from tests.web.browser_fixtures import launched_chromium

    with launched_chromium() as launched:
        yield launched
