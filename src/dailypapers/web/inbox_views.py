"""The service calls behind the inbox pages and their JSON twins: For you, paper marks,
subscriptions, and the admin's view of the outbox."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from dailypapers.digest.service import (
    MailNotConfigured,
    deliver_due,
    mail_base_url,
    queue_confirmation,
)
from dailypapers.digest.tokens import LinkSigner, Purpose
from dailypapers.models import User
from dailypapers.search.query import QueryError, parse_query
from dailypapers.store.lists import latest_list_date, list_window_papers, window_start_for
from dailypapers.store.marks import Mark, marks_for, set_mark
from dailypapers.store.outbox import count_outbox, list_problem_messages
from dailypapers.store.papers import get_papers
from dailypapers.store.subscriptions import (
    EmailTaken,
    Frequency,
    Preferences,
    Subscription,
    confirm_subscription,
    get_subscription,
    get_subscription_by_email,
    get_user_subscription,
    save_subscription,
    unsubscribe,
)
from dailypapers.store.votes import PaperMissing
from dailypapers.web.errors import ApiError
from dailypapers.web.schemas import (
    ForYouItem,
    ForYouPage,
    MarkPublic,
    OutboxEntryPublic,
    OutboxPublic,
    PaperPublic,
    SubscriptionPublic,
    SubscriptionUpdate,
)
from dailypapers.web.state import AppState

FOR_YOU_COUNT = 30
# Papers For you wants to choose among: its window widens until it holds this many.
FOR_YOU_CANDIDATES = 3 * FOR_YOU_COUNT
MAX_SEARCHES = 20
MAX_CATEGORIES = 30
NO_PUBLIC_URL = (
    "this site has no public URL configured (DAILYPAPERS_PUBLIC_URL); mail links cannot be made"
)
EMAIL_PATTERN = re.compile(r"^[^@\s<>\",;]+@[^@\s<>\",;]+\.[^@\s<>\",;]+$")
_CATEGORY = re.compile(r"^[A-Za-z-]+(\.[A-Za-z-]+)?$")


def for_you_window(state: AppState, user: User) -> tuple[date, date]:
    """The list days For you picks from: the last `for_you_days` up to the newest list day,
    reaching further back until they hold `FOR_YOU_CANDIDATES` papers the reader has not
    upvoted or marked yet (else every list day), so a quiet week never empties the page."""
    last = latest_list_date(state.engine) or datetime.now(UTC).date()
    first = last - timedelta(days=state.settings.for_you_days - 1)
    enough = window_start_for(
        state.engine, last_day=last, min_papers=FOR_YOU_CANDIDATES, unseen_by=user.user_id
    )
    return (min(first, enough) if enough else first), last


def for_you_view(state: AppState, user: User) -> ForYouPage:
    """The reader's picks among the papers listed in the window of `for_you_window`."""
    first, last = for_you_window(state, user)
    candidates = list_window_papers(state.engine, first_day=first, last_day=last)
    subscription = get_user_subscription(state.engine, user_id=user.user_id)
    prefs = subscription.preferences if subscription else Preferences()
    found = state.search.recommend(
        lambda r: r.recommend(
            user_id=user.user_id,
            candidates=candidates,
            limit=FOR_YOU_COUNT,
            categories=prefs.categories,
            searches=prefs.searches,
        )
    )
    ids = [pick.paper_id for pick in found.picks]
    papers = get_papers(state.engine, paper_ids=ids)
    marks = marks_for(state.engine, user_id=user.user_id, paper_ids=ids)
    items = [
        ForYouItem(
            paper=PaperPublic.of(papers[p.paper_id]), reason=p.reason, mark=marks.get(p.paper_id)
        )
        for p in found.picks
        if p.paper_id in papers
    ]
    notices = list(found.notices)
    days = state.settings.for_you_days
    if (last - first).days >= days:
        notices.append(
            f"Too few papers new to you were listed in the {days} days up to {last:%d %b %Y},"
            f" so these picks reach back to the list of {first:%d %b %Y}."
        )
    if found.mode != "personal":
        notices.append(
            "Upvote or save papers (or mark them “not interested”) and this page learns"
            " what you like."
        )
    return ForYouPage(mode=found.mode, first_day=first, last_day=last, items=items, notices=notices)


def mark_view(state: AppState, user: User, paper_id: str, mark: Mark | None) -> MarkPublic:
    try:
        set_mark(
            state.engine, user_id=user.user_id, paper_id=paper_id, mark=mark, now=datetime.now(UTC)
        )
    except PaperMissing:
        raise ApiError(404, f"no paper with id {paper_id!r}", field="paper_id") from None
    return MarkPublic(paper_id=paper_id, mark=mark)


def subscription_public(subscription: Subscription) -> SubscriptionPublic:
    prefs = subscription.preferences
    return SubscriptionPublic(
        email=subscription.email,
        status=subscription.status,
        frequency=prefs.frequency,
        skip_weekends=prefs.skip_weekends,
        include_trending=prefs.include_trending,
        include_for_you=prefs.include_for_you,
        send_empty=prefs.send_empty,
        categories=list(prefs.categories),
        searches=list(prefs.searches),
    )


