"""Repository functions for accounts: users, login sessions, API tokens, login failures, and
account care (password and address changes, disabling, the admin's list of users)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from dailypapers.dates import as_utc
from dailypapers.models import User
from dailypapers.store.schema import api_tokens, login_failures, user_sessions, users


class UsernameTaken(ValueError):
    """Sign-up with a name that an account already has (case-insensitively)."""


class EmailTaken(ValueError):
    """An address change to an address another account uses (case-insensitively)."""

    def __init__(self, email: str) -> None:
        super().__init__(f"the address {email!r} is used by another account")
        self.email = email


@dataclass(slots=True, frozen=True)
class Credentials:
    """A user with the stored password hash, for checking a login."""

    user: User
    password_hash: str
    disabled: bool = False


# A disabled or deleted account has no live sessions and no working API tokens.
_ACTIVE = sa.and_(users.c.disabled_at.is_(None), users.c.deleted_at.is_(None))


def _user(row: sa.RowMapping) -> User:
    return User(
        user_id=row["user_id"],
        username=row["username"],
        email=row["email"],
        is_admin=bool(row["is_admin"]),
        created_at=as_utc(row["created_at"]),
    )


def lock_address(conn: sa.Connection, email: str) -> None:
    """Serialize whatever gives an account `email` (any case) until the transaction ends, so
    two sign-ups or address changes with one address at once cannot both check before either
    writes. On PostgreSQL a transaction-scoped advisory lock keyed by the address; SQLite
    needs none: one transaction writes at a time, and these write before they check."""
    if conn.dialect.name == "postgresql":
        digest = hashlib.sha256(email.lower().encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


def create_user(
    engine: sa.Engine,
    *,
    username: str,
    password_hash: str,
    email: str | None,
    now: datetime,
    is_admin: bool = False,
) -> User:
    """Store a new account; UsernameTaken if the name is in use, EmailTaken if another
    account has the address (any case). The address is checked in the insert's transaction,
    under the address's lock (see lock_address), so two sign-ups or address changes with one
    address at once cannot both pass."""
    values = {
        "username": username,
        "username_key": username.lower(),
        "email": email,
        "password_hash": password_hash,
        "is_admin": is_admin,
        "created_at": now,
    }
    try:
        with engine.begin() as conn:
            if email is not None:
                lock_address(conn, email)
            # Inserted before the address is checked: on SQLite the insert takes the write
            # lock, so another sign-up's check waits for this one to end.
            inserted = conn.execute(sa.insert(users).values(values)).inserted_primary_key
            assert inserted is not None
            user_id = int(inserted[0])
            if (
                email is not None
                and conn.execute(sa.select(used_by_another(email, user_id))).scalar()
            ):
                raise EmailTaken(email)  # the insert is rolled back
    except sa.exc.IntegrityError:
        raise UsernameTaken(f"the name {username!r} is taken") from None
    return User(user_id, username, email, is_admin, now)


def get_user(engine: sa.Engine, *, user_id: int) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(users).where(users.c.user_id == user_id)).mappings().first()
    return _user(row) if row else None


def get_user_by_name(engine: sa.Engine, *, username: str) -> User | None:
    creds = get_credentials(engine, username=username)
    return creds.user if creds else None


def get_credentials(engine: sa.Engine, *, username: str) -> Credentials | None:
    query = sa.select(users).where(
        users.c.username_key == username.lower(), users.c.deleted_at.is_(None)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return Credentials(_user(row), row["password_hash"], row["disabled_at"] is not None)


def get_credentials_by_id(engine: sa.Engine, *, user_id: int) -> Credentials | None:
    query = sa.select(users).where(users.c.user_id == user_id, users.c.deleted_at.is_(None))
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return Credentials(_user(row), row["password_hash"], row["disabled_at"] is not None)


def set_admin(engine: sa.Engine, *, username: str, is_admin: bool) -> bool:
    """Grant or withdraw the admin role; False if there is no such user."""
    statement = (
        sa.update(users).where(users.c.username_key == username.lower()).values(is_admin=is_admin)
    )
    with engine.begin() as conn:
        return conn.execute(statement).rowcount == 1


def create_session(
    engine: sa.Engine, *, user_id: int, token_hash: str, now: datetime, expires_at: datetime
) -> None:
    """Store a new login session, dropping the user's expired ones; the user's last login is
    now."""
    expired = sa.delete(user_sessions).where(
        user_sessions.c.user_id == user_id, user_sessions.c.expires_at <= now
    )
    values = {
        "token_hash": token_hash,
        "user_id": user_id,
        "created_at": now,
        "expires_at": expires_at,
    }
    with engine.begin() as conn:
        conn.execute(expired)
        conn.execute(sa.insert(user_sessions).values(values))
        conn.execute(sa.update(users).where(users.c.user_id == user_id).values(last_login_at=now))


def get_session_user(engine: sa.Engine, *, token_hash: str, now: datetime) -> User | None:
    """The user a live session belongs to, or None (unknown or expired)."""
    query = (
        sa.select(users)
        .join(user_sessions, user_sessions.c.user_id == users.c.user_id)
        .where(user_sessions.c.token_hash == token_hash, user_sessions.c.expires_at > now, _ACTIVE)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return _user(row) if row else None


def delete_session(engine: sa.Engine, *, token_hash: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.delete(user_sessions).where(user_sessions.c.token_hash == token_hash))


def create_api_token(
    engine: sa.Engine, *, user_id: int, token_hash: str, name: str, now: datetime
) -> None:
    values = {"token_hash": token_hash, "user_id": user_id, "name": name, "created_at": now}
    with engine.begin() as conn:
        conn.execute(sa.insert(api_tokens).values(values))


def get_token_user(engine: sa.Engine, *, token_hash: str) -> User | None:
    query = (
        sa.select(users)
        .join(api_tokens, api_tokens.c.user_id == users.c.user_id)
        .where(api_tokens.c.token_hash == token_hash, _ACTIVE)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return _user(row) if row else None


@dataclass(slots=True, frozen=True)
class LoginFailures:
    """Failed logins under one key (an account and address pair, or an address) in a window."""

    count: int = 0
    last_failed_at: datetime | None = None


@dataclass(slots=True, frozen=True)
class LoginAttempt:
    """A login try, counted as failed under each key until `forget_login_attempt`; `earlier`
    holds each key's failures from before it (tries racing it included)."""

    failure_ids: list[int]
    earlier: dict[str, LoginFailures]


