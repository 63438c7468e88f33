"""Repository functions for the outbox: durable messages with a deterministic key each.

A digest is built into the outbox once per (subscriber, period): the key is the primary key,
so a rerun or a second node building the same digest inserts nothing. Senders claim due
messages for a lease (a sender that dies is taken over when it ends), record the outcome of
each message as soon as the SMTP server answers, and retry temporary failures with backoff.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import orjson
import sqlalchemy as sa

from dailypapers.dates import as_utc
from dailypapers.store.dialects import conflict_insert
from dailypapers.store.notifications import mark_emailed
from dailypapers.store.schema import notifications, outbox, papers, sent_papers, subscriptions

# An "account" message (password reset, address change) belongs to a user, not a subscription.
MessageKind = Literal["digest", "confirm", "account"]
OutboxStatus = Literal["pending", "sending", "sent", "failed", "empty", "cancelled"]
OUTBOX_STATUSES: tuple[OutboxStatus, ...] = (
    "pending",
    "sending",
    "sent",
    "failed",
    "empty",
    "cancelled",
)


@dataclass(slots=True, frozen=True)
class OutboxMessage:
    """A message as built: everything needed to send it, the same way on every attempt."""

    message_key: str
    kind: MessageKind
    subscription_id: int | None
    recipient: str
    subject: str
    body_text: str
    body_html: str
    headers: dict[str, str]
    period: str | None = None
    paper_ids: tuple[str, ...] = ()
    user_id: int | None = None
    notification_ids: tuple[int, ...] = ()  # a digest's notifications (marked emailed with it)


class NotificationsTaken(RuntimeError):
    """Another digest holds some of this digest's notifications already: build it again."""


@dataclass(slots=True, frozen=True)
class ClaimedMessage:
    message: OutboxMessage
    attempts: int


@dataclass(slots=True, frozen=True)
class OutboxEntry:
    """A row as the admin sees it."""

    message_key: str
    kind: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def _values(message: OutboxMessage, status: OutboxStatus, now: datetime) -> dict[str, Any]:
    return {
        "message_key": message.message_key,
        "kind": message.kind,
        "subscription_id": message.subscription_id,
        "user_id": message.user_id,
        "period": message.period,
        "recipient": message.recipient,
        "subject": message.subject,
        "headers": orjson.dumps(message.headers).decode(),
        "body_text": message.body_text,
        "body_html": message.body_html,
        "paper_count": len(message.paper_ids),
        "status": status,
        "next_attempt_at": now,
        "created_at": now,
    }


def queue_message(
    engine: sa.Engine, *, message: OutboxMessage, now: datetime, empty: bool = False
) -> bool:
    """Put a message in the outbox with its papers marked sent to the subscriber and its
    notifications marked emailed, in one transaction; False (and nothing written) if a message
    with its key exists already. NotificationsTaken (and nothing written) if another digest
    got one of its notifications first.

    `empty` records a period that had nothing to send, so it is not rebuilt and not sent.
    """
    status: OutboxStatus = "empty" if empty else "pending"
    with engine.begin() as conn:
        insert = (
            conflict_insert(conn, outbox)
            .values(_values(message, status, now))
            .on_conflict_do_nothing()
            .returning(outbox.c.message_key)
        )
        if conn.execute(insert).first() is None:
            return False
        if message.paper_ids:
            rows = [
                {
                    "subscription_id": message.subscription_id,
                    "paper_id": paper_id,
                    "message_key": message.message_key,
                }
                for paper_id in message.paper_ids
            ]
            conn.execute(conflict_insert(conn, sent_papers).on_conflict_do_nothing(), rows)
        if message.notification_ids:
            marked = mark_emailed(
                conn,
                notification_ids=message.notification_ids,
                message_key=message.message_key,
                now=now,
            )
            if marked != len(set(message.notification_ids)):
                raise NotificationsTaken(f"{message.message_key}: a notification was emailed")
    return True


