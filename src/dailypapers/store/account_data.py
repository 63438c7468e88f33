"""A reader's own data as a whole: exported as plain rows, or deleted in one transaction.

What deleting an account does (docs/web.md, "Deleting an account"):

- comments stay where they are, shown as by "[deleted]": replies keep their thread, as on
  Hacker News and Reddit; a reader who wants a comment gone deletes it first;
- votes are removed and each paper's score and hotness recounted;
- saved / "not interested" marks, the For you model, follows and notifications are removed;
- collections the reader owns alone are deleted (private, unlisted and public alike); a
  collection shared with editors passes to the editor who joined first (renamed "Name (2)"
  if they own one of that name), so a reading group keeps its list; memberships in other
  collections end and papers the reader added to them stay, no longer credited;
- the email subscription and its queued mail, sessions, API tokens, reset and address tokens
  and queued account mail are removed;
- papers the reader submitted stay on their lists, no longer credited;
- the account row stays as a placeholder named "[deleted]" with no address, no password and
  no admin role, so the kept comments have an author row; the name is free again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa

from dailypapers.store.collections import MAX_NAME_CHARS, name_key
from dailypapers.store.lists import refresh_hotness
from dailypapers.store.schema import (
    account_tokens,
    api_tokens,
    collection_items,
    collection_members,
    collections,
    comments,
    follows,
    notifications,
    outbox,
    paper_marks,
    papers,
    recommender_models,
    submissions,
    subscriptions,
    user_sessions,
    users,
    votes,
)

DELETED_NAME = "[deleted]"
# Paper ids per statement when recounting: well under every driver's parameter limit.
CHUNK = 500


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


def _remove_votes(conn: sa.Connection, user_id: int) -> int:
    voted = list(conn.execute(sa.select(votes.c.paper_id).where(votes.c.user_id == user_id)))
    paper_ids = sorted(str(row[0]) for row in voted)
    conn.execute(sa.delete(votes).where(votes.c.user_id == user_id))
    for chunk in _chunks(paper_ids):
        conn.execute(
            sa.update(papers)
            .where(papers.c.paper_id.in_(chunk))
            .values(local_votes=papers.c.local_votes - 1, score=papers.c.score - 1)
        )
        refresh_hotness(conn, paper_ids=chunk)
    return len(paper_ids)


def _free_name(conn: sa.Connection, collection_id: int, heir: int) -> dict[str, str]:
    """The collection's name, or "name (2)", "(3)" ... when the heir owns one of that name."""
    name = conn.execute(
        sa.select(collections.c.name).where(collections.c.collection_id == collection_id)
    ).scalar_one()
    taken = set(
        conn.execute(
            sa.select(collections.c.name_key).where(collections.c.owner_id == heir)
        ).scalars()
    )
    candidate, number = name, 1
    while name_key(candidate) in taken:
        number += 1
        suffix = f" ({number})"
        candidate = name[: MAX_NAME_CHARS - len(suffix)] + suffix
    return {"name": candidate, "name_key": name_key(candidate)}


def _hand_over_or_delete_collections(conn: sa.Connection, user_id: int) -> int:
    """Collections owned alone are deleted; a shared one passes to its first editor."""
    owned = conn.execute(
        sa.select(collections.c.collection_id).where(collections.c.owner_id == user_id)
    ).scalars()
    deleted = 0
    for collection_id in list(owned):
        heir = conn.execute(
            sa.select(collection_members.c.user_id)
            .where(
                collection_members.c.collection_id == collection_id,
                collection_members.c.user_id != user_id,
            )
            .order_by(collection_members.c.added_at, collection_members.c.user_id)
            .limit(1)
        ).scalar()
        if heir is None:
            for table in (collection_items, collection_members, follows, notifications):
                conn.execute(sa.delete(table).where(table.c.collection_id == collection_id))
            conn.execute(sa.delete(collections).where(collections.c.collection_id == collection_id))
            deleted += 1
            continue
        conn.execute(
            sa.update(collections)
            .where(collections.c.collection_id == collection_id)
            .values(owner_id=heir, **_free_name(conn, collection_id, heir))
        )
        conn.execute(
            sa.update(collection_members)
            .where(
                collection_members.c.collection_id == collection_id,
                collection_members.c.user_id == heir,
            )
            .values(role="owner")
        )
    conn.execute(sa.delete(collection_members).where(collection_members.c.user_id == user_id))
    conn.execute(
        sa.update(collection_items)
        .where(collection_items.c.added_by == user_id)
        .values(added_by=None)
    )
    return deleted


def delete_account(engine: sa.Engine, *, user_id: int, now: datetime) -> bool:
    """Delete an account as the module docstring says, in one transaction; False if there is
    no such account (or it is deleted already)."""
    with engine.begin() as conn:
        # The placeholder row is written first: SQLite takes its write lock at once, and a
        # second delete of the same account finds nothing to do.
        renamed = conn.execute(
            sa.update(users)
            .where(users.c.user_id == user_id, users.c.deleted_at.is_(None))
            .values(
                username=DELETED_NAME,
                username_key=f"{DELETED_NAME}{user_id}"[:40],
                email=None,
                password_hash="",
                is_admin=False,
                deleted_at=now,
                disabled_at=now,
            )
            .returning(users.c.username)
        ).first()
        if renamed is None:
            return False
        _remove_votes(conn, user_id)
        _hand_over_or_delete_collections(conn, user_id)
        submitted = sa.select(submissions.c.paper_id).where(submissions.c.user_id == user_id)
        conn.execute(
            sa.update(papers).where(papers.c.paper_id.in_(submitted)).values(submitted_by=None)
        )
        mine = sa.select(subscriptions.c.subscription_id).where(subscriptions.c.user_id == user_id)
        conn.execute(sa.delete(outbox).where(outbox.c.subscription_id.in_(mine)))
        conn.execute(sa.delete(subscriptions).where(subscriptions.c.user_id == user_id))
        for table in (
            paper_marks,
            recommender_models,
            follows,
            notifications,
            user_sessions,
            api_tokens,
            account_tokens,
            outbox,
        ):
            conn.execute(sa.delete(table).where(table.c.user_id == user_id))
    return True


