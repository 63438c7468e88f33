"""Atom feeds for the daily, weekly and monthly lists, trending, and any search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from dailypapers.feeds.periods import PeriodKind
from dailypapers.web import feed_views, views
from dailypapers.web.deps import StateDep
from dailypapers.web.feed_views import Feed
from dailypapers.web.templating import environment

router = APIRouter(prefix="/feeds", include_in_schema=False)

ATOM = "application/atom+xml; charset=utf-8"
Text = Annotated[str | None, Query(max_length=200)]
FeedPage = Annotated[int, Query(ge=1, le=views.MAX_PAGE, description="Page, from 1.")]
FEED_NAMES: dict[PeriodKind, str] = {"date": "daily", "week": "weekly", "month": "monthly"}


def _base_url(request: Request, public_url: str) -> str:
    return (public_url or str(request.base_url)).rstrip("/")


def _atom(
    request: Request,
    state: StateDep,
    feed: Feed,
    *,
    self_path: str,
    html_path: str,
    pages: dict[str, str] | None = None,
) -> Response:
    base = _base_url(request, state.settings.public_url)
    body = environment.get_template("feed.xml").render(
        title=f"{state.settings.site_name}: {feed.title}",
        base=base,
        self_url=base + self_path,
        html_url=base + html_path,
        updated=feed.updated,
        entries=feed.entries,
        pages={rel: base + path for rel, path in (pages or {}).items()},
    )
    return Response(body, media_type=ATOM)


def _period_feed(
    request: Request, state: StateDep, kind: PeriodKind, text: str | None, page: int
) -> Response:
    feed = feed_views.period_feed_view(state, kind, text, page=page)
    path = f"/feeds/{FEED_NAMES[kind]}.atom"
    pinned = f"{path}?{kind}={feed.period}"

    def page_path(number: int) -> str:
        return pinned if number == 1 else f"{pinned}&p={number}"

    # Without a period the feed follows the newest list, so its own URL must not pin one.
    self_path = page_path(page) if text or page > 1 else path
    pages: dict[str, str] = {}
    if feed.pages > 1:  # RFC 5005 paged feed: the period does not fit in one document
        pages = {"first": page_path(1), "last": page_path(feed.pages)}
        if page > 1:
            pages["previous"] = page_path(min(page, feed.pages + 1) - 1)
        if page < feed.pages:
            pages["next"] = page_path(page + 1)
    return _atom(
        request,
        state,
        feed,
        self_path=self_path,
        html_path=f"/papers/{kind}/{feed.period}",
        pages=pages,
    )


@router.get("/daily.atom")
def daily_feed(
    request: Request,
    state: StateDep,
    date: Annotated[str | None, Query(max_length=10)] = None,
    p: FeedPage = 1,
) -> Response:
    """The papers of a day (the newest day with papers unless `date` is given)."""
    return _period_feed(request, state, "date", date, p)


@router.get("/weekly.atom")
def weekly_feed(
    request: Request,
    state: StateDep,
    week: Annotated[str | None, Query(max_length=8)] = None,
    p: FeedPage = 1,
) -> Response:
    return _period_feed(request, state, "week", week, p)


@router.get("/monthly.atom")
def monthly_feed(
    request: Request,
    state: StateDep,
    month: Annotated[str | None, Query(max_length=7)] = None,
    p: FeedPage = 1,
) -> Response:
    return _period_feed(request, state, "month", month, p)


@router.get("/trending.atom")
def trending_feed(request: Request, state: StateDep) -> Response:
    feed = feed_views.trending_feed_view(state)
    return _atom(request, state, feed, self_path="/feeds/trending.atom", html_path="/trending")


@router.get("/search.atom")
def search_feed(
    request: Request,
    state: StateDep,
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    author: Text = None,
    category: Text = None,
    since: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """New papers matching a search, newest first (keyword ranking decides what matches)."""
    filters = views.search_filters(author, category, since, until)
    feed = feed_views.search_feed_view(state, q, filters)
    query = str(request.url.query)
    return _atom(
        request,
        state,
        feed,
        self_path=f"/feeds/search.atom?{query}",
        html_path=f"/search?{query}",
    )
