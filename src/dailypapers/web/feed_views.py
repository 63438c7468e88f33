"""The service calls behind the Atom feeds: which papers each feed carries and when each
entry (and so the feed) last changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from dailypapers.feeds.lists import period_list, trending_list
from dailypapers.feeds.periods import PeriodKind, period_containing
from dailypapers.models import Paper
from dailypapers.search.query import Filters
from dailypapers.store.authors import list_author_papers
from dailypapers.store.lists import NO_FILTER, ListFilter
from dailypapers.web import author_views, views
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
    state: AppState,
    kind: PeriodKind,
    text: str | None,
    *,
    page: int = 1,
    only: ListFilter = NO_FILTER,
) -> PeriodFeed:
    """A day's, week's or month's papers (those `only` keeps: one category's), most upvoted
    first (the newest period without `text`), `FEED_PAGE_SIZE` a page."""
    period = (
        views.period_or_422(kind, text)
        if text
        else period_containing(kind, views.latest_day(state, only))
    )
    found = period_list(state.engine, period, page=page, page_size=FEED_PAGE_SIZE, only=only)
    # An empty period has changed no later than it began.
    began = datetime.combine(period.start, time(0), UTC)
    entries, updated = _feed(found.papers, empty=began)
    return PeriodFeed(
        title=f"{only.category}: {period.title}" if only.category else period.title,
        entries=entries,
        updated=updated,
        kind=kind,
        period=period.label,
        page=page,
        pages=found.pages,
    )


@dataclass(frozen=True, slots=True)
class AuthorFeed(Feed):
    url: str  # the author's page
    page: int
    pages: int


def author_feed_view(state: AppState, name: str, *, page: int = 1) -> AuthorFeed:
    """An author's papers, newest published first, `FEED_PAGE_SIZE` a page."""
    summary = author_views.find_author(state, name)
    offset = (page - 1) * FEED_PAGE_SIZE
    papers, total = list_author_papers(
        state.engine, key=summary.key, limit=FEED_PAGE_SIZE, offset=offset
    )
    entries, updated = _feed(papers, empty=EPOCH)
    return AuthorFeed(
        title=f"Papers by {summary.name}",
        entries=entries,
        updated=updated,
        url=author_views.author_url(summary.key),
        page=page,
        pages=max(1, -(-total // FEED_PAGE_SIZE)),
    )


def trending_feed_view(state: AppState, *, with_code: bool = False) -> Feed:
    only = ListFilter(with_code=with_code)
    papers = trending_list(state.engine, page_size=views.PAGE_SIZE, only=only)
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