# -- export -----------------------------------------------------------------------------------


def _rows(conn: sa.Connection, query: sa.Select[Any]) -> list[dict[str, Any]]:
    # Plain str keys (column names are a str subclass, which JSON encoders may refuse).
    return [
        {str(key): value for key, value in row.items()} for row in conn.execute(query).mappings()
    ]


def _collections(conn: sa.Connection, user_id: int) -> list[dict[str, Any]]:
    query = (
        sa.select(
            collections.c.collection_id,
            collections.c.name,
            collections.c.description,
            collections.c.visibility,
            collection_members.c.role,
            collections.c.created_at,
            collections.c.updated_at,
        )
        .join(collection_members, collection_members.c.collection_id == collections.c.collection_id)
        .where(collection_members.c.user_id == user_id)
        .order_by(collections.c.collection_id)
    )
    found = _rows(conn, query)
    for collection in found:
        items = (
            sa.select(
                collection_items.c.paper_id,
                papers.c.title,
                collection_items.c.position,
                collection_items.c.note,
                collection_items.c.added_at,
            )
            .join(papers, papers.c.paper_id == collection_items.c.paper_id)
            .where(collection_items.c.collection_id == collection["collection_id"])
            .order_by(collection_items.c.position)
        )
        collection["papers"] = _rows(conn, items)
    return found


def _subscription(conn: sa.Connection, user_id: int) -> dict[str, Any] | None:
    query = sa.select(
        subscriptions.c.email,
        subscriptions.c.status,
        subscriptions.c.frequency,
        subscriptions.c.skip_weekends,
        subscriptions.c.include_trending,
        subscriptions.c.include_for_you,
        subscriptions.c.send_empty,
        subscriptions.c.categories,
        subscriptions.c.searches,
        subscriptions.c.created_at,
        subscriptions.c.confirmed_at,
    ).where(subscriptions.c.user_id == user_id)
    rows = _rows(conn, query)
    if not rows:
        return None
    found = rows[0]
    for name in ("categories", "searches"):  # stored as JSON text, as on papers
        found[name] = orjson.loads(found[name])
    return found


def export_account(engine: sa.Engine, *, user_id: int) -> dict[str, Any] | None:
    """Everything the site keeps about a reader, as plain rows (never the password hash or a
    token); None if there is no such account."""
    account = sa.select(
        users.c.username,
        users.c.email,
        users.c.is_admin,
        users.c.created_at,
        users.c.last_login_at,
        users.c.notifications_in_digest,
    ).where(users.c.user_id == user_id, users.c.deleted_at.is_(None))
    with engine.connect() as conn:
        found = _rows(conn, account)
        if not found:
            return None
        by_paper = papers.c.paper_id
        return {
            "account": found[0],
            "votes": _rows(
                conn,
                sa.select(votes.c.paper_id, papers.c.title, votes.c.created_at)
                .join(papers, by_paper == votes.c.paper_id)
                .where(votes.c.user_id == user_id)
                .order_by(votes.c.created_at, votes.c.paper_id),
            ),
            "marks": _rows(
                conn,
                sa.select(
                    paper_marks.c.paper_id,
                    papers.c.title,
                    paper_marks.c.mark,
                    paper_marks.c.created_at,
                )
                .join(papers, by_paper == paper_marks.c.paper_id)
                .where(paper_marks.c.user_id == user_id)
                .order_by(paper_marks.c.created_at, paper_marks.c.paper_id),
            ),
            "collections": _collections(conn, user_id),
            "comments": _rows(
                conn,
                sa.select(
                    comments.c.comment_id,
                    comments.c.paper_id,
                    comments.c.parent_id,
                    sa.case((comments.c.deleted, ""), else_=comments.c.body).label("body"),
                    comments.c.created_at,
                    comments.c.edited_at,
                    comments.c.deleted,
                    comments.c.hidden,
                )
                .where(comments.c.user_id == user_id)
                .order_by(comments.c.comment_id),
            ),
            "submissions": _rows(
                conn,
                sa.select(
                    submissions.c.paper_id, submissions.c.list_date, submissions.c.submitted_at
                )
                .where(submissions.c.user_id == user_id)
                .order_by(submissions.c.submitted_at),
            ),
            "follows": _rows(
                conn,
                sa.select(follows.c.kind, follows.c.target, follows.c.label, follows.c.created_at)
                .where(follows.c.user_id == user_id)
                .order_by(follows.c.created_at, follows.c.kind, follows.c.target),
            ),
            "subscription": _subscription(conn, user_id),
            "api_tokens": _rows(
                conn,
                sa.select(api_tokens.c.name, api_tokens.c.created_at)
                .where(api_tokens.c.user_id == user_id)
                .order_by(api_tokens.c.created_at),
            ),
        }
