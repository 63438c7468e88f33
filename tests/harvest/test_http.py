"""PoliteClient against a real local server: retries, Retry-After, timeouts, rate limit."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from dailypapers.config import load_settings
from dailypapers.harvest.http import (
    HarvestError,
    PoliteClient,
    RetryPolicy,
    client_from_settings,
    parse_retry_after,
    user_agent,
)
from tests.harvest.conftest import FakeTime
from tests.replay_server import (
    Delay,
    DropMidBody,
    ReplayServer,
    Reply,
    closed_port_url,
    file_reply,
    status_reply,
)

FAST_RETRY = RetryPolicy(max_retries=3, backoff_s=0.01, backoff_max_s=0.05, max_wait_s=300)


def fake_client(fake: FakeTime, **options: Any) -> PoliteClient:
    """A client whose waits are recorded by `fake` instead of slept."""
    settings: dict[str, Any] = {
        "min_interval_s": 0.0,
        "connect_timeout_s": 2.0,
        "read_timeout_s": 2.0,
        "retry": FAST_RETRY,
        "sleep": fake.sleep,
        "clock": fake.monotonic,
        "jitter": lambda: 0.0,
    }
    settings.update(options)
    return PoliteClient(**settings)


def real_client(**options: Any) -> PoliteClient:
    """A client that really sleeps, with tiny waits."""
    settings: dict[str, Any] = {
        "min_interval_s": 0.0,
        "connect_timeout_s": 2.0,
        "read_timeout_s": 2.0,
        "retry": FAST_RETRY,
    }
    settings.update(options)
    return PoliteClient(**settings)


@pytest.fixture
def page(shared_data: Path) -> bytes:
    return (shared_data / "arxiv-oai-pmh" / "GetRecordResponse.xml").read_bytes()


def test_get_returns_body_and_names_us_in_user_agent(
    replay_server: ReplayServer, shared_data: Path, page: bytes
) -> None:
    replay_server.route("/oai", file_reply(shared_data / "arxiv-oai-pmh" / "GetRecordResponse.xml"))
    with real_client(contact="ops@example.org") as client:
        body = client.get(f"{replay_server.url}/oai", {"verb": "GetRecord", "n": 1})

    assert body == page
    [request] = replay_server.requests
    assert request.params == {"verb": "GetRecord", "n": "1"}
    assert request.user_agent.startswith("dailypapers/")
    assert "mailto:ops@example.org" in request.user_agent


def test_503_retried_after_the_seconds_in_retry_after(
    replay_server: ReplayServer, fake_time: FakeTime, page: bytes
) -> None:
    busy = status_reply(503, retry_after="7")
    replay_server.route("/oai", busy, busy, Reply(body=page))
    with fake_client(fake_time) as client:
        assert client.get(f"{replay_server.url}/oai") == page

    assert fake_time.sleeps == [7.0, 7.0]
    assert len(replay_server.requests) == 3


def test_429_retry_after_as_http_date(
    replay_server: ReplayServer, fake_time: FakeTime, page: bytes
) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    replay_server.route("/api", status_reply(429, retry_after=later), Reply(body=page))
    with fake_client(fake_time) as client:
        assert client.get(f"{replay_server.url}/api") == page

    [wait] = fake_time.sleeps
    assert 27.0 < wait <= 30.0


def test_retry_after_beyond_the_limit_gives_up_at_once(
    replay_server: ReplayServer, fake_time: FakeTime
) -> None:
    replay_server.route("/oai", status_reply(503, retry_after="3600"))
    with fake_client(fake_time) as client, pytest.raises(HarvestError) as caught:
        client.get(f"{replay_server.url}/oai", {"verb": "ListRecords"})

    assert "3600 s" in caught.value.reason and "300 s limit" in caught.value.reason
    assert caught.value.url == f"{replay_server.url}/oai?verb=ListRecords"
    assert caught.value.status_code == 503
    assert fake_time.sleeps == []
    assert len(replay_server.requests) == 1


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_server_errors_back_off_exponentially(
    replay_server: ReplayServer, fake_time: FakeTime, page: bytes, status: int
) -> None:
    failing = status_reply(status)
    replay_server.route("/x", failing, failing, failing, Reply(body=page))
    policy = RetryPolicy(max_retries=3, backoff_s=2.0, backoff_max_s=60.0)
    with fake_client(fake_time, retry=policy, jitter=lambda: 0.5) as client:
        assert client.get(f"{replay_server.url}/x") == page

    # Equal jitter at 0.5: three quarters of 2, 4 and 8 seconds.
    assert fake_time.sleeps == [1.5, 3.0, 6.0]


def test_backoff_is_capped_and_jitter_spreads_waits() -> None:
    policy = RetryPolicy(backoff_s=2.0, backoff_max_s=10.0)
    assert policy.delay_s(1, 0.0) == 1.0
    assert policy.delay_s(1, 0.999) == pytest.approx(2.0, abs=0.01)
    assert policy.delay_s(10, 0.999) == pytest.approx(10.0, abs=0.01)


def test_connection_dropped_mid_body_is_retried(replay_server: ReplayServer, page: bytes) -> None:
    replay_server.route("/oai", DropMidBody(page), Reply(body=page))
    with real_client() as client:
        assert client.get(f"{replay_server.url}/oai") == page

    assert len(replay_server.requests) == 2


def test_gives_up_after_max_retries_naming_the_url(
    replay_server: ReplayServer, fake_time: FakeTime
) -> None:
    replay_server.route("/oai", status_reply(503))
    with fake_client(fake_time) as client, pytest.raises(HarvestError) as caught:
        client.get(f"{replay_server.url}/oai", {"verb": "ListRecords", "set": "cs"})

    url = f"{replay_server.url}/oai?verb=ListRecords&set=cs"
    assert str(caught.value) == f"{url}: gave up after 4 attempts: HTTP 503 Service Unavailable"
    assert len(replay_server.requests) == 4
    assert len(fake_time.sleeps) == 3


def test_dropped_body_every_time_ends_in_harvest_error(
    replay_server: ReplayServer, page: bytes
) -> None:
    replay_server.route("/oai", DropMidBody(page))
    with real_client() as client, pytest.raises(HarvestError, match="RemoteProtocolError"):
        client.get(f"{replay_server.url}/oai")

    assert len(replay_server.requests) == 4


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_client_errors_are_not_retried(
    replay_server: ReplayServer, fake_time: FakeTime, status: int
) -> None:
    replay_server.route("/api/query", status_reply(status))
    with fake_client(fake_time) as client, pytest.raises(HarvestError) as caught:
        client.get(f"{replay_server.url}/api/query", {"id_list": "abc"})

    assert caught.value.status_code == status
    assert f"HTTP {status}" in caught.value.reason
    assert "scripted by the replay server" in caught.value.reason  # body excerpt
    assert len(replay_server.requests) == 1
    assert fake_time.sleeps == []


def test_slow_response_times_out_then_retry_succeeds(
    replay_server: ReplayServer, page: bytes
) -> None:
    replay_server.route("/slow", Delay(5.0, Reply(body=page)), Reply(body=page))
    started = time.monotonic()
    with real_client(read_timeout_s=0.2) as client:
        assert client.get(f"{replay_server.url}/slow") == page

    assert time.monotonic() - started < 2.0
    assert len(replay_server.requests) == 2


def test_slow_response_every_time_gives_up(replay_server: ReplayServer, page: bytes) -> None:
    replay_server.route("/slow", Delay(5.0, Reply(body=page)))
    retry = RetryPolicy(max_retries=1, backoff_s=0.01)
    with (
        real_client(read_timeout_s=0.2, retry=retry) as client,
        pytest.raises(HarvestError, match="gave up after 2 attempts: ReadTimeout"),
    ):
        client.get(f"{replay_server.url}/slow")


def test_connection_refused_gives_up(fake_time: FakeTime) -> None:
    url = closed_port_url()
    with fake_client(fake_time) as client, pytest.raises(HarvestError, match="ConnectError"):
        client.get(f"{url}/oai")

    assert len(fake_time.sleeps) == 3


def test_requests_are_spaced_by_the_minimum_interval(
    replay_server: ReplayServer, page: bytes
) -> None:
    replay_server.route("/oai", Reply(body=page))
    with real_client(min_interval_s=0.3) as client:
        for _ in range(3):
            client.get(f"{replay_server.url}/oai")

    arrivals = [request.at for request in replay_server.requests]
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    assert len(gaps) == 2
    # Spacing is enforced when requests start; arrival adds a few ms of connection jitter.
    # Unthrottled, these gaps are around a millisecond.
    assert all(gap >= 0.25 for gap in gaps), gaps


def test_default_interval_is_three_seconds_including_retries(
    replay_server: ReplayServer, page: bytes
) -> None:
    fake = FakeTime()
    replay_server.route("/oai", status_reply(503, retry_after="1"), Reply(body=page))
    client = PoliteClient(sleep=fake.sleep, clock=fake.monotonic)
    with client:
        client.get(f"{replay_server.url}/oai")
        client.get(f"{replay_server.url}/oai")

    # Retry-After 1 s, topped up to the 3 s interval; then 3 s before the next request.
    assert fake.sleeps == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 28, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == expected


def test_client_from_settings_uses_contact_and_retry_settings(
    replay_server: ReplayServer, page: bytes
) -> None:
    settings = load_settings(
        {"DAILYPAPERS_CONTACT_EMAIL": "ops@example.org", "DAILYPAPERS_HTTP_MAX_RETRIES": "0"}
    )
    replay_server.route("/oai", Reply(body=page))
    replay_server.route("/busy", status_reply(503))
    with client_from_settings(settings, min_interval_s=0.0) as client:
        client.get(f"{replay_server.url}/oai")
        with pytest.raises(HarvestError, match="gave up after 1 attempt: HTTP 503"):
            client.get(f"{replay_server.url}/busy")

    assert client.retry.max_wait_s == settings.http_max_wait_s
    assert "mailto:ops@example.org" in replay_server.requests[0].user_agent


def test_user_agent_without_contact() -> None:
    assert user_agent(None).startswith("dailypapers/")
    assert user_agent("https://example.org/bot").endswith("(https://example.org/bot)")


def test_an_interactive_client_does_not_retry_a_refused_connection(fake_time: FakeTime) -> None:
    url = closed_port_url()
    policy = RetryPolicy(max_retries=5, retry_unreachable=False)
    with fake_client(fake_time, retry=policy) as client:
        with pytest.raises(HarvestError) as raised:
            client.get(f"{url}/api/query")
    assert raised.value.unreachable and "ConnectError" in raised.value.reason
    assert fake_time.sleeps == []


def test_the_patient_client_says_unreachable_after_its_retries(fake_time: FakeTime) -> None:
    with fake_client(fake_time) as client, pytest.raises(HarvestError) as raised:
        client.get(f"{closed_port_url()}/oai")
    assert raised.value.unreachable and len(fake_time.sleeps) == 3


def test_no_retry_starts_after_the_deadline(replay_server: ReplayServer, page: bytes) -> None:
    fake = FakeTime()
    replay_server.route("/busy", status_reply(503, retry_after="3"), Reply(body=page))
    policy = RetryPolicy(max_retries=5, deadline_s=2.0)
    with fake_client(fake, retry=policy) as client, pytest.raises(HarvestError) as raised:
        client.get(f"{replay_server.url}/busy")
    assert "2 s limit" in raised.value.reason and not raised.value.unreachable
    assert fake.sleeps == [] and len(replay_server.requests) == 1


def test_interactive_settings_bound_the_waits() -> None:
    settings = load_settings({"DAILYPAPERS_HTTP_MAX_RETRIES": "5"})
    with client_from_settings(settings, min_interval_s=0.0, interactive=True) as client:
        assert client.retry.max_retries == 1 and not client.retry.retry_unreachable
        assert client.retry.deadline_s is not None and client.retry.deadline_s <= 5
    with client_from_settings(settings, min_interval_s=0.0) as client:
        assert client.retry.max_retries == 5 and client.retry.retry_unreachable
