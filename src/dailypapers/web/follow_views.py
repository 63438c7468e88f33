"""The service calls behind following (authors, categories, public collections), the personal
feed of followed papers, and notifications; plus the two helpers templates call for the
signed-in reader (the header's unread count, a page's follow buttons)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from fastapi import Request

from dailypapers.ids import author_key
from dailypapers.models import User
from dailypapers.store.authors import author_summary
from dailypapers.store.collections import get_collection
from dailypapers.store.follows import (
    Follow,
    FollowError,
    FollowKind,
    follow,
    following_targets,
    list_followed_papers,
    list_follows,
    unfollow,
)
from dailypapers.store.notifications import (
    Notification,
    count_unread,
    get_notification,
    list_notifications,
    mark_read,
    notifications_in_digest,
    set_notifications_in_digest,
)
from dailypapers.store.secrets import get_or_create_secret
from dailypapers.store.subscriptions import get_user_subscription
from dailypapers.web.author_views import author_url
from dailypapers.web.category_views import check_category
from dailypapers.web.errors import ApiError
from dailypapers.web.feed_views import Feed, FeedEntry, entry_updated
from dailypapers.web.follow_schemas import (
    FollowCreate,
    FollowingPage,
    FollowPublic,
    FollowResult,
    NotificationPublic,
    NotificationsByEmail,
    NotificationsMarked,
    NotificationsPage,
)
from dailypapers.web.schemas import MAX_ROW_ID, PaperPublic
from dailypapers.web.state import AppState

FOLLOWING_PAGE_SIZE = 30
FOLLOWING_FEED_SIZE = 100
NOTIFICATIONS_PAGE_SIZE = 50
FEED_KEY_PURPOSE = b"following-feed"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _pages(total: int, size: int) -> int:
    return max(1, -(-total // size))


# -- following ---------------------------------------------------------------------------------


def _target_url(kind: FollowKind, target: str) -> str:
    if kind == "author":
        return author_url(target)
    if kind == "category":
        return f"/categories/{target}"
    return f"/collections/{target}"


def _public(item: Follow) -> FollowPublic:
    return FollowPublic(
        kind=item.kind,
        target=item.target,
        name=item.label,
        url=_target_url(item.kind, item.target),
        followed_at=item.created_at,
    )


def resolve_target(state: AppState, kind: FollowKind, target: str) -> tuple[str, str]:
    """(the stored target, its name) of what a reader asks to follow; 404 for an author with
    no papers or a collection that is not public (the answer for one that does not exist),
    422 for a bad category code."""
    if kind == "author":
        key = author_key(target)
        summary = author_summary(state.engine, key=key, top=0) if key else None
        if summary is None:
            raise ApiError(404, f"no papers by an author named {target!r}", field="target")
        return summary.key, summary.name
    if kind == "category":
        code = check_category(target.strip())
        return code, code
    ref = target.strip().split("-", 1)[0]
    found = None
    if ref.isdigit() and 1 <= int(ref) <= MAX_ROW_ID:
        found = get_collection(state.engine, collection_id=int(ref))
    if found is None or found.visibility != "public":
        raise ApiError(404, f"no public collection {target!r}", field="target")
    return str(found.collection_id), found.name


def follow_view(state: AppState, user: User, body: FollowCreate) -> FollowResult:
    """Follow an author, a category or a public collection; following again changes nothing."""
    target, label = resolve_target(state, body.kind, body.target)
    try:
        changed = follow(
            state.engine,
            user_id=user.user_id,
            kind=body.kind,
            target=target,
            label=label,
            now=_now(),
        )
    except FollowError as error:
        raise ApiError(422, str(error), field="target") from None
    url = _target_url(body.kind, target)
    public = FollowPublic(kind=body.kind, target=target, name=label, url=url, followed_at=_now())
    return FollowResult(follow=public, changed=changed)


def unfollow_view(state: AppState, user: User, body: FollowCreate) -> FollowResult:
    """Stop following; unfollowing what is not followed changes nothing (no 404: a second tab
    may have unfollowed it already)."""
    target = body.target.strip()
    if body.kind == "author":
        target = author_key(target)
    elif body.kind == "collection":
        target = target.split("-", 1)[0]
    changed = unfollow(state.engine, user_id=user.user_id, kind=body.kind, target=target)
    return FollowResult(follow=None, changed=changed)


def following_view(state: AppState, user: User, *, page: int = 1) -> FollowingPage:
    """What the reader follows, and the papers of the followed authors and categories."""
    offset = (page - 1) * FOLLOWING_PAGE_SIZE
    papers, total = list_followed_papers(
        state.engine, user_id=user.user_id, limit=FOLLOWING_PAGE_SIZE, offset=offset
    )
    return FollowingPage(
        follows=[_public(f) for f in list_follows(state.engine, user_id=user.user_id)],
        page=page,
        pages=_pages(total, FOLLOWING_PAGE_SIZE),
        total=total,
        papers=[PaperPublic.of(p) for p in papers],
    )


# -- the personal feed, at a secret address ------------------------------------------------------


def _feed_key(state: AppState) -> bytes:
    key = state.settings.secret_key or get_or_create_secret(state.engine, name="links", now=_now())
    return key.encode()


def feed_token(state: AppState, user_id: int) -> str:
    """The secret of a reader's following feed: an HMAC of its purpose and the reader with the
    site's key, so it opens that feed and nothing else."""
    message = FEED_KEY_PURPOSE + b"\n" + str(user_id).encode()
    digest = hmac.new(_feed_key(state), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def feed_path(state: AppState, user_id: int) -> str:
    return f"/feeds/following/{user_id}.atom?key={feed_token(state, user_id)}"


def following_feed_view(state: AppState, user_id: int, key: str) -> Feed:
    """The newest papers a reader follows; 404 (as for no such feed) without the right key."""
    if not hmac.compare_digest(feed_token(state, user_id).encode(), key.encode()):
        raise ApiError(404, "no such feed: check the address on your Following page", field="key")
    papers, _ = list_followed_papers(state.engine, user_id=user_id, limit=FOLLOWING_FEED_SIZE)
    entries = [FeedEntry(PaperPublic.of(p), entry_updated(p)) for p in papers]
    updated = max((e.updated for e in entries), default=EPOCH)
    return Feed(title="Papers you follow", entries=entries, updated=updated)


# -- notifications -----------------------------------------------------------------------------


def _notification(item: Notification) -> NotificationPublic:
    text, url = item.describe()
    return NotificationPublic(
        id=item.notification_id,
        kind=item.kind,
        text=text,
        url=url,
        paper_id=item.paper_id,
        created_at=item.created_at,
        read=item.read_at is not None,
    )


def notifications_view(state: AppState, user: User, *, page: int = 1) -> NotificationsPage:
    """The reader's notifications, newest first, read or not."""
    found, total = list_notifications(
        state.engine,
        user_id=user.user_id,
        limit=NOTIFICATIONS_PAGE_SIZE,
        offset=(page - 1) * NOTIFICATIONS_PAGE_SIZE,
    )
    return NotificationsPage(
        unread=count_unread(state.engine, user_id=user.user_id),
        in_digest=notifications_in_digest(state.engine, user_id=user.user_id),
        page=page,
        pages=_pages(total, NOTIFICATIONS_PAGE_SIZE),
        total=total,
        notifications=[_notification(n) for n in found],
    )


def open_notification_view(state: AppState, user: User, notification_id: int) -> str:
    """Mark one of the reader's notifications read and give the path it points to; 404 for
    another reader's, one that does not exist, or one about a hidden paper or reply."""
    found = get_notification(state.engine, user_id=user.user_id, notification_id=notification_id)
    if found is None:
        raise ApiError(404, f"no notification {notification_id}", field="notification_id")
    mark_read(state.engine, user_id=user.user_id, now=_now(), notification_ids=[notification_id])
    return found.describe()[1]


def digest_choice_view(state: AppState, user: User, *, on: bool) -> NotificationsByEmail:
    """Turn the notifications section of the reader's digest on or off."""
    set_notifications_in_digest(state.engine, user_id=user.user_id, on=on)
    return NotificationsByEmail(in_digest=on)


def has_digest(state: AppState, user: User) -> bool:
    """Whether the reader gets a digest (a confirmed subscription of their account)."""
    subscription = get_user_subscription(state.engine, user_id=user.user_id)
    return subscription is not None and subscription.status == "active"


def mark_read_view(state: AppState, user: User, ids: list[int] | None) -> NotificationsMarked:
    """Mark the reader's notifications read: those named, or all."""
    marked = mark_read(state.engine, user_id=user.user_id, now=_now(), notification_ids=ids)
    return NotificationsMarked(
        marked=marked, unread=count_unread(state.engine, user_id=user.user_id)
    )


# -- for templates -------------------------------------------------------------------------------


def _reader(request: Request) -> User | None:
    user: User | None = getattr(request.state, "user", None)
    return user


def unread_notifications(request: Request) -> int:
    """The signed-in reader's unread count for the header: one indexed COUNT, once a request;
    0 for anonymous readers (no query, so anonymous pages stay cacheable)."""
    user = _reader(request)
    if user is None:
        return 0
    cached: int | None = getattr(request.state, "unread_notifications", None)
    if cached is None:
        state: AppState = request.app.state.dp
        cached = count_unread(state.engine, user_id=user.user_id)
        request.state.unread_notifications = cached
    return cached


def followed_here(request: Request, kind: FollowKind, targets: Any) -> set[str]:
    """Which of `targets` (author names or keys, category codes, collection ids) the signed-in
    reader follows, as the targets were given; empty for anonymous readers."""
    user = _reader(request)
    if user is None:
        return set()
    given = [str(t) for t in targets]
    stored = {t: (author_key(t) if kind == "author" else t) for t in given}
    state: AppState = request.app.state.dp
    found = following_targets(
        state.engine, user_id=user.user_id, kind=kind, targets=list(stored.values())
    )
    return {t for t, key in stored.items() if key in found}
