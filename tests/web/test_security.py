"""What an attacker would try against the site, checked from the outside: script in stored and
typed text, forged cross-site posts, other people's comments, anonymous writes, racing votes,
oversized input, password guessing, and session cookies that outlive a logout."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode
from xml.etree import ElementTree

import httpx
import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from dailypapers.config import Settings, load_settings
from dailypapers.dates import as_utc
from dailypapers.index.build import sync_keyword_index
from dailypapers.ingest.files import ImportOptions, expand_paths, import_paths
from dailypapers.store.engine import open_store
from dailypapers.store.schema import login_failures, papers, votes
from dailypapers.web.app import create_app
from tests.pg_server import PostgresServer
from tests.smtp_server import SmtpServer
from tests.web.conftest import PASSWORD, LiveServer, csrf_cookie, csrf_from, sign_up, site_settings

TOKEN_ON_PAGE = re.compile(r'<pre class="token">(dp_[^<]+)</pre>')
ATOM = "{http://www.w3.org/2005/Atom}"

# A paper whose every shown field tries to run script. Its list day comes after every seed
# day, so it heads the home page; "Zorblax" finds it in search and nothing else.
HOSTILE_ID = "2501.00001"
LIST_DAY = "2030-01-02"
TITLE = 'Zorblax attention <script>alert("title")</script> & <img src=x onerror=alert(1)> "q"'
ABSTRACT = (
    'Zorblax transformers. </p><script>alert("abstract")</script>'
    '<iframe src="javascript:alert(2)"></iframe> and <b onmouseover=alert(3)>bold</b>.'
)
AUTHOR = '<script>alert("author")</script> Mallory'
SUBMITTER = '"><svg onload=alert("submitter")>'
HOSTILE_QUERY = '<script>alert("q")</script> zorblax "><img src=x onerror=alert(4)>'
COMMENT = (
    'Nice paper! <script>alert("comment")</script>\n\n'
    '[click me](javascript:alert(1)) and <a href="javascript:alert(2)">raw link</a>\n\n'
    "<img src=x onerror=alert(3)> and [a fine link](https://example.org/ok)\n\n"
    '</textarea><script>alert("textarea")</script>'
)
ALLOWED_COMMENT_TAGS = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol"} | {
    "li", "a", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
}  # fmt: skip


# -- helpers ---------------------------------------------------------------------------------


class ActiveContent(HTMLParser):
    """What a browser would run from a page: scripts not from /static/, event-handler
    attributes, javascript: URLs, frames and SVG; plus the page's text as the reader sees it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []
        self.links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "a":
            self.links.append(dict(attrs).get("href"))
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if (value or "").strip().lower().startswith(("javascript:", "data:text")):
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "script" and not (dict(attrs).get("src") or "").startswith("/static/"):
            self.problems.append(f"<script {attrs!r}>")
        if tag in {"iframe", "object", "embed", "svg", "img"}:
            self.problems.append(f"<{tag} {attrs!r}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def inspect_html(html: str) -> ActiveContent:
    parser = ActiveContent()
    parser.feed(html)
    parser.close()
    return parser


def assert_inert(html: str, *shown: str) -> None:
    """The page runs nothing it should not, and shows each of `shown` as plain text."""
    page = inspect_html(html)
    assert page.problems == []
    text = "".join(page.text)
    for value in shown:
        assert value in text


def csrf_from_page(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200
    return csrf_from(page.text)


def settings_of(client: TestClient) -> Settings:
    settings: Settings = client.app.state.dp.settings  # type: ignore[attr-defined]
    return settings


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_token(client: TestClient | httpx.Client) -> str:
    """An API token for the logged-in user, made through the tokens page as a person would."""
    page = client.get("/settings/tokens")
    form = {"name": "tests", "csrf_token": csrf_from(page.text)}
    response = client.post("/settings/tokens", data=form)
    assert response.status_code == 200, response.text
    match = TOKEN_ON_PAGE.search(response.text)
    assert match, "the tokens page shows no new token"
    return match.group(1)


def user_with_token(client: TestClient | httpx.Client, username: str) -> str:
    sign_up(client, username)
    return create_token(client)


def other_client(client: TestClient) -> TestClient:
    """A second browser (own cookies) on the same app."""
    return TestClient(client.app, base_url="http://testserver")


def seed_paper(client: TestClient | httpx.Client) -> str:
    """A paper from the seed pages (the top of trending) to vote and comment on."""
    paper_id: str = client.get("/api/v1/trending").json()["papers"][0]["id"]
    return paper_id


def paper_json(client: TestClient, paper_id: str) -> dict[str, object]:
    response = client.get(f"/api/v1/papers/{paper_id}")
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def write_hostile_file(directory: Path) -> Path:
    """A Hugging Face daily-list response holding the hostile paper."""
    item = {
        "paper": {
            "id": HOSTILE_ID,
            "title": TITLE,
            "summary": ABSTRACT,
            "authors": [{"name": AUTHOR}, {"name": "Alice Honest"}],
            "publishedAt": "2030-01-01T00:00:00.000Z",
            "upvotes": 7,
            "submittedOnDailyBy": {"name": SUBMITTER},
        },
        "publishedAt": f"{LIST_DAY}T08:00:00.000Z",
        "title": TITLE,
        "numComments": 0,
    }
    path = directory / "daily_papers-hostile.json"
    path.write_bytes(orjson.dumps([item]))
    return path


def import_into(settings: Settings, paths: list[Path]) -> None:
    """Import files through the real importer and bring the keyword index up to date."""
    engine = open_store(settings)
    options = ImportOptions("auto", datetime(2024, 10, 25, tzinfo=UTC).date(), 500)
    summary = import_paths(engine, list(expand_paths(paths)), options, now=datetime.now(UTC))
    assert summary.failed == 0, summary.failures[:3]
    if settings.database_url is None:
        sync_keyword_index(engine, settings)
    engine.dispose()


@pytest.fixture
def hostile(site_home: Path, tmp_path: Path) -> Iterator[TestClient]:
    """A client of a site whose seed papers are joined by the hostile paper."""
    settings = site_settings(site_home)
    import_into(settings, [write_hostile_file(tmp_path)])
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client
    app.state.dp.engine.dispose()


# -- 1. stored and typed text comes out escaped ----------------------------------------------


def test_hostile_paper_is_stored_as_written(hostile: TestClient) -> None:
    # Without this the escaping tests below could pass on a title the importer had cleaned.
    paper = paper_json(hostile, HOSTILE_ID)["paper"]
    assert isinstance(paper, dict)
    assert (paper["title"], paper["abstract"]) == (TITLE, ABSTRACT)
    assert AUTHOR in paper["authors"]


def test_list_pages_escape_titles_authors_and_submitters(hostile: TestClient) -> None:
    for path in ("/", f"/papers/date/{LIST_DAY}", "/papers/week/2030-W01", "/papers/month/2030-01"):
        response = hostile.get(path)
        assert response.status_code == 200, path
        assert_inert(response.text, TITLE, AUTHOR, f"submitted by {SUBMITTER}")
        assert "<script>alert" not in response.text


def test_paper_page_escapes_every_field_for_readers_and_voters(hostile: TestClient) -> None:
    anonymous = hostile.get(f"/papers/{HOSTILE_ID}")
    assert anonymous.status_code == 200
    assert_inert(anonymous.text, TITLE, ABSTRACT, AUTHOR, SUBMITTER)
    sign_up(hostile, "reader")  # signed in, the title also sits in the vote button's label
    signed_in = hostile.get(f"/papers/{HOSTILE_ID}")
    assert 'name="paper_id" value="2501.00001"' in signed_in.text
    assert_inert(signed_in.text, TITLE, ABSTRACT, AUTHOR)


def test_search_highlighting_escapes_titles_and_abstracts(hostile: TestClient) -> None:
    response = hostile.get("/search", params={"q": "zorblax alert", "mode": "keyword"})
    assert response.status_code == 200
    assert "<mark>Zorblax</mark>" in response.text  # highlighting is on ...
    assert_inert(response.text, TITLE)  # ... and marks only words, never markup
    assert "&lt;script&gt;<mark>alert</mark>(" in response.text


def test_search_page_escapes_the_query_itself(hostile: TestClient) -> None:
    for mode in ("keyword", "hybrid"):
        response = hostile.get("/search", params={"q": HOSTILE_QUERY, "mode": mode})
        assert response.status_code == 200
        assert_inert(response.text, HOSTILE_QUERY)
        assert "<script>alert" not in response.text


def test_atom_feeds_carry_hostile_text_as_text(hostile: TestClient) -> None:
    for path in (f"/feeds/daily.atom?date={LIST_DAY}", "/feeds/search.atom?q=zorblax&mode=keyword"):
        response = hostile.get(path)
        assert response.status_code == 200, path
        assert "<script>" not in response.text and "<img" not in response.text
        feed = ElementTree.fromstring(response.content)  # well-formed, so escaping held
        entry = next(
            e for e in feed.iter(f"{ATOM}entry") if e.findtext(f"{ATOM}id", "").endswith(HOSTILE_ID)
        )
        assert entry.findtext(f"{ATOM}title") == TITLE
        assert entry.findtext(f"{ATOM}summary") == ABSTRACT
        assert AUTHOR in [a.findtext(f"{ATOM}name") for a in entry.iter(f"{ATOM}author")]
    search_feed = hostile.get("/feeds/search.atom", params={"q": HOSTILE_QUERY, "mode": "keyword"})
    assert search_feed.status_code == 200
    assert "<script>" not in search_feed.text
    title = ElementTree.fromstring(search_feed.content).findtext(f"{ATOM}title") or ""
    assert title.endswith(f"Search: {HOSTILE_QUERY}")


def test_profile_escapes_the_titles_of_upvoted_papers(hostile: TestClient) -> None:
    token = user_with_token(hostile, "fan")
    voted = hostile.post("/api/v1/votes", json={"paper_id": HOSTILE_ID}, headers=bearer(token))
    assert voted.status_code == 200
    response = hostile.get("/users/fan")
    assert response.status_code == 200
    assert_inert(response.text, TITLE)


def test_comment_markdown_keeps_no_script_or_javascript_links(client: TestClient) -> None:
    paper_id = seed_paper(client)
    token = user_with_token(client, "commenter")
    posted = client.post(
        "/api/v1/comments", json={"paper_id": paper_id, "body": COMMENT}, headers=bearer(token)
    )
    assert posted.status_code == 201, posted.text
    comment = posted.json()
    assert comment["body"] == COMMENT.strip()  # kept as written, rendered safely
    html = inspect_html(comment["html"])
    assert html.problems == []
    assert html.tags <= ALLOWED_COMMENT_TAGS
    assert html.links == ["https://example.org/ok"]  # the javascript: links are text now
    assert "[click me](javascript:alert(1))" in "".join(html.text)
    assert 'rel="nofollow noopener noreferrer"' in comment["html"]
    assert '&lt;script&gt;alert("comment")&lt;/script&gt;' in comment["html"]
    # The author's page also holds the body in the edit box; a reader's page does not.
    for reader in (client, other_client(client)):
        page = reader.get(f"/papers/{paper_id}")
        assert page.status_code == 200
        assert_inert(page.text, "Nice paper!", 'alert("comment")')
        assert "</textarea><script>" not in page.text


# Links an imported paper may carry (code and project from Hugging Face, abs and PDF from
# arXiv's own formats); a row stored before links were checked may still hold them.
SCRIPT_LINKS = {
    "abs_url": "javascript:alert('abs')",
    "pdf_url": " JaVaScRiPt:alert('pdf')",
    "code_url": "javascript:alert(document.cookie)",
    "project_url": "data:text/html,<script>alert('project')</script>",
}


def _hrefs(html: str) -> list[str]:
    return [href or "" for href in inspect_html(html).links]


def test_script_links_from_imported_data_are_dropped_and_the_paper_kept(
    site_home: Path, tmp_path: Path
) -> None:
    item = {
        "paper": {
            "id": "2501.00002",
            "title": "Zorblax links",
            "summary": "A paper whose links try to run script.",
            "authors": [{"name": "Mallory"}],
            "publishedAt": "2030-01-01T00:00:00.000Z",
            "githubRepo": SCRIPT_LINKS["code_url"],
            "projectPage": SCRIPT_LINKS["project_url"],
        },
        "publishedAt": f"{LIST_DAY}T08:00:00.000Z",
        "title": "Zorblax links",
    }
    path = tmp_path / "daily_papers-links.json"
    path.write_bytes(orjson.dumps([item]))
    settings = site_settings(site_home)
    import_into(settings, [path])
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as reader:
        links = paper_json(reader, "2501.00002")["paper"]["links"]  # type: ignore[index]
        assert links["code"] is None and links["project"] is None
        assert links["abs"] == "https://arxiv.org/abs/2501.00002"
        page = reader.get("/papers/2501.00002").text
        assert_inert(page, "Zorblax links")
    app.state.dp.engine.dispose()


def test_script_links_in_stored_rows_are_never_rendered(hostile: TestClient) -> None:
    engine: sa.Engine = hostile.app.state.dp.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa.update(papers).where(papers.c.paper_id == HOSTILE_ID).values(SCRIPT_LINKS))
    page = hostile.get(f"/papers/{HOSTILE_ID}")
    assert page.status_code == 200
    assert_inert(page.text, TITLE)
    assert all(h.startswith(("/", "#", "https://", "http://")) for h in _hrefs(page.text))
    feed = ElementTree.fromstring(hostile.get(f"/feeds/daily.atom?date={LIST_DAY}").content)
    hrefs = [link.get("href", "") for link in feed.iter(f"{ATOM}link")]
    assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs)


