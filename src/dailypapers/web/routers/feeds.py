"""Atom feeds for the daily, weekly and monthly lists, trending, and any search."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from dailypapers.feeds.periods import PeriodKind, period_containing
from dailypapers.web import views
from dailypapers.web.deps import StateDep
from dailypapers.web.schemas import PaperPublic
from dailypapers.web.templating import environment

router = APIRouter(prefix="/feeds", include_in_schema=False)

ATOM = "application/atom+xml; charset=utf-8"
Text = Annotated[str | None, Query(max_length=200)]


def _base_url(request: Request, public_url: str) -> str:
    return (public_url or str(request.base_url)).rstrip("/")


def _atom(
    request: Request,
    state: StateDep,
    *,
    title: str,
    self_path: str,
    html_path: str,
    papers: list[PaperPublic],
) -> Response:
    base = _base_url(request, state.settings.public_url)
    stamps = [p.published for p in papers if p.published] or [datetime(2020, 1, 1, tzinfo=UTC)]
    body = environment.get_template("feed.xml").render(
        title=f"{state.settings.site_name}: {title}",
        base=base,
        self_url=base + self_path,
        html_url=base + html_path,
        updated=max(stamps),
        papers=papers,
    )
    return Response(body, media_type=ATOM)


def _period_feed(request: Request, state: StateDep, kind: PeriodKind, text: str | None) -> Response:
    label = text or period_containing(kind, views.latest_day(state)).label
    listing = views.period_view(state, kind, label)
    names = {"date": "daily", "week": "weekly", "month": "monthly"}
    # Without a period the feed follows the newest list, so its own URL must not pin one.
    pinned = f"?{kind}={listing.period}" if text else ""
    return _atom(
        request,
        state,
        title=listing.title,
        self_path=f"/feeds/{names[kind]}.atom{pinned}",
        html_path=f"/papers/{kind}/{listing.period}",
        papers=listing.papers,
    )


@router.get("/daily.atom")
def daily_feed(
    request: Request, state: StateDep, date: Annotated[str | None, Query(max_length=10)] = None
) -> Response:
    """The papers of a day (the newest day with papers unless `date` is given)."""
    return _period_feed(request, state, "date", date)


@router.get("/weekly.atom")
def weekly_feed(
    request: Request, state: StateDep, week: Annotated[str | None, Query(max_length=8)] = None
) -> Response:
    return _period_feed(request, state, "week", week)


@router.get("/monthly.atom")
def monthly_feed(
    request: Request, state: StateDep, month: Annotated[str | None, Query(max_length=7)] = None
) -> Response:
    return _period_feed(request, state, "month", month)


@router.get("/trending.atom")
def trending_feed(request: Request, state: StateDep) -> Response:
    listing = views.trending_view(state)
    return _atom(
        request,
        state,
        title="Trending papers",
        self_path="/feeds/trending.atom",
        html_path="/trending",
        papers=listing.papers,
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
) -> Response:
    """New papers matching a search, newest first (keyword ranking decides what matches)."""
    filters = views.search_filters(author, category, since, until)
    results = views.search_view(state, q, page_size=50, filters=filters)
    papers = sorted(
        (hit.paper for hit in results.hits),
        key=lambda p: p.published or datetime(1970, 1, 1, tzinfo=UTC),
        reverse=True,
    )
    query = str(request.url.query)
    return _atom(
        request,
        state,
        title=f"Search: {q}",
        self_path=f"/feeds/search.atom?{query}",
        html_path=f"/search?{query}",
        papers=papers,
    )
