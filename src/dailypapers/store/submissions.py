"""Repository functions for submissions: putting a stored paper on a day's list, once."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from dailypapers.models import Paper
from dailypapers.store.dialects import conflict_insert
from dailypapers.store.lists import list_user_papers, refresh_hotness
from dailypapers.store.papers import decode_paper
from dailypapers.store.schema import papers, submissions
from dailypapers.store.votes import PaperMissing


class AlreadyListed(ValueError):
    """The paper is on a day's list already (submitted here, or listed by Hugging Face)."""

    def __init__(self, paper_id: str, list_date: date) -> None:
        super().__init__(f"{paper_id} is already on the list of {list_date.isoformat()}")
        self.list_date = list_date


def submit_paper(
    engine: sa.Engine, *, paper_id: str, user_id: int, username: str, day: date, now: datetime
) -> Paper:
    """Put a stored paper on `day`'s list, credited to `username`."""
    claim = (
        conflict_insert(engine, submissions)
        .values(paper_id=paper_id, user_id=user_id, list_date=day, submitted_at=now)
        .on_conflict_do_nothing()
        .returning(submissions.c.paper_id)
    )
    with engine.begin() as conn:
        try:
            inserted = conn.execute(claim).first() is not None
        except sa.exc.IntegrityError:
            raise PaperMissing(paper_id) from None
        row = conn.execute(sa.select(papers).where(papers.c.paper_id == paper_id)).mappings().one()
        listed = row["daily_date"]
        if not inserted or listed is not None:
            raise AlreadyListed(paper_id, listed or day)
        conn.execute(
            sa.update(papers)
            .where(papers.c.paper_id == paper_id)
            .values(daily_date=day, list_date=day, submitted_by=username, modified_at=now)
        )
        refresh_hotness(conn, paper_ids=[paper_id])
        row = conn.execute(sa.select(papers).where(papers.c.paper_id == paper_id)).mappings().one()
    return decode_paper(row)


def list_submitted_papers(
    engine: sa.Engine, *, user_id: int, limit: int, offset: int = 0
) -> list[Paper]:
    """Papers a user submitted, newest submission first."""
    at = submissions.c.submitted_at
    return list_user_papers(
        engine, activity=submissions, at=at, user_id=user_id, limit=limit, offset=offset
    )
