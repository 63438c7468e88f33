"""Request dependencies, declared once as typed aliases: state, the current user, CSRF."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from dailypapers.models import User
from dailypapers.store.accounts import get_session_user, get_token_user
from dailypapers.web.errors import ApiError
from dailypapers.web.security import (
    API_TOKEN_PREFIX,
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    same_token,
    token_hash,
)
from dailypapers.web.state import AppState

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Forms that start a session are checked even without one: a forged login would sign the
# victim in as the attacker. So are the password-reset forms, which mail and set passwords.
SESSION_FORMS = frozenset({"/login", "/signup", "/password/forgot", "/password/reset"})


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.dp
    return state


async def _state_dependency(request: Request) -> AppState:
    # A coroutine, because FastAPI calls a plain function dependency on a worker thread: a
    # hand-off to a thread and back (about 0.1 ms of CPU) for every request, to read a field.
    return get_state(request)


StateDep = Annotated[AppState, Depends(_state_dependency)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def resolve_user(request: Request) -> User | None:
    """The user behind an API token or a session cookie (cached on the request)."""
    if hasattr(request.state, "user"):
        cached: User | None = request.state.user
        return cached
    state = get_state(request)
    user: User | None = None
    bearer = _bearer(request)
    request.state.by_token = bearer is not None
    if bearer is not None:
        if not bearer.startswith(API_TOKEN_PREFIX):
            raise ApiError(401, "malformed API token", headers={"WWW-Authenticate": "Bearer"})
        user = get_token_user(state.engine, token_hash=token_hash(bearer))
        if user is None:
            raise ApiError(401, "unknown API token", headers={"WWW-Authenticate": "Bearer"})
    elif cookie := request.cookies.get(SESSION_COOKIE):
        user = get_session_user(state.engine, token_hash=token_hash(cookie), now=datetime.now(UTC))
    request.state.user = user
    return user


async def _current_user(request: Request) -> User | None:
    # Without credentials (most readers) there is nothing to read from the database: the
    # answer is given in the event loop, sparing the hand-off to a worker thread and back.
    if _bearer(request) is None and not request.cookies.get(SESSION_COOKIE):
        return resolve_user(request)
    return await run_in_threadpool(resolve_user, request)


CurrentUser = Annotated[User | None, Depends(_current_user)]


def site_url(request: Request) -> str | None:
    """The site's address for links read away from this request (mail): the public URL, else
    the request's own if its host is listed in allowed_hosts ('*' lists none), else None."""
    state = get_state(request)
    if state.settings.public_url:
        return state.settings.public_url
    if state.hosts.lists(request.headers.get("host", "")):
        return str(request.base_url)
    return None


async def require_user(user: CurrentUser) -> User:
    if user is None:
        raise ApiError(401, "log in (or send an API token) to do this")
    return user


RequiredUser = Annotated[User, Depends(require_user)]


async def require_admin(user: RequiredUser) -> User:
    if not user.is_admin:
        raise ApiError(403, "only admins can do this")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


def _same_origin(request: Request, origin: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme == request.url.scheme and parts.netloc == request.url.netloc


async def verify_csrf(request: Request) -> None:
    """Refuse cross-site writes made with the session cookie.

    Requests authenticated by an API token, and requests without a session cookie other than
    the login and sign-up forms, carry no ambient credentials and are exempt. Others
    must come from this site's own pages (Origin or Referer, when the browser sends one) and
    echo the CSRF cookie in a form field or the X-CSRF-Token header (double submit).
    """
    if request.method not in UNSAFE_METHODS or _bearer(request) is not None:
        return
    if not request.cookies.get(SESSION_COOKIE) and request.url.path not in SESSION_FORMS:
        return  # no ambient credentials to abuse; writes that need an account answer 401
    origin = request.headers.get("origin") or request.headers.get("referer")
    # "null" is what a sandboxed or privacy-redirected page sends: never this site.
    if origin and (origin == "null" or not _same_origin(request, origin)):
        raise ApiError(403, "cross-site request refused")
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not same_token(given, request.cookies.get(CSRF_COOKIE)):
        raise ApiError(403, "missing or wrong CSRF token: reload the page and try again")


CsrfChecked = Depends(verify_csrf)


def accept_upload() -> None:
    """Marks a route that takes a library upload: its body may reach max_upload_bytes instead
    of max_body_bytes. The site middleware refuses bodies before routing and asks the routes
    that carry this mark (web/middleware.py BodyLimits)."""


UploadAccepted = Depends(accept_upload)
