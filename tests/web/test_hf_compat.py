"""The Hugging Face compatible API, read by the real `huggingface_hub` client from a real server.

The site holds the saved Daily Papers pages plus the recorded Hugging Face response of
2024-10-25 (imported through the real importer), so what the client reads back can be compared
with what Hugging Face itself answered.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from huggingface_hub import HfApi, constants, get_session
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.hf_api import PaperInfo

from tests.web.conftest import LiveServer
from tests.web.hf_fixtures import (
    AWKWARD_ID,
    AWKWARD_SUBMITTER,
    HF_DAY,
    compat_home,
    hf_sample,
)

HF_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
# Names current Hugging Face responses carry that the 2024 sample predates (huggingface_hub's
# PaperInfo reads all but isAuthorParticipating); anything else we emit must be in the sample.
NEWER_ENTRY_KEYS = {"summary", "isAuthorParticipating"}
NEWER_PAPER_KEYS = {"submittedOnDailyAt", "projectPage", "githubRepo", "numComments"}


@pytest.fixture(scope="module")
def server(
    seeded_home: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One read-only server for the module (every test here only reads)."""
    home = compat_home(seeded_home, shared_data, tmp_path_factory.mktemp("hf"))
    live = LiveServer(home)
    try:
        yield live
    finally:
        live.stop()


def _local_only(request: httpx2.Request) -> None:
    if request.url.host != "127.0.0.1":
        raise AssertionError(f"huggingface_hub tried to reach {request.url}")


