"""Sign up, log in, log out, API tokens: sessions in HttpOnly cookies, failed logins limited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dailypapers.store.accounts import (
    UsernameTaken,
    clear_login_failures,
    count_login_failures,
    create_api_token,
    create_session,
    create_user,
    delete_session,
    get_credentials,
    record_login_failure,
)
from dailypapers.web.deps import CsrfChecked, RequiredUser, StateDep
from dailypapers.web.routers.pages import local_path
from dailypapers.web.security import (
    API_TOKEN_PREFIX,
    CSRF_COOKIE,
    MAX_PASSWORD_CHARS,
    SESSION_COOKIE,
    dummy_verify,
    hash_password,
    new_token,
    password_problem,
    token_hash,
    username_problem,
    verify_password,
)
from dailypapers.web.state import AppState
from dailypapers.web.templating import render

router = APIRouter(include_in_schema=False)

Name = Annotated[str, Form(max_length=100)]
Password = Annotated[str, Form(max_length=MAX_PASSWORD_CHARS * 4)]
Next = Annotated[str | None, Form(max_length=2000)]
# Each client address may fail this many times the per-account limit (shared offices, NAT).
ADDRESS_FACTOR = 6


def _start_session(request: Request, state: AppState, user_id: int, target: str) -> Response:
    token = new_token()
    now = datetime.now(UTC)
    expires = now + timedelta(days=state.settings.session_days)
    create_session(
        state.engine, user_id=user_id, token_hash=token_hash(token), now=now, expires_at=expires
    )
    response = RedirectResponse(local_path(target), status_code=303)
    secure = request.url.scheme == "https" or state.settings.cookie_secure
    max_age = state.settings.session_days * 86_400
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure
    )
    # A fresh CSRF token per session, so one seen before login is useless after it.
    response.set_cookie(CSRF_COOKIE, new_token(), httponly=True, samesite="lax", secure=secure)
    return response


@router.get("/signup")
def signup_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "signup.html", {"error": None, "username": "", "next": next or "/"})


@router.post("/signup", dependencies=[CsrfChecked])
def signup(
    request: Request,
    state: StateDep,
    username: Name,
    password: Password,
    email: Annotated[str | None, Form(max_length=320)] = None,
    next: Next = None,
) -> Response:
    username = username.strip()
    context = {"username": username, "next": next or "/"}
    if not state.settings.allow_signup:
        return render(
            request, "signup.html", context | {"error": "sign-up is closed"}, status_code=403
        )
    problem = username_problem(username)
    field = "username"
    if problem is None:
        problem, field = password_problem(password), "password"
    if problem is not None:
        error = f"{field}: {problem}"
        return render(request, "signup.html", context | {"error": error}, status_code=422)
    try:
        user = create_user(
            state.engine,
            username=username,
            password_hash=hash_password(password),
            email=(email or "").strip() or None,
            now=datetime.now(UTC),
        )
    except UsernameTaken as taken:
        return render(request, "signup.html", context | {"error": str(taken)}, status_code=409)
    return _start_session(request, state, user.user_id, next or "/")


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", {"error": None, "username": "", "next": next or "/"})


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request, state: StateDep, username: Name, password: Password, next: Next = None
) -> Response:
    settings = state.settings
    now = datetime.now(UTC)
    since = now - timedelta(seconds=settings.login_window_s)
    account_key = "user:" + username.strip().lower()
    address_key = "addr:" + (request.client.host if request.client else "unknown")
    context = {"username": username, "next": next or "/"}
    limits = [
        (account_key, settings.login_max_failures),
        (address_key, settings.login_max_failures * ADDRESS_FACTOR),
    ]
    for key, limit in limits:
        if count_login_failures(state.engine, key=key, since=since) >= limit:
            minutes = max(1, settings.login_window_s // 60)
            error = f"too many failed logins: try again in {minutes} minutes"
            headers = {"Retry-After": str(settings.login_window_s)}
            return render(
                request, "login.html", context | {"error": error}, status_code=429, headers=headers
            )
    creds = get_credentials(state.engine, username=username.strip())
    if creds is None:
        dummy_verify(password)
    if creds is None or not verify_password(creds.password_hash, password):
        keys = [account_key, address_key]
        record_login_failure(state.engine, keys=keys, now=now, forget_before=since)
        error = "wrong name or password"
        return render(request, "login.html", context | {"error": error}, status_code=401)
    clear_login_failures(state.engine, key=account_key)
    return _start_session(request, state, creds.user.user_id, next or "/")


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, state: StateDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        delete_session(state.engine, token_hash=token_hash(cookie))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response


@router.get("/settings/tokens")
def tokens_page(request: Request, _user: RequiredUser) -> HTMLResponse:
    return render(request, "tokens.html", {"token": None})


@router.post("/settings/tokens", dependencies=[CsrfChecked])
def new_api_token(
    request: Request,
    state: StateDep,
    user: RequiredUser,
    name: Annotated[str, Form(min_length=1, max_length=100)],
) -> HTMLResponse:
    token = new_token(API_TOKEN_PREFIX)
    create_api_token(
        state.engine,
        user_id=user.user_id,
        token_hash=token_hash(token),
        name=name.strip(),
        now=datetime.now(UTC),
    )
    # Shown once; only its hash is stored.
    return render(request, "tokens.html", {"token": token, "name": name.strip()})
