"""Repository functions for the lists people browse: a period's papers, trending, moderation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import orjson
import sqlalchemy as sa

from dailypapers.dates import as_utc
from dailypapers.models import Paper
from dailypapers.ranking.hotness import hotness, listed_at
from dailypapers.store.papers import decode_paper
from dailypapers.store.schema import paper_categories, paper_marks, papers, votes

# The site's pages offer "score" (most upvoted first) and "published" (newest arXiv
# publication first); "listed" (newest list day first) is Hugging Face's sort=publishedAt,
# the time a paper joined the daily list.
PageSort = Literal["score", "published"]
ListSort = Literal["score", "published", "listed"]

_VISIBLE = papers.c.hidden == sa.false()


@dataclass(frozen=True, slots=True)
class ListFilter:
    """What a list keeps besides its period: papers of one category, papers with a code link."""

    category: str | None = None
    with_code: bool = False

    def restrict(self, condition: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
        """`condition` and this filter's own."""
        if self.category is not None:
            # Per listed paper, a primary-key probe: a day's or month's papers are far fewer
            # than a large category's, so the list index still leads.
            in_category = sa.select(paper_categories.c.paper_id).where(
                paper_categories.c.paper_id == papers.c.paper_id,
                paper_categories.c.category == self.category,
            )
            condition = sa.and_(condition, in_category.exists())
        if self.with_code:
            condition = sa.and_(condition, papers.c.code_url.is_not(None))
        return condition


NO_FILTER = ListFilter()


def list_period_papers(
    engine: sa.Engine,
    *,
    start: date,
    end: date,
    limit: int,
    offset: int = 0,
    sort: ListSort = "score",
    submitted_by: str | None = None,
    only: ListFilter = NO_FILTER,
) -> tuple[list[Paper], int]:
    """Visible papers listed on days in [start, end) and how many there are in all."""
    if end - start == timedelta(days=1):
        # One day: equality lets the list index hand rows over already in page order.
        days = papers.c.list_date == start
    else:
        days = sa.and_(papers.c.list_date >= start, papers.c.list_date < end)
    condition = only.restrict(sa.and_(days, _VISIBLE))
    if submitted_by is not None:
        condition = sa.and_(condition, papers.c.submitted_by == submitted_by)
    order: tuple[sa.ColumnElement[Any], ...]
    if sort == "score":
        # All descending, so ix_papers_list_order read backwards gives exactly this order.
        order = (papers.c.score.desc(), papers.c.published.desc(), papers.c.paper_id.desc())
    elif sort == "listed":
        order = (papers.c.list_date.desc(), papers.c.score.desc(), papers.c.paper_id)
    else:
        order = (papers.c.published.desc(), papers.c.paper_id)
    query = sa.select(papers).where(condition).order_by(*order).limit(limit).offset(offset)
    count = sa.select(sa.func.count()).select_from(papers).where(condition)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
        total = int(conn.execute(count).scalar_one())
    return [decode_paper(row) for row in rows], total


def list_trending_papers(
    engine: sa.Engine,
    *,
    limit: int,
    offset: int = 0,
    submitted_by: str | None = None,
    only: ListFilter = NO_FILTER,
) -> list[Paper]:
    """Visible listed papers by stored hotness, hottest first.

    Papers on no list (no list day: neither listed nor dated, e.g. a bibliography entry) are
    left out; their hotness counts from when they were stored, which says nothing.
    """
    condition = only.restrict(sa.and_(_VISIBLE, papers.c.list_date.is_not(None)))
    if submitted_by is not None:
        condition = sa.and_(condition, papers.c.submitted_by == submitted_by)
    query = (
        sa.select(papers)
        .where(condition)
        .order_by(papers.c.hotness.desc(), papers.c.paper_id)
        .limit(limit)
        .offset(offset)
    )
    with engine.connect() as conn:
        return [decode_paper(row) for row in conn.execute(query).mappings()]


def _newest_day(condition: sa.ColumnElement[bool], *, last: bool = True) -> sa.Select[Any]:
    """The latest (or with `last` off, the earliest) list day of the papers `condition` keeps:
    read in list-index order, stopping at the first such paper (a MAX over a filter would read
    every row of the range)."""
    day = papers.c.list_date
    return (
        sa.select(day)
        .where(sa.and_(condition, day.is_not(None)))
        .order_by(day.desc() if last else day.asc())
        .limit(1)
    )


def nearest_list_dates(
    engine: sa.Engine, *, day: date, only: ListFilter = NO_FILTER
) -> tuple[date | None, date | None]:
    """The closest list days before and after `day` that have visible papers (kept by `only`)."""
    before = _newest_day(only.restrict(sa.and_(papers.c.list_date < day, _VISIBLE)))
    after = _newest_day(only.restrict(sa.and_(papers.c.list_date > day, _VISIBLE)), last=False)
    with engine.connect() as conn:
        return conn.execute(before).scalar(), conn.execute(after).scalar()


def latest_list_date(engine: sa.Engine, *, only: ListFilter = NO_FILTER) -> date | None:
    """The newest list day with visible papers (the home page shows it), kept by `only`."""
    with engine.connect() as conn:
        return conn.execute(_newest_day(only.restrict(_VISIBLE))).scalar()