@pytest.fixture
def api(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[HfApi]:
    """The real client pointed at the server; a request anywhere else fails the test."""
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # it would refuse localhost too
    session = get_session()  # the client every HfApi call goes through
    hooks = session.event_hooks
    session.event_hooks = {**hooks, "request": [*hooks["request"], _local_only]}
    try:
        yield HfApi(endpoint=server.url, token=False)
    finally:
        session.event_hooks = hooks


@pytest.fixture(scope="module")
def recorded(shared_data: Path) -> dict[str, dict[str, Any]]:
    return {item["paper"]["id"]: item for item in hf_sample(shared_data)}


def _words(text: str) -> str:
    return " ".join(text.split())


def _ids(papers: Iterator[PaperInfo] | list[PaperInfo]) -> list[str]:
    return [paper.id for paper in papers]


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_a_day_reads_back_as_hugging_face_recorded_it(
    api: HfApi, recorded: dict[str, dict[str, Any]]
) -> None:
    papers = list(api.list_daily_papers(date=HF_DAY.isoformat()))
    assert sorted(_ids(papers)) == sorted(recorded)
    for paper in papers:
        item = recorded[paper.id]
        assert paper.title == _words(item["title"])
        assert paper.summary == _words(item["paper"]["summary"])
        assert [a.name for a in paper.authors or []] == [
            a["name"] for a in item["paper"]["authors"]
        ]
        assert paper.upvotes == item["paper"]["upvotes"]
        assert paper.comments == item["numComments"]
        assert paper.published_at == _when(item["paper"]["publishedAt"])
        # We keep the list day, not the minute Hugging Face listed it at.
        assert paper.submitted_at is not None
        assert paper.submitted_at.date() == _when(item["publishedAt"]).date() == HF_DAY
        assert paper.submitted_by is not None
        assert paper.submitted_by.name == item["submittedBy"]["name"]


def test_trending_sort_puts_the_most_upvoted_first(api: HfApi) -> None:
    papers = list(api.list_daily_papers(date=HF_DAY.isoformat(), sort="trending"))
    assert _ids(papers) == ["2410.17243", "2410.16251", "2410.18533", "2410.18693"]
    assert [p.upvotes for p in papers] == [64, 41, 37, 35]


def test_week_and_month_hold_every_day_of_the_period(api: HfApi) -> None:
    day_before = _ids(api.list_daily_papers(date="2024-10-24"))
    assert day_before == [AWKWARD_ID]
    day = _ids(api.list_daily_papers(date=HF_DAY.isoformat()))
    week = _ids(api.list_daily_papers(week="2024-W43"))
    month = _ids(api.list_daily_papers(month="2024-10"))
    assert sorted(week) == sorted(month) == sorted(day + day_before)
    assert _ids(api.list_daily_papers(week="2024-W44")) == []


def test_published_at_sort_is_newest_list_day_first(api: HfApi) -> None:
    # The awkward paper was published on arXiv after the others but listed a day earlier:
    # Hugging Face's publishedAt is the time a paper joined the daily list.
    papers = list(api.list_daily_papers(month="2024-10", sort="publishedAt"))
    listed = [p.submitted_at.date() for p in papers if p.submitted_at]
    assert len(listed) == len(papers) == 5
    assert listed == sorted(listed, reverse=True)
    assert papers[-1].id == AWKWARD_ID


def test_p_counts_pages_from_zero_and_limit_sizes_them(api: HfApi) -> None:
    everything = _ids(api.list_daily_papers(month="2024-05", limit=100))
    assert len(everything) == 38
    pages = [_ids(api.list_daily_papers(month="2024-05", limit=10, p=p)) for p in range(5)]
    assert [len(page) for page in pages] == [10, 10, 10, 8, 0]
    assert [paper for page in pages for paper in page] == everything
    assert _ids(api.list_daily_papers(month="2024-05", limit=10)) == pages[0]


def test_without_a_date_the_newest_list_day_comes_first(api: HfApi) -> None:
    papers = list(api.list_daily_papers(limit=10))
    assert len(papers) == 10
    assert {p.id for p in papers[:4]} == {"2410.17243", "2410.16251", "2410.18533", "2410.18693"}
    assert papers[4].id == AWKWARD_ID
    days = [p.submitted_at.date() for p in papers if p.submitted_at]
    assert len(days) == 10 and days == sorted(days, reverse=True)


def test_trending_without_a_date_matches_the_sites_trending_list(
    api: HfApi, server: LiveServer
) -> None:
    site = httpx.get(server.url + "/api/v1/trending", timeout=10).json()
    expected = [paper["id"] for paper in site["papers"]]
    assert _ids(api.list_daily_papers(sort="trending", limit=len(expected))) == expected


def test_submitter_keeps_only_that_users_papers(api: HfApi) -> None:
    mine = list(api.list_daily_papers(submitter="canyuchen"))
    assert _ids(mine) == ["2410.16251"]
    assert mine[0].submitted_by is not None and mine[0].submitted_by.name == "canyuchen"
    in_week = api.list_daily_papers(week="2024-W43", submitter=AWKWARD_SUBMITTER)
    assert _ids(in_week) == [AWKWARD_ID]
    trending = api.list_daily_papers(sort="trending", submitter="ClownRat")
    assert _ids(trending) == ["2410.17243"]
    assert _ids(api.list_daily_papers(date=HF_DAY.isoformat(), submitter="ClownRat")) == [
        "2410.17243"
    ]
    assert _ids(api.list_daily_papers(submitter="nobody-submitted-this")) == []


def test_list_papers_searches_and_limits(api: HfApi) -> None:
    found = list(api.list_papers(query="contrastive loss batch size memory", limit=3))
    assert 1 <= len(found) <= 3
    top = found[0]
    assert top.id == "2410.17243"
    assert top.title is not None and top.title.startswith("Breaking the Memory Barrier")
    assert top.upvotes == 64
    assert top.authors and top.authors[0].name == "Zesen Cheng"
    assert len(list(api.list_papers(query="contrastive", limit=1))) == 1


def test_paper_info_reads_one_paper(api: HfApi, recorded: dict[str, dict[str, Any]]) -> None:
    item = recorded["2410.18533"]
    paper = api.paper_info("2410.18533")
    assert paper.id == "2410.18533"
    assert paper.title == _words(item["paper"]["title"])
    assert paper.summary == _words(item["paper"]["summary"])
    assert [a.name for a in paper.authors or []] == [a["name"] for a in item["paper"]["authors"]]
    assert paper.upvotes == 37
    assert paper.comments == 2
    assert paper.published_at == datetime(2024, 10, 24, 8, 27, 26, tzinfo=UTC)
    assert paper.submitted_at == datetime(2024, 10, 25, tzinfo=UTC)


def test_missing_paper_is_a_404_the_client_raises(api: HfApi) -> None:
    with pytest.raises(HfHubHTTPError) as raised:
        api.paper_info("2410.00404")
    assert raised.value.response.status_code == 404
    assert "no paper with id '2410.00404'" in str(raised.value)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date": "2024-13-01"}, "date"),
        ({"date": "25/10/2024"}, "date"),
        ({"week": "2024-W60"}, "week"),
        ({"month": "2024-1"}, "month"),
        ({"date": "2024-10-25", "week": "2024-W43"}, "week"),
        ({"limit": "0"}, "limit"),
        ({"p": "-1"}, "p"),
        ({"sort": "hot"}, "sort"),
    ],
)
def test_bad_parameters_are_422_json_errors(
    server: LiveServer, params: dict[str, str], field: str
) -> None:
    response = httpx.get(server.url + "/api/daily_papers", params=params, timeout=10)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["status"] == 422 and error["field"] == field
    assert error["message"]


