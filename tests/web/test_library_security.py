"""Who sees and changes a collection: another user's private collection is a 404 everywhere
(page, JSON, exports, feed), an unlisted one opens only with its key and never shows up in
lists, search, feeds or a shared cache; members' rights; CSRF on every new form and API write;
names and notes stay text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dailypapers.web.app import create_app
from tests.web.conftest import csrf_cookie, sign_up, site_settings

PAPER = "2410.17243"


def _create(client: TestClient, name: str, visibility: str) -> tuple[int, str, str]:
    """A collection holding PAPER: (id, page, secret key)."""
    made = client.post(
        "/api/v1/collections",
        json={"name": name, "visibility": visibility},
        headers={"X-CSRF-Token": csrf_cookie(client)},
    ).json()
    added = client.post(
        f"/api/v1/collections/{made['id']}/items",
        json={"paper_id": PAPER, "note": "secret note"},
        headers={"X-CSRF-Token": csrf_cookie(client)},
    )
    assert added.status_code == 200, added.text
    return made["id"], made["url"], made["secret_link"].split("key=")[1]


def _all_readers_paths(cid: int, page: str) -> list[str]:
    return [
        page,
        f"/api/v1/collections/{cid}",
        f"{page}/export.bib",
        f"{page}/export.csv",
        f"{page}/export.ris",
        f"/feeds/collections/{cid}.atom",
    ]


def test_another_users_private_collection_is_not_found(client: TestClient) -> None:
    sign_up(client, "ada")
    cid, page, key = _create(client, "Private reading", "private")
    client.cookies.clear()
    sign_up(client, "eve")
    for path in _all_readers_paths(cid, page):
        assert client.get(path).status_code == 404, path
        assert client.get(path, params={"key": key}).status_code == 404, path  # key opens nothing
    not_found = client.get(f"/api/v1/collections/{cid}").json()
    assert not_found["error"]["message"] == f"no collection {cid}"
    # Not told apart from a collection that does not exist.
    assert client.get("/api/v1/collections/999999").json()["error"]["message"] == (
        "no collection 999999"
    )
    # And eve cannot write to it either.
    headers = {"X-CSRF-Token": csrf_cookie(client)}
    add = client.post(f"/api/v1/collections/{cid}/items", json={"paper_id": PAPER}, headers=headers)
    assert add.status_code == 404
    client.cookies.clear()
    for path in _all_readers_paths(cid, page):
        assert client.get(path).status_code == 404, path


def test_an_unlisted_link_opens_it_and_leaks_nowhere(client: TestClient) -> None:
    sign_up(client, "ada")
    cid, page, key = _create(client, "Quiet unlisted list", "unlisted")
    client.cookies.clear()
    assert client.get(page).status_code == 404
    wrong = key[:-1] + ("B" if key[-1] == "A" else "A")  # one character off, never the key
    assert client.get(page, params={"key": wrong}).status_code == 404
    opened = client.get(page, params={"key": key})
    assert opened.status_code == 200 and PAPER in opened.text
    assert opened.headers["cache-control"] == "private, no-store"
    assert client.get(f"/api/v1/collections/{cid}", params={"key": key}).status_code == 200
    export = client.get(f"{page}/export.bib", params={"key": key})
    assert export.status_code == 200 and export.headers["cache-control"] == "private, no-store"
    # Never in a feed, even with the key; never listed; not what search finds.
    assert client.get(f"/feeds/collections/{cid}.atom", params={"key": key}).status_code == 404
    places = [
        "/collections",
        "/users/ada/collections",
        "/api/v1/users/ada/collections",
        "/search?q=Quiet+unlisted+list&mode=keyword",
        "/api/v1/search?q=Quiet%20unlisted%20list&mode=keyword",
        "/feeds/search.atom?q=Quiet+unlisted+list",
        "/feeds/daily.atom",
        "/users/ada",
        f"/papers/{PAPER}",
    ]
    for path in places:
        body = client.get(path).text
        assert f"/collections/{cid}" not in body and key not in body, path
        assert "secret note" not in body, path
        if "search" not in path:  # a search page repeats the query it was asked
            assert "Quiet unlisted list" not in body, path
    # The secret link itself (the share box, `secret_link`) is for members only.
    assert 'class="secret-link"' not in opened.text
    shown = client.get(f"/api/v1/collections/{cid}", params={"key": key}).json()
    assert shown["collection"]["secret_link"] is None and shown["members"] is None


def test_members_rights(client: TestClient) -> None:
    sign_up(client, "bob")
    client.cookies.clear()
    sign_up(client, "ada")
    cid, _, _ = _create(client, "Public shelf", "public")
    headers = {"X-CSRF-Token": csrf_cookie(client)}
    invited = client.post(
        f"/api/v1/collections/{cid}/members", json={"username": "bob"}, headers=headers
    )
    assert invited.status_code == 204
    unknown = client.post(
        f"/api/v1/collections/{cid}/members", json={"username": "nobody"}, headers=headers
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "username"
    client.cookies.clear()
    sign_up(client, "eve")
    headers = {"X-CSRF-Token": csrf_cookie(client)}
    # A reader of a public collection may not change it.
    add = client.post(f"/api/v1/collections/{cid}/items", json={"paper_id": PAPER}, headers=headers)
    assert add.status_code == 403
    assert client.delete(f"/api/v1/collections/{cid}", headers=headers).status_code == 403
    remove_bob = client.delete(f"/api/v1/collections/{cid}/members/bob", headers=headers)
    assert remove_bob.status_code == 403
    page = client.get(f"/api/v1/collections/{cid}").json()
    assert page["members"] is None and page["collection"]["secret_link"] is None


@pytest.fixture
def session(client: TestClient) -> Iterator[tuple[TestClient, int]]:
    sign_up(client, "ada")
    cid, _, _ = _create(client, "Target", "private")
    yield client, cid


FORMS = [
    ("/collections", {"name": "Forged", "visibility": "public"}),
    ("/collections/{cid}/settings", {"name": "Forged", "visibility": "public"}),
    ("/collections/{cid}/link", {}),
    ("/collections/{cid}/delete", {}),
    ("/collections/{cid}/items", {"paper_id": "2410.16251"}),
    ("/collections/{cid}/items/remove", {"paper_id": PAPER}),
    ("/collections/{cid}/items/note", {"paper_id": PAPER, "note": "forged"}),
    ("/collections/{cid}/items/move", {"paper_id": PAPER, "position": "1"}),
    ("/collections/{cid}/members", {"username": "ada"}),
    ("/collections/{cid}/members/remove", {"username": "ada"}),
    ("/collect", {"paper_id": PAPER, "shown": "{cid}"}),
    ("/library/import", {"collection": "{cid}", "text": "2410.16251"}),
]


@pytest.mark.parametrize(("path", "fields"), FORMS, ids=[path for path, _ in FORMS])
def test_every_form_needs_the_csrf_token(
    session: tuple[TestClient, int], path: str, fields: dict[str, str]
) -> None:
    client, cid = session
    before = client.get(f"/api/v1/collections/{cid}").json()
    data = {name: value.format(cid=cid) for name, value in fields.items()}
    refused = client.post(path.format(cid=cid), data=data, follow_redirects=False)
    assert refused.status_code == 403
    forged = client.post(
        path.format(cid=cid),
        data={**data, "csrf_token": csrf_cookie(client)},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    after = client.get(f"/api/v1/collections/{cid}").json()
    assert after == before
    assert [c["name"] for c in client.get("/api/v1/collections").json()["collections"]] == [
        "Target"
    ]


API_WRITES = [
    ("post", "/api/v1/collections", {"name": "Forged"}),
    ("patch", "/api/v1/collections/{cid}", {"name": "Forged"}),
    ("delete", "/api/v1/collections/{cid}", None),
    ("post", "/api/v1/collections/{cid}/items", {"paper_id": "2410.16251"}),
    ("patch", "/api/v1/collections/{cid}/items/" + PAPER, {"note": "forged"}),
    ("delete", "/api/v1/collections/{cid}/items/" + PAPER, None),
    ("post", "/api/v1/collections/{cid}/members", {"username": "ada"}),
    ("delete", "/api/v1/collections/{cid}/members/ada", None),
    ("post", "/api/v1/collections/{cid}/import", {"text": "2410.16251"}),
]


@pytest.mark.parametrize(("method", "path", "body"), API_WRITES, ids=[p for _, p, _ in API_WRITES])
def test_api_writes_with_the_session_cookie_need_the_csrf_header(
    session: tuple[TestClient, int], method: str, path: str, body: dict[str, str] | None
) -> None:
    client, cid = session
    response = client.request(method, path.format(cid=cid), json=body)
    assert response.status_code == 403
    assert response.json()["error"]["message"].startswith("missing or wrong CSRF token")


def test_names_and_notes_are_text_and_redirects_stay_here(client: TestClient) -> None:
    sign_up(client, "ada")
    cid, page, _ = _create(client, "<script>alert(1)</script>", "public")
    note = client.patch(
        f"/api/v1/collections/{cid}/items/{PAPER}",
        json={"note": '<img src=x onerror="alert(2)">'},
        headers={"X-CSRF-Token": csrf_cookie(client)},
    )
    assert note.status_code == 204
    client.cookies.clear()
    html = client.get(page).text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html
    sign_up(client, "mallory")
    mine, _, _ = _create(client, "Mine", "private")
    response = client.post(
        f"/collections/{mine}/items",
        data={"paper_id": PAPER, "next": "//evil.example/", "csrf_token": csrf_cookie(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/collections/")


def test_a_shared_cache_never_keeps_a_secret_page_or_a_page_made_private(
    site_home: Path,
) -> None:
    app = create_app(site_settings(site_home, page_cache_s=60))
    with (
        TestClient(app, base_url="http://testserver") as owner,
        TestClient(app, base_url="http://testserver") as anonymous,
    ):
        sign_up(owner, "ada")
        cid, page, key = _create(owner, "Shelf", "public")
        first = anonymous.get(page)
        assert first.status_code == 200 and "private" not in first.headers.get("cache-control", "")
        hidden = owner.patch(
            f"/api/v1/collections/{cid}",
            json={"visibility": "unlisted"},
            headers={"X-CSRF-Token": csrf_cookie(owner)},
        )
        assert hidden.status_code == 200
        assert anonymous.get(page).status_code == 404  # not the cached public page
        opened = anonymous.get(page, params={"key": key})
        assert opened.status_code == 200
        assert opened.headers["cache-control"] == "private, no-store"
        owner.patch(
            f"/api/v1/collections/{cid}",
            json={"visibility": "private"},
            headers={"X-CSRF-Token": csrf_cookie(owner)},
        )
        assert anonymous.get(page, params={"key": key}).status_code == 404
    app.state.dp.engine.dispose()
