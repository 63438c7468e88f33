"""Following and notifications through the real app: follow and unfollow an author, a category
and a public collection without JavaScript, /following and its secret feed, replies notified,
the header's unread count, marking read, CSRF refused, the JSON twins with a token."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import sqlalchemy as sa
from fastapi.testclient import TestClient

from dailypapers.store.lists import set_paper_hidden
from dailypapers.store.notifications import create_follow_notifications
from dailypapers.store.schema import follows
from tests.web.conftest import PASSWORD, csrf_cookie, csrf_from, sign_up

PAPER = "2410.17243"  # by Zesen Cheng, Hang Zhang, Kehan Li, ...
AUTHOR = "/authors/zesen-cheng"
CATEGORY = "astro-ph"
ATOM_NS = {"a": "http://www.w3.org/2005/Atom"}


def _post(client: TestClient, path: str, **fields: str) -> str:
    """Post a form as the browser does (CSRF token from the cookie); the redirect target."""
    data = {"csrf_token": csrf_cookie(client), **fields}
    response = client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 303, f"{path}: {response.status_code} {response.text[:300]}"
    return response.headers["location"]


def _log_in(client: TestClient, username: str) -> None:
    client.cookies.clear()
    form = {"username": username, "password": PASSWORD}
    form["csrf_token"] = csrf_from(client.get("/login").text)
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303


def _follow_rows(client: TestClient) -> int:
    engine: sa.Engine = client.app.state.dp.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(follows)).scalar_one())


def _unread_badge(html: str) -> str | None:
    match = re.search(r'<span class="unread-count">(\d+)</span>', html)
    return match.group(1) if match else None


def _card_ids(html: str) -> list[str]:
    return re.findall(r'<h3><a href="/papers/([^"]+)"', html)


def test_follow_an_author_from_the_page_once_and_unfollow(client: TestClient) -> None:
    anonymous = client.get(AUTHOR).text
    assert f'class="follow button-like" href="/login?next={AUTHOR}"' in anonymous
    sign_up(client, "ada")
    page = client.get(AUTHOR).text
    assert 'action="/follow"' in page and 'value="zesen cheng"' in page
    assert _post(client, "/follow", kind="author", target="zesen cheng", next=AUTHOR) == AUTHOR
    # Following twice (a second tab, a double click) stores one row.
    assert _post(client, "/follow", kind="author", target="Zesen Cheng", next=AUTHOR) == AUTHOR
    assert _follow_rows(client) == 1
    page = client.get(AUTHOR).text
    assert 'action="/unfollow"' in page and "Following ✓" in page
    following = client.get("/following")
    assert following.headers["cache-control"] == "private, no-store"
    assert 'href="/authors/zesen-cheng">Zesen Cheng</a>' in following.text
    assert PAPER in _card_ids(following.text)
    twin = client.get("/api/v1/following").json()
    assert [(f["kind"], f["target"]) for f in twin["follows"]] == [("author", "zesen cheng")]
    assert PAPER in [p["id"] for p in twin["papers"]]
    assert _post(client, "/unfollow", kind="author", target="zesen cheng") == "/following"
    assert _post(client, "/unfollow", kind="author", target="zesen cheng") == "/following"
    assert _follow_rows(client) == 0
    assert client.get("/api/v1/following").json()["papers"] == []


def test_follow_from_a_paper_page_and_a_category_page(client: TestClient) -> None:
    sign_up(client, "ada")
    paper = client.get(f"/papers/{PAPER}").text
    assert "Follow authors" in paper
    assert paper.count('name="kind" value="author"') >= 3
    back = _post(client, "/follow", kind="author", target="Hang Zhang", next=f"/papers/{PAPER}")
    assert back == f"/papers/{PAPER}"
    assert "(1 followed)" in client.get(f"/papers/{PAPER}").text
    category = client.get(f"/categories/{CATEGORY}").text
    assert 'name="kind" value="category"' in category
    _post(client, "/follow", kind="category", target=CATEGORY, next=f"/categories/{CATEGORY}")
    assert "Following ✓" in client.get(f"/categories/{CATEGORY}").text
    twin = client.get("/api/v1/following").json()
    assert {f["kind"] for f in twin["follows"]} == {"author", "category"}
    assert twin["total"] >= 2
    assert any(CATEGORY in p["categories"] for p in twin["papers"])
    # Bad targets are refused, naming the field.
    data = {"kind": "category", "target": "not a code", "csrf_token": csrf_cookie(client)}
    refused = client.post("/follow", data=data)
    assert refused.status_code == 422 and "arXiv category" in refused.text
    data = {"kind": "author", "target": "Nobody Wrote This", "csrf_token": csrf_cookie(client)}
    assert client.post("/follow", data=data).status_code == 404


def test_following_needs_a_login_and_the_csrf_token(client: TestClient) -> None:
    anonymous = client.post(
        "/follow", data={"kind": "author", "target": "zesen cheng"}, follow_redirects=False
    )
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert client.get("/following", follow_redirects=False).status_code == 303
    assert client.get("/notifications", follow_redirects=False).status_code == 303
    sign_up(client, "ada")
    forged = client.post("/follow", data={"kind": "author", "target": "zesen cheng"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    forged = client.post("/notifications/read", data={})
    assert forged.status_code == 403
    assert _follow_rows(client) == 0


def test_the_following_feed_opens_only_with_its_secret_key(client: TestClient) -> None:
    sign_up(client, "ada")
    _post(client, "/follow", kind="author", target="zesen cheng")
    page = client.get("/following").text
    match = re.search(r'href="(/feeds/following/(\d+)\.atom\?key=([^"]+))"', page)
    assert match, "no feed link"
    client.cookies.clear()  # a feed reader has no session
    feed = client.get(match.group(1))
    assert feed.status_code == 200
    assert feed.headers["cache-control"] == "private, no-store"
    root = ElementTree.fromstring(feed.content)
    links = [e.find("a:link", ATOM_NS) for e in root.findall("a:entry", ATOM_NS)]
    assert f"http://testserver/papers/{PAPER}" in [
        link.get("href") for link in links if link is not None
    ]
    user_id, key = match.group(2), match.group(3)
    assert client.get(f"/feeds/following/{user_id}.atom?key={key[:-2]}xx").status_code == 404
    assert client.get(f"/feeds/following/{int(user_id) + 1}.atom?key={key}").status_code == 404
    assert client.get(f"/feeds/following/{user_id}.atom").status_code == 404


def test_a_reply_is_a_notification_and_the_unread_count_goes_to_zero(client: TestClient) -> None:
    sign_up(client, "bob")
    client.cookies.clear()
    sign_up(client, "ada")
    assert _unread_badge(client.get("/").text) is None
    location = _post(client, "/comments", paper_id=PAPER, body="Does this scale to 1B?")
    comment_id = location.rsplit("-", 1)[1]
    _log_in(client, "bob")
    _post(client, "/comments", paper_id=PAPER, body="It does.", parent_id=comment_id)
    _post(client, "/comments", paper_id=PAPER, body="See section 4.", parent_id=comment_id)
    assert _unread_badge(client.get("/").text) is None  # bob replied: nothing for bob
    _log_in(client, "ada")
    assert _unread_badge(client.get("/").text) == "2"
    assert _unread_badge(client.get(f"/papers/{PAPER}").text) == "2"
    page = client.get("/notifications").text
    assert page.count('">bob replied to your comment on “Breaking the Memory Barrier') == 2
    first = re.search(r'name="notification_id" value="(\d+)"', page)
    assert first
    _post(client, "/notifications/read", notification_id=first.group(1), next="/notifications")
    assert _unread_badge(client.get("/notifications").text) == "1"
    _post(client, "/notifications/read", next="/notifications")
    page = client.get("/notifications").text
    assert _unread_badge(page) is None
    assert "0 unread of 2" in page
    # Marking read again is harmless.
    _post(client, "/notifications/read", next="/notifications")
    assert client.get("/api/v1/notifications").json()["unread"] == 0


def test_a_followed_public_collection_gaining_papers_notifies(client: TestClient) -> None:
    sign_up(client, "ada")
    client.cookies.clear()
    sign_up(client, "bob")
    location = _post(client, "/collections", name="Vision reads", visibility="public")
    collection_id = re.fullmatch(r"/collections/(\d+)-[a-z0-9-]+", location)
    assert collection_id
    cid = collection_id.group(1)
    private = _post(client, "/collections", name="Mine", visibility="private")
    _log_in(client, "ada")
    assert 'name="kind" value="collection"' in client.get(location).text
    _post(client, "/follow", kind="collection", target=cid, next=location)
    assert "Following ✓" in client.get(location).text
    # A private collection cannot be followed: the same 404 as for none.
    private_id = private.split("/")[2].split("-")[0]
    data = {"kind": "collection", "target": private_id, "csrf_token": csrf_cookie(client)}
    assert client.post("/follow", data=data).status_code == 404
    _log_in(client, "bob")
    _post(client, f"/collections/{cid}/items", paper_id=PAPER)
    engine: sa.Engine = client.app.state.dp.engine  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    since = now - timedelta(days=3)
    create_follow_notifications(engine, since_day=since.date(), since=since, now=now)
    create_follow_notifications(engine, since_day=since.date(), since=since, now=now)
    _log_in(client, "ada")
    found = client.get("/api/v1/notifications").json()
    assert found["unread"] == 1
    assert found["notifications"][0]["kind"] == "collection_paper"
    assert "was added to Vision reads" in found["notifications"][0]["text"]


def test_the_json_twins_with_a_token(client: TestClient) -> None:
    sign_up(client, "ada")
    made = client.post(
        "/settings/tokens", data={"name": "script", "csrf_token": csrf_cookie(client)}
    )
    token = re.search(r'<pre class="token">(dp_[^<]+)</pre>', made.text)
    assert token
    client.cookies.clear()
    auth = {"Authorization": f"Bearer {token.group(1)}"}
    assert client.get("/api/v1/following").status_code == 401
    body = {"kind": "author", "target": "zesen-cheng"}
    first = client.post("/api/v1/follows", json=body, headers=auth).json()
    again = client.post("/api/v1/follows", json=body, headers=auth).json()
    assert (first["changed"], again["changed"]) == (True, False)
    assert first["follow"]["url"] == AUTHOR
    bad = client.post("/api/v1/follows", json={"kind": "tag", "target": "x"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "kind"
    listed = client.get("/api/v1/following", headers=auth).json()
    assert [f["name"] for f in listed["follows"]] == ["Zesen Cheng"]
    gone = client.delete("/api/v1/follows/author/zesen cheng", headers=auth).json()
    assert gone == {"follow": None, "changed": True}
    notes = client.get("/api/v1/notifications", headers=auth).json()
    assert notes == {
        "unread": 0,
        "in_digest": False,
        "page": 1,
        "pages": 1,
        "total": 0,
        "notifications": [],
    }
    chose = client.post("/api/v1/notifications/digest", json={"in_digest": True}, headers=auth)
    assert chose.json() == {"in_digest": True}
    assert client.get("/api/v1/notifications", headers=auth).json()["in_digest"] is True
    bad = client.post("/api/v1/notifications/digest", json={"in_digest": "maybe"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "in_digest"
    marked = client.post("/api/v1/notifications/read", json={}, headers=auth).json()
    assert marked == {"marked": 0, "unread": 0}


def _reply_to_ada(client: TestClient) -> str:
    """ada comments on PAPER and bob replies; ada is logged in again. Her notifications page."""
    sign_up(client, "bob")
    client.cookies.clear()
    sign_up(client, "ada")
    location = _post(client, "/comments", paper_id=PAPER, body="Does this scale to 1B?")
    _log_in(client, "bob")
    _post(
        client, "/comments", paper_id=PAPER, body="It does.", parent_id=location.rsplit("-", 1)[1]
    )
    _log_in(client, "ada")
    return client.get("/notifications").text


def test_a_notifications_link_marks_it_read_and_opens_the_reply(client: TestClient) -> None:
    page = _reply_to_ada(client)
    match = re.search(r'<a href="(/notifications/(\d+))">bob replied', page)
    assert match, page
    opened = client.get(match.group(1), follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["cache-control"] == "private, no-store"
    target = opened.headers["location"]
    assert re.fullmatch(rf"/papers/{PAPER}#comment-\d+", target)
    assert f'id="{target.split("#")[1]}"' in client.get(target).text
    assert _unread_badge(client.get("/").text) is None
    # Again: harmless. Another reader's notification, or none: 404.
    assert client.get(match.group(1), follow_redirects=False).headers["location"] == target
    _log_in(client, "bob")
    assert client.get(match.group(1)).status_code == 404
    assert client.get("/notifications/999999").status_code == 404


def test_a_notification_about_a_hidden_paper_shows_nothing_of_it(client: TestClient) -> None:
    page = _reply_to_ada(client)
    assert "Breaking the Memory Barrier" in page
    assert _unread_badge(page) == "1"
    engine: sa.Engine = client.app.state.dp.engine  # type: ignore[attr-defined]
    set_paper_hidden(engine, paper_id=PAPER, hidden=True)
    page = client.get("/notifications").text
    assert "Breaking the Memory Barrier" not in page and PAPER not in page
    assert _unread_badge(page) is None
    assert "0 unread of 0" in page
    twin = client.get("/api/v1/notifications").json()
    assert (twin["unread"], twin["total"], twin["notifications"]) == (0, 0, [])
    set_paper_hidden(engine, paper_id=PAPER, hidden=False)
    assert _unread_badge(client.get("/notifications").text) == "1"


def test_the_digest_choice_is_a_form_with_the_csrf_token(client: TestClient) -> None:
    sign_up(client, "ada")
    page = client.get("/notifications").text
    assert 'action="/notifications/digest"' in page and "Put them in my digest" in page
    assert 'href="/settings/subscription"' in page  # no digest yet: subscribe first
    forged = client.post("/notifications/digest", data={"in_digest": "true"})
    assert forged.status_code == 403
    assert _post(client, "/notifications/digest", in_digest="true") == "/notifications"
    page = client.get("/notifications").text
    assert "Stop putting them in my digest" in page
    assert client.get("/api/v1/notifications").json()["in_digest"] is True
    data = {"in_digest": "perhaps", "csrf_token": csrf_cookie(client)}
    refused = client.post("/notifications/digest", data=data)
    assert refused.status_code == 422 and "in_digest" in refused.text
    _post(client, "/notifications/digest", in_digest="false", next="/notifications?p=1")
    assert client.get("/api/v1/notifications").json()["in_digest"] is False


def test_a_followed_author_far_down_a_byline_is_named_on_the_following_card(
    client: TestClient,
) -> None:
    paper = client.get(f"/api/v1/papers/{PAPER}").json()["paper"]
    fifth = paper["authors"][4]
    hidden = len(paper["authors"]) - 3
    sign_up(client, "ada")
    listed = client.get("/papers/date/" + paper["list_date"]).text
    assert f'aria-label="and {hidden} more authors">+{hidden}</a>' in listed
    _post(client, "/follow", kind="author", target=fifth, next="/following")
    following = client.get("/following").text
    card = following[following.index(f'<h3><a href="/papers/{PAPER}"') :]
    byline = re.search(r'<p class="meta byline">(.*?)</p>', card, flags=re.DOTALL)
    assert byline is not None
    assert ", …, <a href=" in byline.group(1) and f">{fifth}</a>" in byline.group(1)
    assert f"+{hidden - 1}</a>" in byline.group(1)
