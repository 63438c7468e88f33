"""Sign up, log in, log out, API tokens: sessions in HttpOnly cookies, failed logins limited.
Account care: change password or address, reset a forgotten password by mail, export or delete
an account; the admin's list of users, where one can be disabled."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, BackgroundTasks, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dailypapers.models import User
from dailypapers.web import account_views, inbox_views
from dailypapers.web.account_schemas import (
    AccountExport,
    UserAdminPublic,
    UserDisabledUpdate,
    UsersPage,
)
from dailypapers.web.deps import AdminUser, CsrfChecked, RequiredUser, StateDep, site_url
from dailypapers.web.errors import ApiError
from dailypapers.web.routers.pages import local_path
from dailypapers.web.schemas import MAX_ROW_ID, ErrorPublic
from dailypapers.web.security import CSRF_COOKIE, MAX_PASSWORD_CHARS, SESSION_COOKIE, new_token
from dailypapers.web.state import AppState
from dailypapers.web.templating import render

router = APIRouter(include_in_schema=False)
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorPublic} for status in (400, 401, 403, 404, 409, 413, 414, 422, 503)
}
api = APIRouter(prefix="/api/v1", tags=["api"], responses=_ERRORS)

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
    context = {"username": username, "email": email, "next": next or "/"}
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


# -- account care -----------------------------------------------------------------------------

CurrentPassword = Annotated[str, Form(max_length=MAX_PASSWORD_CHARS * 4)]
Email = Annotated[str, Form(max_length=400)]
LinkToken = Annotated[str, Form(min_length=1, max_length=100)]
LinkQuery = Annotated[str, Query(min_length=1, max_length=100)]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]


def _mail_base(request: Request) -> str:
    # Empty unless the public URL is set or the request's host is a listed one: mail links
    # never take a host from a forged Host header.
    return site_url(request) or ""


def _send_soon(background: BackgroundTasks, state: AppState, recipients: list[str]) -> None:
    for recipient in recipients:
        background.add_task(inbox_views.deliver_to, state, recipient)


def _account_page(
    request: Request, *, error: ApiError | None = None, form: str = "", notice: str = ""
) -> HTMLResponse:
    context = {
        "error": {"form": form, "message": error.message} if error else None,
        "notice": notice or None,
    }
    status = error.status if error else 200
    return render(request, "account.html", context, status_code=status)


def _done(request: Request, title: str, text: str, link: tuple[str, str] | None = None) -> Response:
    context: dict[str, object] = {"title": title, "text": text, "link": None}
    if link:
        context["link"] = {"href": link[0], "label": link[1]}
    return render(request, "account_done.html", context)


def _logged_out(response: Response) -> Response:
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response


@router.get("/settings/account")
def account_page(request: Request, _user: RequiredUser) -> HTMLResponse:
    return _account_page(request)


@router.post("/settings/password", dependencies=[CsrfChecked])
def change_password(
    request: Request,
    state: StateDep,
    user: RequiredUser,
    current_password: CurrentPassword,
    new_password: Password,
) -> HTMLResponse:
    try:
        account_views.change_password_view(
            state,
            user,
            current=current_password,
            new=new_password,
            session_token=request.cookies.get(SESSION_COOKIE),
        )
    except ApiError as error:
        return _account_page(request, error=error, form="password")
    notice = "Password changed. Every other place you were logged in is logged out."
    return _account_page(request, notice=notice)


@router.post("/settings/email", dependencies=[CsrfChecked])
def change_email(
    request: Request,
    state: StateDep,
    user: RequiredUser,
    background: BackgroundTasks,
    email: Email,
    password: CurrentPassword,
) -> HTMLResponse:
    try:
        queued = account_views.request_email_change(
            state, user, password=password, new_email=email, base_url=_mail_base(request)
        )
    except ApiError as error:
        return _account_page(request, error=error, form="email")
    if queued:
        _send_soon(background, state, [email.strip()])
    notice = f"We sent a link to {email.strip()}: follow it within 24 hours to use that address."
    if not queued:
        notice = "A link was sent a few minutes ago: look for it, or try again in 5 minutes."
    return _account_page(request, notice=notice)


@router.get("/settings/email/confirm")
def confirm_email_page(request: Request, t: LinkQuery) -> HTMLResponse:
    # Opening the link changes nothing (mail scanners open links): a button does.
    context = {
        "title": "Confirm your new address",
        "text": "Use the address this link was mailed to for your account?",
        "form": {"action": "/settings/email/confirm", "button": "Confirm", "fields": {"t": t}},
    }
    return render(request, "message.html", context)


@router.post("/settings/email/confirm", dependencies=[CsrfChecked])
def confirm_email(
    request: Request, state: StateDep, background: BackgroundTasks, t: LinkToken
) -> Response:
    changed = account_views.confirm_email_view(state, t, base_url=_mail_base(request))
    if changed.old_email:
        _send_soon(background, state, [changed.old_email])
    text = f"Your account's address is now {changed.new_email}."
    return _done(request, "Address changed", text)


@router.get("/password/forgot")
def forgot_password_page(request: Request) -> HTMLResponse:
    return render(request, "password_forgot.html", {"error": None, "email": ""})


@router.post("/password/forgot", dependencies=[CsrfChecked])
def forgot_password(
    request: Request, state: StateDep, background: BackgroundTasks, email: Email
) -> Response:
    try:
        recipients = account_views.request_password_reset(
            state, email=email, base_url=_mail_base(request)
        )
    except ApiError as error:
        context = {"error": error.message, "email": email}
        return render(request, "password_forgot.html", context, status_code=error.status)
    _send_soon(background, state, recipients)
    # The same page whether or not an account uses the address.
    return _done(request, "Check your inbox", account_views.SAME_ANSWER)


@router.get("/password/reset")
def reset_password_page(request: Request, state: StateDep, t: LinkQuery) -> HTMLResponse:
    if not account_views.reset_link_works(state, t):
        raise ApiError(404, "this link is not valid: it was used already or has expired", field="t")
    return render(request, "password_reset.html", {"token": t, "error": None})


@router.post("/password/reset", dependencies=[CsrfChecked])
def reset_password(request: Request, state: StateDep, t: LinkToken, password: Password) -> Response:
    try:
        account_views.reset_password_view(state, token=t, password=password)
    except ApiError as error:
        if error.status != 422:
            raise
        context = {"token": t, "error": error.message}
        return render(request, "password_reset.html", context, status_code=error.status)
    text = "Your password is changed and the account is logged out everywhere."
    return _logged_out(_done(request, "Password changed", text, ("/login", "Log in")))


@router.get("/settings/delete")
def delete_account_page(request: Request, _user: RequiredUser) -> HTMLResponse:
    return render(request, "account_delete.html", {"error": None})


@router.post("/settings/delete", dependencies=[CsrfChecked])
def delete_account(
    request: Request, state: StateDep, user: RequiredUser, password: CurrentPassword
) -> Response:
    try:
        account_views.delete_account_view(state, user, password=password)
    except ApiError as error:
        context = {"error": error.message}
        return render(request, "account_delete.html", context, status_code=error.status)
    request.state.user = None  # the page after is rendered for nobody
    text = f"The account {user.username} is deleted. Its comments now read as by [deleted]."
    return _logged_out(_done(request, "Account deleted", text, ("/", "Back to the papers")))


@router.get("/settings/export")
def export_download(state: StateDep, user: RequiredUser) -> Response:
    body = orjson.dumps(account_views.export_view(state, user), option=orjson.OPT_INDENT_2)
    name = f"dailypapers-{user.username}.json"
    headers = {
        "content-disposition": f'attachment; filename="{name}"',
        "cache-control": "private, no-store",
    }
    return Response(body, media_type="application/json", headers=headers)


@api.get("/account/export", response_model=AccountExport)
def api_export(state: StateDep, user: RequiredUser) -> Response:
    """Everything the site keeps about you (votes, marks, collections with papers and notes,
    comments, submissions, follows, subscription, account; never the password hash)."""
    body = orjson.dumps(account_views.export_view(state, user))
    return Response(
        body, media_type="application/json", headers={"cache-control": "private, no-store"}
    )


# -- the admin's list of users ------------------------------------------------------------------


@router.get("/admin/users")
def users_page(
    request: Request, state: StateDep, _admin: AdminUser, p: PageNumber = 1
) -> HTMLResponse:
    page = account_views.users_view(state, page=p)
    return render(
        request,
        "admin_users.html",
        {"page": page, "json_url": f"/api/v1/admin/users?p={p}", "error": None},
    )


@router.post("/admin/users/{user_id}/disabled", dependencies=[CsrfChecked])
def set_user_disabled(
    state: StateDep,
    admin: AdminUser,
    user_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    disabled: Annotated[bool, Form()],
    p: Annotated[int, Form(ge=1, le=100_000)] = 1,
) -> Response:
    account_views.set_disabled_view(state, admin, user_id=user_id, disabled=disabled)
    return RedirectResponse(f"/admin/users?p={p}", status_code=303)


@api.get("/admin/users", response_model=UsersPage)
def api_users(state: StateDep, _admin: AdminUser, p: PageNumber = 1) -> UsersPage:
    """Accounts, 50 a page, oldest first: name, email, created, last login, disabled (admins)."""
    return account_views.users_view(state, page=p)


@api.put("/admin/users/{user_id}/disabled", response_model=UserAdminPublic)
def api_set_user_disabled(
    state: StateDep,
    admin: AdminUser,
    user_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    body: UserDisabledUpdate,
) -> UserAdminPublic:
    """Disable an account (it cannot log in and every session ends) or enable it (admins)."""
    account_views.set_disabled_view(state, admin, user_id=user_id, disabled=body.disabled)
    return account_views.user_admin_view(state, user_id=user_id)
