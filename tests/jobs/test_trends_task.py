"""The `trends` task: registered with its schedule, run once per period by the real runners, and
keeping /trends current inside a real `dailypapers serve`."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.jobs.local import run_once
from dailypapers.jobs.registry import enabled_tasks
from dailypapers.store.engine import open_store
from dailypapers.store.papers import upsert_papers
from dailypapers.store.task_runs import latest_runs
from dailypapers.store.trends import count_trend_days, load_rising
from tests.store.test_papers import arxiv_record, located
from tests.web.conftest import LiveServer, site_settings

DAY = date(2026, 7, 1)


def _store_papers(engine: sa.Engine, first: int, count: int, day: date) -> None:
    records = [
        arxiv_record(
            paper_id=f"2607.{n:05d}",
            title=f"Agentic tool use, study {n}",
            categories=["cs.AI"],
            daily_date=day,
            abs_url=f"https://arxiv.org/abs/2607.{n:05d}",
        )
        for n in range(first, first + count)
    ]
    upsert_papers(engine, located(*records), now=datetime.now(UTC))


def test_the_task_counts_once_per_period(engine: sa.Engine, settings: Settings) -> None:
    spec = next(s for s in enabled_tasks(settings) if s.name == "trends")
    assert (spec.schedule, spec.queue) == ("*/15 * * * *", "maintenance")
    _store_papers(engine, 0, 12, DAY)
    at = datetime(2026, 7, 1, 12, 7, tzinfo=UTC)
    first = run_once(engine, settings, [spec], clock=lambda: at)
    assert [(o.task, o.outcome) for o in first] == [("trends", "succeeded")]
    run = latest_runs(engine, tasks=["trends"])["trends"]
    assert run.scheduled_for == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    # No paper before the recent window: nothing can be said to rise yet.
    assert run.summary == "trends: 12 papers counted to 2026-07-01, 0 rising terms"
    assert count_trend_days(engine, first_day=DAY, last_day=DAY) == [(DAY, "cs.AI", 12)]
    # The same period again does nothing; the next one counts the papers that came since.
    _store_papers(engine, 12, 3, DAY + timedelta(days=1))
    again = run_once(engine, settings, [spec], clock=lambda: at + timedelta(minutes=5))
    assert [o.outcome for o in again] == ["done"]
    assert count_trend_days(engine, first_day=DAY, last_day=DAY + timedelta(days=1)) == [
        (DAY, "cs.AI", 12)
    ]
    later = run_once(engine, settings, [spec], clock=lambda: at + timedelta(minutes=10))
    assert [o.outcome for o in later] == ["succeeded"]
    rows = count_trend_days(engine, first_day=DAY, last_day=DAY + timedelta(days=1))
    assert sorted(rows) == [(DAY, "cs.AI", 12), (DAY + timedelta(days=1), "cs.AI", 3)]
    rising = load_rising(engine)
    assert rising is not None and rising[0].last_day == DAY + timedelta(days=1)


def test_serve_keeps_trends_current(site_home: Path) -> None:
    """The runner inside `serve` counts at start and again each period: a paper listed while
    the site runs shows in /trends without anyone running anything."""
    every_second = {"DAILYPAPERS_SCHEDULE_TRENDS": "* * * * * *"}
    off = {"DAILYPAPERS_HARVEST_HF": "false", "DAILYPAPERS_HARVEST_ARXIV": "false"}
    server = LiveServer(site_home, jobs=True, **every_second, **off)
    engine = open_store(site_settings(site_home))
    try:
        daily = _wait_for_counts(server.url, lambda body: body["computed_at"] is not None)
        assert daily["periods"][-1] == "2024-10-25"  # the seeded site's newest list day
        _store_papers(engine, 0, 5, DAY)
        daily = _wait_for_counts(server.url, lambda body: body["periods"][-1] == "2026-07-01")
        assert daily["totals"][-1] == 5
    finally:
        server.stop()
        engine.dispose()


def _wait_for_counts(url: str, ready: object, timeout_s: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        body = httpx.get(f"{url}/api/v1/trends/daily", timeout=5).json()
        if ready(body):  # type: ignore[operator]
            return body
        time.sleep(0.3)
    raise AssertionError(f"/api/v1/trends/daily did not change in time: {body}")
