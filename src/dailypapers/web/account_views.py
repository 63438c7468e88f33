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
from typing import Any

from dailypapers.digest.account_mail import (
    EMAIL_CHANGE_LIFETIME,
    RESET_LIFETIME,
    queue_email_change,
    queue_email_changed_notice,
    queue_password_reset,
)
from dailypapers.digest.render import Site
from dailypapers.digest.service import PublicUrlMissing, site_for
from dailypapers.models import User
from dailypapers.store.account_data import delete_account, export_account
from dailypapers.store.account_tokens import (
    EmailChange,
    TokenPurpose,
    confirm_email_change,
    issue_account_token,
    reset_password,
    token_user_id,
)
from dailypapers.store.accounts import (
    EmailTaken,
    LoginFailures,
    UsernameTaken,
    change_password,
    create_api_token,
    create_session,
    create_user,
    delete_session,
    email_taken,
    forget_login_attempt,
    get_account_summary,
    get_credentials,
    get_credentials_by_id,
    list_users,
    set_disabled,
    start_login_attempt,
    users_with_email,
)
from dailypapers.web.account_schemas import UserAdminPublic, UsersPage
from dailypapers.web.errors import ApiError
from dailypapers.web.inbox_views import EMAIL_PATTERN, NO_PUBLIC_URL
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
    if creds.disabled:  # said only to whoever knows the password
        raise ApiError(403, "this account is disabled: ask the site's admins")
    return creds.user


def sign_up(state: AppState, *, username: str, password: str, email: str | None) -> User:
    """A new account; 403 if sign-up is closed, 422 for a bad name, password or address, 409
    if the name or the address is another account's."""
    if not state.settings.allow_signup:
        raise ApiError(403, "sign-up is closed")
    for field, problem in (
        ("username", username_problem(username)),
        ("password", password_problem(password)),
    ):
        if problem is not None:
            raise ApiError(422, f"{field}: {problem}", field=field)
    if email is not None:
        email = _email(email, "email")
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
    except EmailTaken as taken:
        raise ApiError(409, f"email: {taken}", field="email") from None


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


# -- account care: password, address, reset, delete, export, the admin's list ----------------

# A reset or address mail is sent at most once per account in this time, however often asked.
MAIL_AGAIN_AFTER = timedelta(minutes=5)
USERS_PER_PAGE = 50
SAME_ANSWER = (
    "If an account uses that address, a link to choose a new password is on its way. "
    "It works once, for 1 hour."
)


def _checked_password(state: AppState, user: User, password: str, field: str) -> None:
    creds = get_credentials_by_id(state.engine, user_id=user.user_id)
    if creds is None or not verify_password(creds.password_hash, password):
        raise ApiError(403, f"{field.replace('_', ' ')}: wrong password", field=field)


def _new_password(password: str, field: str = "new_password") -> str:
    problem = password_problem(password)
    if problem is not None:
        raise ApiError(422, f"new password: {problem}", field=field)
    return hash_password(password)


def change_password_view(
    state: AppState, user: User, *, current: str, new: str, session_token: str | None
) -> None:
    """Set a new password (the current one is required); every other session ends."""
    _checked_password(state, user, current, "current_password")
    change_password(
        state.engine,
        user_id=user.user_id,
        password_hash=_new_password(new),
        keep_session=token_hash(session_token) if session_token else None,
    )


def _mail_site(state: AppState, base_url: str) -> Site:
    """Where links in account mail point; 503 when mail cannot go out or links cannot be made."""
    if not state.settings.smtp_host:
        raise ApiError(503, "this site does not send email (no SMTP server is set up)")
    try:
        return site_for(state.engine, state.settings, base_url or None)
    except PublicUrlMissing:
        raise ApiError(503, NO_PUBLIC_URL) from None


def _email(value: str, field: str) -> str:
    email = value.strip()
    if len(email) > 320 or not EMAIL_PATTERN.match(email):
        raise ApiError(422, f"not an email address: {email!r}", field=field)
    return email


def _issue_token(
    state: AppState,
    user_id: int,
    purpose: TokenPurpose,
    lifetime: timedelta,
    now: datetime,
    *,
    new_email: str | None = None,
) -> str | None:
    """A new single-use link token for `purpose`, stored by its hash; None when one was issued
    in the last few minutes (nothing is mailed again)."""
    token = new_token()
    issued = issue_account_token(
        state.engine,
        user_id=user_id,
        purpose=purpose,
        token_hash=token_hash(token),
        now=now,
        expires_at=now + lifetime,
        not_since=now - MAIL_AGAIN_AFTER,
        new_email=new_email,
    )
    return token if issued.stored else None


