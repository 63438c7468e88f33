"""The views behind /trends and its JSON twins (/api/v1/trends/...), and a paper's votes over time.

Papers per day and week come from the counts the `trends` task keeps (store/trends.py); a
query's share of each month's papers from the keyword index (one range aggregation per query,
remembered per process for QUERY_CACHE_S); the most upvoted papers from the list index; the
rising topics from the task's last snapshot. docs/web.md#trends defines each.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from urllib.parse import quote, urlencode

from dailypapers.ids import is_arxiv_category
from dailypapers.models import User
from dailypapers.ranking.rising import RisingTopic
from dailypapers.search.keyword import KeywordSearcher
from dailypapers.search.query import ParsedQuery, QueryError, parse_query
from dailypapers.search.service import Searcher, SearchUnavailable
from dailypapers.store.lists import list_period_papers
from dailypapers.store.trends import (
    COUNTS,
    count_trend_days,
    count_votes_by_day,
    load_rising,
    load_snapshot,
    newest_trend_day,
)
from dailypapers.web.errors import ApiError
from dailypapers.web.schemas import PaperPublic
from dailypapers.web.state import AppState
from dailypapers.web.trends_schemas import (
    CategoryCountsPublic,
    PaperCountsPublic,
    QueryShareLine,
    QuerySharesPublic,
    RisingPublic,
    RisingTopicPublic,
    TopPapersPublic,
    TrendsPage,
    VoteHistoryPublic,
)
from dailypapers.web.views import find_paper

DEFAULT_DAYS, MAX_DAYS = 42, 120
DEFAULT_WEEKS, MAX_WEEKS = 26, 104
DEFAULT_MONTHS, MAX_MONTHS = 24, 60
MAX_QUERIES = 5
TOP_CATEGORIES = 6
TOP_PAPERS = 10
TOP_DAYS = 28  # the period of the most upvoted papers: as the rising topics' recent window
QUERY_CACHE_S = 600.0
QUERY_CACHE_ENTRIES = 512
OTHER = "other"
NO_CATEGORY = "none"


# -- papers per day and week -------------------------------------------------------------------


def _today() -> date:
    return datetime.now(UTC).date()


def _last_day(state: AppState) -> date:
    return newest_trend_day(state.engine) or _today()


def long_date(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _counted_at(state: AppState) -> datetime | None:
    snapshot = load_snapshot(state.engine, name=COUNTS)
    return snapshot.computed_at if snapshot else None


def _stacked(
    by: Literal["day", "week"],
    starts: list[date],
    rows: list[tuple[int, str, int]],
    computed_at: datetime | None,
) -> PaperCountsPublic:
    """Counts per (period index, category) as the top categories stacked, plus other."""
    size = len(starts)
    per_category: dict[str, list[int]] = {}
    for index, category, papers in rows:
        per_category.setdefault(category or NO_CATEGORY, [0] * size)[index] += papers
    ranked = sorted(per_category, key=lambda c: (-sum(per_category[c]), c))
    top = [c for c in ranked if c != NO_CATEGORY][:TOP_CATEGORIES]
    other = [0] * size
    for category in ranked:
        if category not in top:
            other = [a + b for a, b in zip(other, per_category[category], strict=True)]
    series = [CategoryCountsPublic(category=c, papers=per_category[c]) for c in top]
    if any(other):
        series.append(CategoryCountsPublic(category=OTHER, papers=other))
    totals = [sum(s.papers[i] for s in series) for i in range(size)]
    kind = "date" if by == "day" else "week"
    periods = [d.isoformat() if by == "day" else _week_label(d) for d in starts]
    return PaperCountsPublic(
        by=by,
        periods=periods,
        urls=[f"/papers/{kind}/{p}" for p in periods],
        totals=totals,
        series=series,
        summary=counts_summary(by, periods, totals, series),
        computed_at=computed_at,
    )


def counts_summary(
    by: Literal["day", "week"],
    periods: list[str],
    totals: list[int],
    series: list[CategoryCountsPublic],
) -> str:
    """One sentence on what a papers-per-period chart shows (also its text for screen readers)."""
    unit = "day" if by == "day" else "week"
    span = f"the {len(periods)} {unit}s to {periods[-1] if periods else ''}"
    total = sum(totals)
    if not total:
        return f"No papers were listed in {span}."
    busiest = max(range(len(totals)), key=lambda i: (totals[i], i))
    text = (
        f"{total:,} papers were listed in {span}, {total / len(periods):,.0f} a {unit} on "
        f"average; the busiest {unit} was {periods[busiest]} with {totals[busiest]:,}."
    )
    largest = next((s for s in series if s.category != OTHER), None)
    if largest is not None:
        share = sum(largest.papers) / total
        text += f" {largest.category} was the largest primary category ({share:.0%})."
    return text


def counts_view(
    state: AppState, by: Literal["day", "week"], span: int, *, last_day: date | None = None
) -> PaperCountsPublic:
    """Papers per list day (the `span` days to the newest) or ISO week (the `span` weeks to
    the newest's), stacked by primary category."""
    last = last_day or _last_day(state)
    if by == "day":
        starts = [last - timedelta(days=span - 1 - i) for i in range(span)]
    else:
        monday = last - timedelta(days=last.weekday())
        starts = [monday - timedelta(weeks=span - 1 - i) for i in range(span)]
    rows = count_trend_days(state.engine, first_day=starts[0], last_day=last)
    step = 1 if by == "day" else 7
    indexed = [((day - starts[0]).days // step, category, n) for day, category, n in rows]
    return _stacked(by, starts, indexed, _counted_at(state))


# -- a query's share of each month's papers ----------------------------------------------------


class _ShareCache:
    """Monthly counts per (index version, query, months), kept QUERY_CACHE_S in this process:
    a chart asked for again (its JSON twin, a reload) costs no index work."""

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[object, ...], tuple[float, list[int]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> list[int] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] < time.monotonic():
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: tuple[object, ...], counts: list[int]) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + QUERY_CACHE_S, counts)
            self._entries.move_to_end(key)
            while len(self._entries) > QUERY_CACHE_ENTRIES:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


share_cache = _ShareCache()


def month_starts(last_day: date, months: int) -> list[date]:
    """The first days of the `months` months to `last_day`'s, and of the month after."""
    first = last_day.replace(day=1)
    starts = [first]
    for _ in range(months):
        starts.insert(0, (starts[0] - timedelta(days=1)).replace(day=1))
    starts.append((first + timedelta(days=32)).replace(day=1))
    return starts[1:]


def parse_queries(texts: list[str]) -> list[ParsedQuery]:
    """The non-blank queries, parsed; 422 naming `q` and the query for a bad one."""
    wanted = [text.strip() for text in texts if text.strip()]
    if len(wanted) > MAX_QUERIES:
        raise ApiError(422, f"at most {MAX_QUERIES} queries, not {len(wanted)}", field="q")
    parsed = []
    for number, text in enumerate(wanted, start=1):
        try:
            parsed.append(parse_query(text))
        except QueryError as error:
            raise ApiError(422, f"query {number} ({text!r}): {error}", field="q") from None
    return parsed


def _monthly_counts(
    keyword: KeywordSearcher, queries: list[ParsedQuery | None], starts: list[date]
) -> list[list[int]]:
    bounds = [datetime(d.year, d.month, 1, tzinfo=UTC) for d in starts]
    version = (str(keyword.directory), keyword.documents, starts[0], len(starts))
    found = []
    for query in queries:
        key = (*version, query.text if query else None)
        counts = share_cache.get(key)
        if counts is None:
            counts = keyword.count_published(query, bounds)
            share_cache.put(key, counts)
        found.append(counts)
    return found


def query_shares_view(
    state: AppState, queries: list[ParsedQuery], months: int, *, last_day: date | None = None
) -> QuerySharesPublic:
    """Each query's share of the papers published per month, over the `months` months to the
    newest list day's (counted in the keyword index, as a search with from:/to: counts)."""
    last = last_day or _last_day(state)
    starts = month_starts(last, months)

    def count(searcher: Searcher) -> list[list[int]]:
        return _monthly_counts(searcher.keyword_index(), [None, *queries], starts)

    try:
        everything, *matching = state.search.run(count)
    except SearchUnavailable as error:
        raise ApiError(503, str(error)) from None
    labels = [f"{d.year}-{d.month:02d}" for d in starts[:-1]]
    lines = [
        QueryShareLine(
            query=query.text,
            url="/search?" + urlencode({"q": query.text, "mode": "keyword"}),
            papers=found,
            share=[
                n / total if total else None for n, total in zip(found, everything, strict=True)
            ],
        )
        for query, found in zip(queries, matching, strict=True)
    ]
    partial = last.month == (last + timedelta(days=1)).month
    return QuerySharesPublic(
        months=labels,
        last_partial=partial,
        papers=everything,
        queries=lines,
        summary=shares_summary(labels, lines, last_partial=partial),
    )


# -- most upvoted, rising topics -----------------------------------------------------------------


def quoted(query: str) -> str:
    """A query as named in a sentence: in quotes, unless it is one quoted phrase already."""
    return query if query.startswith('"') and query.endswith('"') else f"“{query}”"


def shares_summary(months: list[str], lines: list[QueryShareLine], *, last_partial: bool) -> str:
    """One sentence per query: its share in the first and the last month that have papers (a
    partial last month only when it is the only one)."""
    sentences = []
    for line in lines:
        known = [(m, s) for m, s in zip(months, line.share, strict=True) if s is not None]
        if last_partial and len(known) > 1 and known[-1][0] == months[-1]:
            known.pop()
        if not known:
            sentences.append(f"No papers were published in these months for {quoted(line.query)}.")
            continue
        (first, was), (last, now) = known[0], known[-1]
        if first == last:
            sentences.append(f"{quoted(line.query)}: {was:.2%} of the papers of {first}.")
        else:
            moved = "rose" if now > was else "fell" if now < was else "stayed"
            sentences.append(
                f"{quoted(line.query)} {moved} from {was:.2%} of the papers of {first}"
                f" to {now:.2%} in {last}."
            )
    return " ".join(sentences)


def top_view(state: AppState, *, last_day: date | None = None) -> TopPapersPublic:
    """The most upvoted visible papers listed in the TOP_DAYS days to the newest list day (those
    with upvotes or votes only)."""
    last = last_day or _last_day(state)
    start = last - timedelta(days=TOP_DAYS - 1)
    found, total = list_period_papers(
        state.engine, start=start, end=last + timedelta(days=1), limit=TOP_PAPERS, sort="score"
    )
    voted = [PaperPublic.of(p) for p in found if p.score > 0]
    return TopPapersPublic(start=start, last=last, total=total, papers=voted)


def _topic_public(topic: RisingTopic, weekly_papers: tuple[int, ...]) -> RisingTopicPublic:
    if topic.kind == "category":
        url = f"/categories/{topic.topic}" if is_arxiv_category(topic.topic) else "/categories"
        query = f"cat:{topic.topic}"
    else:
        query = f'"{topic.topic}"'
        url = "/search?" + urlencode({"q": query, "mode": "keyword"})
    return RisingTopicPublic(
        topic=topic.topic,
        kind=topic.kind,
        url=url,
        compare_url=f"/trends?q={quote(query)}#queries",
        recent=topic.recent,
        before=topic.before,
        recent_share=topic.recent_share,
        before_share=topic.before_share,
        growth=topic.growth,
        growth_low=topic.growth_low,
        weekly_share=[
            n / t if t else 0.0 for n, t in zip(topic.weekly, weekly_papers, strict=True)
        ],
    )


def rising_view(state: AppState) -> RisingPublic | None:
    """The rising title terms and categories of the task's last run; None before it ran."""
    found = load_rising(state.engine)
    if found is None:
        return None
    report, computed_at = found
    return RisingPublic(
        last_day=report.last_day,
        recent_start=report.recent_start,
        before_start=report.before_start,
        recent_papers=report.recent_papers,
        before_papers=report.before_papers,
        min_papers=report.min_papers,
        terms=[_topic_public(t, report.weekly_papers) for t in report.terms],
        categories=[_topic_public(t, report.weekly_papers) for t in report.categories],
        computed_at=computed_at,
    )


def trends_view(
    state: AppState, texts: list[str], *, days: int, weeks: int, months: int
) -> TrendsPage:
    """Everything /trends shows."""
    queries = parse_queries(texts)
    last = _last_day(state)
    return TrendsPage(
        daily=counts_view(state, "day", days, last_day=last),
        weekly=counts_view(state, "week", weeks, last_day=last),
        queries=query_shares_view(state, queries, months, last_day=last) if queries else None,
        top=top_view(state, last_day=last),
        rising=rising_view(state),
    )


# -- a paper's votes over time -------------------------------------------------------------------


def vote_history(state: AppState, paper_id: str, *, votes: int, upvotes: int) -> VoteHistoryPublic:
    """A stored paper's votes on this site by day, with the running total."""
    days, cumulative, running = [], [], 0
    for day, count in count_votes_by_day(state.engine, paper_id=paper_id):
        running += count
        days.append(day)
        cumulative.append(running)
    return VoteHistoryPublic(
        paper_id=paper_id, votes=votes, upvotes=upvotes, days=days, cumulative=cumulative
    )


def vote_history_view(state: AppState, paper_id: str, user: User | None) -> VoteHistoryPublic:
    """A paper's votes over time by any form of its id; 404 as for its page."""
    paper = find_paper(state, paper_id, user=user)
    return vote_history(state, paper.paper_id, votes=paper.local_votes, upvotes=paper.upvotes)