def existing_keys(engine: sa.Engine, *, keys: Sequence[str]) -> set[str]:
    """Which of `keys` are in the outbox already (in any state)."""
    if not keys:
        return set()
    query = sa.select(outbox.c.message_key).where(outbox.c.message_key.in_(list(keys)))
    with engine.connect() as conn:
        return set(conn.execute(query).scalars())


def sent_paper_ids(
    engine: sa.Engine, *, subscription_ids: Sequence[int], listed_since: date
) -> dict[int, set[str]]:
    """Papers listed since `listed_since` that each subscriber has been sent already."""
    query = (
        sa.select(sent_papers.c.subscription_id, sent_papers.c.paper_id)
        .join(papers, papers.c.paper_id == sent_papers.c.paper_id)
        .where(
            sent_papers.c.subscription_id.in_(list(subscription_ids)),
            papers.c.list_date >= listed_since,
        )
    )
    found: dict[int, set[str]] = {}
    with engine.connect() as conn:
        for subscription_id, paper_id in conn.execute(query):
            found.setdefault(int(subscription_id), set()).add(str(paper_id))
    return found


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(outbox.c.status == "pending", outbox.c.next_attempt_at <= now),
        # A sender that claimed these died (or hangs) past its lease: take them over.
        sa.and_(outbox.c.status == "sending", outbox.c.lease_until < now),
    )


def claim_due_messages(
    engine: sa.Engine,
    *,
    token: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    recipient: str | None = None,
) -> list[ClaimedMessage]:
    """Claim up to `limit` due messages for this sender (its `token`) until `lease_until`.

    Each claim counts as an attempt, so a message that kills its sender every time still
    ends as failed. Two senders never hold the same message.
    """
    due = _due(now)
    if recipient is not None:
        due = sa.and_(due, sa.func.lower(outbox.c.recipient) == recipient.lower())
    picked = (
        sa.select(outbox.c.message_key).where(due).order_by(outbox.c.next_attempt_at).limit(limit)
    )
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            picked = picked.with_for_update(skip_locked=True)
        statement = (
            sa.update(outbox)
            .where(outbox.c.message_key.in_(picked.scalar_subquery()), due)
            .values(
                status="sending",
                claim_token=token,
                lease_until=lease_until,
                attempts=outbox.c.attempts + 1,
            )
            .returning(*outbox.c)
        )
        rows = conn.execute(statement).mappings().all()
    claimed = [ClaimedMessage(_message(row), int(row["attempts"])) for row in rows]
    return sorted(claimed, key=lambda c: c.message.message_key)


def _message(row: sa.RowMapping) -> OutboxMessage:
    return OutboxMessage(
        message_key=row["message_key"],
        kind=row["kind"],
        subscription_id=row["subscription_id"],
        recipient=row["recipient"],
        subject=row["subject"],
        body_text=row["body_text"],
        body_html=row["body_html"],
        headers=orjson.loads(row["headers"]),
        period=row["period"],
        user_id=row["user_id"],
    )


def _finish(
    engine: sa.Engine,
    *,
    key: str,
    token: str,
    values: dict[str, Any],
    undelivered: bool = False,
) -> bool:
    # Only the sender holding the claim may record the outcome (a slow sender whose lease
    # ran out must not overwrite what the sender that took over recorded).
    statement = (
        sa.update(outbox)
        .where(outbox.c.message_key == key, outbox.c.claim_token == token)
        .values(claim_token=None, lease_until=None, **values)
    )
    with engine.begin() as conn:
        finished = conn.execute(statement).rowcount == 1
        if finished and undelivered:
            # The notifications this digest was to tell go in the reader's next one instead,
            # and its papers count as not sent (a later digest whose window holds them sends
            # them).
            release = (
                sa.update(notifications)
                .where(notifications.c.emailed_key == key)
                .values(emailed_at=None, emailed_key=None)
            )
            conn.execute(release)
            conn.execute(sa.delete(sent_papers).where(sent_papers.c.message_key == key))
        return finished


ONE_TIME_LINK_REMOVED = "(removed once sent: it held a one-time link)"


