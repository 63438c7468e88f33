"""Following and notifications: the follow / unfollow forms, /following with its secret Atom
feed, /notifications and marking them read; each page beside its JSON twin under /api/v1.
Every form answers with a redirect back, so all of it works without JavaScript."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dailypapers.web import follow_views
from dailypapers.web.deps import CsrfChecked, RequiredUser, StateDep
from dailypapers.web.errors import ApiError
from dailypapers.web.follow_schemas import (
    FollowCreate,
    FollowingPage,
    FollowKindName,
    FollowResult,
    NotificationsByEmail,
    NotificationsMarked,
    NotificationsPage,
    NotificationsRead,
)
from dailypapers.web.routers.pages import local_path
from dailypapers.web.schemas import MAX_ROW_ID, ErrorPublic
from dailypapers.web.templating import absolute_url, environment, render
from dailypapers.web.views import voted_ids

router = APIRouter(include_in_schema=False)
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorPublic} for status in (400, 401, 403, 404, 413, 414, 422, 503)
}
api = APIRouter(prefix="/api/v1", tags=["api"], responses=_ERRORS)

ATOM = "application/atom+xml; charset=utf-8"
PRIVATE = "private, no-store"

Page = Annotated[int, Query(ge=1, le=1000, description="Page number, from 1.")]
FormKind = Annotated[FollowKindName, Form()]
FormTarget = Annotated[str, Form(min_length=1, max_length=300)]
Next = Annotated[str | None, Form(max_length=2000)]


def _back(target: str | None, default: str) -> RedirectResponse:
    return RedirectResponse(local_path(target, default), status_code=303)


# -- following ---------------------------------------------------------------------------------


@router.post("/follow", dependencies=[CsrfChecked])
def follow_form(
    state: StateDep, user: RequiredUser, kind: FormKind, target: FormTarget, next: Next = None
) -> RedirectResponse:
    done = follow_views.follow_view(state, user, FollowCreate(kind=kind, target=target))
    assert done.follow is not None
    return _back(next, done.follow.url)


@router.post("/unfollow", dependencies=[CsrfChecked])
def unfollow_form(
    state: StateDep, user: RequiredUser, kind: FormKind, target: FormTarget, next: Next = None
) -> RedirectResponse:
    follow_views.unfollow_view(state, user, FollowCreate(kind=kind, target=target))
    return _back(next, "/following")


@router.get("/following")
def following_page(
    request: Request, state: StateDep, user: RequiredUser, p: Page = 1
) -> HTMLResponse:
    page = follow_views.following_view(state, user, page=p)
    feed = follow_views.feed_path(state, user.user_id)
    context = {
        "page": page,
        "voted": voted_ids(state, user, page.papers),
        "json_url": f"/api/v1/following?p={p}",
        "feed_url": feed,
        "feed_title": "Papers you follow",
        "feed_address": absolute_url(request, feed),
    }
    return render(request, "following.html", context)


@router.get("/feeds/following/{user_id}.atom")
def following_feed(
    request: Request,
    state: StateDep,
    user_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    key: Annotated[str, Query(max_length=100, description="The feed's secret key.")] = "",
) -> Response:
    """A reader's followed papers, newest first (100), at a secret address: it opens without
    logging in, so a feed reader can fetch it; no shared cache keeps it."""
    feed = follow_views.following_feed_view(state, user_id, key)
    base = (state.settings.public_url or str(request.base_url)).rstrip("/")
    body = environment.get_template("feed.xml").render(
        title=f"{state.settings.site_name}: {feed.title}",
        base=base,
        self_url=base + follow_views.feed_path(state, user_id),
        html_url=base + "/following",
        updated=feed.updated,
        entries=feed.entries,
        pages={},
    )
    return Response(body, media_type=ATOM, headers={"cache-control": PRIVATE})


@api.get("/following", response_model=FollowingPage)
def api_following(state: StateDep, user: RequiredUser, p: Page = 1) -> FollowingPage:
    """What you follow, and the papers of the authors and categories you follow (30 a page)."""
    return follow_views.following_view(state, user, page=p)


@api.post("/follows", response_model=FollowResult, dependencies=[CsrfChecked])
def api_follow(state: StateDep, user: RequiredUser, body: FollowCreate) -> FollowResult:
    """Follow an author (name or page slug), an arXiv category or a public collection (id).
    Following again changes nothing (`changed` is false)."""
    return follow_views.follow_view(state, user, body)


@api.delete("/follows/{kind}/{target}", response_model=FollowResult, dependencies=[CsrfChecked])
def api_unfollow(
    state: StateDep,
    user: RequiredUser,
    kind: Annotated[FollowKindName, Path()],
    target: Annotated[str, Path(min_length=1, max_length=300)],
) -> FollowResult:
    """Stop following; `changed` is false when it was not followed."""
    return follow_views.unfollow_view(state, user, FollowCreate(kind=kind, target=target))


# -- notifications -----------------------------------------------------------------------------


@router.get("/notifications")
def notifications_page(
    request: Request, state: StateDep, user: RequiredUser, p: Page = 1
) -> HTMLResponse:
    page = follow_views.notifications_view(state, user, page=p)
    request.state.unread_notifications = page.unread  # the header shows the same count
    context = {
        "page": page,
        "json_url": f"/api/v1/notifications?p={p}",
        "subscribed": follow_views.has_digest(state, user),
    }
    return render(request, "notifications.html", context)


@router.get("/notifications/{notification_id}")
def open_notification(
    state: StateDep,
    user: RequiredUser,
    notification_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
) -> RedirectResponse:
    """Follow a notification's link: it is marked read, then the page it is about opens (a
    link, not a form, so it opens in a new tab too; marking read twice changes nothing)."""
    target = follow_views.open_notification_view(state, user, notification_id)
    return RedirectResponse(target, status_code=303, headers={"cache-control": PRIVATE})


@router.post("/notifications/digest", dependencies=[CsrfChecked])
def digest_form(
    state: StateDep,
    user: RequiredUser,
    in_digest: Annotated[bool, Form()],
    next: Next = None,
) -> RedirectResponse:
    follow_views.digest_choice_view(state, user, on=in_digest)
    return _back(next, "/notifications")


@router.post("/notifications/read", dependencies=[CsrfChecked])
def read_form(
    state: StateDep,
    user: RequiredUser,
    notification_id: Annotated[int | None, Form(ge=1, le=MAX_ROW_ID)] = None,
    next: Next = None,
) -> RedirectResponse:
    ids = None if notification_id is None else [notification_id]
    follow_views.mark_read_view(state, user, ids)
    return _back(next, "/notifications")


@api.get("/notifications", response_model=NotificationsPage)
def api_notifications(state: StateDep, user: RequiredUser, p: Page = 1) -> NotificationsPage:
    """Your notifications, newest first (50 a page), and how many are unread."""
    return follow_views.notifications_view(state, user, page=p)


@api.post("/notifications/digest", response_model=NotificationsByEmail, dependencies=[CsrfChecked])
def api_digest(
    state: StateDep, user: RequiredUser, body: NotificationsByEmail
) -> NotificationsByEmail:
    """Put your unread notifications in your digest (each once), or stop."""
    return follow_views.digest_choice_view(state, user, on=body.in_digest)


@api.post("/notifications/read", response_model=NotificationsMarked, dependencies=[CsrfChecked])
def api_read(state: StateDep, user: RequiredUser, body: NotificationsRead) -> NotificationsMarked:
    """Mark notifications read: those in `ids`, or all of yours without `ids`."""
    try:
        ids = body.checked_ids()
    except ValueError as error:
        raise ApiError(422, str(error), field="ids") from None
    return follow_views.mark_read_view(state, user, ids)
