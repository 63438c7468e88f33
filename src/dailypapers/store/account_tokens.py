"""Repository functions for the single-use tokens that account mail carries: a password reset
and an address change. Only a token's SHA-256 is stored; a token works once and until it
expires, and using it changes the account in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa

from dailypapers.store.accounts import EmailTaken, lock_address, used_by_another
from dailypapers.store.schema import account_tokens, user_sessions, users

TokenPurpose = Literal["reset", "email"]


@dataclass(slots=True, frozen=True)
class IssuedToken:
    """Whether a token was stored; `throttled` when one was issued too recently."""

    stored: bool
    throttled: bool = False


def _live(token_hash: str, purpose: TokenPurpose, now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        account_tokens.c.token_hash == token_hash,
        account_tokens.c.purpose == purpose,
        account_tokens.c.used_at.is_(None),
        account_tokens.c.expires_at > now,
    )


def issue_account_token(
    engine: sa.Engine,
    *,
    user_id: int,
    purpose: TokenPurpose,
    token_hash: str,
    now: datetime,
    expires_at: datetime,
    not_since: datetime,
    new_email: str | None = None,
) -> IssuedToken:
    """Store a token unless the user got one for `purpose` after `not_since` (so a form sent
    over and over mails once); expired and used tokens of the user are dropped."""
    recent = sa.select(account_tokens.c.token_hash).where(
        account_tokens.c.user_id == user_id,
        account_tokens.c.purpose == purpose,
        account_tokens.c.created_at > not_since,
    )
    stale = sa.delete(account_tokens).where(
        account_tokens.c.user_id == user_id,
        sa.or_(account_tokens.c.expires_at <= now, account_tokens.c.used_at.is_not(None)),
    )
    values = {
        "token_hash": token_hash,
        "user_id": user_id,
        "purpose": purpose,
        "new_email": new_email,
        "created_at": now,
        "expires_at": expires_at,
    }
    with engine.begin() as conn:
        conn.execute(stale)  # a write first: SQLite takes its lock before the check
        if conn.execute(recent.limit(1)).first() is not None:
            return IssuedToken(stored=False, throttled=True)
        conn.execute(sa.insert(account_tokens).values(values))
    return IssuedToken(stored=True)


def token_user_id(
    engine: sa.Engine, *, token_hash: str, purpose: TokenPurpose, now: datetime
) -> int | None:
    """The user a live (unused, unexpired) token belongs to, or None; uses nothing up."""
    query = sa.select(account_tokens.c.user_id).where(_live(token_hash, purpose, now))
    with engine.connect() as conn:
        found = conn.execute(query).scalar()
    return int(found) if found is not None else None


def _use(
    conn: sa.Connection, token_hash: str, purpose: TokenPurpose, now: datetime
) -> tuple[int, str | None] | None:
    # One UPDATE ... RETURNING: two requests racing with one token cannot both get a row.
    statement = (
        sa.update(account_tokens)
        .where(_live(token_hash, purpose, now))
        .values(used_at=now)
        .returning(account_tokens.c.user_id, account_tokens.c.new_email)
    )
    row = conn.execute(statement).first()
    return (int(row[0]), row[1]) if row is not None else None


def reset_password(
    engine: sa.Engine, *, token_hash: str, password_hash: str, now: datetime
) -> int | None:
    """Use a reset token: set the password, end every session and forget the user's other
    reset tokens, in one transaction. The user's id, or None for a spent, expired or unknown
    token (or a disabled or deleted account)."""
    with engine.begin() as conn:
        used = _use(conn, token_hash, "reset", now)
        if used is None:
            return None
        user_id = used[0]
        changed = conn.execute(
            sa.update(users)
            .where(
                users.c.user_id == user_id,
                users.c.disabled_at.is_(None),
                users.c.deleted_at.is_(None),
            )
            .values(password_hash=password_hash)
        ).rowcount
        if changed != 1:
            return None
        conn.execute(sa.delete(user_sessions).where(user_sessions.c.user_id == user_id))
        conn.execute(
            sa.delete(account_tokens).where(
                account_tokens.c.user_id == user_id,
                account_tokens.c.purpose == "reset",
                account_tokens.c.token_hash != token_hash,
            )
        )
    return user_id


@dataclass(slots=True, frozen=True)
class EmailChange:
    user_id: int
    username: str
    old_email: str | None
    new_email: str


def confirm_email_change(
    engine: sa.Engine, *, token_hash: str, now: datetime
) -> EmailChange | None:
    """Use an address-change token: the account's address becomes the one it was mailed to.
    None for a spent, expired or unknown token; EmailTaken (the token stays unused) when
    another account took the address since the link was mailed."""
    with engine.begin() as conn:
        used = _use(conn, token_hash, "email", now)
        if used is None or used[1] is None:
            return None
        user_id, new_email = used[0], used[1]
        lock_address(conn, new_email)
        before = conn.execute(
            sa.select(users.c.username, users.c.email).where(
                users.c.user_id == user_id, users.c.deleted_at.is_(None)
            )
        ).first()
        if before is None:
            return None
        if conn.execute(sa.select(used_by_another(new_email, user_id))).scalar():
            raise EmailTaken(new_email)  # rolls back: the link still works if it frees up
        conn.execute(sa.update(users).where(users.c.user_id == user_id).values(email=new_email))
    return EmailChange(user_id, str(before[0]), before[1], new_email)