def mark_sent(engine: sa.Engine, *, key: str, token: str, now: datetime) -> bool:
    """Accepted by the server: the errors of earlier attempts no longer apply. An account
    message's body held a reset or confirmation link: it is not kept once sent."""
    values: dict[str, Any] = {"status": "sent", "sent_at": now, "last_error": None}
    for body in (outbox.c.body_text, outbox.c.body_html):
        values[body.name] = sa.case((outbox.c.kind == "account", ONE_TIME_LINK_REMOVED), else_=body)
    return _finish(engine, key=key, token=token, values=values)


def mark_failed(engine: sa.Engine, *, key: str, token: str, error: str) -> bool:
    """A permanent failure: recorded for the admin, never retried. The notifications and the
    papers it held are released for the reader's next digest (the notifications are still
    unread on the site)."""
    values = {"status": "failed", "last_error": error}
    return _finish(engine, key=key, token=token, values=values, undelivered=True)


def mark_cancelled(engine: sa.Engine, *, key: str, token: str, reason: str) -> bool:
    values = {"status": "cancelled", "last_error": reason}
    return _finish(engine, key=key, token=token, values=values, undelivered=True)


def mark_retry(
    engine: sa.Engine, *, key: str, token: str, error: str, next_attempt_at: datetime
) -> bool:
    """A temporary failure: due again at `next_attempt_at`."""
    values = {"status": "pending", "last_error": error, "next_attempt_at": next_attempt_at}
    return _finish(engine, key=key, token=token, values=values)


def subscription_statuses(engine: sa.Engine, *, subscription_ids: Sequence[int]) -> dict[int, str]:
    query = sa.select(subscriptions.c.subscription_id, subscriptions.c.status).where(
        subscriptions.c.subscription_id.in_(list(subscription_ids))
    )
    with engine.connect() as conn:
        return {int(row[0]): str(row[1]) for row in conn.execute(query)}


def count_outbox(engine: sa.Engine) -> dict[str, int]:
    """Messages in each state."""
    query = sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)
    with engine.connect() as conn:
        counts = {str(row[0]): int(row[1]) for row in conn.execute(query)}
    return {status: counts.get(status, 0) for status in OUTBOX_STATUSES}


def count_waiting_messages(
    engine: sa.Engine, *, now: datetime, recipient: str | None = None
) -> int:
    """Messages tried before and not sent yet: waiting for a retry, or held by a sender whose
    lease ran out (it died), which the next sender takes over."""
    waiting = sa.or_(
        sa.and_(outbox.c.status == "pending", outbox.c.attempts > 0),
        sa.and_(outbox.c.status == "sending", outbox.c.lease_until < now),
    )
    if recipient is not None:
        waiting = sa.and_(waiting, sa.func.lower(outbox.c.recipient) == recipient.lower())
    query = sa.select(sa.func.count()).select_from(outbox).where(waiting)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def list_outbox(
    engine: sa.Engine, *, statuses: Sequence[str], limit: int = 100
) -> list[OutboxEntry]:
    """Messages in the given states, newest first."""
    return _entries(engine, outbox.c.status.in_(list(statuses)), limit)


def list_problem_messages(engine: sa.Engine, *, limit: int = 100) -> list[OutboxEntry]:
    """What the admin should see: failed messages, and those waiting to be tried again."""
    retrying = sa.and_(
        outbox.c.status.in_(["pending", "sending"]), outbox.c.last_error.is_not(None)
    )
    return _entries(engine, sa.or_(outbox.c.status == "failed", retrying), limit)


def _entries(engine: sa.Engine, condition: sa.ColumnElement[bool], limit: int) -> list[OutboxEntry]:
    query = (
        sa.select(outbox)
        .where(condition)
        .order_by(outbox.c.created_at.desc(), outbox.c.message_key)
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        OutboxEntry(
            message_key=row["message_key"],
            kind=row["kind"],
            recipient=row["recipient"],
            status=row["status"],
            attempts=int(row["attempts"]),
            last_error=row["last_error"],
            created_at=as_utc(row["created_at"]),
            sent_at=as_utc(row["sent_at"]) if row["sent_at"] else None,
        )
        for row in rows
    ]
