"""Repository functions for comments: one level of replies, soft deletion, moderation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from dailypapers.dates import as_utc
from dailypapers.models import Comment
from dailypapers.store.notifications import notify_reply
from dailypapers.store.schema import comments, papers, users
from dailypapers.store.votes import PaperMissing


class CommentMissing(LookupError):
    """No such comment (on this paper)."""


class NotAuthor(PermissionError):
    """Someone other than a comment's author tried to change it."""


def _comment(row: sa.RowMapping) -> Comment:
    edited = row["edited_at"]
    return Comment(
        comment_id=row["comment_id"],
        paper_id=row["paper_id"],
        user_id=row["user_id"],
        username=row["username"],
        parent_id=row["parent_id"],
        body="" if row["deleted"] else row["body"],
        body_html="" if row["deleted"] else row["body_html"],
        created_at=as_utc(row["created_at"]),
        edited_at=as_utc(edited) if edited else None,
        deleted=bool(row["deleted"]),
        hidden=bool(row["hidden"]),
    )


def _select() -> sa.Select[Any]:
    return sa.select(comments, users.c.username).join(users, users.c.user_id == comments.c.user_id)


def visible_comment_count(paper_id: Any) -> sa.ScalarSelect[int]:
    """The number of comments a reader sees on the paper: not deleted, not hidden, and not a
    reply under a hidden comment (list_comments leaves those out with their thread)."""
    parent = comments.alias("parent")
    return (
        sa.select(sa.func.count())
        .select_from(comments.outerjoin(parent, parent.c.comment_id == comments.c.parent_id))
        .where(
            comments.c.paper_id == paper_id,
            sa.not_(comments.c.deleted),
            sa.not_(comments.c.hidden),
            sa.or_(parent.c.hidden.is_(None), sa.not_(parent.c.hidden)),
        )
        .scalar_subquery()
    )


def _recount(conn: sa.Connection, paper_id: str) -> None:
    """Store the paper's visible comment count: the one place local_comments is written, so
    adding, deleting, hiding and showing again can never leave it counting what nobody sees."""
    conn.execute(
        sa.update(papers)
        .where(papers.c.paper_id == paper_id)
        .values(local_comments=visible_comment_count(paper_id))
    )


def recount_comments(engine: sa.Engine) -> int:
    """Correct every stored comment count that disagrees with the visible comments (counts
    kept before hidden comments stopped counting); returns how many papers changed."""
    visible = visible_comment_count(papers.c.paper_id)
    statement = (
        sa.update(papers)
        .where(
            papers.c.paper_id.in_(sa.select(comments.c.paper_id).distinct()),
            papers.c.local_comments != visible,
        )
        .values(local_comments=visible)
    )
    with engine.begin() as conn:
        return int(conn.execute(statement).rowcount)


def add_comment(
    engine: sa.Engine,
    *,
    paper_id: str,
    user_id: int,
    body: str,
    body_html: str,
    now: datetime,
    parent_id: int | None = None,
) -> Comment:
    """Store a comment; a reply to a reply joins its thread (replies are one level deep). The
    author of the comment replied to is notified in the same transaction."""
    replied_to = parent_id
    with engine.begin() as conn:
        # A write comes first so SQLite takes its write lock before any read (a transaction
        # that has read cannot take it once another has written).
        _recount(conn, paper_id)
        if parent_id is not None:
            parent = conn.execute(
                sa.select(comments.c.paper_id, comments.c.parent_id).where(
                    comments.c.comment_id == parent_id
                )
            ).first()
            if parent is None or parent[0] != paper_id:
                raise CommentMissing(f"comment {parent_id} is not on paper {paper_id}")
            parent_id = parent[1] or parent_id
        values = {
            "paper_id": paper_id,
            "user_id": user_id,
            "parent_id": parent_id,
            "body": body,
            "body_html": body_html,
            "created_at": now,
        }
        try:
            key = conn.execute(sa.insert(comments).values(values)).inserted_primary_key
        except sa.exc.IntegrityError:
            raise PaperMissing(paper_id) from None
        assert key is not None
        _recount(conn, paper_id)
        if replied_to is not None:
            notify_reply(
                conn,
                reply_id=key[0],
                replied_to=replied_to,
                replier_id=user_id,
                paper_id=paper_id,
                now=now,
            )
        row = conn.execute(_select().where(comments.c.comment_id == key[0])).mappings().one()
    return _comment(row)