def start_login_attempt(
    engine: sa.Engine, *, keys: list[str], now: datetime, forget_before: datetime
) -> LoginAttempt:
    """Count a try as failed under each key before its password is checked, so that tries sent
    at once each see the others; failures older than `forget_before` are dropped."""
    stale = sa.delete(login_failures).where(
        login_failures.c.key.in_(keys), login_failures.c.failed_at < forget_before
    )
    ids = []
    with engine.begin() as conn:
        conn.execute(stale)
        for key in keys:
            inserted = conn.execute(sa.insert(login_failures).values(key=key, failed_at=now))
            assert inserted.inserted_primary_key is not None
            ids.append(int(inserted.inserted_primary_key[0]))
    earlier = {}
    with engine.connect() as conn:
        for key, failure_id in zip(keys, ids, strict=True):
            query = sa.select(sa.func.count(), sa.func.max(login_failures.c.failed_at)).where(
                login_failures.c.key == key,
                login_failures.c.failure_id < failure_id,
                login_failures.c.failed_at >= forget_before,
            )
            count, last = conn.execute(query).one()
            earlier[key] = LoginFailures(int(count), as_utc(last) if last else None)
    return LoginAttempt(ids, earlier)


def forget_login_attempt(
    engine: sa.Engine, *, attempt: LoginAttempt, clear_keys: tuple[str, ...] = ()
) -> None:
    """Uncount a try that was refused or succeeded, and forget every failure under
    `clear_keys` (after a good login)."""
    with engine.begin() as conn:
        conn.execute(
            sa.delete(login_failures).where(login_failures.c.failure_id.in_(attempt.failure_ids))
        )
        if clear_keys:
            conn.execute(sa.delete(login_failures).where(login_failures.c.key.in_(clear_keys)))


