"""Inbox pages: For you, saving papers, email subscriptions (subscribe, confirm, manage,
one-click unsubscribe) and the admin's outbox; each page beside its JSON twin."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dailypapers.models import User
from dailypapers.store.subscriptions import Subscription
from dailypapers.web import inbox_views
from dailypapers.web.deps import (
    AdminUser,
    CsrfChecked,
    CurrentUser,
    RequiredUser,
    StateDep,
    site_url,
)
from dailypapers.web.errors import ApiError
from dailypapers.web.routers.pages import local_path
from dailypapers.web.schemas import (
    MAX_ROW_ID,
    ErrorPublic,
    ForYouPage,
    MarkCreate,
    MarkPublic,
    OutboxPublic,
    SubscriptionPublic,
    SubscriptionUpdate,
)
from dailypapers.web.state import AppState
from dailypapers.web.templating import render

router = APIRouter(include_in_schema=False)
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorPublic} for status in (400, 401, 403, 404, 409, 413, 414, 422, 429, 503)
}
api = APIRouter(prefix="/api/v1", tags=["api"], responses=_ERRORS)

Sid = Annotated[int, Query(ge=1, le=MAX_ROW_ID)]
Token = Annotated[str, Query(min_length=1, max_length=100)]
FormSid = Annotated[int, Form(ge=1, le=MAX_ROW_ID)]
FormToken = Annotated[str, Form(min_length=1, max_length=100)]


# -- For you and marks -------------------------------------------------------------------------


@router.get("/for-you")
def for_you(request: Request, state: StateDep, user: RequiredUser) -> HTMLResponse:
    page = inbox_views.for_you_view(state, user)
    return render(request, "for_you.html", {"page": page, "json_url": "/api/v1/for-you"})


@api.get("/for-you", response_model=ForYouPage)
def api_for_you(state: StateDep, user: RequiredUser) -> ForYouPage:
    """Papers picked for you from the recent lists, each with why (needs an account)."""
    return inbox_views.for_you_view(state, user)


@router.post("/marks", dependencies=[CsrfChecked])
def mark(
    state: StateDep,
    user: RequiredUser,
    paper_id: Annotated[str, Form(max_length=200)],
    action: Annotated[Literal["saved", "not_interested", "clear"], Form()],
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> RedirectResponse:
    inbox_views.mark_view(state, user, paper_id, None if action == "clear" else action)
    return RedirectResponse(local_path(next, f"/papers/{paper_id}"), status_code=303)


@api.post("/marks", response_model=MarkPublic, dependencies=[CsrfChecked])
def api_mark(state: StateDep, user: RequiredUser, body: MarkCreate) -> MarkPublic:
    """Save a paper, mark it not interested, or clear the mark (both teach For you)."""
    return inbox_views.mark_view(state, user, body.paper_id, body.mark)


# -- subscriptions ----------------------------------------------------------------------------


def _form_context(
    state: AppState,
    subscription: Subscription | None,
    *,
    action: str,
    error: str | None = None,
    form: SubscriptionUpdate | None = None,
) -> dict[str, object]:
    public = inbox_views.subscription_public(subscription) if subscription else None
    return {
        "subscription": public,
        "action": action,
        "error": error,
        "form": form,
        "mail_enabled": bool(state.settings.smtp_host),
    }


def _base_url(request: Request) -> str:
    # Empty when the host is not one the site is configured for: mail then links to the default.
    return site_url(request) or ""


def _send_soon(background: BackgroundTasks, state: AppState, recipient: str) -> None:
    background.add_task(inbox_views.deliver_to, state, recipient)


@router.get("/subscribe")
@router.get("/settings/subscription")
def subscribe_page(request: Request, state: StateDep, user: CurrentUser) -> HTMLResponse:
    mine = inbox_views.user_subscription(state, user) if user else None
    context = _form_context(state, mine, action="/subscribe")
    return render(request, "subscribe.html", context)


def _save(
    request: Request,
    state: AppState,
    user: User | None,
    background: BackgroundTasks,
    form: SubscriptionUpdate,
    *,
    owner: Subscription | None,
    action: str,
) -> HTMLResponse:
    try:
        saved, queued = inbox_views.subscribe_view(
            state, form, user=user, base_url=_base_url(request), owner=owner
        )
    except ApiError as error:
        context = _form_context(state, owner, action=action, error=error.message, form=form)
        return render(request, "subscribe.html", context, status_code=error.status)
    if queued:
        _send_soon(background, state, saved.email)
    if saved.status == "pending":
        title = "Check your inbox"
        text = f"We sent a link to {saved.email}: follow it to start your digest."
        text += " Nothing is sent before."
    else:
        title, text = "Saved", f"Your digest to {saved.email} is updated."
    return render(request, "message.html", {"title": title, "text": text})


SubscriptionForm = Annotated[SubscriptionUpdate, Form()]


@router.post("/subscribe", dependencies=[CsrfChecked])
def subscribe(
    request: Request,
    state: StateDep,
    user: CurrentUser,
    background: BackgroundTasks,
    form: SubscriptionForm,
) -> HTMLResponse:
    return _save(request, state, user, background, form, owner=None, action="/subscribe")


@router.get("/subscription")
def manage_page(request: Request, state: StateDep, s: Sid, t: Token) -> HTMLResponse:
    owner = inbox_views.signed_subscription(state, "manage", s, t)
    context = _form_context(state, owner, action=f"/subscription?s={s}&t={t}")
    return render(request, "subscribe.html", context)


@router.post("/subscription", dependencies=[CsrfChecked])
def manage(
    request: Request,
    state: StateDep,
    user: CurrentUser,
    background: BackgroundTasks,
    s: Sid,
    t: Token,
    form: SubscriptionForm,
) -> HTMLResponse:
    owner = inbox_views.signed_subscription(state, "manage", s, t)
    action = f"/subscription?s={s}&t={t}"
    return _save(request, state, user, background, form, owner=owner, action=action)


@router.get("/subscribe/confirm")
def confirm_page(request: Request, state: StateDep, s: Sid, t: Token) -> HTMLResponse:
    subscription = inbox_views.signed_subscription(state, "confirm", s, t)
    context = {
        "title": "Confirm your subscription",
        "text": f"Send the {subscription.preferences.frequency} digest to {subscription.email}?",
        "form": {"action": "/subscribe/confirm", "button": "Confirm", "fields": {"s": s, "t": t}},
    }
    return render(request, "message.html", context)


@router.post("/subscribe/confirm", dependencies=[CsrfChecked])
def confirm(request: Request, state: StateDep, s: FormSid, t: FormToken) -> HTMLResponse:
    subscription = inbox_views.confirm_view(state, s, t)
    text = f"Your {subscription.preferences.frequency} digest will go to {subscription.email}."
    return render(request, "message.html", {"title": "Subscribed", "text": text})


@router.get("/unsubscribe")
def unsubscribe_page(request: Request, state: StateDep, s: Sid, t: Token) -> HTMLResponse:
    subscription = inbox_views.signed_subscription(state, "unsubscribe", s, t)
    context = {
        "title": "Unsubscribe",
        "text": f"Stop every email to {subscription.email}?",
        "form": {"action": f"/unsubscribe?s={s}&t={t}", "button": "Unsubscribe", "fields": {}},
    }
    return render(request, "message.html", context)


@router.post("/unsubscribe", dependencies=[CsrfChecked])
def unsubscribe_now(request: Request, state: StateDep, s: Sid, t: Token) -> Response:
    """One click (RFC 8058): mail readers POST `List-Unsubscribe=One-Click` here, no login."""
    subscription = inbox_views.unsubscribe_view(state, s, t)
    text = f"No more email will go to {subscription.email}. Subscribe again at any time."
    return render(request, "message.html", {"title": "Unsubscribed", "text": text})


@api.get("/subscription", response_model=SubscriptionPublic)
def api_subscription(state: StateDep, user: RequiredUser) -> SubscriptionPublic:
    """Your email digest settings (404 if you have none)."""
    return inbox_views.subscription_view(state, user)


# -- admin ------------------------------------------------------------------------------------


@router.get("/admin/outbox")
def outbox_page(request: Request, state: StateDep, _admin: AdminUser) -> HTMLResponse:
    outbox = inbox_views.outbox_view(state)
    return render(request, "outbox.html", {"outbox": outbox, "json_url": "/api/v1/admin/outbox"})


@api.get("/admin/outbox", response_model=OutboxPublic)
def api_outbox(state: StateDep, _admin: AdminUser) -> OutboxPublic:
    """Messages by state, with failed and retrying ones (admins only)."""
    return inbox_views.outbox_view(state)
