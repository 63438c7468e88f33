"""The main pages answer, in-process and from a real server process."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from tests.web.conftest import LiveServer


def test_main_pages_answer(client: TestClient) -> None:
    for path in ("/", "/trending", "/search?q=video", "/api", "/feeds/daily.atom"):
        assert client.get(path).status_code == 200, path


def test_real_server_serves_the_daily_list(live_server: LiveServer) -> None:
    response = httpx.get(live_server.url + "/", timeout=10)
    assert response.status_code == 200
    assert '<article class="card">' in response.text
