"""Sign up, log in, log out, API tokens: sessions in HttpOnly cookies, failed logins limited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dailypapers.models import User
from dailypapers.web import account_views
from dailypapers.web.deps import CsrfChecked, RequiredUser, StateDep
from dailypapers.web.errors import ApiError
from dailypapers.web.routers.pages import local_path
from dailypapers.web.security import CSRF_COOKIE, MAX_PASSWORD_CHARS, SESSION_COOKIE, new_token
from dailypapers.web.state import AppState
from dailypapers.web.templating import render

router = APIRouter(include_in_schema=False)

Name = Annotated[str, Form(max_length=100)]
Password = Annotated[str, Form(max_length=MAX_PASSWORD_CHARS * 4)]
Next = Annotated[str | None, Form(max_length=2000)]


def _start_session(request: Request, state: AppState, user: User, target: str) -> Response:
    token = account_views.open_session(state, user)
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
    try:
        user = account_views.sign_up(
            state, username=username, password=password, email=(email or "").strip() or None
        )
    except ApiError as error:
        context["error"] = error.message
        return render(request, "signup.html", context, status_code=error.status)
    return _start_session(request, state, user, next or "/")


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "login.html", {"error": None, "username": "", "next": next or "/"})


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request, state: StateDep, username: Name, password: Password, next: Next = None
) -> Response:
    address = request.client.host if request.client else "unknown"
    try:
        user = account_views.log_in(
            state, username=username.strip(), password=password, address=address
        )
    except ApiError as error:
        context = {"username": username, "next": next or "/", "error": error.message}
        return render(
            request, "login.html", context, status_code=error.status, headers=error.headers
        )
    return _start_session(request, state, user, next or "/")


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, state: StateDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        account_views.close_session(state, cookie)
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
    token = account_views.new_api_token(state, user, name.strip())
    # Shown once; only its hash is stored.
    return render(request, "tokens.html", {"token": token, "name": name.strip()})