# -- 2. cross-site form posts are refused ----------------------------------------------------

FOREIGN = "https://evil.example"


def _forged_variants(token: str) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(what, extra form fields, extra headers) for each way a forged post might arrive."""
    return [
        ("no token", {}, {}),
        ("wrong token", {"csrf_token": "x" * len(token)}, {}),
        ("foreign Origin", {"csrf_token": token}, {"Origin": FOREIGN}),
        ("foreign Referer", {"csrf_token": token}, {"Referer": FOREIGN + "/page"}),
        ("opaque Origin", {"csrf_token": token}, {"Origin": "null"}),
    ]


def _seed_state(client: TestClient, paper_id: str) -> tuple[object, object, object]:
    """The paper's score and comment count, and whether the client's user upvoted it."""
    paper = paper_json(client, paper_id)
    inner = paper["paper"]
    assert isinstance(inner, dict)
    return inner["score"], inner["comments"], paper["voted"]


@pytest.mark.parametrize("path", ["/vote", "/comments", "/logout"])
def test_forged_posts_with_a_session_are_refused(client: TestClient, path: str) -> None:
    paper_id = seed_paper(client)
    sign_up(client, "victim")
    forms = {
        "/vote": {"paper_id": paper_id},
        "/comments": {"paper_id": paper_id, "body": "forged"},
        "/logout": {},
    }
    form = forms[path]
    before = _seed_state(client, paper_id)
    for what, extra, headers in _forged_variants(csrf_cookie(client)):
        response = client.post(path, data=form | extra, headers=headers, follow_redirects=False)
        assert response.status_code == 403, what
        assert _seed_state(client, paper_id) == before, what
        assert client.get("/settings/tokens").status_code == 200, what  # still logged in
    # The same post from the site's own page goes through: the refusals were about its origin.
    own = form | {"csrf_token": csrf_cookie(client)}
    assert client.post(path, data=own, follow_redirects=False).status_code == 303
    if path == "/logout":
        assert client.get("/settings/tokens", follow_redirects=False).status_code == 303
    else:
        assert _seed_state(client, paper_id) != before


def test_forged_login_is_refused(client: TestClient) -> None:
    sign_up(client, "attacker")
    client.cookies.clear()
    token = csrf_from_page(client, "/login")
    form = {"username": "attacker", "password": PASSWORD}
    for what, extra, headers in _forged_variants(token):
        response = client.post("/login", data=form | extra, headers=headers, follow_redirects=False)
        assert response.status_code == 403, what
        assert "dp_session" not in response.headers.get("set-cookie", ""), what
        assert client.get("/settings/tokens", follow_redirects=False).status_code == 303, what
    genuine = client.post("/login", data=form | {"csrf_token": token}, follow_redirects=False)
    assert genuine.status_code == 303
    assert client.get("/settings/tokens").status_code == 200


def test_forged_signup_is_refused(client: TestClient) -> None:
    token = csrf_from_page(client, "/signup")
    form = {"username": "planted", "password": PASSWORD}
    for what, extra, headers in _forged_variants(token):
        response = client.post(
            "/signup", data=form | extra, headers=headers, follow_redirects=False
        )
        assert response.status_code == 403, what
        assert client.get("/api/v1/users/planted").status_code == 404, what
    genuine = client.post("/signup", data=form | {"csrf_token": token}, follow_redirects=False)
    assert genuine.status_code == 303
    assert client.get("/api/v1/users/planted").status_code == 200


def test_json_writes_with_a_session_need_the_csrf_header(client: TestClient) -> None:
    paper_id = seed_paper(client)
    sign_up(client, "scripted")
    before = _seed_state(client, paper_id)
    body = {"paper_id": paper_id}
    assert client.post("/api/v1/votes", json=body).status_code == 403
    foreign = {"X-CSRF-Token": csrf_cookie(client), "Origin": FOREIGN}
    assert client.post("/api/v1/votes", json=body, headers=foreign).status_code == 403
    assert _seed_state(client, paper_id) == before
    own = client.post("/api/v1/votes", json=body, headers={"X-CSRF-Token": csrf_cookie(client)})
    assert own.status_code == 200 and own.json()["voted"] is True


# -- 3. one user cannot touch another's comment ----------------------------------------------


def test_nobody_edits_or_deletes_another_users_comment(client: TestClient) -> None:
    paper_id = seed_paper(client)
    alice_token = user_with_token(client, "alice")
    bob = other_client(client)
    bob_token = user_with_token(bob, "bob")
    created = client.post(
        "/api/v1/comments",
        json={"paper_id": paper_id, "body": "alice's words"},
        headers=bearer(alice_token),
    ).json()
    comment_id = created["id"]

    def alices_comment() -> dict[str, object]:
        comments = paper_json(client, paper_id)["comments"]
        assert isinstance(comments, list)
        found: dict[str, object] = next(c for c in comments if c["id"] == comment_id)
        return found

    before = alices_comment()
    api = f"/api/v1/comments/{comment_id}"
    edit = bob.patch(api, json={"body": "bob was here"}, headers=bearer(bob_token))
    assert edit.status_code == 403
    assert edit.json()["error"]["code"] == "forbidden"
    assert bob.delete(api, headers=bearer(bob_token)).status_code == 403
    token = csrf_cookie(bob)
    form_edit = bob.post(
        f"/comments/{comment_id}/edit", data={"body": "bob again", "csrf_token": token}
    )
    assert form_edit.status_code == 403
    assert bob.post(f"/comments/{comment_id}/delete", data={"csrf_token": token}).status_code == 403
    assert alices_comment() == before
    assert before["body"] == "alice's words" and before["deleted"] is False
    # Alice herself may edit it: the refusals were about who asked.
    mine = client.patch(api, json={"body": "alice, edited"}, headers=bearer(alice_token))
    assert mine.status_code == 200 and mine.json()["body"] == "alice, edited"


# -- 4. anonymous writes are refused and count nothing ---------------------------------------


def test_anonymous_api_writes_get_401_and_count_nothing(client: TestClient) -> None:
    paper_id = seed_paper(client)
    today = datetime.now(UTC).date().isoformat()
    before = _seed_state(client, paper_id)
    writes = [
        ("POST", "/api/v1/votes", {"paper_id": paper_id}),
        ("DELETE", f"/api/v1/votes/{paper_id}", None),
        ("POST", "/api/v1/comments", {"paper_id": paper_id, "body": "anonymous"}),
        ("PATCH", "/api/v1/comments/1", {"body": "anonymous"}),
        ("DELETE", "/api/v1/comments/1", None),
        ("POST", "/api/v1/submissions", {"paper": paper_id}),
    ]
    for auth in ({}, bearer("dp_not-a-real-token"), {"Authorization": "Bearer nonsense"}):
        for method, path, body in writes:
            response = client.request(method, path, json=body, headers=auth)
            assert response.status_code == 401, (method, path, auth)
            assert response.json()["error"]["code"] == "unauthorized"
    assert _seed_state(client, paper_id) == before
    assert client.get(f"/api/v1/papers/date/{today}").json()["total"] == 0


def test_anonymous_form_posts_go_to_login_and_count_nothing(client: TestClient) -> None:
    paper_id = seed_paper(client)
    today = datetime.now(UTC).date().isoformat()
    before = _seed_state(client, paper_id)
    here_path = f"/papers/{paper_id}"
    here = {"Referer": "http://testserver" + here_path}
    forms = [
        ("/vote", {"paper_id": paper_id}),
        ("/comments", {"paper_id": paper_id, "body": "anonymous"}),
        ("/submit", {"paper": paper_id}),
    ]
    for path, form in forms:
        response = client.post(path, data=form, headers=here, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/login?" + urlencode({"next": here_path})
    submit_page = client.get("/submit", follow_redirects=False)
    assert submit_page.headers["location"] == "/login?next=%2Fsubmit"
    assert _seed_state(client, paper_id) == before
    assert client.get(f"/api/v1/papers/date/{today}").json()["total"] == 0


# -- 5. concurrent votes count once per user -------------------------------------------------

VOTERS = 5
VOTES_EACH = 8


def _voter_tokens(url: str, count: int) -> list[str]:
    tokens = []
    for n in range(count):
        with httpx.Client(base_url=url, timeout=30) as browser:
            tokens.append(user_with_token(browser, f"voter{n}"))
    return tokens


def _hammer_votes(url: str, tokens: list[str], paper_id: str) -> list[int]:
    """Every voter votes VOTES_EACH times, all requests released at once from threads."""
    jobs = [token for token in tokens for _ in range(VOTES_EACH)]
    start = threading.Barrier(len(jobs))
    limits = httpx.Limits(max_connections=len(jobs))
    with httpx.Client(base_url=url, timeout=60, limits=limits) as http:

        def vote(token: str) -> int:
            start.wait()
            body = {"paper_id": paper_id}
            return http.post("/api/v1/votes", json=body, headers=bearer(token)).status_code

        with ThreadPoolExecutor(len(jobs)) as pool:
            return list(pool.map(vote, jobs))


def _assert_counted_once(url: str, engine: sa.Engine, tokens: list[str]) -> None:
    """Racing votes from every voter leave one vote row per voter and a score to match."""
    with httpx.Client(base_url=url, timeout=10) as reader:
        paper_id = seed_paper(reader)
    before = httpx.get(f"{url}/api/v1/papers/{paper_id}", timeout=10).json()["paper"]
    statuses = _hammer_votes(url, tokens, paper_id)
    assert statuses == [200] * len(statuses)
    after = httpx.get(f"{url}/api/v1/papers/{paper_id}", timeout=10).json()["paper"]
    assert after["votes"] == len(tokens)
    assert after["score"] == before["upvotes"] + len(tokens) == before["score"] + len(tokens)
    per_user = sa.select(votes.c.user_id, sa.func.count()).where(votes.c.paper_id == paper_id)
    stored = sa.select(papers.c.local_votes, papers.c.score).where(papers.c.paper_id == paper_id)
    with engine.connect() as conn:
        rows = conn.execute(per_user.group_by(votes.c.user_id)).all()
        local_votes, score = conn.execute(stored).one()
    assert sorted(count for _, count in rows) == [1] * len(tokens)
    assert (local_votes, score) == (len(tokens), after["score"])


def test_concurrent_votes_count_once_per_user_on_sqlite(site_home: Path) -> None:
    server = LiveServer(site_home, workers=2)
    engine = open_store(site_settings(site_home))
    try:
        tokens = _voter_tokens(server.url, VOTERS)
        _assert_counted_once(server.url, engine, tokens)
    finally:
        server.stop()
        engine.dispose()


@pytest.mark.postgres
def test_concurrent_votes_count_once_per_user_on_postgresql(
    postgres_server: PostgresServer, seeds_dir: Path, tmp_path: Path
) -> None:
    database_url = postgres_server.create_database()
    home = tmp_path / "home"
    settings = load_settings({}, home=home, database_url=database_url, page_cache_s=0)
    import_into(settings, [seeds_dir])
    server = LiveServer(home, workers=2, DAILYPAPERS_DATABASE_URL=database_url)
    engine = open_store(settings)
    try:
        tokens = _voter_tokens(server.url, VOTERS)
        _assert_counted_once(server.url, engine, tokens)
    finally:
        server.stop()
        engine.dispose()


# -- 6. oversized input is refused with the right status, never 500 --------------------------


def _error(response: httpx.Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text[:300]
    error = response.json()["error"]
    assert error["status"] == status and error["field"] == field


def _error_page(response: httpx.Response, status: int, message: str) -> None:
    """The site's HTML error page, with the reason and the security headers."""
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert f"<title>Error {status}" in response.text
    assert f'<p class="error" role="alert">{message}</p>' in response.text
    assert response.headers["x-frame-options"] == "DENY"