def request_email_change(
    state: AppState, user: User, *, password: str, new_email: str, base_url: str
) -> bool:
    """Mail a confirmation link to `new_email`; the account keeps its address until it is
    followed. False when one was mailed in the last few minutes (nothing sent again)."""
    email = _email(new_email, "email")
    _checked_password(state, user, password, "password")
    # Asked only of whoever knows the account's password; checked again on confirmation.
    if email_taken(state.engine, email=email, user_id=user.user_id):
        raise ApiError(409, f"email: {EmailTaken(email)}", field="email")
    site = _mail_site(state, base_url)
    now = datetime.now(UTC)
    token = _issue_token(state, user.user_id, "email", EMAIL_CHANGE_LIFETIME, now, new_email=email)
    if token is None:
        return False
    return queue_email_change(
        state.engine,
        site,
        user_id=user.user_id,
        username=user.username,
        new_email=email,
        token=token,
        now=now,
    )


def confirm_email_view(state: AppState, token: str, *, base_url: str) -> EmailChange:
    """Make the mailed address the account's and tell the old one (when there was one and
    mail can go out); 404 for a spent, expired or unknown link, 409 when another account
    took the address meanwhile."""
    now = datetime.now(UTC)
    try:
        changed = confirm_email_change(state.engine, token_hash=token_hash(token), now=now)
    except EmailTaken as taken:
        raise ApiError(409, f"{taken}: your account keeps its address", field="t") from None
    if changed is None:
        raise ApiError(404, "this link is not valid: it was used already or has expired", field="t")
    if changed.old_email and changed.old_email.lower() != changed.new_email.lower():
        try:
            site = _mail_site(state, base_url)
        except ApiError:
            return changed  # the change stands; only the notice cannot be sent
        queue_email_changed_notice(
            state.engine,
            site,
            user_id=changed.user_id,
            username=changed.username,
            old_email=changed.old_email,
            new_email=changed.new_email,
            now=now,
        )
    return changed


def request_password_reset(state: AppState, *, email: str, base_url: str) -> list[str]:
    """Queue a reset link for each account using `email`; the addresses to deliver to now.
    The caller answers the same whatever this finds."""
    address = _email(email, "email")
    site = _mail_site(state, base_url)
    now = datetime.now(UTC)
    queued = []
    for account in users_with_email(state.engine, email=address):
        token = _issue_token(state, account.user_id, "reset", RESET_LIFETIME, now)
        if (
            token is not None
            and account.email
            and queue_password_reset(
                state.engine,
                site,
                user_id=account.user_id,
                username=account.username,
                email=account.email,
                token=token,
                now=now,
            )
        ):
            queued.append(account.email)
    return sorted(set(queued))


def reset_link_works(state: AppState, token: str) -> bool:
    found = token_user_id(
        state.engine, token_hash=token_hash(token), purpose="reset", now=datetime.now(UTC)
    )
    return found is not None


def reset_password_view(state: AppState, *, token: str, password: str) -> None:
    """Use a reset link: a new password, every session ended; 404 for a spent, expired or
    unknown link, 422 for a bad password (the link stays usable)."""
    password_hash = _new_password(password, field="password")
    done = reset_password(
        state.engine,
        token_hash=token_hash(token),
        password_hash=password_hash,
        now=datetime.now(UTC),
    )
    if done is None:
        raise ApiError(404, "this link is not valid: it was used already or has expired", field="t")


def delete_account_view(state: AppState, user: User, *, password: str) -> None:
    """Delete the account as docs/web.md says (store/account_data.py), after its password."""
    _checked_password(state, user, password, "password")
    delete_account(state.engine, user_id=user.user_id, now=datetime.now(UTC))


def export_view(state: AppState, user: User) -> dict[str, Any]:
    found = export_account(state.engine, user_id=user.user_id)
    if found is None:
        raise ApiError(404, "no such account")
    return {"format": "dailypapers-account-export", "version": 1, **found}


def users_view(state: AppState, *, page: int) -> UsersPage:
    offset = (page - 1) * USERS_PER_PAGE
    rows, total = list_users(state.engine, offset=offset, limit=USERS_PER_PAGE)
    return UsersPage(
        users=[UserAdminPublic.model_validate(row, from_attributes=True) for row in rows],
        page=page,
        per_page=USERS_PER_PAGE,
        total=total,
    )


def set_disabled_view(state: AppState, admin: User, *, user_id: int, disabled: bool) -> None:
    """Disable an account (it is logged out everywhere) or enable it; an admin cannot disable
    their own account."""
    if disabled and user_id == admin.user_id:
        raise ApiError(409, "you cannot disable your own account", field="user_id")
    if not set_disabled(state.engine, user_id=user_id, disabled=disabled, now=datetime.now(UTC)):
        raise ApiError(404, f"no account with id {user_id}", field="user_id")


def user_admin_view(state: AppState, *, user_id: int) -> UserAdminPublic:
    found = get_account_summary(state.engine, user_id=user_id)
    if found is None:
        raise ApiError(404, f"no account with id {user_id}", field="user_id")
    return UserAdminPublic.model_validate(found, from_attributes=True)
