"""Atom feeds, read by the real `feedparser`: well-formed, complete entries, announced by every
list page, and unbroken by text that holds `<`, `&` or control characters."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import feedparser
import pytest
from fastapi.testclient import TestClient

from dailypapers.index.build import sync_keyword_index
from dailypapers.latex import latex_to_text
from dailypapers.store.lists import set_paper_hidden
from dailypapers.store.papers import get_paper
from dailypapers.store.submissions import submit_paper
from dailypapers.web.app import create_app
from dailypapers.web.feed_views import FEED_PAGE_SIZE
from dailypapers.web.views import PAGE_SIZE
from tests.search.conftest import import_files
from tests.web.conftest import sign_up, site_settings
from tests.web.hf_fixtures import (
    AWKWARD_ABSTRACT,
    AWKWARD_AUTHORS,
    AWKWARD_ID,
    AWKWARD_TITLE,
    announced,
    compat_home,
)

BASE = "http://testserver"
ATOM = "application/atom+xml"
# Characters XML 1.0 cannot carry at all; the feed has to leave them out.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


@pytest.fixture(scope="module")
def site(
    seeded_home: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The seeded site plus the Hugging Face sample and the awkward paper (read only)."""
    home = compat_home(seeded_home, shared_data, tmp_path_factory.mktemp("feeds"))
    app = create_app(site_settings(home))
    with TestClient(app, base_url=BASE) as client:
        yield client
    app.state.dp.engine.dispose()


def read_feed(client: TestClient, path: str) -> Any:
    """Fetch and parse a feed, checking what every feed must have; returns the parsed feed."""
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(ATOM)
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title
    assert feed.feed.updated_parsed is not None
    rels = {link["rel"]: link["href"] for link in feed.feed.links}
    assert rels["self"] == BASE + path
    assert rels["alternate"].startswith(BASE + "/")
    ids = [entry.id for entry in feed.entries]
    assert len(set(ids)) == len(ids), "entry ids repeat"
    for entry in feed.entries:
        assert entry.title.strip()
        assert entry.link.startswith(BASE + "/papers/")
        assert [author.get("name") for author in entry.authors if author.get("name")]
        assert entry.summary.strip()
        assert entry.updated_parsed is not None
    return feed


def entry_paths(feed: Any) -> list[str]:
    return [urlsplit(entry.link).path for entry in feed.entries]


@pytest.mark.parametrize(
    ("path", "count"),
    [
        ("/feeds/daily.atom?date=2024-10-25", 4),
        ("/feeds/daily.atom?date=2024-10-24", 1),
        ("/feeds/daily.atom?date=2024-10-23", 0),
        ("/feeds/weekly.atom?week=2024-W43", 5),
        ("/feeds/daily.atom?date=2024-05-01", 38),
        ("/feeds/monthly.atom?month=2024-05", 38),
        ("/feeds/trending.atom", 30),
        ("/feeds/search.atom?q=contrastive", None),
        ("/feeds/search.atom?q=zqxjvwkpl", 0),
    ],
)
def test_feeds_are_valid_atom(site: TestClient, path: str, count: int | None) -> None:
    feed = read_feed(site, path)
    if count is not None:
        assert len(feed.entries) == count
    else:
        assert feed.entries


def test_feed_entries_link_to_the_sites_paper_pages(site: TestClient) -> None:
    feed = read_feed(site, "/feeds/weekly.atom?week=2024-W43")
    for entry in feed.entries:
        path = urlsplit(entry.link).path
        assert site.get(path).status_code == 200
        paper = site.get("/api/v1" + path).json()["paper"]
        # The title as text: "LOGO -- Long ..." reads "LOGO – Long ...", as on the page.
        assert entry.title == NOT_XML.sub("", latex_to_text(paper["title"]))
        assert [a.name for a in entry.authors] == paper["authors"]


def test_feeds_without_a_period_follow_the_newest_list(site: TestClient) -> None:
    # Their own URL must stay undated: a reader that follows rel="self" would otherwise be
    # moved to a feed of one day that never changes again.
    daily = read_feed(site, "/feeds/daily.atom")
    assert daily.feed.id == BASE + "/feeds/daily.atom"
    assert entry_paths(daily) == entry_paths(read_feed(site, "/feeds/daily.atom?date=2024-10-25"))
    weekly = read_feed(site, "/feeds/weekly.atom")
    assert set(entry_paths(daily)) < set(entry_paths(weekly))
    assert entry_paths(read_feed(site, "/feeds/monthly.atom")) == entry_paths(
        read_feed(site, "/feeds/monthly.atom?month=2024-10")
    )


