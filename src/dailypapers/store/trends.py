"""What /trends reads, precomputed: papers per list day and primary category, the fastest-rising
topics, and each paper's votes by day.

`refresh_trends` (run by the `trends` task, jobs/tasks.py) rebuilds `trend_counts` in one
transaction and stores the rising topics of the last 16 weeks (ranking/rising.py) as a JSON
snapshot; the pages read a few thousand small rows instead of grouping every paper.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa

from dailypapers.dates import as_utc
from dailypapers.ranking.rising import (
    BEFORE_DAYS,
    RECENT_DAYS,
    RisingReport,
    RisingTopic,
    TitledPaper,
    rising_topics,
)
from dailypapers.store.schema import papers, trend_counts, trend_snapshots, votes

COUNTS = "counts"
RISING = "rising"
_VISIBLE_LISTED = sa.and_(papers.c.hidden == sa.false(), papers.c.list_date.is_not(None))


@dataclass(frozen=True, slots=True)
class TrendsRefresh:
    """What a refresh did, for the task's summary."""

    papers: int
    rows: int
    last_day: date | None
    rising_terms: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Snapshot:
    body: Any
    computed_at: datetime


def refresh_trends(engine: sa.Engine, *, now: datetime) -> TrendsRefresh:
    """Recount papers per list day and primary category, and find the rising topics."""
    started = time.perf_counter()
    category = sa.func.coalesce(papers.c.primary_category, "")
    grouped = (
        sa.select(papers.c.list_date, category, sa.func.count())
        .where(_VISIBLE_LISTED)
        .group_by(papers.c.list_date, category)
    )
    columns = [trend_counts.c.list_date, trend_counts.c.category, trend_counts.c.papers]
    with engine.begin() as conn:
        conn.execute(sa.delete(trend_counts))
        conn.execute(sa.insert(trend_counts).from_select(columns, grouped))
        totals = sa.select(sa.func.count(), sa.func.sum(trend_counts.c.papers))
        rows, counted = conn.execute(totals).one()
        last_day = conn.execute(sa.select(sa.func.max(trend_counts.c.list_date))).scalar()
        counts = {"papers": int(counted or 0), "last_day": last_day}
        _save(conn, COUNTS, counts, now)
    rising = None
    if last_day is not None:
        rising = rising_topics(_titled_papers(engine, last_day), last_day=last_day)
        with engine.begin() as conn:
            _save(conn, RISING, rising, now)
    return TrendsRefresh(
        papers=int(counted or 0),
        rows=int(rows),
        last_day=last_day,
        rising_terms=len(rising.terms) if rising else 0,
        seconds=time.perf_counter() - started,
    )


def _titled_papers(engine: sa.Engine, last_day: date) -> list[TitledPaper]:
    first_day = last_day - timedelta(days=RECENT_DAYS + BEFORE_DAYS - 1)
    query = sa.select(papers.c.list_date, papers.c.title, papers.c.categories).where(
        _VISIBLE_LISTED, papers.c.list_date >= first_day, papers.c.list_date <= last_day
    )
    with engine.connect() as conn:
        return [
            TitledPaper(day, title, tuple(orjson.loads(categories)))
            for day, title, categories in conn.execute(query)
        ]


def _save(conn: sa.Connection, name: str, body: Any, now: datetime) -> None:
    conn.execute(sa.delete(trend_snapshots).where(trend_snapshots.c.name == name))
    values = {"name": name, "body": orjson.dumps(body).decode(), "computed_at": now}
    conn.execute(sa.insert(trend_snapshots).values(values))


def load_snapshot(engine: sa.Engine, *, name: str) -> Snapshot | None:
    """A stored snapshot's JSON body and when it was computed, or None before the first."""
    query = sa.select(trend_snapshots.c.body, trend_snapshots.c.computed_at).where(
        trend_snapshots.c.name == name
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return Snapshot(orjson.loads(row[0]), as_utc(row[1])) if row else None


def load_rising(engine: sa.Engine) -> tuple[RisingReport, datetime] | None:
    """The rising topics the last refresh found, and when; None before the first."""
    snapshot = load_snapshot(engine, name=RISING)
    if snapshot is None:
        return None
    body = snapshot.body
    report = RisingReport(
        last_day=date.fromisoformat(body["last_day"]),
        recent_start=date.fromisoformat(body["recent_start"]),
        before_start=date.fromisoformat(body["before_start"]),
        recent_papers=body["recent_papers"],
        before_papers=body["before_papers"],
        weekly_papers=tuple(body["weekly_papers"]),
        min_papers=body["min_papers"],
        terms=tuple(_topic(t) for t in body["terms"]),
        categories=tuple(_topic(t) for t in body["categories"]),
    )
    return report, snapshot.computed_at


def _topic(body: dict[str, Any]) -> RisingTopic:
    return RisingTopic(**{**body, "weekly": tuple(body["weekly"])})


def count_trend_days(
    engine: sa.Engine, *, first_day: date, last_day: date
) -> list[tuple[date, str, int]]:
    """(list day, primary category, papers) for the days in [first_day, last_day]."""
    query = sa.select(trend_counts).where(
        trend_counts.c.list_date >= first_day, trend_counts.c.list_date <= last_day
    )
    with engine.connect() as conn:
        return [(day, category, int(n)) for day, category, n in conn.execute(query)]


def newest_trend_day(engine: sa.Engine) -> date | None:
    """The newest list day the counts have (None before the first refresh or without papers)."""
    with engine.connect() as conn:
        day: date | None = conn.execute(sa.select(sa.func.max(trend_counts.c.list_date))).scalar()
    return day


def count_votes_by_day(engine: sa.Engine, *, paper_id: str) -> list[tuple[date, int]]:
    """A paper's votes on this site per day (UTC) they were given, oldest first."""
    query = sa.select(votes.c.created_at).where(votes.c.paper_id == paper_id)
    with engine.connect() as conn:
        days = Counter(as_utc(at).date() for at in conn.execute(query).scalars())
    return sorted(days.items())
