"""A site for the trends tests: the 841 distinct real papers of three arXiv cs daily listings
(1,114 lines), with list days SIMULATED (the files carry no dates), a few upvotes, and votes
given on the site.

Papers keep their file order (the listings' own order: March 2025, January 2026, July 2026)
and are spread evenly over the weekdays of the 16 weeks to LAST_DAY, each published on its list
day (as bench/web.py does for the 74,728-paper file). Then the keyword index is built, votes
are recorded through the store on several days, and the trends task's refresh runs once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import sqlalchemy as sa

from dailypapers.index.build import sync_keyword_index
from dailypapers.ingest.files import ImportOptions, import_paths
from dailypapers.ranking.hotness import hotness, listed_at
from dailypapers.store.accounts import create_user
from dailypapers.store.engine import open_store
from dailypapers.store.schema import papers
from dailypapers.store.trends import refresh_trends
from dailypapers.store.votes import record_vote
from tests.web.conftest import site_settings

LISTINGS = ("2025-03-18.jsonl", "2026-01-15.jsonl", "2026-07-01.jsonl")
LAST_DAY = date(2026, 7, 1)  # a Wednesday
WEEKS = 16
# Hugging Face-like upvotes of three papers, most first: the "most upvoted" list's first three.
UPVOTES = (40, 25, 12)
VOTED_PAPER_VOTES = 3  # votes given on the site to the first upvoted paper, on three days
REFRESHED_AT = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def weekdays(first: date, last: date) -> list[date]:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [day for day in days if day.weekday() < 5]


def simulate_list_days(engine: sa.Engine) -> list[str]:
    """Spread the papers, in import order, over the weekdays of the WEEKS weeks to LAST_DAY;
    returns the paper ids in that order."""
    days = weekdays(LAST_DAY - timedelta(weeks=WEEKS) + timedelta(days=1), LAST_DAY)
    query = sa.select(papers.c.paper_id).order_by(sa.text("papers.rowid"))
    with engine.begin() as conn:
        ids = list(conn.execute(query).scalars())
        updates = []
        for number, paper_id in enumerate(ids):
            day = days[number * len(days) // len(ids)]
            published = datetime.combine(day, time(), tzinfo=UTC)
            updates.append({"key": paper_id, "day": day, "published": published})
        statement = papers.update().where(papers.c.paper_id == sa.bindparam("key"))
        values = {
            "list_date": sa.bindparam("day"),
            "daily_date": sa.bindparam("day"),
            "published": sa.bindparam("published"),
        }
        conn.execute(statement.values(values), updates)
    return ids


def give_upvotes(engine: sa.Engine, paper_ids: list[str]) -> None:
    """Hugging Face-like upvotes on three papers of the last four weeks (score and hotness as an
    import sets them)."""
    with engine.begin() as conn:
        for paper_id, upvotes in zip(paper_ids, UPVOTES, strict=True):
            row = conn.execute(
                sa.select(papers.c.list_date, papers.c.published, papers.c.created_at).where(
                    papers.c.paper_id == paper_id
                )
            ).one()
            value = hotness(upvotes, listed_at(row[0], row[1], row[2]))
            conn.execute(
                papers.update()
                .where(papers.c.paper_id == paper_id)
                .values(upvotes=upvotes, score=upvotes, hotness=value)
            )


def build_trends_home(home: Path, shared_data: Path) -> list[str]:
    """Import, simulate, index, vote and refresh; returns the three upvoted paper ids, the
    first of which also has VOTED_PAPER_VOTES votes on the site."""
    settings = site_settings(home)
    engine = open_store(settings)
    try:
        options = ImportOptions(format="auto", reference_date=date(2025, 3, 18), batch_size=500)
        sources = [shared_data / "arxiv-cs-2025" / name for name in LISTINGS]
        import_paths(engine, sources, options, now=datetime.now(UTC))
        ids = simulate_list_days(engine)
        sync_keyword_index(engine, settings)
        upvoted = ids[-30:-27]  # listed in the last week
        give_upvotes(engine, upvoted)
        for number in range(VOTED_PAPER_VOTES):
            voter = create_user(
                engine, username=f"voter{number}", password_hash="x", email=None, now=REFRESHED_AT
            )
            at = datetime(2026, 6, 28, 9, 0, tzinfo=UTC) + timedelta(days=number)
            record_vote(engine, user_id=voter.user_id, paper_id=upvoted[0], now=at)
        refresh_trends(engine, now=REFRESHED_AT)
    finally:
        engine.dispose()
    return upvoted
