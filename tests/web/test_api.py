"""The JSON API: token auth for writes, one error shape, limits, and the page cache."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from dailypapers.store.accounts import get_user_by_name
from dailypapers.store.votes import record_vote
from dailypapers.web.app import create_app
from tests.web.conftest import csrf_cookie, sign_up, site_settings

TOP = "2410.17243"


def _token(client: TestClient, username: str) -> str:
    sign_up(client, username)
    page = client.post(
        "/settings/tokens", data={"name": "script", "csrf_token": csrf_cookie(client)}
    )
    match = re.search(r'<pre class="token">(dp_[^<]+)</pre>', page.text)
    assert match, page.text
    client.cookies.clear()
    return match.group(1)


def test_writes_with_an_api_token(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {_token(client, 'scripter')}"}
    vote = client.post("/api/v1/votes", json={"paper_id": TOP}, headers=auth)
    assert vote.status_code == 200 and vote.json() == {
        "paper_id": TOP, "voted": True, "score": 65, "votes": 1,
    }  # fmt: skip
    created = client.post(
        "/api/v1/comments", json={"paper_id": TOP, "body": "via *API*"}, headers=auth
    )
    assert created.status_code == 201 and created.json()["html"] == "<p>via <em>API</em></p>\n"
    comment_id = created.json()["id"]
    edited = client.patch(f"/api/v1/comments/{comment_id}", json={"body": "edited"}, headers=auth)
    assert edited.json()["body"] == "edited" and edited.json()["edited_at"]
    assert client.delete(f"/api/v1/comments/{comment_id}", headers=auth).status_code == 204
    unvote = client.delete(f"/api/v1/votes/{TOP}", headers=auth)
    assert unvote.json()["score"] == 64


def test_errors_share_one_shape_and_real_status_codes(client: TestClient) -> None:
    cases = [
        (client.post("/api/v1/votes", json={"paper_id": TOP}), 401, None),
        (
            client.post("/api/v1/votes", json={}, headers={"Authorization": "Bearer dp_nope"}),
            401,
            None,
        ),
        (client.get("/api/v1/search", params={"q": ""}), 422, "q"),
        (client.get("/api/v1/search", params={"q": "x", "mode": "magic"}), 422, "mode"),
        (
            client.get("/api/v1/search", params={"q": "x", "from": "2024", "until": "20x5"}),
            422,
            "until",
        ),
        (
            client.get("/api/v1/search", params={"q": "x", "from": "20x5", "until": "2025"}),
            422,
            "from",
        ),
        (client.get("/api/v1/search", params={"q": '"unclosed author:'}), 200, None),
        (client.get("/api/v1/trending", params={"p": 0}), 422, "p"),
        (client.get("/api/v1/users/nobody"), 404, "username"),
        (client.get("/api/v1/nothing-here"), 404, None),
    ]
    for response, status, field in cases:
        assert response.status_code == status, response.text
        if status != 200:
            error = response.json()["error"]
            assert error["status"] == status and error["message"]
            assert field is None or error["field"] == field


def test_openapi_and_the_local_docs_page(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/api/v1/papers/date/{day}" in schema["paths"] and "/api/daily_papers" in schema["paths"]
    docs = client.get("/api")
    assert docs.status_code == 200 and "/api/v1/search" in docs.text
    assert "cdn" not in docs.text.lower()


def test_anonymous_pages_are_cached_and_a_vote_clears_the_cache(site_home: Path) -> None:
    app = create_app(site_settings(site_home, page_cache_s=60))
    with TestClient(app) as client:
        first = client.get(f"/papers/{TOP}")
        assert 'class="count" data-paper="2410.17243">64<' in first.text
        auth = {"Authorization": f"Bearer {_token(client, 'cacher')}"}
        cached = client.get(f"/papers/{TOP}")
        assert cached.text == first.text
        # A vote stored behind the cache's back stays unseen for the cache's lifetime...
        engine = app.state.dp.engine
        other = get_user_by_name(engine, username="cacher")
        assert other is not None
        record_vote(engine, user_id=other.user_id, paper_id=TOP, now=datetime.now(UTC))
        assert client.get(f"/papers/{TOP}").text == first.text
        # ...a refused write (anonymous) does not clear the cache...
        assert client.post("/api/v1/votes", json={"paper_id": TOP}).status_code == 401
        assert client.get(f"/papers/{TOP}").text == first.text
        # ...and a successful write does.
        client.delete(f"/api/v1/votes/{TOP}", headers=auth)
        client.post("/api/v1/votes", json={"paper_id": TOP}, headers=auth)
        assert 'data-paper="2410.17243">65<' in client.get(f"/papers/{TOP}").text
    app.state.dp.engine.dispose()
