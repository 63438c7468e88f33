"""Repository functions for email subscriptions: double opt-in, preferences, unsubscribing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
import sqlalchemy as sa

from dailypapers.dates import as_utc
from dailypapers.store.schema import subscriptions

Frequency = Literal["daily", "weekly"]
Status = Literal["pending", "active", "unsubscribed"]


class EmailTaken(ValueError):
    """The address belongs to another account's subscription."""


@dataclass(slots=True, frozen=True)
class Preferences:
    """What a subscriber asked for."""

    frequency: Frequency = "daily"
    skip_weekends: bool = False
    include_trending: bool = True
    include_for_you: bool = False
    send_empty: bool = False
    categories: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class Subscription:
    """A stored subscription."""

    subscription_id: int
    email: str
    user_id: int | None
    status: Status
    preferences: Preferences
    created_at: datetime


def _subscription(row: sa.RowMapping) -> Subscription:
    preferences = Preferences(
        frequency=row["frequency"],
        skip_weekends=bool(row["skip_weekends"]),
        include_trending=bool(row["include_trending"]),
        include_for_you=bool(row["include_for_you"]),
        send_empty=bool(row["send_empty"]),
        categories=tuple(orjson.loads(row["categories"])),
        searches=tuple(orjson.loads(row["searches"])),
    )
    return Subscription(
        subscription_id=row["subscription_id"],
        email=row["email"],
        user_id=row["user_id"],
        status=row["status"],
        preferences=preferences,
        created_at=as_utc(row["created_at"]),
    )


def _preference_values(preferences: Preferences) -> dict[str, Any]:
    return {
        "frequency": preferences.frequency,
        "skip_weekends": preferences.skip_weekends,
        "include_trending": preferences.include_trending,
        "include_for_you": preferences.include_for_you,
        "send_empty": preferences.send_empty,
        "categories": orjson.dumps(list(preferences.categories)).decode(),
        "searches": orjson.dumps(list(preferences.searches)).decode(),
    }


def _get(conn: sa.Connection, condition: sa.ColumnElement[bool]) -> Subscription | None:
    row = conn.execute(sa.select(subscriptions).where(condition)).mappings().first()
    return _subscription(row) if row else None


def get_subscription(engine: sa.Engine, *, subscription_id: int) -> Subscription | None:
    with engine.connect() as conn:
        return _get(conn, subscriptions.c.subscription_id == subscription_id)


def get_subscription_by_email(engine: sa.Engine, *, email: str) -> Subscription | None:
    with engine.connect() as conn:
        return _get(conn, subscriptions.c.email_key == email.lower())


def get_user_subscription(engine: sa.Engine, *, user_id: int) -> Subscription | None:
    with engine.connect() as conn:
        return _get(conn, subscriptions.c.user_id == user_id)


def save_subscription(
    engine: sa.Engine,
    *,
    email: str,
    preferences: Preferences,
    now: datetime,
    user_id: int | None = None,
    subscription_id: int | None = None,
) -> tuple[Subscription, bool]:
    """Store preferences for `email`; (subscription, whether the address needs confirming).

    The row changed is `subscription_id` (opened through a signed link), else the user's,
    else the address's. A new address, a changed one, one taken over by an account, and a
    subscription renewed after unsubscribing all start pending (to be confirmed); an active
    address keeps its status. An address with a subscription of another owner: EmailTaken.
    """
    key = email.lower()
    with engine.begin() as conn:
        by_email = _get(conn, subscriptions.c.email_key == key)
        target = None
        if subscription_id is not None:
            target = _get(conn, subscriptions.c.subscription_id == subscription_id)
        elif user_id is not None:
            target = _get(conn, subscriptions.c.user_id == user_id)
        if by_email is not None and by_email != target:
            theirs = by_email.user_id not in (None, user_id)
            if theirs or (target is not None and user_id is None):
                raise EmailTaken(f"{email} has a subscription of its own")
            if target is not None:  # the account moves to the address's subscription
                conn.execute(
                    sa.delete(subscriptions).where(
                        subscriptions.c.subscription_id == target.subscription_id
                    )
                )
            target = by_email
        saved_id, needs_confirming = _write(conn, target, email, preferences, user_id, now)
        saved = _get(conn, subscriptions.c.subscription_id == saved_id)
    assert saved is not None
    return saved, needs_confirming


def _write(
    conn: sa.Connection,
    target: Subscription | None,
    email: str,
    preferences: Preferences,
    user_id: int | None,
    now: datetime,
) -> tuple[int, bool]:
    values = _preference_values(preferences) | {"email": email, "email_key": email.lower()}
    if target is None:
        inserted = conn.execute(
            sa.insert(subscriptions).values(
                user_id=user_id, status="pending", created_at=now, **values
            )
        ).inserted_primary_key
        assert inserted is not None
        return int(inserted[0]), True
    changed_address = target.email.lower() != email.lower()
    taken_over = user_id is not None and target.user_id != user_id
    needs_confirming = changed_address or taken_over or target.status != "active"
    if user_id is not None:
        values["user_id"] = user_id
    if needs_confirming:
        values |= {"status": "pending", "confirmed_at": None}
    if changed_address:
        values["confirm_sent_at"] = None
    conn.execute(
        sa.update(subscriptions)
        .where(subscriptions.c.subscription_id == target.subscription_id)
        .values(values)
    )
    return target.subscription_id, needs_confirming


def confirm_subscription(engine: sa.Engine, *, subscription_id: int, now: datetime) -> bool:
    """Make a pending subscription active (the confirmation link was followed)."""
    statement = (
        sa.update(subscriptions)
        .where(
            subscriptions.c.subscription_id == subscription_id,
            subscriptions.c.status == "pending",
        )
        .values(status="active", confirmed_at=now)
    )
    with engine.begin() as conn:
        return conn.execute(statement).rowcount == 1


def unsubscribe(engine: sa.Engine, *, subscription_id: int, now: datetime) -> bool:
    """Stop every mail to the subscriber; True if it was not already stopped."""
    statement = (
        sa.update(subscriptions)
        .where(
            subscriptions.c.subscription_id == subscription_id,
            subscriptions.c.status != "unsubscribed",
        )
        .values(status="unsubscribed", unsubscribed_at=now)
    )
    with engine.begin() as conn:
        return conn.execute(statement).rowcount == 1


def note_confirmation_sent(
    engine: sa.Engine, *, subscription_id: int, now: datetime, not_since: datetime
) -> bool:
    """Claim the right to send a confirmation: False if one went out after `not_since`."""
    statement = (
        sa.update(subscriptions)
        .where(
            subscriptions.c.subscription_id == subscription_id,
            sa.or_(
                subscriptions.c.confirm_sent_at.is_(None),
                subscriptions.c.confirm_sent_at < not_since,
            ),
        )
        .values(confirm_sent_at=now)
    )
    with engine.begin() as conn:
        return conn.execute(statement).rowcount == 1


def iter_active_subscriptions(
    engine: sa.Engine, *, batch_size: int = 500, email: str | None = None
) -> Iterator[list[Subscription]]:
    """Active subscriptions in id order, a batch at a time (memory stays flat)."""
    after = 0
    while True:
        query = (
            sa.select(subscriptions)
            .where(subscriptions.c.status == "active", subscriptions.c.subscription_id > after)
            .order_by(subscriptions.c.subscription_id)
            .limit(batch_size)
        )
        if email is not None:
            query = query.where(subscriptions.c.email_key == email.lower())
        with engine.connect() as conn:
            batch = [_subscription(row) for row in conn.execute(query).mappings()]
        if not batch:
            return
        yield batch
        after = batch[-1].subscription_id
