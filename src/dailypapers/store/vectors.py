"""Repository functions for paper vectors and the embedding backlog.

Vectors live in the database, one per (paper, model), so a paper is embedded once by whichever
worker claims it and every node reads it into its own vector index. The backlog holds the papers
whose text may lack a vector; it is written in the same transaction as the text, so nothing is
missed, and claimed in batches under a lease, so two workers never embed the same paper and a
worker that dies is taken over.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import sqlalchemy as sa

from dailypapers.dates import as_utc
from dailypapers.store.dialects import conflict_insert
from dailypapers.store.schema import embedding_backlog, paper_vectors, papers

PRIORITY_LISTED = 1  # on a daily list or upvoted: what people look at
PRIORITY_OTHER = 0


@dataclass(slots=True, frozen=True)
class BacklogEntry:
    """A paper to embed: its id and the text the model reads."""

    paper_id: str
    title: str
    abstract: str


@dataclass(slots=True, frozen=True)
class StoredVector:
    """A vector as a node's index reads it."""

    paper_id: str
    text_hash: int
    vector: np.ndarray  # float16
    embedded_at: datetime


def backlog_priority(*, daily_date: date | None, score: int) -> int:
    """Papers on a daily list or with votes are embedded first."""
    return PRIORITY_LISTED if daily_date is not None or score > 0 else PRIORITY_OTHER


def enqueue_embedding(
    conn: sa.Connection, *, entries: Sequence[tuple[str, int, date | None]], now: datetime
) -> None:
    """Put (paper id, priority, list day) in the backlog, inside the caller's transaction.

    A paper already waiting keeps its place; one being embedded now is released, so the text
    written here is embedded again (the worker's result is for the older text).
    """
    if not entries:
        return
    insert = conflict_insert(conn, embedding_backlog)
    # SQLite's two-argument max() is PostgreSQL's greatest().
    larger = sa.func.max if conn.dialect.name == "sqlite" else sa.func.greatest
    statement = insert.on_conflict_do_update(
        index_elements=[embedding_backlog.c.paper_id],
        set_={
            "priority": larger(embedding_backlog.c.priority, insert.excluded.priority),
            "list_date": insert.excluded.list_date,
            "claim_token": None,
            "lease_until": None,
        },
    )
    rows = [
        {"paper_id": pid, "priority": priority, "list_date": day, "queued_at": now}
        for pid, priority, day in entries
    ]
    conn.execute(statement, rows)


def prioritise(conn: sa.Connection, *, paper_id: str) -> None:
    """Move a waiting paper to the front group (someone voted for it or listed it)."""
    conn.execute(
        sa.update(embedding_backlog)
        .where(embedding_backlog.c.paper_id == paper_id)
        .values(priority=PRIORITY_LISTED)
    )


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(embedding_backlog.c.claim_token.is_(None), embedding_backlog.c.lease_until < now)


def claim_backlog(
    engine: sa.Engine, *, token: str, now: datetime, lease_until: datetime, limit: int
) -> list[BacklogEntry]:
    """Claim up to `limit` waiting papers for this worker, listed and upvoted ones first, then
    the newest; a claim whose lease ended (its worker died) is claimed again."""
    claimable = _claimable(now)
    picked = (
        sa.select(embedding_backlog.c.paper_id)
        .where(claimable)
        .order_by(
            embedding_backlog.c.priority.desc(),
            embedding_backlog.c.list_date.desc().nulls_last(),
            embedding_backlog.c.paper_id,
        )
        .limit(limit)
    )
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            picked = picked.with_for_update(skip_locked=True)
        statement = (
            sa.update(embedding_backlog)
            .where(embedding_backlog.c.paper_id.in_(picked.scalar_subquery()), claimable)
            .values(claim_token=token, lease_until=lease_until)
            .returning(embedding_backlog.c.paper_id)
        )
        ids = [str(pid) for pid in conn.execute(statement).scalars()]
        if not ids:
            return []
        texts = conn.execute(
            sa.select(papers.c.paper_id, papers.c.title, papers.c.abstract).where(
                papers.c.paper_id.in_(ids)
            )
        ).all()
    return sorted(
        (BacklogEntry(str(pid), str(title), str(abstract)) for pid, title, abstract in texts),
        key=lambda entry: entry.paper_id,
    )


def vector_hashes(engine: sa.Engine, *, model: str, paper_ids: Sequence[str]) -> dict[str, int]:
    """The text hash of each of these papers' stored vector by `model` (missing: no vector)."""
    found: dict[str, int] = {}
    with engine.connect() as conn:
        for start in range(0, len(paper_ids), 500):
            chunk = list(paper_ids[start : start + 500])
            query = sa.select(paper_vectors.c.paper_id, paper_vectors.c.text_hash).where(
                paper_vectors.c.model == model, paper_vectors.c.paper_id.in_(chunk)
            )
            found.update({str(pid): int(value) for pid, value in conn.execute(query)})
    return found


