"""The trends tables on SQLite and a real PostgreSQL: counts per list day and primary category,
the rising topics' snapshot, and votes by day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from dailypapers.store.accounts import create_user
from dailypapers.store.lists import set_paper_hidden
from dailypapers.store.papers import upsert_papers
from dailypapers.store.trends import (
    count_trend_days,
    count_votes_by_day,
    load_rising,
    newest_trend_day,
    refresh_trends,
)
from dailypapers.store.votes import record_vote, withdraw_vote
from tests.store.test_papers import arxiv_record, located

NOW = datetime(2026, 7, 2, 8, 0, tzinfo=UTC)
LAST = date(2026, 7, 1)


def _paper(number: int, day: date, categories: list[str], title: str) -> object:
    paper_id = f"2606.{number:05d}"
    return arxiv_record(
        paper_id=paper_id,
        title=title,
        categories=categories,
        daily_date=day,
        abs_url=f"https://arxiv.org/abs/{paper_id}",
    )


def _store(engine: sa.Engine) -> None:
    """Twelve papers on 1 July about agentic planning (cs.AI), two on 30 June, and 30 in the
    spring about image segmentation (cs.CV), none of them about agents."""
    records = [
        _paper(n, LAST, ["cs.AI", "cs.LG"], f"Agentic planning with tools, part {n}")
        for n in range(12)
    ]
    records += [_paper(20, LAST - timedelta(days=1), ["cs.CV"], "Segmenting cells")]
    records += [_paper(21, LAST - timedelta(days=1), [], "A paper without categories")]
    records += [
        _paper(100 + n, LAST - timedelta(days=40 + n), ["cs.CV"], f"Image segmentation {n}")
        for n in range(30)
    ]
    upsert_papers(engine, located(*records), now=NOW)  # type: ignore[arg-type]


def test_refresh_counts_visible_papers_per_day_and_primary_category(engine: sa.Engine) -> None:
    _store(engine)
    done = refresh_trends(engine, now=NOW)
    assert (done.papers, done.last_day) == (44, LAST)
    assert newest_trend_day(engine) == LAST
    rows = count_trend_days(engine, first_day=LAST - timedelta(days=1), last_day=LAST)
    assert sorted(rows) == [
        (LAST - timedelta(days=1), "", 1),  # no category
        (LAST - timedelta(days=1), "cs.CV", 1),
        (LAST, "cs.AI", 12),  # by primary category only: cs.LG is not counted again
    ]
    # A hidden paper leaves the counts at the next refresh; a refresh replaces every row.
    assert set_paper_hidden(engine, paper_id="2606.00000", hidden=True)
    refresh_trends(engine, now=NOW)
    assert (LAST, "cs.AI", 11) in count_trend_days(engine, first_day=LAST, last_day=LAST)


def test_refresh_stores_the_rising_topics(engine: sa.Engine) -> None:
    assert load_rising(engine) is None  # before the first refresh
    _store(engine)
    refresh_trends(engine, now=NOW)
    stored = load_rising(engine)
    assert stored is not None
    report, computed_at = stored
    assert computed_at == NOW
    assert (report.last_day, report.recent_papers, report.before_papers) == (LAST, 14, 30)
    # Every word of the twelve titles comes with the same papers: one place, the pair.
    assert [t.topic for t in report.terms] == ["agentic planning"]
    assert [c.topic for c in report.categories] == ["cs.AI", "cs.LG"]
    assert report.terms[0].recent == 12 and report.terms[0].before == 0


def test_votes_are_counted_by_the_day_they_were_given(engine: sa.Engine) -> None:
    _store(engine)
    paper_id = "2606.00003"
    voters = [
        create_user(engine, username=f"v{n}", password_hash="x", email=None, now=NOW)
        for n in range(3)
    ]
    times = [NOW, NOW + timedelta(hours=1), NOW + timedelta(days=2)]
    for voter, at in zip(voters, times, strict=True):
        record_vote(engine, user_id=voter.user_id, paper_id=paper_id, now=at)
    day = NOW.date()
    assert count_votes_by_day(engine, paper_id=paper_id) == [(day, 2), (day + timedelta(2), 1)]
    withdraw_vote(engine, user_id=voters[0].user_id, paper_id=paper_id)
    assert count_votes_by_day(engine, paper_id=paper_id) == [(day, 1), (day + timedelta(2), 1)]
    assert count_votes_by_day(engine, paper_id="2606.00004") == []