def test_the_home_page_announces_the_feed_that_follows_the_newest_day(site: TestClient) -> None:
    assert announced(site.get("/").text, ATOM) == "/feeds/daily.atom"


def test_text_with_markup_and_control_characters_stays_well_formed(site: TestClient) -> None:
    for path in (
        "/feeds/daily.atom?date=2024-10-24",
        "/feeds/weekly.atom?week=2024-W43",
        "/feeds/search.atom?q=bold+claims",
    ):
        feed = read_feed(site, path)
        (entry,) = [e for e in feed.entries if e.link == f"{BASE}/papers/{AWKWARD_ID}"]
        # HTML markup arrives as the literal text it was (LaTeX as text: {a}{b} reads ab); only
        # XML-illegal characters are gone.
        assert entry.title == NOT_XML.sub("", AWKWARD_TITLE)
        abstract = latex_to_text(" ".join(AWKWARD_ABSTRACT.split()))
        assert entry.summary == NOT_XML.sub("", abstract)
        assert "<b>bold</b> claims & test" in entry.summary
        assert [a.name for a in entry.authors] == list(AWKWARD_AUTHORS)


def test_search_feed_with_several_parameters_is_well_formed(site: TestClient) -> None:
    path = "/feeds/search.atom?q=bold+claims&author=Zo%C3%AB&from=2024-10-01"
    feed = read_feed(site, path)
    assert entry_paths(feed) == [f"/papers/{AWKWARD_ID}"]
    assert feed.feed.title.endswith("Search: bold claims")


LIST_PAGES = [
    "/",
    "/papers/date/2024-10-25",
    "/papers/date/2024-10-23",
    "/papers/week/2024-W43",
    "/papers/month/2024-05",
    "/papers/month/2024-05?p=2",
    "/trending",
    "/search?q=contrastive",
    "/search?q=bold+claims&author=Zo%C3%AB&mode=keyword",
]


@pytest.mark.parametrize("page", LIST_PAGES)
def test_every_list_page_announces_a_feed_that_works(site: TestClient, page: str) -> None:
    html = site.get(page)
    assert html.status_code == 200
    feed = read_feed(site, announced(html.text, ATOM))
    twin = site.get(announced(html.text, "application/json")).json()
    listed = twin["hits"] if "hits" in twin else twin["papers"]
    listed_paths = [(hit.get("paper") or hit)["url"] for hit in listed]
    if page.startswith("/search"):
        # The search feed lists the matches newest first; the page ranks them.
        assert set(entry_paths(feed)) >= set(listed_paths)
    elif "total" in twin:
        # A period's feed carries the whole period, in the page's order.
        assert len(feed.entries) == twin["total"]
        offset = (twin["page"] - 1) * PAGE_SIZE
        assert entry_paths(feed)[offset : offset + len(listed_paths)] == listed_paths
    else:
        assert entry_paths(feed) == listed_paths


def test_feed_alternate_link_points_back_to_the_page(site: TestClient) -> None:
    for page in ("/papers/date/2024-10-25", "/papers/week/2024-W43", "/trending"):
        feed = read_feed(site, announced(site.get(page).text, ATOM))
        alternate = [link for link in feed.feed.links if link["rel"] == "alternate"]
        assert alternate[0]["href"] == BASE + page


@pytest.mark.parametrize(
    "path",
    ["/feeds/daily.atom?date=2024-02-30", "/feeds/weekly.atom?week=2024-W99", "/feeds/search.atom"],
)
def test_bad_feed_parameters_are_json_errors(site: TestClient, path: str) -> None:
    response = site.get(path)
    assert response.status_code == 422
    assert response.json()["error"]["status"] == 422