def test_the_client_raises_the_servers_message_for_a_bad_date(api: HfApi) -> None:
    with pytest.raises(HfHubHTTPError) as raised:
        list(api.list_daily_papers(date="2024-1-1"))
    assert raised.value.response.status_code == 422
    assert "'2024-1-1' is not a valid date" in str(raised.value)


def _shape(value: object) -> str:
    return type(value).__name__ if value is not None else "null"


def test_field_names_and_types_match_hugging_faces(
    server: LiveServer, recorded: dict[str, dict[str, Any]]
) -> None:
    ours = httpx.get(
        server.url + "/api/daily_papers", params={"date": HF_DAY.isoformat()}, timeout=10
    ).json()
    for entry in ours:
        theirs = recorded[entry["paper"]["id"]]
        assert set(entry) <= set(theirs) | NEWER_ENTRY_KEYS
        assert set(entry["paper"]) <= set(theirs["paper"]) | NEWER_PAPER_KEYS
        for key in {"paper", "publishedAt", "title", "numComments", "submittedBy"}:
            assert _shape(entry[key]) == _shape(theirs[key]), key
        for key in {"id", "authors", "publishedAt", "title", "summary", "upvotes"}:
            assert _shape(entry["paper"][key]) == _shape(theirs["paper"][key]), key
        for author in entry["paper"]["authors"]:
            assert set(author) <= set(theirs["paper"]["authors"][0]) and author["name"]
        assert set(entry["submittedBy"]) <= set(theirs["submittedBy"])
        assert HF_TIME.fullmatch(entry["publishedAt"])
        assert HF_TIME.fullmatch(entry["paper"]["publishedAt"])
    single = httpx.get(server.url + "/api/papers/2410.17243", timeout=10).json()
    assert set(single) <= set(recorded["2410.17243"]["paper"]) | NEWER_PAPER_KEYS
    assert HF_TIME.fullmatch(single["publishedAt"])


def test_a_seed_paper_without_arxiv_id_is_still_readable(api: HfApi) -> None:
    listed = list(api.list_daily_papers(date="2024-05-01", sort="trending", limit=1))
    assert listed and listed[0].id.startswith("title:")
    paper = api.paper_info(listed[0].id)
    assert paper.title == listed[0].title
    assert paper.submitted_at == listed[0].submitted_at == datetime(2024, 5, 1, tzinfo=UTC)
