"""Atom feeds for the daily, weekly and monthly lists (of all papers or one category), an
author's papers, trending, and any search."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from dailypapers.feeds.periods import PeriodKind
from dailypapers.store.lists import NO_FILTER, ListFilter
from dailypapers.web import category_views, feed_views, views
from dailypapers.web.deps import StateDep
from dailypapers.web.feed_views import Feed
from dailypapers.web.templating import environment

router = APIRouter(prefix="/feeds", include_in_schema=False)

ATOM = "application/atom+xml; charset=utf-8"
Text = Annotated[str | None, Query(max_length=200)]
FeedPage = Annotated[int, Query(ge=1, le=views.MAX_PAGE, description="Page, from 1.")]
WithCode = Annotated[bool, Query(description="Only papers that link their code.")]
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


def _paged_links(first_path: str, page: int, pages: int) -> tuple[str, dict[str, str]]:
    """This document's path and its RFC 5005 links (none when everything fits in one)."""

    def page_path(number: int) -> str:
        if number == 1:
            return first_path
        return f"{first_path}{'&' if '?' in first_path else '?'}p={number}"

    links: dict[str, str] = {}
    if pages > 1:  # a paged feed: the list does not fit in one document
        links = {"first": page_path(1), "last": page_path(pages)}
        if page > 1:
            links["previous"] = page_path(min(page, pages + 1) - 1)
        if page < pages:
            links["next"] = page_path(page + 1)
    return page_path(page), links


def _period_feed(
    request: Request,
    state: StateDep,
    kind: PeriodKind,
    text: str | None,
    page: int,
    only: ListFilter = NO_FILTER,
) -> Response:
    feed = feed_views.period_feed_view(state, kind, text, page=page, only=only)
    feeds = f"/feeds/categories/{only.category}" if only.category else "/feeds"
    html = f"/categories/{only.category}" if only.category else "/papers"
    path = f"{feeds}/{FEED_NAMES[kind]}.atom"
    code = "&code=1" if only.with_code else ""
    pinned, pages = _paged_links(f"{path}?{kind}={feed.period}{code}", page, feed.pages)
    # Without a period the feed follows the newest list, so its own URL must not pin one.
    self_path = pinned if text or page > 1 else path + (f"?{code[1:]}" if code else "")
    return _atom(
        request,
        state,
        feed,
        self_path=self_path,
        html_path=f"{html}/{kind}/{feed.period}" + (f"?{code[1:]}" if code else ""),
        pages=pages,
    )


@router.get("/daily.atom")
def daily_feed(
    request: Request,
    state: StateDep,
    date: Annotated[str | None, Query(max_length=10)] = None,
    p: FeedPage = 1,
    code: WithCode = False,
) -> Response:
    """The papers of a day (the newest day with papers unless `date` is given)."""
    return _period_feed(request, state, "date", date, p, ListFilter(with_code=code))


@router.get("/weekly.atom")
def weekly_feed(
    request: Request,
    state: StateDep,
    week: Annotated[str | None, Query(max_length=8)] = None,
    p: FeedPage = 1,
    code: WithCode = False,
) -> Response:
    return _period_feed(request, state, "week", week, p, ListFilter(with_code=code))


@router.get("/monthly.atom")
def monthly_feed(
    request: Request,
    state: StateDep,
    month: Annotated[str | None, Query(max_length=7)] = None,
    p: FeedPage = 1,
    code: WithCode = False,
) -> Response:
    return _period_feed(request, state, "month", month, p, ListFilter(with_code=code))


Category = Annotated[str, Path(max_length=40)]


def _category(category: str, with_code: bool) -> ListFilter:
    return ListFilter(category=category_views.check_category(category), with_code=with_code)


@router.get("/categories/{category}/daily.atom")
def category_daily_feed(
    request: Request,
    state: StateDep,
    category: Category,
    date: Annotated[str | None, Query(max_length=10)] = None,
    p: FeedPage = 1,
    code: WithCode = False,
) -> Response:
    """A category's papers of a day (the newest day it has papers unless `date` is given)."""
    return _period_feed(request, state, "date", date, p, _category(category, code))


@router.get("/categories/{category}/weekly.atom")
def category_weekly_feed(
    request: Request,
    state: StateDep,
    category: Category,
    week: Annotated[str | None, Query(max_length=8)] = None,
    p: FeedPage = 1,
    code: WithCode = False,
) -> Response:
    return _period_feed(request, state, "week", week, p, _category(category, code))


@router.get("/categories/{category}/monthly.atom")
def category_monthly_feed(
    request: Request,
    state: StateDep,
    category: Category,
    month: Annotated[str | None, Query(max_length=7)] = None,
    p: FeedPage = 1,
    code: WithCode = False,
) -> Response:
    return _period_feed(request, state, "month", month, p, _category(category, code))


@router.get("/authors/{name}.atom")
def author_feed(
    request: Request,
    state: StateDep,
    name: Annotated[str, Path(max_length=300)],
    p: FeedPage = 1,
) -> Response:
    """An author's papers, newest first, 500 a document (RFC 5005 paged beyond)."""
    feed = feed_views.author_feed_view(state, name, page=p)
    self_path, pages = _paged_links(f"/feeds{feed.url}.atom", p, feed.pages)
    return _atom(request, state, feed, self_path=self_path, html_path=feed.url, pages=pages)


@router.get("/trending.atom")
def trending_feed(request: Request, state: StateDep, code: WithCode = False) -> Response:
    feed = feed_views.trending_feed_view(state, with_code=code)
    query = "?code=1" if code else ""
    return _atom(
        request,
        state,
        feed,
        self_path=f"/feeds/trending.atom{query}",
        html_path=f"/trending{query}",
    )


@router.get("/search.atom")
def search_feed(
    request: Request,
    state: StateDep,
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    author: Text = None,
    category: Text = None,
    since: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    code: WithCode = False,
) -> Response:
    """New papers matching a search, newest first (keyword ranking decides what matches)."""
    filters = views.search_filters(author, category, since, until, with_code=code)
    feed = feed_views.search_feed_view(state, q, filters)
    query = str(request.url.query)
    return _atom(
        request,
        state,
        feed,
        self_path=f"/feeds/search.atom?{query}",
        html_path=f"/search?{query}",
    )
