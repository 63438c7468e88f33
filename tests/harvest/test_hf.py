"""Hugging Face Daily Papers fetching against a real local server replaying a real response."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from dailypapers.harvest.hf import fetch_hf_daily
from dailypapers.harvest.http import HarvestError, PoliteClient, RetryPolicy
from dailypapers.models import PaperRecord, RecordError, SourceName
from tests.harvest.conftest import FakeTime
from tests.replay_server import JSON, ReplayServer, Reply, file_reply, status_reply

DAY = date(2024, 10, 25)


@pytest.fixture
def daily_json(shared_data: Path) -> Path:
    return shared_data / "hf-daily-papers" / "daily_papers-2024-10-25.first4.json"


@pytest.fixture
def client(fake_time: FakeTime) -> Iterator[PoliteClient]:
    polite = PoliteClient(
        min_interval_s=1.0,
        connect_timeout_s=2.0,
        read_timeout_s=5.0,
        retry=RetryPolicy(max_retries=2),
        sleep=fake_time.sleep,
        clock=fake_time.monotonic,
    )
    with polite:
        yield polite


def test_fetch_day_gives_the_recorded_papers_and_upvotes(
    client: PoliteClient, replay_server: ReplayServer, daily_json: Path
) -> None:
    replay_server.route(
        "/api/daily_papers", file_reply(daily_json, content_type=JSON), query={"date": "2024-10-25"}
    )

    records = fetch_hf_daily(client, base_url=replay_server.url, day=DAY)

    assert all(isinstance(r, PaperRecord) for r in records)
    papers = [r for r in records if isinstance(r, PaperRecord)]
    assert [(p.paper_id, p.upvotes) for p in papers] == [
        ("2410.17243", 64),
        ("2410.16251", 41),
        ("2410.18533", 37),
        ("2410.18693", 35),
    ]
    assert {p.daily_date for p in papers} == {DAY}
    assert {p.source for p in papers} == {SourceName.HF_DAILY}
    [request] = replay_server.requests
    assert request.path == "/api/daily_papers"
    assert request.params == {"date": "2024-10-25", "limit": "100", "p": "0"}


def test_a_full_page_asks_for_the_next_one(
    client: PoliteClient, replay_server: ReplayServer, daily_json: Path, fake_time: FakeTime
) -> None:
    first = file_reply(daily_json, content_type=JSON)
    replay_server.route("/api/daily_papers", first, query={"p": "0"})
    replay_server.route("/api/daily_papers", Reply(body=b"[]", content_type=JSON), query={"p": "1"})

    records = fetch_hf_daily(client, base_url=f"{replay_server.url}/", day=DAY, page_size=4)

    assert len(records) == 4
    assert [r.params["p"] for r in replay_server.requests] == ["0", "1"]
    assert all(r.params["limit"] == "4" for r in replay_server.requests)
    assert fake_time.sleeps == [1.0]  # the configured interval between the two pages


def test_paging_stops_when_upstream_ignores_the_page_number(
    client: PoliteClient, replay_server: ReplayServer, daily_json: Path
) -> None:
    replay_server.route("/api/daily_papers", file_reply(daily_json, content_type=JSON))

    records = fetch_hf_daily(client, base_url=replay_server.url, day=DAY, page_size=4)

    assert len(records) == 4  # the repeated page is not added twice
    assert len(replay_server.requests) == 2


def test_rate_limited_fetch_waits_and_succeeds(
    client: PoliteClient, replay_server: ReplayServer, daily_json: Path, fake_time: FakeTime
) -> None:
    replay_server.route(
        "/api/daily_papers",
        status_reply(429, retry_after="20"),
        file_reply(daily_json, content_type=JSON),
    )

    records = fetch_hf_daily(client, base_url=replay_server.url, day=DAY)

    assert len(records) == 4
    assert fake_time.sleeps == [20.0]


def test_unreadable_body_is_a_record_error(
    client: PoliteClient, replay_server: ReplayServer
) -> None:
    replay_server.route("/api/daily_papers", Reply(body=b"<html>maintenance</html>"))

    [error] = fetch_hf_daily(client, base_url=replay_server.url, day=DAY)

    assert isinstance(error, RecordError)
    assert "invalid JSON" in error.reason
    assert error.origin.endswith("/api/daily_papers?date=2024-10-25&limit=100&p=0")


def test_not_found_raises_harvest_error(client: PoliteClient, replay_server: ReplayServer) -> None:
    replay_server.route("/api/daily_papers", status_reply(404))

    with pytest.raises(HarvestError) as caught:
        fetch_hf_daily(client, base_url=replay_server.url, day=DAY)

    assert caught.value.status_code == 404
    assert "date=2024-10-25" in caught.value.url


def test_page_size_is_bounded_by_the_api_maximum(client: PoliteClient) -> None:
    with pytest.raises(ValueError, match="between 1 and 100"):
        fetch_hf_daily(client, base_url="http://127.0.0.1:9", day=DAY, page_size=500)