def get_comment(engine: sa.Engine, *, comment_id: int) -> Comment | None:
    with engine.connect() as conn:
        row = conn.execute(_select().where(comments.c.comment_id == comment_id)).mappings().first()
    return _comment(row) if row else None


def _owned(conn: sa.Connection, comment_id: int, user_id: int) -> str:
    """The paper of a live comment the user wrote; CommentMissing or NotAuthor otherwise."""
    row = conn.execute(
        sa.select(comments.c.user_id, comments.c.paper_id, comments.c.deleted).where(
            comments.c.comment_id == comment_id
        )
    ).first()
    if row is None or row[2]:
        raise CommentMissing(f"no comment {comment_id}")
    if row[0] != user_id:
        raise NotAuthor(f"comment {comment_id} belongs to another user")
    return str(row[1])


def edit_comment(
    engine: sa.Engine, *, comment_id: int, user_id: int, body: str, body_html: str, now: datetime
) -> Comment:
    """Change one's own comment; NotAuthor for anyone else's."""
    with engine.begin() as conn:
        _owned(conn, comment_id, user_id)
        conn.execute(
            sa.update(comments)
            .where(comments.c.comment_id == comment_id)
            .values(body=body, body_html=body_html, edited_at=now)
        )
        row = conn.execute(_select().where(comments.c.comment_id == comment_id)).mappings().one()
    return _comment(row)


def delete_comment(engine: sa.Engine, *, comment_id: int, user_id: int) -> None:
    """Delete one's own comment; its replies stay, under a "deleted" placeholder."""
    with engine.begin() as conn:
        paper_id = _owned(conn, comment_id, user_id)
        conn.execute(
            sa.update(comments)
            .where(comments.c.comment_id == comment_id)
            .values(deleted=True, body="", body_html="")
        )
        _recount(conn, paper_id)


def set_comment_hidden(engine: sa.Engine, *, comment_id: int, hidden: bool) -> bool:
    """Hide a comment from everyone but admins (or show it again); False if there is none."""
    statement = (
        sa.update(comments)
        .where(comments.c.comment_id == comment_id)
        .values(hidden=hidden)
        .returning(comments.c.paper_id)
    )
    with engine.begin() as conn:
        paper_id = conn.execute(statement).scalar()
        if paper_id is None:
            return False
        _recount(conn, paper_id)
    return True


def comment_states(engine: sa.Engine, *, paper_id: str) -> list[tuple[Any, ...]]:
    """Each comment on a paper as (id, edited at, deleted, hidden, its author's name), oldest
    first: what changes when the paper's threads, as a page shows them, change."""
    columns = (comments.c.comment_id, comments.c.edited_at, comments.c.deleted, comments.c.hidden)
    query = (
        sa.select(*columns, users.c.username)
        .join(users, users.c.user_id == comments.c.user_id)
        .where(comments.c.paper_id == paper_id)
        .order_by(comments.c.comment_id)
    )
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def list_comments(
    engine: sa.Engine, *, paper_id: str, include_hidden: bool = False
) -> list[Comment]:
    """A paper's threads, oldest first, each with its replies."""
    query = _select().where(comments.c.paper_id == paper_id).order_by(comments.c.comment_id)
    with engine.connect() as conn:
        rows = [_comment(row) for row in conn.execute(query).mappings()]
    threads: dict[int, Comment] = {}
    for comment in rows:
        if comment.hidden and not include_hidden:
            continue
        parent = threads.get(comment.parent_id) if comment.parent_id else None
        if parent is not None:
            parent.replies.append(comment)
        elif comment.parent_id is None:
            threads[comment.comment_id] = comment
    return [t for t in threads.values() if not (t.deleted and not t.replies)]
