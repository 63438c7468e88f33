"""/trends and its JSON twins, and a paper's votes over time, on 841 real arXiv papers
(tests/web/trends_fixtures.py), through an in-process client."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from dailypapers.index.build import sync_keyword_index
from dailypapers.models import PaperRecord, SourceName
from dailypapers.store.papers import upsert_papers
from dailypapers.store.schema import papers
from dailypapers.web.app import create_app
from tests.store.test_papers import located
from tests.web.conftest import site_settings
from tests.web.trends_fixtures import LAST_DAY, UPVOTES, build_trends_home

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def trends_home(
    tmp_path_factory: pytest.TempPathFactory, shared_data: Path
) -> tuple[Path, list[str]]:
    home = tmp_path_factory.mktemp("trends") / "home"
    return home, build_trends_home(home, shared_data)


@pytest.fixture(scope="module")
def client(trends_home: tuple[Path, list[str]]) -> Iterator[TestClient]:
    """A client over the trends site, for tests that only read."""
    app = create_app(site_settings(trends_home[0]))
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client
    app.state.dp.engine.dispose()


@pytest.fixture
def own_client(trends_home: tuple[Path, list[str]], tmp_path: Path) -> Iterator[TestClient]:
    """A client over a private copy of the trends site, for tests that write."""
    home = tmp_path / "home"
    shutil.copytree(trends_home[0], home)
    app = create_app(site_settings(home))
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client
    app.state.dp.engine.dispose()


def _database(client: TestClient) -> sa.Engine:
    engine: sa.Engine = client.app.state.dp.engine  # type: ignore[attr-defined]
    return engine


def _svg(html: str, chart_id: str) -> ET.Element:
    match = re.search(rf'<svg [^>]*aria-labelledby="{chart_id}-title.*?</svg>', html, re.S)
    assert match, f"no chart {chart_id}"
    return ET.fromstring(match.group(0))


def test_papers_per_day_and_week_count_every_listed_paper(client: TestClient) -> None:
    query = sa.select(papers.c.list_date, sa.func.count()).group_by(papers.c.list_date)
    with _database(client).connect() as conn:
        per_day: dict[date, int] = {day: n for day, n in conn.execute(query)}  # noqa: C416
    daily = client.get("/api/v1/trends/daily?days=42").json()
    days = [LAST_DAY - timedelta(days=41 - i) for i in range(42)]
    assert daily["periods"] == [d.isoformat() for d in days]
    assert daily["totals"] == [per_day.get(d, 0) for d in days]
    assert daily["urls"][-1] == f"/papers/date/{LAST_DAY}"
    for i in range(42):  # the stacks add up to the totals
        assert sum(s["papers"][i] for s in daily["series"]) == daily["totals"][i]
    assert daily["series"][-1]["category"] == "other" and len(daily["series"]) == 7
    weekly = client.get("/api/v1/trends/weekly?weeks=17").json()
    assert weekly["periods"][-1] == "2026-W27"  # LAST_DAY's ISO week
    # The 16 weeks to a Wednesday touch 17 ISO weeks: every paper is counted once.
    assert weekly["periods"][0] == "2026-W11"
    assert sum(weekly["totals"]) == sum(per_day.values()) == 841
    assert weekly["computed_at"] == "2026-07-01T12:00:00Z"


def test_the_page_draws_each_chart_with_its_summary_and_numbers(client: TestClient) -> None:
    page = client.get("/trends")
    assert page.status_code == 200
    daily = client.get("/api/v1/trends/daily").json()
    svg = _svg(page.text, "daily-chart")
    assert svg.findtext(f"{SVG}desc") == daily["summary"]
    assert daily["summary"] in page.text  # visible too, as a sentence
    drawn = Counter[str]()
    for bar in svg.findall(f"{SVG}rect"):
        column = (bar.findtext(f"{SVG}title") or "").split(", ")[1].split(":")[0]
        drawn[column] += int(float(bar.attrib["data-value"]))
    assert sum(drawn.values()) == sum(daily["totals"])
    # The table beside it has a row per day (newest first), linked to the day's list.
    assert f'<a href="/papers/date/{LAST_DAY}">{LAST_DAY}</a>' in page.text
    assert page.text.index(f">{LAST_DAY}<") < page.text.index(f">{LAST_DAY - timedelta(1)}<")
    assert _svg(page.text, "weekly-chart") is not None
    assert '<link rel="alternate" type="application/json" href="/api/v1/trends">' in page.text
    assert client.get("/api/v1/trends").json()["daily"] == daily
    assert 'href="/trends"' in client.get("/").text  # in the site's navigation


def test_a_querys_share_counts_what_a_search_by_month_finds(client: TestClient) -> None:
    url = "/api/v1/trends/queries?q=agent&q=%22language+model%22&months=6"
    shares = client.get(url).json()
    assert shares["months"] == ["2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07"]
    assert shares["last_partial"] is True
    with _database(client).connect() as conn:
        month = sa.func.substr(sa.cast(papers.c.published, sa.String), 1, 7)
        published = dict(conn.execute(sa.select(month, sa.func.count()).group_by(month)).all())
    assert shares["papers"] == [published.get(m, 0) for m in shares["months"]]
    for line in shares["queries"]:
        for i, month in enumerate(shares["months"]):
            search = f"/api/v1/search?q={quote(line['query'])}+from:{month}+to:{month}"
            found = client.get(search + "&mode=keyword").json()["total"]
            assert line["papers"][i] == found, (line["query"], month)
            total = shares["papers"][i]
            assert line["share"][i] == (found / total if total else None)
    agent = shares["queries"][0]
    assert agent["query"] == "agent" and sum(agent["papers"]) > 20
    assert agent["url"] == "/search?q=agent&mode=keyword"
    assert shares["summary"].startswith("“agent” rose from")
    assert "2026-07" not in shares["summary"]  # the partial month is left out of the sentence


def test_the_page_draws_the_queries_as_lines(client: TestClient) -> None:
    page = client.get("/trends?q=agent&q=%22language+model%22&months=12")
    assert page.status_code == 200
    svg = _svg(page.text, "queries-chart")
    lines = svg.findall(f"{SVG}path")
    assert [line.attrib["class"] for line in lines] == ["line series-0", "line series-1"]
    assert 'value="agent"' in page.text and 'value="&#34;language model&#34;"' in page.text
    assert page.text.count('name="q"') == 3  # one more field, for another query
    assert '<option value="12" selected>' in page.text
    twin = 'href="/api/v1/trends?q=agent&amp;q=%22language+model%22&amp;months=12"'
    assert twin in page.text


def test_bad_queries_are_refused_naming_q(client: TestClient) -> None:
    bad = client.get("/api/v1/trends/queries?q=agent&q=author:")
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "q"
    assert "query 2 ('author:')" in bad.json()["error"]["message"]
    many = client.get("/api/v1/trends?" + "&".join(f"q=w{n}" for n in range(6)))
    assert many.status_code == 422 and "at most 5 queries" in many.json()["error"]["message"]
    none = client.get("/api/v1/trends/queries")
    assert none.status_code == 422 and none.json()["error"]["field"] == "q"
    assert client.get("/api/v1/trends/daily?days=500").status_code == 422
    # The page keeps the query in its field, says what is wrong, and still shows the rest.
    page = client.get("/trends?q=author:")
    assert page.status_code == 422
    assert 'role="alert" id="queries-error">query 1 (&#39;author:&#39;)' in page.text
    assert 'value="author:"' in page.text and "daily-chart-title" in page.text


def test_most_upvoted_of_the_last_four_weeks(
    client: TestClient, trends_home: tuple[Path, list[str]]
) -> None:
    upvoted = trends_home[1]
    top = client.get("/api/v1/trends/top").json()
    assert (top["start"], top["last"]) == ("2026-06-04", "2026-07-01")
    assert [p["id"] for p in top["papers"]] == upvoted  # only papers with votes
    assert [p["score"] for p in top["papers"]] == [UPVOTES[0] + 3, *UPVOTES[1:]]
    page = client.get("/trends").text
    section = page[page.index('id="top"') : page.index('id="rising"')]
    assert re.findall(r'href="/papers/([^"]+)"', section) == upvoted


def test_rising_topics_come_from_the_tasks_snapshot(client: TestClient) -> None:
    rising = client.get("/api/v1/trends/rising").json()
    assert rising["last_day"] == "2026-07-01" and rising["recent_start"] == "2026-06-04"
    assert rising["computed_at"] == "2026-07-01T12:00:00Z"
    assert rising["terms"] and rising["categories"]
    for topic in rising["terms"] + rising["categories"]:
        assert topic["recent"] >= rising["min_papers"]
        assert topic["recent_share"] == pytest.approx(topic["recent"] / rising["recent_papers"])
        assert topic["growth"] >= topic["growth_low"] > 1
        assert len(topic["weekly_share"]) == 16
    lows = [t["growth_low"] for t in rising["terms"]]
    assert lows == sorted(lows, reverse=True)
    term = rising["terms"][0]
    assert term["url"] == "/search?" + f"q=%22{quote(term['topic'])}%22&mode=keyword"
    page = client.get("/trends").text
    link = term["url"].replace("&", "&amp;")
    assert f'<a class="topic" href="{link}">{term["topic"]}</a>' in page
    assert page.count('class="sparkline"') == len(rising["terms"]) + len(rising["categories"])


def test_a_site_before_the_first_count_says_so(tmp_path: Path) -> None:
    app = create_app(site_settings(tmp_path / "home"))
    with TestClient(app, base_url="http://testserver") as fresh:
        page = fresh.get("/trends")
        assert page.status_code == 200
        assert "The trends task has not counted the papers yet" in page.text
        assert "has not run yet" in page.text
        rising = fresh.get("/api/v1/trends/rising")
        assert rising.status_code == 200 and rising.json() is None
        assert fresh.get("/api/v1/trends").json()["rising"] is None
        # No keyword index yet: a query says so, the rest of the page still shows.
        asked = fresh.get("/trends?q=agent")
        assert asked.status_code == 503 and "keyword index is not built" in asked.text
    app.state.dp.engine.dispose()


def test_a_query_share_follows_the_index(own_client: TestClient) -> None:
    """A share remembered per process is not served once the index has changed."""
    url = "/api/v1/trends/queries?q=zyxwv&months=3"
    before = own_client.get(url).json()
    assert before["queries"][0]["papers"] == [0, 0, 0]
    engine = _database(own_client)
    record = PaperRecord(
        source=SourceName.ARXIV_OAI,
        paper_id="2606.99999",
        title="The zyxwv method",
        published=datetime(2026, 6, 15, tzinfo=UTC),
        daily_date=date(2026, 6, 15),
        categories=["cs.LG"],
    )
    upsert_papers(engine, located(record), now=datetime.now(UTC))
    sync_keyword_index(engine, own_client.app.state.dp.settings)  # type: ignore[attr-defined]
    own_client.app.state.dp.search.run(lambda s: s.keyword_index().reload())  # type: ignore[attr-defined]
    after = own_client.get(url).json()
    assert after["queries"][0]["papers"] == [0, 1, 0]
    assert after["papers"][1] == before["papers"][1] + 1


def test_a_paper_page_shows_its_votes_over_time(
    client: TestClient, trends_home: tuple[Path, list[str]]
) -> None:
    voted, upvoted_only = trends_home[1][0], trends_home[1][1]
    history = client.get(f"/api/v1/trends/votes/{voted}").json()
    assert history == {
        "paper_id": voted,
        "votes": 3,
        "upvotes": UPVOTES[0],
        "days": ["2026-06-28", "2026-06-29", "2026-06-30"],
        "cumulative": [1, 2, 3],
    }
    page = client.get(f"/papers/{voted}").text
    svg = _svg(page, "votes-chart")
    assert svg.findtext(f"{SVG}title") == "Votes on this site over time"
    # A point where the total changed, from the first vote to today (by week past 92 days).
    points = [p.findtext(f"{SVG}title") or "" for p in svg.findall(f"{SVG}circle")]
    assert points[0] == "votes, 28 Jun 2026: 1"
    today = datetime.now(UTC).date()
    assert points[-1] == f"votes, {today.day} {today:%b %Y}: 3"
    assert "3 votes on this site since 28 Jun 2026" in page
    assert f"The {UPVOTES[0]} upvotes from Hugging Face have no dates" in page
    assert f'href="/api/v1/trends/votes/{voted}"' in page
    # Upvotes from Hugging Face only: no history to draw, no section.
    assert "Votes over time" not in client.get(f"/papers/{upvoted_only}").text
    assert client.get(f"/api/v1/trends/votes/{upvoted_only}").json()["days"] == []
    assert client.get("/api/v1/trends/votes/2606.00000x").status_code == 404
