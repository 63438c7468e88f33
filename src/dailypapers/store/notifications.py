"""Repository functions for notifications: what a reader has not seen yet, and read state.

A notification is one row per (reader, subject) under a unique key, so creating it twice (a
task run again, two nodes) stores one row:

- `reply:{comment}`: a reply to one of the reader's comments, written in the transaction
  that stores the reply (store/comments.py);
- `author-paper:{paper}`: a new paper by an author the reader follows, and
- `collection-paper:{collection}:{paper}`: a paper added to a public collection they follow,
  both found by the `notifications` task (`create_follow_notifications`), which looks at the
  papers listed, and collection papers added, in the last few days after the follow began.

A notification about a paper a moderator has since hidden, or about a reply since hidden or
deleted, is not shown, counted or emailed (its row stays, and comes back if the paper does).
A reader who chose to (`users.notifications_in_digest`) gets their unread notifications in
their digest, each once: `mark_emailed` runs in the digest's outbox transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa

from dailypapers.dates import as_utc
from dailypapers.latex import latex_to_text
from dailypapers.store.dialects import conflict_insert
from dailypapers.store.schema import (
    collection_items,
    collections,
    comments,
    follows,
    notifications,
    paper_authors,
    papers,
    users,
)

NotificationKind = Literal["reply", "author_paper", "collection_paper"]


@dataclass(frozen=True, slots=True)
class Notification:
    """A notification with what its page shows: the paper, who replied, which collection."""

    notification_id: int
    kind: NotificationKind
    created_at: datetime
    read_at: datetime | None
    paper_id: str | None
    paper_title: str | None
    comment_id: int | None
    actor: str | None  # who replied
    collection_id: int | None
    collection_name: str | None
    collection_slug: str | None
    author_name: str | None  # the followed author, as written on the paper

    def describe(self) -> tuple[str, str]:
        """What happened, in a sentence, and the path to see it."""
        title = latex_to_text(self.paper_title or "a paper")
        paper = f"/papers/{self.paper_id}"
        if self.kind == "reply":
            who = self.actor or "someone"
            return (
                f"{who} replied to your comment on “{title}”",
                f"{paper}#comment-{self.comment_id}",
            )
        if self.kind == "author_paper":
            return f"New paper by {self.author_name or 'an author you follow'}: “{title}”", paper
        name = self.collection_name or "a collection you follow"
        return f"“{title}” was added to {name}", paper


@dataclass(frozen=True, slots=True)
class CreatedNotifications:
    """What a run of the notifications task stored."""

    author_papers: int
    collection_papers: int


def _insert(conn: sa.Connection, values: dict[str, Any]) -> bool:
    statement = (
        conflict_insert(conn, notifications)
        .values(values)
        .on_conflict_do_nothing(index_elements=["user_id", "subject"])
        .returning(notifications.c.notification_id)
    )
    return conn.execute(statement).first() is not None


# Rows per INSERT of the notifications task: six columns each stays far below SQLite's limit
# of bound parameters per statement.
_INSERT_ROWS = 500


def _insert_many(conn: sa.Connection, rows: list[dict[str, Any]]) -> int:
    """Store rows that all have the same columns, a multi-row INSERT per _INSERT_ROWS, skipping
    those that exist; returns how many were new."""
    stored = 0
    for start in range(0, len(rows), _INSERT_ROWS):
        statement = (
            conflict_insert(conn, notifications)
            .values(rows[start : start + _INSERT_ROWS])
            .on_conflict_do_nothing(index_elements=["user_id", "subject"])
            .returning(notifications.c.notification_id)
        )
        stored += len(conn.execute(statement).all())
    return stored


def notify_reply(
    conn: sa.Connection,
    *,
    reply_id: int,
    replied_to: int,
    replier_id: int,
    paper_id: str,
    now: datetime,
) -> bool:
    """Tell the author of comment `replied_to` about reply `reply_id` (in the caller's
    transaction); nothing for a reply to one's own comment or to a deleted one."""
    row = conn.execute(
        sa.select(comments.c.user_id, comments.c.deleted).where(comments.c.comment_id == replied_to)
    ).first()
    if row is None or row[1] or row[0] == replier_id:
        return False
    values = {
        "user_id": row[0],
        "kind": "reply",
        "subject": f"reply:{reply_id}",
        "paper_id": paper_id,
        "comment_id": reply_id,
        "created_at": now,
    }
    return _insert(conn, values)


