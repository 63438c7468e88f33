"""Cards worth reading, author and category pages with their JSON twins and feeds, code links
and the with-code filter, link previews and canonical URLs (issue 14), on the seeded site."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import feedparser
import pytest
from fastapi.testclient import TestClient

from dailypapers.web.app import create_app
from tests.web.conftest import site_settings

SEED_DAY = "2024-05-01"  # a saved Daily Papers page: 38 papers, 3 of them name their code
SEED_CODE = {
    "https://github.com/emsansone/GEDI",
    "https://github.com/PrincetonLIPS/MaM",
    "https://github.com/jiamingzhang94/Unlearnable-Clusters",
}
SNAPSHOT_DAY = "2007-04-02"  # the arXiv snapshot sample's busiest day (108 papers)
BALAZS = "0704.0001"  # C. Balázs, E. L. Berger, P. M. Nadolsky, C. -P. Yuan; hep-ph
ATOM = "application/atom+xml"


class Tags(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def meta(self, key: str) -> str | None:
        for tag, attrs in self.tags:
            if tag == "meta" and key in (attrs.get("property"), attrs.get("name")):
                return attrs.get("content")
        return None

    def link(self, rel: str) -> str | None:
        for tag, attrs in self.tags:
            if tag == "link" and attrs.get("rel") == rel:
                return attrs.get("href")
        return None


def cards(html: str) -> list[str]:
    return re.findall(r'<article class="card".*?</article>', html, flags=re.DOTALL)


def test_a_card_has_authors_abstract_links_and_counts(client: TestClient) -> None:
    page = client.get(f"/papers/date/{SNAPSHOT_DAY}")
    card = next(c for c in cards(page.text) if f'href="/papers/{BALAZS}"' in c)
    byline = re.search(r'<p class="meta byline">(.*?)</p>', card, flags=re.DOTALL)
    assert byline is not None
    names = re.findall(r'<a href="(/authors/[^"]+)">([^<]+)</a>', byline.group(1))
    assert names == [
        ("/authors/c-balazs", "C. Balázs"),
        ("/authors/e-l-berger", "E. L. Berger"),
        ("/authors/p-m-nadolsky", "P. M. Nadolsky"),
    ]
    assert ">+1</a>" in byline.group(1)  # C. -P. Yuan, on the paper's page
    # The abstract's opening, which opens in place without a script.
    assert re.search(r'<details class="teaser"><summary><span class="clamp">A fully diff', card)
    assert '<a class="tag" href="/categories/hep-ph">hep-ph</a>' in card
    assert '<a href="https://arxiv.org/abs/0704.0001" rel="noopener">arXiv</a>' in card
    assert '<a href="https://arxiv.org/pdf/0704.0001" rel="noopener">PDF</a>' in card
    assert f'href="/papers/{BALAZS}#comments">0 comments</a>' in card


def test_a_source_that_gives_only_an_author_count_shows_it(client: TestClient) -> None:
    twin = client.get(f"/api/v1/papers/date/{SEED_DAY}").json()
    unnamed = next(p for p in twin["papers"] if not p["authors"])
    assert unnamed["author_count"] > 0
    page = client.get(f"/papers/date/{SEED_DAY}")
    card = next(c for c in cards(page.text) if f'href="{unnamed["url"]}"' in c)
    assert f'<p class="meta byline">{unnamed["author_count"]} authors</p>' in card


def test_with_code_keeps_only_papers_that_link_their_code(client: TestClient) -> None:
    everything = client.get(f"/api/v1/papers/date/{SEED_DAY}").json()
    assert everything["total"] == 38 and not everything["with_code"]
    twin = client.get(f"/api/v1/papers/date/{SEED_DAY}?code=1").json()
    assert twin["with_code"] and twin["total"] == 3
    assert {p["links"]["code"] for p in twin["papers"]} == SEED_CODE
    page = client.get(f"/papers/date/{SEED_DAY}?code=1")
    assert len(cards(page.text)) == 3
    assert page.text.count('class="code-link"') == 3
    assert 'title="github.com/PrincetonLIPS/MaM">Code</a>' in page.text
    # The tabs, previous / next and the twin keep the filter.
    assert 'href="/papers/week/2024-W18?code=1"' in page.text
    assert 'rel="next" href="/papers/date/2024-05-02?code=1"' in page.text
    assert f'href="/api/v1/papers/date/{SEED_DAY}?code=1"' in page.text
    assert client.get("/api/v1/papers/month/2024-05?code=1").json()["total"] == 3
    trending = client.get("/api/v1/trending?code=1").json()
    assert trending["papers"] and all(p["links"]["code"] for p in trending["papers"])


def test_has_code_in_the_search_box_and_as_a_field(client: TestClient) -> None:
    typed = client.get("/api/v1/search?q=models+has:code&mode=keyword").json()
    field = client.get("/api/v1/search?q=models&mode=keyword&code=1").json()
    assert typed["hits"] and all(h["paper"]["links"]["code"] for h in typed["hits"])
    assert [h["paper"]["id"] for h in field["hits"]] == [h["paper"]["id"] for h in typed["hits"]]
    page = client.get("/search?q=models&mode=keyword&code=1")
    assert '<input type="checkbox" name="code" value="1" checked>' in page.text
    assert len(cards(page.text)) == len(field["hits"])
    refused = client.get("/api/v1/search?q=models+has:data")
    assert refused.status_code == 422 and "has:code" in refused.json()["error"]["message"]


def test_the_categories_page_counts_every_category(client: TestClient) -> None:
    twin = client.get("/api/v1/categories").json()
    counts = {c["category"]: c["papers"] for c in twin["categories"]}
    assert counts["hep-ph"] == 22 and counts["astro-ph"] == 23
    assert list(counts.values()) == sorted(counts.values(), reverse=True)
    page = client.get("/categories")
    assert page.status_code == 200
    assert '<a href="/categories/hep-ph">hep-ph</a> <span class="small count-badge">22</span>' in (
        page.text
    )
    assert '<h2 id="archive-math">math</h2>' in page.text


def test_a_category_page_lists_only_its_papers_with_the_usual_navigation(
    client: TestClient,
) -> None:
    landing = client.get("/categories/hep-ph")
    assert landing.status_code == 200
    assert (
        '<link rel="alternate" type="application/json" href="/api/v1/categories/hep-ph/date/'
        in (landing.text)
    )
    twin = client.get(f"/api/v1/categories/hep-ph/date/{SNAPSHOT_DAY}").json()
    assert twin["category"] == "hep-ph" and twin["total"] == 13
    assert all("hep-ph" in p["categories"] for p in twin["papers"])
    page = client.get(f"/categories/hep-ph/date/{SNAPSHOT_DAY}")
    assert re.findall(r'<h3><a href="/papers/([^"]+)"', page.text) == [
        p["id"] for p in twin["papers"]
    ]
    assert 'href="/categories/hep-ph/week/2007-W14"' in page.text
    assert 'rel="prev" href="/categories/hep-ph/date/2007-04-01"' in page.text
    month = client.get("/api/v1/categories/hep-ph/month/2007-04?sort=published").json()
    assert month["total"] == 18 and month["sort"] == "published"  # 4 more on 31 March
    empty = client.get("/categories/hep-ph/date/2007-05-15")
    assert "No papers in hep-ph on this day" in empty.text
    assert f'href="/categories/hep-ph/date/{SNAPSHOT_DAY}"' in empty.text  # the nearest day


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/categories/not%20a%20code", 422, "is not an arXiv category code"),
        ("/api/v1/categories/cs..CV/date/2024-05-01", 422, "is not an arXiv category code"),
        ("/categories/cs.XX", 404, "no papers in category"),  # well formed, but no paper has it
        ("/api/v1/categories/hep-ph/year/2007", 422, "kind"),
        ("/api/v1/categories/hep-ph/date/2007-13-01", 422, "2007-13-01"),
    ],
)
def test_bad_category_addresses_say_what_is_wrong(
    client: TestClient, path: str, status: int, says: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert says in response.text


def test_an_author_page_by_slug_or_name_with_its_twin(client: TestClient) -> None:
    by_slug = client.get("/api/v1/authors/c-balazs").json()
    by_name = client.get("/api/v1/authors/" + quote("C. Balázs")).json()
    assert by_slug == by_name == client.get("/api/v1/authors/C%20BALAZS").json()
    assert by_slug["name"] == "C. Balázs" and by_slug["url"] == "/authors/c-balazs"
    assert [p["id"] for p in by_slug["papers"]] == [BALAZS]
    assert {c["name"] for c in by_slug["coauthors"]} == {
        "E. L. Berger",
        "P. M. Nadolsky",
        "C. -P. Yuan",
    }
    assert by_slug["categories"] == [
        {"category": "hep-ph", "url": "/categories/hep-ph", "papers": 1}
    ]
    page = client.get("/authors/" + quote("C. Balázs"))
    assert page.status_code == 200
    assert "<h1>C. Balázs</h1>" in page.text
    assert '<a href="/authors/e-l-berger">E. L. Berger</a>' in page.text
    assert Tags(page.text).link("canonical") == "http://testserver/authors/c-balazs"
    missing = client.get("/api/v1/authors/nobody-at-all")
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "name"
    assert client.get("/authors/nobody-at-all").status_code == 404


def test_an_authors_papers_come_newest_first(client: TestClient) -> None:
    twin = client.get("/api/v1/papers/month/2007-04").json()
    counts: dict[str, int] = {}
    for paper in twin["papers"]:
        for name in paper["authors"]:
            counts[name] = counts.get(name, 0) + 1
    name = max(counts, key=lambda n: counts[n])
    author = client.get("/api/v1/authors/" + quote(name)).json()
    published = [p["published"] for p in author["papers"]]
    assert len(published) >= 2 and published == sorted(published, reverse=True)


def read_feed(client: TestClient, path: str) -> feedparser.FeedParserDict:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(ATOM)
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    rels = {link["rel"]: link["href"] for link in feed.feed.links}
    assert rels["self"] == "http://testserver" + path
    return feed


def test_author_and_category_feeds_are_valid_atom(client: TestClient) -> None:
    page = client.get("/authors/c-balazs")
    announced = Tags(page.text)
    feed_path = next(
        attrs["href"]
        for tag, attrs in announced.tags
        if tag == "link" and attrs.get("type") == ATOM and attrs.get("href")
    )
    assert feed_path == "/feeds/authors/c-balazs.atom"
    feed = read_feed(client, feed_path)
    assert feed.feed.title.endswith("Papers by C. Balázs")
    assert [e.link for e in feed.entries] == [f"http://testserver/papers/{BALAZS}"]
    category = read_feed(client, f"/feeds/categories/hep-ph/daily.atom?date={SNAPSHOT_DAY}")
    assert len(category.entries) == 13
    assert all(any(t["term"] == "hep-ph" for t in entry.tags) for entry in category.entries)
    assert (
        len(read_feed(client, "/feeds/categories/hep-ph/monthly.atom?month=2007-04").entries) == 18
    )
    newest = read_feed(client, "/feeds/categories/hep-ph/daily.atom")
    assert len(newest.entries) >= 1
    code = read_feed(client, f"/feeds/daily.atom?date={SEED_DAY}&code=1")
    assert len(code.entries) == 3
    assert client.get("/feeds/categories/bad%20code/daily.atom").status_code == 422
    assert client.get("/feeds/authors/nobody-at-all.atom").status_code == 404


def test_pages_carry_link_previews_and_canonical_urls(client: TestClient) -> None:
    paper = Tags(client.get(f"/papers/https://arxiv.org/abs/{BALAZS}v1").text)
    assert paper.link("canonical") == f"http://testserver/papers/{BALAZS}"
    assert paper.meta("og:url") == f"http://testserver/papers/{BALAZS}"
    assert paper.meta("og:type") == "article"
    title = "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert paper.meta("og:title") == title
    description = paper.meta("og:description") or ""
    assert description.startswith("C. Balázs, E. L. Berger, P. M. Nadolsky et al. A fully")
    assert len(description) < 400 and description.endswith("…")
    assert paper.meta("twitter:card") == "summary"
    assert paper.meta("article:published_time") == "2007-04-02T19:18:42+00:00"

    listing = Tags(client.get(f"/papers/date/{SNAPSHOT_DAY}?sort=published&p=2").text)
    assert listing.link("canonical") == f"http://testserver/papers/date/{SNAPSHOT_DAY}?p=2"
    assert listing.meta("og:title") == "Monday, 02 April 2007"
    assert (listing.meta("og:description") or "").startswith("108 papers, most upvoted first: ")
    home = Tags(client.get("/").text)
    assert home.link("canonical") == "http://testserver/"
    for path in ("/trending", "/categories", "/categories/hep-ph", "/authors/c-balazs"):
        tags = Tags(client.get(path).text)
        assert tags.link("canonical") == "http://testserver" + path, path
        assert tags.meta("og:title") and tags.meta("og:description"), path


def test_canonical_urls_use_the_public_address(site_home: Path) -> None:
    settings = site_settings(site_home, public_url="https://papers.example.org")
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as client:
        tags = Tags(client.get("/authors/C%20Bal%C3%A1zs").text)
    app.state.dp.engine.dispose()
    assert tags.link("canonical") == "https://papers.example.org/authors/c-balazs"
    assert tags.meta("og:url") == "https://papers.example.org/authors/c-balazs"


@pytest.mark.parametrize(
    "path",
    [
        "/categories",
        "/categories/hep-ph",
        "/categories/hep-ph/week/2007-W14",
        "/authors/c-balazs",
        "/api/v1/categories",
        f"/api/v1/categories/hep-ph/date/{SNAPSHOT_DAY}",
        "/api/v1/authors/c-balazs",
        "/feeds/authors/c-balazs.atom",
        "/feeds/categories/hep-ph/weekly.atom",
        f"/papers/date/{SEED_DAY}?code=1",
    ],
)
def test_head_answers_every_new_page(client: TestClient, path: str) -> None:
    get = client.get(path)
    head = client.head(path)
    assert get.status_code == head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["content-type"] == get.headers["content-type"]