def parse_subscription_form(form: SubscriptionUpdate) -> tuple[str, Preferences]:
    """The address and preferences; ApiError 422 naming the field (and line) at fault."""
    email = form.email.strip()
    if len(email) > 320 or not EMAIL_PATTERN.match(email):
        raise ApiError(422, f"not an email address: {email!r}", field="email")
    if form.frequency not in ("daily", "weekly"):
        raise ApiError(422, "frequency must be daily or weekly", field="frequency")
    categories = [c for c in re.split(r"[\s,]+", form.categories) if c]
    for category in categories:
        if not _CATEGORY.match(category) or len(category) > 40:
            raise ApiError(
                422, f"not an arXiv category: {category!r} (e.g. cs.CL)", field="categories"
            )
    searches = []
    for number, line in enumerate(form.searches.splitlines(), start=1):
        text = line.strip()
        if not text:
            continue
        try:
            parse_query(text)
        except QueryError as error:
            raise ApiError(422, f"line {number}: {error}", field="searches") from None
        searches.append(text)
    if len(searches) > MAX_SEARCHES:
        raise ApiError(422, f"at most {MAX_SEARCHES} saved searches", field="searches")
    if len(categories) > MAX_CATEGORIES:
        raise ApiError(422, f"at most {MAX_CATEGORIES} categories", field="categories")
    if not (form.include_trending or form.include_for_you or categories or searches):
        raise ApiError(422, "choose at least one thing to receive", field="include_trending")
    frequency: Frequency = "weekly" if form.frequency == "weekly" else "daily"
    preferences = Preferences(
        frequency=frequency,
        skip_weekends=form.skip_weekends,
        include_trending=form.include_trending,
        include_for_you=form.include_for_you,
        send_empty=form.send_empty,
        categories=tuple(dict.fromkeys(categories)),
        searches=tuple(dict.fromkeys(searches)),
    )
    return email, preferences


def subscribe_view(
    state: AppState,
    form: SubscriptionUpdate,
    *,
    user: User | None,
    base_url: str,
    owner: Subscription | None = None,
) -> tuple[Subscription, bool]:
    """Save a subscription; (it, whether a confirmation was queued). `owner` is the
    subscription a signed manage link opened (its address may be changed)."""
    if not state.settings.smtp_host:
        raise ApiError(503, "this site does not send email (no SMTP server is set up)")
    if not (base_url or mail_base_url(state.settings)):
        raise ApiError(503, NO_PUBLIC_URL)
    email, preferences = parse_subscription_form(form)
    user_id = user.user_id if user else (owner.user_id if owner else None)
    if user_id is None:  # For you learns from an account's votes: none, nothing to learn
        preferences = replace(preferences, include_for_you=False)
    if user is None and owner is None:
        # Without an account or a signed link, nobody may change an address's active digest.
        existing = get_subscription_by_email(state.engine, email=email)
        if existing is not None and existing.status == "active":
            raise ApiError(
                409,
                f"{email} is subscribed already: use “Change what you get” in any of its digests",
                field="email",
            )
    now = datetime.now(UTC)
    try:
        saved, needs_confirming = save_subscription(
            state.engine,
            email=email,
            preferences=preferences,
            now=now,
            user_id=user_id,
            subscription_id=owner.subscription_id if owner else None,
        )
    except EmailTaken as taken:
        raise ApiError(409, str(taken), field="email") from None
    queued = False
    if needs_confirming:
        queued = queue_confirmation(state.engine, state.settings, saved, now=now, base_url=base_url)
    return saved, queued


def signed_subscription(state: AppState, purpose: Purpose, sid: int, token: str) -> Subscription:
    """The subscription a signed link names; 404 for any link this site did not make."""
    subscription = get_subscription(state.engine, subscription_id=sid)
    signer = LinkSigner.for_site(state.engine, state.settings)
    if subscription is None or not signer.verify(purpose, sid, subscription.email, token):
        raise ApiError(
            404, "this link is not valid (it may be for an address changed since)", field="t"
        )
    return subscription


def user_subscription(state: AppState, user: User) -> Subscription | None:
    return get_user_subscription(state.engine, user_id=user.user_id)


def subscription_view(state: AppState, user: User) -> SubscriptionPublic:
    """The reader's email digest settings; 404 if they have none."""
    mine = get_user_subscription(state.engine, user_id=user.user_id)
    if mine is None:
        raise ApiError(404, "you have no email subscription (see /settings/subscription)")
    return subscription_public(mine)


def confirm_view(state: AppState, sid: int, token: str) -> Subscription:
    """Start the digest a signed confirmation link names."""
    subscription = signed_subscription(state, "confirm", sid, token)
    confirm_subscription(state.engine, subscription_id=sid, now=now())
    return subscription


def unsubscribe_view(state: AppState, sid: int, token: str) -> Subscription:
    """Stop every email to the subscription a signed unsubscribe link names."""
    subscription = signed_subscription(state, "unsubscribe", sid, token)
    unsubscribe(state.engine, subscription_id=sid, now=now())
    return subscription


def deliver_to(state: AppState, recipient: str) -> None:
    """Send what is due to one address now (after a request has answered)."""
    try:
        deliver_due(state.engine, state.settings, recipient=recipient)
    except MailNotConfigured:
        pass  # refused before anything was queued; nothing to do


def outbox_view(state: AppState) -> OutboxPublic:
    problems = list_problem_messages(state.engine, limit=200)
    return OutboxPublic(
        counts=count_outbox(state.engine),
        problems=[OutboxEntryPublic.model_validate(p, from_attributes=True) for p in problems],
    )


def now() -> datetime:
    return datetime.now(UTC)