def store_vectors(
    engine: sa.Engine,
    *,
    token: str,
    model: str,
    vectors: Sequence[tuple[str, int, np.ndarray]],
    done: Sequence[str],
    now: datetime,
) -> int:
    """Store (paper id, text hash, vector) rows and take the claimed papers in `done` off the
    backlog, in one transaction. A paper whose claim this worker lost (its text changed, or its
    lease ended and another worker took it) stays in the backlog. Returns the vectors written.
    """
    with engine.begin() as conn:
        if vectors:
            insert = conflict_insert(conn, paper_vectors)
            statement = insert.on_conflict_do_update(
                index_elements=[paper_vectors.c.paper_id, paper_vectors.c.model],
                set_={
                    "text_hash": insert.excluded.text_hash,
                    "dimensions": insert.excluded.dimensions,
                    "vector": insert.excluded.vector,
                    "embedded_at": insert.excluded.embedded_at,
                },
            )
            rows = [
                {
                    "paper_id": paper_id,
                    "model": model,
                    "text_hash": text_hash,
                    "dimensions": int(vector.shape[0]),
                    "vector": vector.astype("<f2").tobytes(),
                    "embedded_at": now,
                }
                for paper_id, text_hash, vector in vectors
            ]
            # A paper deleted while it was embedded has no row to point at any more.
            existing = set(
                conn.execute(
                    sa.select(papers.c.paper_id).where(
                        papers.c.paper_id.in_([row["paper_id"] for row in rows])
                    )
                ).scalars()
            )
            rows = [row for row in rows if row["paper_id"] in existing]
            if rows:
                conn.execute(statement, rows)
            written = len(rows)
        else:
            written = 0
        if done:
            conn.execute(
                sa.delete(embedding_backlog).where(
                    embedding_backlog.c.paper_id.in_(list(done)),
                    embedding_backlog.c.claim_token == token,
                )
            )
    return written


def release_claims(engine: sa.Engine, *, token: str) -> None:
    """Give back what this worker claimed and did not finish (it is stopping)."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(embedding_backlog)
            .where(embedding_backlog.c.claim_token == token)
            .values(claim_token=None, lease_until=None)
        )


def iter_vectors_since(
    engine: sa.Engine, *, model: str, since: datetime | None, batch_size: int = 4096
) -> Iterator[list[StoredVector]]:
    """Vectors of `model` written at or after `since` (all when None), oldest first, in batches."""
    query = (
        sa.select(
            paper_vectors.c.paper_id,
            paper_vectors.c.text_hash,
            paper_vectors.c.vector,
            paper_vectors.c.embedded_at,
        )
        .where(paper_vectors.c.model == model)
        .order_by(paper_vectors.c.embedded_at, paper_vectors.c.paper_id)
    )
    if since is not None:
        query = query.where(paper_vectors.c.embedded_at >= since)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(query)
        for partition in result.partitions(batch_size):
            yield [
                StoredVector(
                    str(pid),
                    int(value),
                    np.frombuffer(bytes(blob), dtype="<f2"),
                    as_utc(when),
                )
                for pid, value, blob, when in partition
            ]


def count_vectors_since(engine: sa.Engine, *, model: str, since: datetime | None) -> int:
    """How many vectors `iter_vectors_since` would yield."""
    query = (
        sa.select(sa.func.count()).select_from(paper_vectors).where(paper_vectors.c.model == model)
    )
    if since is not None:
        query = query.where(paper_vectors.c.embedded_at >= since)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def vectors_window(
    engine: sa.Engine, *, model: str, since: datetime
) -> tuple[int, datetime | None]:
    """How many vectors of `model` were written at or after `since`, and the newest time."""
    query = sa.select(sa.func.count(), sa.func.max(paper_vectors.c.embedded_at)).where(
        paper_vectors.c.model == model, paper_vectors.c.embedded_at >= since
    )
    with engine.connect() as conn:
        count, newest = conn.execute(query).one()
    return int(count), as_utc(newest) if newest is not None else None


def count_vectors(engine: sa.Engine, *, model: str) -> int:
    """How many papers have a vector by `model`."""
    query = (
        sa.select(sa.func.count()).select_from(paper_vectors).where(paper_vectors.c.model == model)
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def count_backlog(engine: sa.Engine) -> int:
    """How many papers wait to be embedded."""
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(embedding_backlog)).scalar_one()
        )


def enqueue_missing(engine: sa.Engine, *, model: str, now: datetime) -> int:
    """Put every paper without a vector by `model` in the backlog (a new embedding model, or
    vectors lost); returns how many were added."""
    on_list = sa.or_(papers.c.daily_date.is_not(None), papers.c.score > 0)
    has_vector = sa.exists().where(
        paper_vectors.c.paper_id == papers.c.paper_id, paper_vectors.c.model == model
    )
    waiting = sa.exists().where(embedding_backlog.c.paper_id == papers.c.paper_id)
    missing = sa.select(
        papers.c.paper_id,
        sa.case((on_list, PRIORITY_LISTED), else_=PRIORITY_OTHER),
        papers.c.list_date,
        sa.literal(now, sa.DateTime(timezone=True)),
    ).where(~has_vector, ~waiting)
    columns = ["paper_id", "priority", "list_date", "queued_at"]
    insert = sa.insert(embedding_backlog).from_select(columns, missing)
    with engine.begin() as conn:
        # RETURNING counts reliably on every driver (rowcount of INSERT ... SELECT does not).
        return len(conn.execute(insert.returning(embedding_backlog.c.paper_id)).all())
