"""Repository functions for what readers tell the recommender: saved papers, "not interested"
marks, upvotes (read from votes), the papers of their own collections (an imported library
teaches For you from day one), and each reader's trained "For you" model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa

from dailypapers.dates import as_utc
from dailypapers.store.dialects import conflict_insert
from dailypapers.store.schema import (
    collection_items,
    collections,
    paper_marks,
    recommender_models,
    votes,
)
from dailypapers.store.votes import PaperMissing

Mark = Literal["saved", "not_interested"]
# The newest papers of a reader's own collections that count as liked: a library of thousands
# would otherwise swamp what the reader upvotes and saves now (and slow training).
MAX_LIBRARY_POSITIVES = 1_000


@dataclass(slots=True, frozen=True)
class Feedback:
    """A reader's signals: liked papers (upvoted, saved, then those in collections the reader
    owns) and disliked ones, newest first."""

    liked: list[str]
    disliked: list[str]
    stamp: str


@dataclass(slots=True, frozen=True)
class StoredModel:
    embedding_model: str
    feedback_stamp: str
    weights: bytes
    trained_at: datetime


def set_mark(
    engine: sa.Engine, *, user_id: int, paper_id: str, mark: Mark | None, now: datetime
) -> None:
    """Save a paper, mark it "not interested", or (None) clear the mark. PaperMissing if unknown."""
    remove = sa.delete(paper_marks).where(
        paper_marks.c.user_id == user_id, paper_marks.c.paper_id == paper_id
    )
    try:
        with engine.begin() as conn:
            if mark is None:
                conn.execute(remove)
                return
            statement = conflict_insert(conn, paper_marks).values(
                user_id=user_id, paper_id=paper_id, mark=mark, created_at=now
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[paper_marks.c.user_id, paper_marks.c.paper_id],
                    set_={"mark": mark, "created_at": now},
                )
            )
    except sa.exc.IntegrityError:
        raise PaperMissing(paper_id) from None


def marks_for(engine: sa.Engine, *, user_id: int, paper_ids: Sequence[str]) -> dict[str, Mark]:
    """The reader's mark on each of `paper_ids` that has one."""
    if not paper_ids:
        return {}
    query = sa.select(paper_marks.c.paper_id, paper_marks.c.mark).where(
        paper_marks.c.user_id == user_id, paper_marks.c.paper_id.in_(list(paper_ids))
    )
    with engine.connect() as conn:
        return {row[0]: row[1] for row in conn.execute(query)}


def get_feedback(engine: sa.Engine, *, user_id: int) -> Feedback:
    """Everything the reader has upvoted, saved, collected or dismissed, with a stamp that
    changes when any of it does (a stored model trained under another stamp is stale)."""
    voted = (
        sa.select(votes.c.paper_id, votes.c.created_at)
        .where(votes.c.user_id == user_id)
        .order_by(votes.c.created_at.desc())
    )
    marked = (
        sa.select(paper_marks.c.paper_id, paper_marks.c.mark, paper_marks.c.created_at)
        .where(paper_marks.c.user_id == user_id)
        .order_by(paper_marks.c.created_at.desc())
    )
    owned = collections.c.owner_id == user_id
    collected = (
        sa.select(collection_items.c.paper_id)
        .join(collections, collections.c.collection_id == collection_items.c.collection_id)
        .where(owned)
        .order_by(collection_items.c.added_at.desc(), collection_items.c.position.desc())
        .limit(MAX_LIBRARY_POSITIVES)
    )
    # Item count and the newest change to any owned collection (adding, removing, moving
    # or noting touches it): either moves when the library does.
    library = (
        sa.select(sa.func.count(collection_items.c.paper_id), sa.func.max(collections.c.updated_at))
        .select_from(collections.outerjoin(collection_items))
        .where(owned)
    )
    with engine.connect() as conn:
        vote_rows = conn.execute(voted).all()
        mark_rows = conn.execute(marked).all()
        library_ids = list(conn.execute(collected).scalars())
        library_count, library_changed = conn.execute(library).one()
    disliked = [row[0] for row in mark_rows if row[1] == "not_interested"]
    saved = [row[0] for row in mark_rows if row[1] == "saved"]
    rejected = set(disliked)
    voted_ids = [r[0] for r in vote_rows if r[0] not in rejected]
    kept_library = [paper_id for paper_id in library_ids if paper_id not in rejected]
    liked = list(dict.fromkeys(voted_ids + saved + kept_library))
    times = [as_utc(r[-1]) for r in (*vote_rows, *mark_rows)]
    newest = max(times).isoformat() if times else "-"
    changed = as_utc(library_changed).isoformat() if library_changed else "-"
    stamp = f"{len(vote_rows)}:{len(mark_rows)}:{len(disliked)}:{newest}"
    stamp += f":{library_count}:{changed}"
    return Feedback(liked=liked, disliked=disliked, stamp=stamp)


def get_model(engine: sa.Engine, *, user_id: int) -> StoredModel | None:
    query = sa.select(recommender_models).where(recommender_models.c.user_id == user_id)
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return StoredModel(
        row["embedding_model"], row["feedback_stamp"], bytes(row["weights"]), row["trained_at"]
    )


def put_model(engine: sa.Engine, *, user_id: int, model: StoredModel) -> None:
    """Store (or replace) a reader's trained model."""
    values = {
        "user_id": user_id,
        "embedding_model": model.embedding_model,
        "feedback_stamp": model.feedback_stamp,
        "weights": model.weights,
        "trained_at": model.trained_at,
    }
    statement = conflict_insert(engine, recommender_models).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=[recommender_models.c.user_id],
        set_={k: v for k, v in values.items() if k != "user_id"},
    )
    with engine.begin() as conn:
        conn.execute(statement)
