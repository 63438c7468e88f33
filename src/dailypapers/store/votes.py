"""Repository functions for votes: one row per (user, paper), counts kept on the paper.

A vote, the paper's score and its hotness change in one transaction. The vote row goes in
first (INSERT ... ON CONFLICT DO NOTHING on the primary key), so a repeated or concurrent vote
by the same user inserts nothing and counts nothing; only an inserted row moves the counts.
Starting with the write also makes SQLite take its write lock at once, so concurrent voters
queue on the busy timeout instead of failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from dailypapers.models import Paper, VoteResult
from dailypapers.store.dialects import conflict_insert
from dailypapers.store.lists import list_user_papers, refresh_hotness
from dailypapers.store.schema import papers, votes
from dailypapers.store.vectors import prioritise


class PaperMissing(LookupError):
    """A vote or comment on a paper that is not stored."""


def _insert_ignoring_duplicates(conn: sa.Connection, values: dict[str, Any]) -> bool:
    # RETURNING tells reliably whether a row went in (rowcount is not, on every driver).
    statement = (
        conflict_insert(conn, votes)
        .values(values)
        .on_conflict_do_nothing()
        .returning(votes.c.user_id)
    )
    return conn.execute(statement).first() is not None


def _counts(conn: sa.Connection, paper_id: str, *, voted: bool) -> VoteResult:
    query = sa.select(papers.c.score, papers.c.local_votes).where(papers.c.paper_id == paper_id)
    row = conn.execute(query).first()
    if row is None:
        raise PaperMissing(paper_id)
    return VoteResult(paper_id, int(row[0]), int(row[1]), voted)


def _bump(conn: sa.Connection, paper_id: str, delta: int) -> None:
    conn.execute(
        sa.update(papers)
        .where(papers.c.paper_id == paper_id)
        .values(local_votes=papers.c.local_votes + delta, score=papers.c.score + delta)
    )
    refresh_hotness(conn, paper_ids=[paper_id])
    if delta > 0:
        prioritise(conn, paper_id=paper_id)  # what people vote for is embedded first


def record_vote(engine: sa.Engine, *, user_id: int, paper_id: str, now: datetime) -> VoteResult:
    """Upvote a paper once per user; voting again changes nothing. PaperMissing if unknown."""
    values = {"user_id": user_id, "paper_id": paper_id, "created_at": now}
    try:
        with engine.begin() as conn:
            if _insert_ignoring_duplicates(conn, values):
                _bump(conn, paper_id, +1)
            return _counts(conn, paper_id, voted=True)
    except sa.exc.IntegrityError:
        # The vote's foreign key: no such paper.
        raise PaperMissing(paper_id) from None


def withdraw_vote(engine: sa.Engine, *, user_id: int, paper_id: str) -> VoteResult:
    """Take back an upvote; withdrawing twice changes nothing."""
    statement = sa.delete(votes).where(votes.c.user_id == user_id, votes.c.paper_id == paper_id)
    with engine.begin() as conn:
        if conn.execute(statement).rowcount == 1:
            _bump(conn, paper_id, -1)
        return _counts(conn, paper_id, voted=False)


def voted_paper_ids(engine: sa.Engine, *, user_id: int, paper_ids: Sequence[str]) -> set[str]:
    """Which of `paper_ids` the user has upvoted."""
    if not paper_ids:
        return set()
    query = sa.select(votes.c.paper_id).where(
        votes.c.user_id == user_id, votes.c.paper_id.in_(list(paper_ids))
    )
    with engine.connect() as conn:
        return set(conn.execute(query).scalars())


def list_voted_papers(
    engine: sa.Engine, *, user_id: int, limit: int, offset: int = 0
) -> list[Paper]:
    """Papers a user upvoted, most recent vote first."""
    return list_user_papers(
        engine, activity=votes, at=votes.c.created_at, user_id=user_id, limit=limit, offset=offset
    )