def create_follow_notifications(
    engine: sa.Engine, *, since_day: date, since: datetime, now: datetime
) -> CreatedNotifications:
    """Notify followers of new papers by the authors they follow (visible papers listed from
    `since_day` on and stored after the follow began) and of papers added, by someone else,
    to the public collections they follow (from `since` on, after the follow began). Safe to
    run again: what exists is not stored twice."""
    with engine.begin() as conn:
        authors = _insert_many(conn, _author_papers(conn, since_day, now))
        added = _insert_many(conn, _collection_papers(conn, since, now))
    return CreatedNotifications(author_papers=authors, collection_papers=added)


def _author_papers(conn: sa.Connection, since_day: date, now: datetime) -> list[dict[str, Any]]:
    query = (
        sa.select(follows.c.user_id, paper_authors.c.paper_id, paper_authors.c.name_key)
        .join(paper_authors, paper_authors.c.name_key == follows.c.target)
        .join(papers, papers.c.paper_id == paper_authors.c.paper_id)
        .where(
            follows.c.kind == "author",
            papers.c.hidden == sa.false(),
            papers.c.list_date >= since_day,
            papers.c.created_at >= follows.c.created_at,
        )
        .order_by(follows.c.user_id, paper_authors.c.paper_id, paper_authors.c.position)
    )
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for user_id, paper_id, key in conn.execute(query):
        rows.setdefault(  # one notification per paper, however many followed authors it has
            (user_id, paper_id),
            {
                "user_id": user_id,
                "kind": "author_paper",
                "subject": f"author-paper:{paper_id}",
                "paper_id": paper_id,
                "author_key": key,
                "created_at": now,
            },
        )
    return list(rows.values())


def _collection_papers(conn: sa.Connection, since: datetime, now: datetime) -> list[dict[str, Any]]:
    query = (
        sa.select(follows.c.user_id, collection_items.c.collection_id, collection_items.c.paper_id)
        .join(collection_items, collection_items.c.collection_id == follows.c.collection_id)
        .join(collections, collections.c.collection_id == follows.c.collection_id)
        .where(
            follows.c.kind == "collection",
            collections.c.visibility == "public",
            collection_items.c.added_at >= since,
            collection_items.c.added_at >= follows.c.created_at,
            sa.or_(
                collection_items.c.added_by.is_(None),
                collection_items.c.added_by != follows.c.user_id,
            ),
        )
    )
    return [
        {
            "user_id": user_id,
            "kind": "collection_paper",
            "subject": f"collection-paper:{collection_id}:{paper_id}",
            "paper_id": paper_id,
            "collection_id": collection_id,
            "created_at": now,
        }
        for user_id, collection_id, paper_id in conn.execute(query)
    ]


_reply = comments.alias("reply")
# The paper and the reply a notification is about, when it is about one (both may be absent).
_ABOUT = notifications.outerjoin(papers, papers.c.paper_id == notifications.c.paper_id).outerjoin(
    _reply, _reply.c.comment_id == notifications.c.comment_id
)
# Nothing about a paper a moderator hid, or a reply hidden or deleted since: no title, no link
# to a page that is gone.
_SHOWN = sa.and_(
    sa.or_(notifications.c.paper_id.is_(None), papers.c.hidden == sa.false()),
    sa.or_(
        notifications.c.comment_id.is_(None),
        sa.and_(_reply.c.hidden == sa.false(), _reply.c.deleted == sa.false()),
    ),
)