def count_categories(engine: sa.Engine) -> list[tuple[str, int]]:
    """Every category with its number of visible listed papers, largest first."""
    count = sa.func.count().label("papers")
    query = (
        sa.select(paper_categories.c.category, count)
        .join(papers, papers.c.paper_id == paper_categories.c.paper_id)
        .where(_VISIBLE, papers.c.list_date.is_not(None))
        .group_by(paper_categories.c.category)
        .order_by(count.desc(), paper_categories.c.category)
    )
    with engine.connect() as conn:
        return [(str(category), int(n)) for category, n in conn.execute(query)]


def set_paper_hidden(engine: sa.Engine, *, paper_id: str, hidden: bool) -> bool:
    """Hide a paper from every list (or show it again); False if there is no such paper."""
    statement = sa.update(papers).where(papers.c.paper_id == paper_id).values(hidden=hidden)
    with engine.begin() as conn:
        return conn.execute(statement).rowcount == 1


def refresh_hotness(conn: sa.Connection, *, paper_ids: Sequence[str]) -> None:
    """Recompute stored hotness from the rows' current score and list day (same transaction)."""
    query = sa.select(
        papers.c.paper_id,
        papers.c.score,
        papers.c.list_date,
        papers.c.published,
        papers.c.created_at,
    ).where(papers.c.paper_id.in_(list(paper_ids)))
    for paper_id, score, list_day, published, created_at in conn.execute(query):
        at = listed_at(list_day, as_utc(published) if published else None, as_utc(created_at))
        conn.execute(
            sa.update(papers)
            .where(papers.c.paper_id == paper_id)
            .values(hotness=hotness(score, at))
        )


def list_latest_papers(
    engine: sa.Engine, *, limit: int, offset: int = 0, submitted_by: str | None = None
) -> list[Paper]:
    """Visible listed papers, newest list day first (then newest published)."""
    condition = sa.and_(papers.c.list_date.is_not(None), _VISIBLE)
    if submitted_by is not None:
        condition = sa.and_(condition, papers.c.submitted_by == submitted_by)
    query = (
        sa.select(papers)
        .where(condition)
        .order_by(papers.c.list_date.desc(), papers.c.score.desc(), papers.c.paper_id)
        .limit(limit)
        .offset(offset)
    )
    with engine.connect() as conn:
        return [decode_paper(row) for row in conn.execute(query).mappings()]


def list_user_papers(
    engine: sa.Engine, *, activity: sa.Table, at: sa.Column[Any], user_id: int, limit: int,
    offset: int = 0,
) -> list[Paper]:  # fmt: skip
    """Papers a user acted on in `activity` (votes, submissions), most recent first by `at`."""
    query = (
        sa.select(papers)
        .join(activity, activity.c.paper_id == papers.c.paper_id)
        .where(activity.c.user_id == user_id)
        .order_by(at.desc(), papers.c.paper_id)
        .limit(limit)
        .offset(offset)
    )
    with engine.connect() as conn:
        return [decode_paper(row) for row in conn.execute(query).mappings()]


@dataclass(slots=True, frozen=True)
class ListedPaper:
    """The few fields digests and "For you" rank a listed paper by."""

    paper_id: str
    categories: tuple[str, ...]
    score: int
    hotness: float


def list_window_papers(engine: sa.Engine, *, first_day: date, last_day: date) -> list[ListedPaper]:
    """Visible papers listed on days in [first_day, last_day], most upvoted first."""
    query = (
        sa.select(papers.c.paper_id, papers.c.categories, papers.c.score, papers.c.hotness)
        .where(papers.c.list_date >= first_day, papers.c.list_date <= last_day, _VISIBLE)
        .order_by(papers.c.score.desc(), papers.c.hotness.desc(), papers.c.paper_id)
    )
    with engine.connect() as conn:
        return [
            ListedPaper(str(row[0]), tuple(orjson.loads(row[1])), int(row[2]), float(row[3]))
            for row in conn.execute(query)
        ]


def window_start_for(
    engine: sa.Engine, *, last_day: date, min_papers: int, unseen_by: int | None = None
) -> date | None:
    """The latest day d such that the lists of [d, last_day] hold `min_papers` visible papers
    (those `unseen_by` has not upvoted or marked, when given); with fewer, the oldest list day
    up to `last_day`. None when no list day up to `last_day` has any."""
    condition = sa.and_(papers.c.list_date <= last_day, _VISIBLE)
    if unseen_by is not None:
        for table in (votes, paper_marks):
            seen = sa.select(table.c.paper_id).where(
                table.c.user_id == unseen_by, table.c.paper_id == papers.c.paper_id
            )
            condition = sa.and_(condition, ~seen.exists())
    newest = (
        sa.select(papers.c.list_date.label("day"))
        .where(condition)
        .order_by(papers.c.list_date.desc())
        .limit(min_papers)
        .subquery()
    )
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.min(newest.c.day))).scalar()


def sample_paper_ids(engine: sa.Engine, *, limit: int) -> list[str]:
    """A random sample of stored paper ids (the background a reader's likes stand out from)."""
    query = sa.select(papers.c.paper_id).order_by(sa.func.random()).limit(limit)
    with engine.connect() as conn:
        return [str(value) for value in conn.execute(query).scalars()]