def test_hidden_papers_leave_the_feeds(client: TestClient) -> None:
    before = read_feed(client, "/feeds/daily.atom?date=2024-05-01")
    gone = urlsplit(before.entries[0].link).path
    words = " ".join(word for word in before.entries[0].title.split() if word.isalnum())
    search = "/feeds/search.atom?" + urlencode({"q": words})
    assert gone in entry_paths(read_feed(client, search))
    engine = client.app.state.dp.engine  # type: ignore[attr-defined]
    assert set_paper_hidden(engine, paper_id=gone.removeprefix("/papers/"), hidden=True)
    after = read_feed(client, "/feeds/daily.atom?date=2024-05-01")
    assert gone not in entry_paths(after)
    assert gone not in entry_paths(read_feed(client, search))


def _import_generic(client: TestClient, tmp_path: Path, records: list[dict[str, Any]]) -> None:
    """Import generic JSON-lines records into the client's site and index them."""
    source = tmp_path / "records.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in records) + "\n", "utf-8")
    state = client.app.state.dp  # type: ignore[attr-defined]
    import_files(state.engine, [source], "generic")
    sync_keyword_index(state.engine, state.settings)


def test_an_undated_paper_is_dated_by_when_the_site_stored_it(
    client: TestClient, tmp_path: Path
) -> None:
    # A bibliography entry has no date at all; a member puts it on today's list.
    title = "Quillwort phenology under undated observation"
    _import_generic(client, tmp_path, [{"id": "undated-1", "title": title, "abstract": "x y"}])
    engine = client.app.state.dp.engine  # type: ignore[attr-defined]
    sign_up(client, "lister")
    stored = get_paper(engine, paper_id="undated-1")
    assert stored is not None and stored.published is None and stored.updated is None
    submit_paper(engine, paper_id="undated-1", user_id=1, username="lister",
                 day=datetime.now(UTC).date(), now=datetime.now(UTC))  # fmt: skip
    client.cookies.clear()
    for path in ("/feeds/daily.atom", "/feeds/search.atom?q=quillwort+phenology"):
        feed = read_feed(client, path)
        (entry,) = [e for e in feed.entries if e.link == f"{BASE}/papers/undated-1"]
        assert entry.updated == stored.created_at.isoformat()
        newest = max(datetime.fromisoformat(e.updated) for e in feed.entries)
        assert datetime.fromisoformat(feed.feed.updated) == newest


def test_every_entry_and_the_feed_say_when_they_last_changed(site: TestClient) -> None:
    feed = read_feed(site, "/feeds/weekly.atom?week=2024-W43")
    for entry in feed.entries:
        paper = site.get("/api/v1" + urlsplit(entry.link).path).json()["paper"]
        expected = paper["updated"] or paper["published"]
        assert datetime.fromisoformat(entry.updated) == datetime.fromisoformat(expected)
    stamps = [datetime.fromisoformat(e.updated) for e in feed.entries]
    assert datetime.fromisoformat(feed.feed.updated) == max(stamps)
    assert not feed.feed.updated.startswith("2020-01-01")
    empty = read_feed(site, "/feeds/daily.atom?date=2024-10-23")
    assert empty.feed.updated.startswith("2024-10-23")  # an empty day changed when it began


def test_a_day_too_long_for_one_document_is_paged_with_next_links(
    client: TestClient, tmp_path: Path
) -> None:
    day = date(2025, 3, 1)  # after every seeded list: the newest day
    count = FEED_PAGE_SIZE + 20
    records = [
        {"id": f"paged-{n}", "title": f"Paged paper number {n}", "abstract": "words",
         "authors": ["A. Author"], "published": day.isoformat()}
        for n in range(count)
    ]  # fmt: skip
    _import_generic(client, tmp_path, records)
    path = "/feeds/daily.atom?date=2025-03-01"
    first = read_feed(client, path)
    links = {link["rel"]: link["href"] for link in first.feed.links}
    assert len(first.entries) == FEED_PAGE_SIZE and "previous" not in links
    assert links["next"] == f"{BASE}{path}&p=2"
    assert links["first"] == BASE + path and links["last"] == links["next"]
    second = read_feed(client, path + "&p=2")
    back = {link["rel"]: link["href"] for link in second.feed.links}
    assert back["previous"] == BASE + path and "next" not in back
    assert len(set(entry_paths(first)) | set(entry_paths(second))) == count
    # The feed that follows the newest day pins the day in its next link.
    following = read_feed(client, "/feeds/daily.atom")
    assert {link["rel"]: link["href"] for link in following.feed.links}["next"] == links["next"]
    assert read_feed(client, path + "&p=3").entries == []
    assert client.get(path + "&p=0").status_code == 422