def test_oversized_bodies_get_413_with_and_without_content_length(client: TestClient) -> None:
    paper_id = seed_paper(client)
    token = user_with_token(client, "verbose")
    limit = settings_of(client).max_body_bytes
    before = _seed_state(client, paper_id)
    body = orjson.dumps({"paper_id": paper_id, "body": "x" * limit})
    auth = bearer(token) | {"Content-Type": "application/json"}
    _error(client.post("/api/v1/comments", content=body, headers=auth), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    _error(client.post("/api/v1/comments", content=chunks(), headers=auth), 413)
    form = {"paper_id": paper_id, "body": "x" * limit, "csrf_token": csrf_cookie(client)}
    # A form on the site gets the error page; the API the JSON shape.
    _error_page(client.post("/comments", data=form), 413, f"request body larger than {limit} bytes")

    def form_chunks() -> Iterator[bytes]:
        yield urlencode(form).encode()

    response = client.post(
        "/comments",
        content=form_chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _error_page(response, 413, f"request body larger than {limit} bytes")
    assert _seed_state(client, paper_id) == before


def test_real_server_refuses_an_oversized_chunked_body(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as browser:
        token = user_with_token(browser, "streamer")
        paper_id = seed_paper(browser)
    limit = Settings.model_fields["max_body_bytes"].default  # the server runs with defaults

    def chunks() -> Iterator[bytes]:
        yield b'{"paper_id": "' + paper_id.encode() + b'", "body": "'
        for _ in range(limit // 8192 + 2):
            yield b"x" * 8192
        yield b'"}'

    headers = bearer(token) | {"Content-Type": "application/json"}
    response = httpx.post(
        live_server.url + "/api/v1/comments", content=chunks(), headers=headers, timeout=30
    )
    _error(response, 413)


def test_long_query_strings_get_414(client: TestClient) -> None:
    for path in ("/api/v1/search", "/api/papers/search", "/search.json"):
        _error(client.get(path, params={"q": "x" * 5000}), 414)
    page = client.get("/search", params={"q": "x" * 5000})
    _error_page(page, 414, "query string longer than 4096 bytes")


def test_over_long_parameters_get_422_naming_the_field(client: TestClient) -> None:
    token = user_with_token(client, "long")
    _error(client.get("/api/v1/search", params={"q": "x" * 1001}), 422, "q")
    _error(client.get("/api/v1/search", params={"q": "x", "author": "a" * 201}), 422, "author")
    _error(client.get("/api/v1/search", params={"q": "x", "from": "2024-01-01x"}), 422, "from")
    _error(client.get("/api/v1/papers/" + "1" * 300), 422, "paper_id")
    _error(client.get("/api/v1/trending", params={"p": "99999"}), 422, "p")
    long_id = {"paper_id": "1" * 300}
    _error(client.post("/api/v1/votes", json=long_id, headers=bearer(token)), 422, "paper_id")
    _error(client.delete("/api/v1/votes/" + "1" * 300, headers=bearer(token)), 422, "paper_id")
    page = client.get("/search", params={"q": "x" * 1001})
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]


# -- 7. password guessing is slowed down, and nobody can lock an owner out ------------------

ATTACKER = ("203.0.113.66", 40000)
OWNER = ("198.51.100.7", 50000)
NEIGHBOUR = ("203.0.113.66", 40001)  # behind the attacker's address (a campus NAT)


def _login(
    client: TestClient, username: str, password: str, *, right_after_a_failure: bool = False
) -> httpx.Response:
    form = {"username": username, "password": password}
    form["csrf_token"] = csrf_from_page(client, "/login")
    if right_after_a_failure:  # however slow this machine is, no time has passed since
        _age_failures(client, newest_s_ago=0)
    return client.post("/login", data=form, follow_redirects=False)


def browser_at(client: TestClient, address: tuple[str, int]) -> TestClient:
    """Another browser on the same app and site, connecting from `address`."""
    return TestClient(client.app, base_url=str(client.base_url), client=address)


def _age_failures(client: TestClient, *, newest_s_ago: float) -> None:
    """Move every failed login the throttle counts back in time, the newest to `newest_s_ago`
    seconds before now (as if that long had passed)."""
    engine: sa.Engine = client.app.state.dp.engine  # type: ignore[attr-defined]
    table = login_failures
    with engine.begin() as conn:  # in Python: SQLite has no datetime arithmetic
        rows = conn.execute(sa.select(table.c.failure_id, table.c.failed_at)).all()
        newest = max(as_utc(failed_at) for _, failed_at in rows)
        shift = datetime.now(UTC) - timedelta(seconds=newest_s_ago) - newest
        for failure_id, failed_at in rows:
            moved = as_utc(failed_at) + shift
            conn.execute(
                sa.update(table).where(table.c.failure_id == failure_id).values(failed_at=moved)
            )


def _guess(client: TestClient, username: str, times: int) -> list[int]:
    return [_login(client, username, "wrong password").status_code for _ in range(times)]


def test_failed_logins_slow_that_address_down_and_the_owner_still_gets_in(
    client: TestClient,
) -> None:
    free = settings_of(client).login_max_failures
    sign_up(client, "target")
    attacker, owner = browser_at(client, ATTACKER), browser_at(client, OWNER)
    assert _guess(attacker, "target", free) == [401] * free
    # Even the right password waits its turn.
    slowed = _login(attacker, "target", PASSWORD, right_after_a_failure=True)
    assert slowed.status_code == 429
    assert slowed.headers["retry-after"] == "1"
    assert "dp_session" not in slowed.headers.get("set-cookie", "")
    # Hammering while slowed is refused unchecked and does not lengthen the wait (each try
    # lands right after the last failure, however slow this machine is).
    for _ in range(20):
        hammered = _login(attacker, "target", "wrong password", right_after_a_failure=True)
        assert (hammered.status_code, hammered.headers["retry-after"]) == (429, "1")
    # The owner, elsewhere, gets in at once ...
    assert _login(owner, "target", PASSWORD).status_code == 303
    assert owner.get("/settings/tokens").status_code == 200
    # ... and from the attacker's address after the short wait.
    _age_failures(client, newest_s_ago=1)
    neighbour = browser_at(client, NEIGHBOUR)
    assert _login(neighbour, "target", PASSWORD).status_code == 303


def test_the_wait_doubles_with_each_further_failure_up_to_the_cap(client: TestClient) -> None:
    settings = settings_of(client)
    sign_up(client, "doubling")
    attacker = browser_at(client, ATTACKER)
    _guess(attacker, "doubling", settings.login_max_failures)
    waits = []
    for _ in range(8):
        slowed = _login(attacker, "doubling", "wrong password", right_after_a_failure=True)
        assert slowed.status_code == 429
        waits.append(int(slowed.headers["retry-after"]))
        _age_failures(client, newest_s_ago=waits[-1])
        assert _guess(attacker, "doubling", 1) == [401]
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    assert settings.login_max_delay_s == 60


def test_tries_sent_at_once_are_checked_one_at_a_time_once_slowed(client: TestClient) -> None:
    free = settings_of(client).login_max_failures
    sign_up(client, "raced")
    attacker = browser_at(client, ATTACKER)
    _guess(attacker, "raced", free)
    _age_failures(client, newest_s_ago=1)  # one try is due
    form = {"username": "raced", "password": "wrong password"}
    form["csrf_token"] = csrf_from_page(attacker, "/login")
    start = threading.Barrier(8)

    def guess(_: int) -> int:
        start.wait()
        return attacker.post("/login", data=form, follow_redirects=False).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(guess, range(8)))
    assert statuses == [401] + [429] * 7


def test_guessing_across_many_names_slows_the_address_but_not_other_addresses(
    client: TestClient,
) -> None:
    settings = settings_of(client)
    sign_up(client, "sprayed")
    attacker = browser_at(client, ATTACKER)
    per_address = settings.login_max_failures * 6
    for n in range(per_address):  # one guess per name never slows any single name down
        assert _guess(attacker, f"user{n}", 1) == [401]
    assert _login(attacker, "sprayed", PASSWORD).status_code == 429
    assert _login(browser_at(client, OWNER), "sprayed", PASSWORD).status_code == 303


def test_a_good_login_clears_the_failure_count(client: TestClient) -> None:
    failures = settings_of(client).login_max_failures
    sign_up(client, "forgetful")
    for _ in range(2):  # 2 * (limit - 1) failures in all: over the limit if none were cleared
        client.cookies.clear()
        for _ in range(failures - 1):
            assert _login(client, "forgetful", "wrong password").status_code == 401
        assert _login(client, "forgetful", PASSWORD).status_code == 303


# -- 8. session cookies ----------------------------------------------------------------------


def _set_cookies(response: httpx.Response) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return jar


def test_session_cookies_are_httponly_and_samesite_lax(client: TestClient) -> None:
    page = client.get("/signup")
    form = {"username": "cookies", "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    signup = client.post("/signup", data=form, follow_redirects=False)
    client.cookies.clear()
    login = _login(client, "cookies", PASSWORD)
    for response in (signup, login):
        assert response.status_code == 303
        jar = _set_cookies(response)
        for name in ("dp_session", "dp_csrf"):
            assert jar[name]["httponly"] is True, name
            assert jar[name]["samesite"].lower() == "lax", name
            assert jar[name]["path"] == "/", name
        assert int(jar["dp_session"]["max-age"]) > 0


def test_logout_ends_the_session_on_the_server(client: TestClient) -> None:
    paper_id = seed_paper(client)
    sign_up(client, "leaver")
    stolen = {name: client.cookies[name] for name in ("dp_session", "dp_csrf")}
    thief = other_client(client)
    for name, value in stolen.items():
        thief.cookies.set(name, value)
    assert thief.get("/settings/tokens").status_code == 200  # the copied cookie works ...
    logout = client.post("/logout", data={"csrf_token": stolen["dp_csrf"]}, follow_redirects=False)
    assert logout.status_code == 303
    # ... until its owner logs out: then it opens nothing, though the thief still sends it.
    assert thief.get("/settings/tokens", follow_redirects=False).status_code == 303
    headers = {"X-CSRF-Token": stolen["dp_csrf"]}
    vote = thief.post("/api/v1/votes", json={"paper_id": paper_id}, headers=headers)
    assert vote.status_code == 401
    assert paper_json(thief, paper_id)["voted"] is False


# -- 9. the Host header: only configured hosts reach links, mail and the page cache ----------

FORGED_HOST = "evil.example"
TOP_SEED = "2410.17243"  # a paper of the seed pages


def _feed_links(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text[:300]
    feed = ElementTree.fromstring(response.content)
    # The site's own links (the feed, its page, each paper's page), not upstream PDFs.
    links = feed.iter(f"{ATOM}link")
    return [link.get("href", "") for link in links if link.get("rel") != "related"]


@pytest.fixture
def hosts_site(site_home: Path) -> Iterator[TestClient]:
    """A site for two configured names (one a subdomain wildcard) with the page cache on."""
    settings = site_settings(
        site_home, page_cache_s=60, allowed_hosts="papers.example.org,.mirror.example"
    )
    app = create_app(settings)
    with TestClient(app, base_url="http://papers.example.org") as test_client:
        yield test_client
    app.state.dp.engine.dispose()


def test_a_forged_host_is_refused_before_anything_is_served(hosts_site: TestClient) -> None:
    forged = {"Host": FORGED_HOST}
    page = hosts_site.get("/", headers=forged)
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert FORGED_HOST in page.text and "DAILYPAPERS_ALLOWED_HOSTS" in page.text
    for path in ("/api/v1/trending", "/feeds/daily.atom", f"/api/v1/papers/{TOP_SEED}"):
        _error(hosts_site.get(path, headers=forged), 400)
    assert hosts_site.post("/login", headers=forged, data={}).status_code == 400
    # A port or a final dot on a configured name is the same host; a look-alike is not.
    assert hosts_site.get("/", headers={"Host": "papers.example.org:8443"}).status_code == 200
    assert hosts_site.get("/", headers={"Host": "PAPERS.example.org."}).status_code == 200
    assert hosts_site.get("/", headers={"Host": "papers.example.org.evil"}).status_code == 400
    assert hosts_site.get("/", headers={"Host": "a.b.mirror.example"}).status_code == 200
    assert hosts_site.get("/", headers={"Host": "evilmirror.example"}).status_code == 400


def test_each_allowed_host_gets_its_own_links_and_nobody_poisons_the_cache(
    hosts_site: TestClient,
) -> None:
    path = "/feeds/daily.atom"
    own = _feed_links(hosts_site.get(path))
    assert own and all(link.startswith("http://papers.example.org/") for link in own)
    assert hosts_site.get(path, headers={"Host": FORGED_HOST}).status_code == 400
    mirror = _feed_links(hosts_site.get(path, headers={"Host": "www.mirror.example"}))
    assert mirror and all(link.startswith("http://www.mirror.example/") for link in mirror)
    # Both answers are kept (the cache is on), each under its own host and scheme.
    assert _feed_links(hosts_site.get(path)) == own
    secure = _feed_links(hosts_site.get("https://papers.example.org" + path))
    assert secure == [link.replace("http://", "https://", 1) for link in own]
    paper = f"/papers/{TOP_SEED}"
    for host in ("papers.example.org", "www.mirror.example", "papers.example.org"):
        page = hosts_site.get(paper, headers={"Host": host})
        assert f'data-copy="http://{host}{paper}"' in page.text


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.mark.parametrize("allowed", ["testserver", "*"])
def test_a_subscription_with_a_forged_host_mails_no_link_to_it(
    site_home: Path, smtp: SmtpServer, allowed: str
) -> None:
    settings = site_settings(
        site_home,
        allowed_hosts=allowed,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        digest_hour_utc=-1,
        listen_url="http://127.0.0.1:8000",  # what `serve` tells its workers
    )
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as browser:
        token = csrf_from_page(browser, "/subscribe")
        form = {"email": "victim@example.org", "include_trending": "true", "csrf_token": token}
        sent = browser.post("/subscribe", data=form, headers={"Host": FORGED_HOST})
        if allowed == "*":  # every host is answered, but mail links never follow one
            assert sent.status_code == 200, sent.text[:300]
            [message] = smtp.mailbox.to("victim@example.org")
            text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            assert FORGED_HOST not in text
            assert "http://127.0.0.1:8000/subscribe/confirm?" in text
        else:
            assert sent.status_code == 400
            assert smtp.mailbox.to("victim@example.org") == []
        # The same form from a listed host links back to it.
        if allowed != "*":
            form["email"] = "reader@example.org"
            assert browser.post("/subscribe", data=form).status_code == 200
            [message] = smtp.mailbox.to("reader@example.org")
            text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            assert "http://testserver/subscribe/confirm?" in text
    app.state.dp.engine.dispose()


# -- 10. responses say whether a shared cache may keep them ------------------------------------


def test_pages_for_one_reader_mark_themselves_private_and_are_not_cached(
    hosts_site: TestClient,
) -> None:
    for path in ("/login", "/signup", "/subscribe"):
        visitors = [browser_at(hosts_site, address) for address in (OWNER, ATTACKER)]
        pages = [visitor.get(path) for visitor in visitors]
        for page in pages:
            assert page.status_code == 200
            assert page.headers["cache-control"] == "private, no-store", path
        # With the cache on, each visitor still gets a form with their own CSRF token.
        tokens = [csrf_from(page.text) for page in pages]
        assert tokens == [visitor.cookies["dp_csrf"] for visitor in visitors], path
        assert tokens[0] != tokens[1], path
    for path in ("/", "/api/v1/trending", "/feeds/daily.atom"):
        shared = hosts_site.get(path)
        assert shared.status_code == 200
        assert "cache-control" not in shared.headers, path
