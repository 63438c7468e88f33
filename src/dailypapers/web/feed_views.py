"""The service calls behind the Atom feeds: which papers each feed carries and when each
entry (and so the feed) last changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from dailypapers.feeds.lists import period_list, trending_list
from dailypapers.feeds.periods import PeriodKind, period_containing
from dailypapers.models import Paper
from dailypapers.search.query import Filters
from dailypapers.web import views
from dailypapers.web.schemas import PaperPublic
from dailypapers.web.state import AppState

# A period feed carries its whole day, week or month up to this many entries a document; a
# longer period is split into pages linked with rel="next" (RFC 5005 paged feeds).
FEED_PAGE_SIZE = 500
SEARCH_FEED_SIZE = 50
# What an empty search or trending feed gives as its `updated`: nothing in it ever changed.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    paper: PaperPublic
    updated: datetime


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed document: its entries and the newest of their `updated` stamps."""

    title: str
    entries: list[FeedEntry]
    updated: datetime


@dataclass(frozen=True, slots=True)
class PeriodFeed(Feed):
    kind: PeriodKind
    period: str
    page: int
    pages: int


def entry_updated(paper: Paper) -> datetime:
    """When an entry last changed: the paper's newest version, else its publication, else
    (undated) when this site first stored it."""
    return paper.updated or paper.published or paper.created_at


def _feed(papers: list[Paper], *, empty: datetime) -> tuple[list[FeedEntry], datetime]:
    entries = [FeedEntry(PaperPublic.of(p), entry_updated(p)) for p in papers]
    return entries, max((e.updated for e in entries), default=empty)


def period_feed_view(
    state: AppState, kind: PeriodKind, text: str | None, *, page: int = 1
) -> PeriodFeed:
    """A day's, week's or month's papers, most upvoted first (the newest period without
    `text`), `FEED_PAGE_SIZE` a page."""
    period = (
        views.period_or_422(kind, text)
        if text
        else period_containing(kind, views.latest_day(state))
    )
    found = period_list(state.engine, period, page=page, page_size=FEED_PAGE_SIZE)
    # An empty period has changed no later than it began.
    began = datetime.combine(period.start, time(0), UTC)
    entries, updated = _feed(found.papers, empty=began)
    return PeriodFeed(
        title=period.title,
        entries=entries,
        updated=updated,
        kind=kind,
        period=period.label,
        page=page,
        pages=found.pages,
    )


def trending_feed_view(state: AppState) -> Feed:
    papers = trending_list(state.engine, page_size=views.PAGE_SIZE)
    entries, updated = _feed(papers, empty=EPOCH)
    return Feed(title="Trending papers", entries=entries, updated=updated)


def search_feed_view(state: AppState, q: str, filters: Filters) -> Feed:
    """The best matches of a search, newest first (keyword ranking decides what matches)."""
    results = views.run_search(state, q, page_size=SEARCH_FEED_SIZE, filters=filters)
    papers = sorted(
        (hit.paper for hit in results.hits if not hit.paper.hidden),
        key=lambda p: p.published or EPOCH,
        reverse=True,
    )
    entries, updated = _feed(papers, empty=EPOCH)
    return Feed(title=f"Search: {q}", entries=entries, updated=updated)