# -- account care -----------------------------------------------------------------------------


def change_password(
    engine: sa.Engine, *, user_id: int, password_hash: str, keep_session: str | None
) -> None:
    """Set a new password hash and end every session of the user but `keep_session` (the
    hash of the session that asked), in one transaction."""
    others = sa.delete(user_sessions).where(user_sessions.c.user_id == user_id)
    if keep_session is not None:
        others = others.where(user_sessions.c.token_hash != keep_session)
    with engine.begin() as conn:
        conn.execute(
            sa.update(users).where(users.c.user_id == user_id).values(password_hash=password_hash)
        )
        conn.execute(others)


def used_by_another(email: str, user_id: int | None) -> sa.Exists:
    """Whether an account other than `user_id` (any account, for None; not deleted) has
    `email`, in any case."""
    other = users.alias("other")
    found = sa.exists().where(
        sa.func.lower(other.c.email) == email.lower(), other.c.deleted_at.is_(None)
    )
    return found if user_id is None else found.where(other.c.user_id != user_id)


def email_taken(engine: sa.Engine, *, email: str, user_id: int) -> bool:
    """Whether another account than `user_id` uses `email` (any case)."""
    with engine.connect() as conn:
        return bool(conn.execute(sa.select(used_by_another(email, user_id))).scalar())


def users_with_email(engine: sa.Engine, *, email: str, limit: int = 5) -> list[User]:
    """Accounts that may be sent a password reset at `email` (any case): not disabled, not
    deleted; at most `limit`, oldest first."""
    query = (
        sa.select(users)
        .where(sa.func.lower(users.c.email) == email.lower(), _ACTIVE)
        .order_by(users.c.user_id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_user(row) for row in conn.execute(query).mappings()]


def set_disabled(engine: sa.Engine, *, user_id: int, disabled: bool, now: datetime) -> bool:
    """Disable an account (its sessions end with it) or enable it again; False if there is no
    such account (or it was deleted)."""
    statement = (
        sa.update(users)
        .where(users.c.user_id == user_id, users.c.deleted_at.is_(None))
        .values(disabled_at=now if disabled else None)
    )
    with engine.begin() as conn:
        if conn.execute(statement).rowcount != 1:
            return False
        if disabled:
            conn.execute(sa.delete(user_sessions).where(user_sessions.c.user_id == user_id))
    return True


@dataclass(slots=True, frozen=True)
class AccountSummary:
    """A row of the admin's list of users."""

    user_id: int
    username: str
    email: str | None
    is_admin: bool
    created_at: datetime
    last_login_at: datetime | None
    disabled_at: datetime | None


def _summary(row: sa.RowMapping) -> AccountSummary:
    last, disabled = row["last_login_at"], row["disabled_at"]
    return AccountSummary(
        user_id=row["user_id"],
        username=row["username"],
        email=row["email"],
        is_admin=bool(row["is_admin"]),
        created_at=as_utc(row["created_at"]),
        last_login_at=as_utc(last) if last else None,
        disabled_at=as_utc(disabled) if disabled else None,
    )


def list_users(
    engine: sa.Engine, *, offset: int, limit: int
) -> tuple[Sequence[AccountSummary], int]:
    """A page of accounts, oldest first (deleted ones left out), and how many there are."""
    live = users.c.deleted_at.is_(None)
    query = sa.select(users).where(live).order_by(users.c.user_id).offset(offset).limit(limit)
    total = sa.select(sa.func.count()).select_from(users).where(live)
    with engine.connect() as conn:
        rows = [_summary(row) for row in conn.execute(query).mappings()]
        return rows, int(conn.execute(total).scalar_one())


def get_account_summary(engine: sa.Engine, *, user_id: int) -> AccountSummary | None:
    query = sa.select(users).where(users.c.user_id == user_id, users.c.deleted_at.is_(None))
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return _summary(row) if row else None
