"""The service calls behind sign-up, log in, log out and API tokens; login throttling.

Failed logins slow down further tries instead of locking anything: after
`login_max_failures` failures from one client address for one account name (six times as
many from one address, over every name), each next try must wait 1 s, then 2 s, 4 s ... up to
`login_max_delay_s` after the last failure; tries that come sooner get 429 and are not checked.
Nobody elsewhere can keep an owner out: another address has its own count, and a good login
forgets its own name's failures from that address.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from dailypapers.models import User
from dailypapers.store.accounts import (
    LoginFailures,
    UsernameTaken,
    create_api_token,
    create_session,
    create_user,
    delete_session,
    forget_login_attempt,
    get_credentials,
    start_login_attempt,
)
from dailypapers.web.errors import ApiError
from dailypapers.web.security import (
    API_TOKEN_PREFIX,
    dummy_verify,
    hash_password,
    new_token,
    password_problem,
    token_hash,
    username_problem,
    verify_password,
)
from dailypapers.web.state import AppState

# Each client address may fail this many times the per-account limit (shared offices, NAT).
ADDRESS_FACTOR = 6
# Keys are stored in a 200-character column; real names and addresses are far shorter.
MAX_KEY_PART = 90


def login_wait_s(failures: LoginFailures, *, free: int, max_delay_s: float, now: datetime) -> float:
    """Seconds before the next login try is checked: none for the first `free` failures, then
    1 s after the last failure, doubling with each further one up to `max_delay_s`."""
    if failures.count < free or failures.last_failed_at is None:
        return 0.0
    delay = min(float(max_delay_s), 2.0 ** min(failures.count - free, 32))
    ready = failures.last_failed_at + timedelta(seconds=delay)
    return max(0.0, (ready - now).total_seconds())


def log_in(state: AppState, *, username: str, password: str, address: str) -> User:
    """The user whose name and password these are; 401 if they are wrong, 429 (with
    Retry-After) while tries from `address` are slowed."""
    settings = state.settings
    now = datetime.now(UTC)
    pair_key = f"pair:{address[:MAX_KEY_PART]} {username.lower()[:MAX_KEY_PART]}"
    address_key = f"addr:{address[:MAX_KEY_PART]}"
    attempt = start_login_attempt(
        state.engine,
        keys=[pair_key, address_key],
        now=now,
        forget_before=now - timedelta(seconds=settings.login_window_s),
    )
    free = {pair_key: settings.login_max_failures}
    free[address_key] = settings.login_max_failures * ADDRESS_FACTOR
    wait = max(
        login_wait_s(failures, free=free[key], max_delay_s=settings.login_max_delay_s, now=now)
        for key, failures in attempt.earlier.items()
    )
    if wait > 0:
        forget_login_attempt(state.engine, attempt=attempt)  # not checked, so not counted
        seconds = math.ceil(wait)
        raise ApiError(
            429,
            f"too many failed logins: try again in {seconds} seconds",
            headers={"Retry-After": str(seconds)},
        )
    creds = get_credentials(state.engine, username=username)
    if creds is None:
        dummy_verify(password)
    if creds is None or not verify_password(creds.password_hash, password):
        raise ApiError(401, "wrong name or password")  # the attempt stays counted as failed
    forget_login_attempt(state.engine, attempt=attempt, clear_keys=(pair_key,))
    return creds.user


def sign_up(state: AppState, *, username: str, password: str, email: str | None) -> User:
    """A new account; 403 if sign-up is closed, 422 for a bad name or password, 409 if taken."""
    if not state.settings.allow_signup:
        raise ApiError(403, "sign-up is closed")
    for field, problem in (
        ("username", username_problem(username)),
        ("password", password_problem(password)),
    ):
        if problem is not None:
            raise ApiError(422, f"{field}: {problem}", field=field)
    try:
        return create_user(
            state.engine,
            username=username,
            password_hash=hash_password(password),
            email=email,
            now=datetime.now(UTC),
        )
    except UsernameTaken as taken:
        raise ApiError(409, str(taken), field="username") from None


def open_session(state: AppState, user: User) -> str:
    """A new login session for `user`; returns the token for the session cookie."""
    token = new_token()
    now = datetime.now(UTC)
    expires = now + timedelta(days=state.settings.session_days)
    create_session(
        state.engine,
        user_id=user.user_id,
        token_hash=token_hash(token),
        now=now,
        expires_at=expires,
    )
    return token


def close_session(state: AppState, token: str) -> None:
    delete_session(state.engine, token_hash=token_hash(token))


def new_api_token(state: AppState, user: User, name: str) -> str:
    """A new API token for `user`, returned once: only its hash is stored."""
    token = new_token(API_TOKEN_PREFIX)
    create_api_token(
        state.engine,
        user_id=user.user_id,
        token_hash=token_hash(token),
        name=name,
        now=datetime.now(UTC),
    )
    return token