def count_unread(engine: sa.Engine, *, user_id: int) -> int:
    """How many of the reader's notifications are unread and shown: one COUNT over an index
    (a reader's unread rows), each joined to its paper and reply by primary key."""
    query = (
        sa.select(sa.func.count())
        .select_from(_ABOUT)
        .where(notifications.c.user_id == user_id, notifications.c.read_at.is_(None), _SHOWN)
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _select() -> sa.Select[Any]:
    replier = users.alias("replier")
    author_name = (
        sa.select(sa.func.max(paper_authors.c.name))
        .where(
            paper_authors.c.paper_id == notifications.c.paper_id,
            paper_authors.c.name_key == notifications.c.author_key,
        )
        .scalar_subquery()
    )
    return (
        sa.select(
            notifications,
            papers.c.title.label("paper_title"),
            replier.c.username.label("actor"),
            collections.c.name.label("collection_name"),
            collections.c.slug.label("collection_slug"),
            author_name.label("author_name"),
        )
        .select_from(_ABOUT)
        .outerjoin(replier, replier.c.user_id == _reply.c.user_id)
        .outerjoin(collections, collections.c.collection_id == notifications.c.collection_id)
        .where(_SHOWN)
    )


def _notification(row: sa.RowMapping) -> Notification:
    read_at = row["read_at"]
    return Notification(
        notification_id=int(row["notification_id"]),
        kind=row["kind"],
        created_at=as_utc(row["created_at"]),
        read_at=as_utc(read_at) if read_at else None,
        paper_id=row["paper_id"],
        paper_title=row["paper_title"],
        comment_id=row["comment_id"],
        actor=row["actor"],
        collection_id=row["collection_id"],
        collection_name=row["collection_name"],
        collection_slug=row["collection_slug"],
        author_name=row["author_name"],
    )


def list_notifications(
    engine: sa.Engine, *, user_id: int, limit: int, offset: int = 0, unread_only: bool = False
) -> tuple[list[Notification], int]:
    """The reader's notifications, newest first, and how many there are (both without those
    about a hidden paper or reply)."""
    condition = notifications.c.user_id == user_id
    if unread_only:
        condition = sa.and_(condition, notifications.c.read_at.is_(None))
    query = (
        _select()
        .where(condition)
        .order_by(notifications.c.created_at.desc(), notifications.c.notification_id.desc())
        .limit(limit)
        .offset(offset)
    )
    count = sa.select(sa.func.count()).select_from(_ABOUT).where(condition, _SHOWN)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
        total = int(conn.execute(count).scalar_one())
    return [_notification(row) for row in rows], total


def get_notification(
    engine: sa.Engine, *, user_id: int, notification_id: int
) -> Notification | None:
    """One of the reader's notifications, if it is theirs and shown."""
    query = _select().where(
        notifications.c.user_id == user_id, notifications.c.notification_id == notification_id
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return _notification(row) if row else None


def mark_read(
    engine: sa.Engine, *, user_id: int, now: datetime, notification_ids: Iterable[int] | None = None
) -> int:
    """Mark the reader's notifications read (all of them, or those named); how many changed.
    Another reader's ids change nothing."""
    condition = sa.and_(notifications.c.user_id == user_id, notifications.c.read_at.is_(None))
    if notification_ids is not None:
        condition = sa.and_(condition, notifications.c.notification_id.in_(list(notification_ids)))
    statement = sa.update(notifications).where(condition).values(read_at=now)
    with engine.begin() as conn:
        return int(conn.execute(statement).rowcount)


# -- by email ----------------------------------------------------------------------------------


def notifications_in_digest(engine: sa.Engine, *, user_id: int) -> bool:
    """Whether the reader chose to get their unread notifications in their digest."""
    query = sa.select(users.c.notifications_in_digest).where(users.c.user_id == user_id)
    with engine.connect() as conn:
        return bool(conn.execute(query).scalar_one_or_none())


def set_notifications_in_digest(engine: sa.Engine, *, user_id: int, on: bool) -> bool:
    """Turn the choice on or off; True if it changed."""
    statement = (
        sa.update(users)
        .where(users.c.user_id == user_id, users.c.notifications_in_digest != on)
        .values(notifications_in_digest=on)
    )
    with engine.begin() as conn:
        return conn.execute(statement).rowcount == 1


def notifications_to_email(engine: sa.Engine, *, user_id: int, limit: int) -> list[Notification]:
    """The reader's shown, unread notifications that no digest has held yet, newest first (at
    most `limit`); none unless the reader chose to get them by email."""
    owner = users.alias("owner")
    query = (
        _select()
        .join(owner, owner.c.user_id == notifications.c.user_id)
        .where(
            notifications.c.user_id == user_id,
            owner.c.notifications_in_digest == sa.true(),
            notifications.c.read_at.is_(None),
            notifications.c.emailed_at.is_(None),
        )
        .order_by(notifications.c.created_at.desc(), notifications.c.notification_id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [_notification(row) for row in rows]


def mark_emailed(
    conn: sa.Connection, *, notification_ids: Iterable[int], message_key: str, now: datetime
) -> int:
    """Record that the digest `message_key` holds these notifications, in the caller's
    transaction (the one that stores the digest); how many were not emailed before."""
    ids = list(set(notification_ids))
    if not ids:
        return 0
    statement = (
        sa.update(notifications)
        .where(
            notifications.c.notification_id.in_(ids),
            notifications.c.emailed_at.is_(None),
        )
        .values(emailed_at=now, emailed_key=message_key)
    )
    return int(conn.execute(statement).rowcount)
