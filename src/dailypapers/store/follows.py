"""Repository functions for follows: a reader's authors, categories and public collections.

One row per (reader, kind, target) under the primary key, so following twice (or two tabs at
once) stores one row. An author is followed by name key (`ids.author_key`), a category by its
arXiv code, a collection by its id. The papers a reader follows are those by a followed author
or in a followed category: the /following page, its feed, For you's boost and the digest read
them from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, get_args

import sqlalchemy as sa

from dailypapers.dates import as_utc
from dailypapers.models import Paper
from dailypapers.store.dialects import conflict_insert
from dailypapers.store.papers import VISIBLE, papers_newest_published
from dailypapers.store.schema import collections, follows, paper_authors, paper_categories, papers

FollowKind = Literal["author", "category", "collection"]
FOLLOW_KINDS: tuple[FollowKind, ...] = get_args(FollowKind)
# A reader follows at most this many things of each kind (a bound on every query below).
MAX_FOLLOWS_PER_KIND = 1000


class FollowError(ValueError):
    """A follow the store refuses (too many, or a collection that is not public)."""


@dataclass(frozen=True, slots=True)
class Follow:
    kind: FollowKind
    target: str  # the author key, the category code, the collection id
    label: str  # the name as the reader saw it
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Followed:
    """What a reader follows, as sets of targets."""

    authors: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    collections: frozenset[int] = frozenset()
    labels: dict[str, str] = field(default_factory=dict)  # author key -> name

    def __bool__(self) -> bool:
        return bool(self.authors or self.categories or self.collections)


def follow(
    engine: sa.Engine,
    *,
    user_id: int,
    kind: FollowKind,
    target: str,
    label: str,
    now: datetime,
) -> bool:
    """Follow an author, category or public collection; True if it was not followed before.
    FollowError past MAX_FOLLOWS_PER_KIND or for a collection that is not public."""
    collection_id = int(target) if kind == "collection" else None
    values = {
        "user_id": user_id,
        "kind": kind,
        "target": target,
        "label": label[:300],
        "collection_id": collection_id,
        "created_at": now,
    }
    statement = (
        conflict_insert(engine, follows)
        .values(values)
        .on_conflict_do_nothing()
        .returning(follows.c.user_id)
    )
    count = sa.select(sa.func.count()).where(follows.c.user_id == user_id, follows.c.kind == kind)
    with engine.begin() as conn:
        if collection_id is not None:
            visibility = conn.execute(
                sa.select(collections.c.visibility).where(
                    collections.c.collection_id == collection_id
                )
            ).scalar_one_or_none()
            if visibility != "public":
                raise FollowError(f"collection {collection_id} is not public")
        if conn.execute(count).scalar_one() >= MAX_FOLLOWS_PER_KIND:
            raise FollowError(f"you follow {MAX_FOLLOWS_PER_KIND} of these already")
        return conn.execute(statement).first() is not None


def unfollow(engine: sa.Engine, *, user_id: int, kind: FollowKind, target: str) -> bool:
    """Stop following; True if it was followed (unfollowing twice changes nothing)."""
    statement = sa.delete(follows).where(
        follows.c.user_id == user_id, follows.c.kind == kind, follows.c.target == target
    )
    with engine.begin() as conn:
        return conn.execute(statement).rowcount == 1


def list_follows(engine: sa.Engine, *, user_id: int) -> list[Follow]:
    """Everything the reader follows, by kind, then name. A collection made private since
    it was followed is left out (its row stays, and comes back if it is public again)."""
    query = (
        sa.select(follows.c.kind, follows.c.target, follows.c.label, follows.c.created_at)
        .outerjoin(collections, collections.c.collection_id == follows.c.collection_id)
        .where(
            follows.c.user_id == user_id,
            sa.or_(follows.c.collection_id.is_(None), collections.c.visibility == "public"),
        )
        .order_by(follows.c.kind, follows.c.label, follows.c.target)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [Follow(kind, target, label, as_utc(at)) for kind, target, label, at in rows]


def followed(engine: sa.Engine, *, user_id: int) -> Followed:
    """The reader's follows as sets (an empty Followed for one who follows nothing)."""
    query = sa.select(follows.c.kind, follows.c.target, follows.c.label).where(
        follows.c.user_id == user_id
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    authors = {str(t): str(label) for kind, t, label in rows if kind == "author"}
    return Followed(
        authors=frozenset(authors),
        categories=frozenset(str(t) for kind, t, _ in rows if kind == "category"),
        collections=frozenset(int(t) for kind, t, _ in rows if kind == "collection"),
        labels=authors,
    )


def following_targets(
    engine: sa.Engine, *, user_id: int, kind: FollowKind, targets: Sequence[str]
) -> set[str]:
    """Which of `targets` the reader follows (for the buttons on a page)."""
    if not targets:
        return set()
    query = sa.select(follows.c.target).where(
        follows.c.user_id == user_id,
        follows.c.kind == kind,
        follows.c.target.in_(list(dict.fromkeys(targets))),
    )
    with engine.connect() as conn:
        return {str(t) for t in conn.execute(query).scalars()}


def count_followers(engine: sa.Engine, *, kind: FollowKind, target: str) -> int:
    """How many readers follow this author, category or collection."""
    query = sa.select(sa.func.count()).where(follows.c.kind == kind, follows.c.target == target)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _followed_condition(user_id: int) -> sa.ColumnElement[bool]:
    """Papers by an author the reader follows or in a category they follow."""
    mine = sa.select(follows.c.target).where(follows.c.user_id == user_id)
    by_author = sa.select(paper_authors.c.paper_id).where(
        paper_authors.c.name_key.in_(mine.where(follows.c.kind == "author"))
    )
    in_category = sa.select(paper_categories.c.paper_id).where(
        paper_categories.c.category.in_(mine.where(follows.c.kind == "category"))
    )
    return sa.and_(
        VISIBLE, sa.or_(papers.c.paper_id.in_(by_author), papers.c.paper_id.in_(in_category))
    )


def list_followed_papers(
    engine: sa.Engine, *, user_id: int, limit: int, offset: int = 0
) -> tuple[list[Paper], int]:
    """Visible papers by followed authors or in followed categories, newest published first,
    and how many there are."""
    condition = _followed_condition(user_id)
    return papers_newest_published(engine, condition, limit=limit, offset=offset)


def papers_by_authors(
    engine: sa.Engine,
    *,
    author_keys: Sequence[str],
    paper_ids: Sequence[str] | None = None,
    first_day: date | None = None,
    last_day: date | None = None,
) -> dict[str, list[str]]:
    """paper id -> the given author keys on its byline, for visible papers among `paper_ids`
    (when given) listed on days in [first_day, last_day] (when given)."""
    if not author_keys or (paper_ids is not None and not paper_ids):
        return {}
    query = (
        sa.select(paper_authors.c.paper_id, paper_authors.c.name_key)
        .join(papers, papers.c.paper_id == paper_authors.c.paper_id)
        .where(paper_authors.c.name_key.in_(list(author_keys)), VISIBLE)
        .order_by(paper_authors.c.paper_id, paper_authors.c.position)
    )
    if first_day is not None:
        query = query.where(papers.c.list_date >= first_day)
    if last_day is not None:
        query = query.where(papers.c.list_date <= last_day)
    found: dict[str, list[str]] = {}
    with engine.connect() as conn:
        if paper_ids is None:
            rows = list(conn.execute(query))
        else:
            ids = list(dict.fromkeys(paper_ids))
            rows = []
            for start in range(0, len(ids), 500):  # bound the IN list
                chunk = ids[start : start + 500]
                rows += conn.execute(query.where(paper_authors.c.paper_id.in_(chunk))).all()
    for paper_id, key in rows:
        keys = found.setdefault(str(paper_id), [])
        if key not in keys:
            keys.append(str(key))
    return found
