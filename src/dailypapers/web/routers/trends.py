"""/trends (papers per day and week, queries' shares per month, the most upvoted papers, rising
topics) and its JSON twins under /api/v1/trends, with a paper's votes over time."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from dailypapers.web import trends_views as views
from dailypapers.web.deps import CurrentUser, StateDep
from dailypapers.web.errors import ApiError
from dailypapers.web.schemas import ErrorPublic
from dailypapers.web.templating import render
from dailypapers.web.trends_charts import counts_chart, shares_chart, topic_sparkline
from dailypapers.web.trends_schemas import (
    PaperCountsPublic,
    QuerySharesPublic,
    RisingPublic,
    TopPapersPublic,
    TrendsPage,
    VoteHistoryPublic,
)

router = APIRouter(include_in_schema=False)
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorPublic} for status in (404, 422, 503)
}
api = APIRouter(prefix="/api/v1", tags=["api"], responses=_ERRORS)

Queries = Annotated[
    list[str],
    Query(description=f"A search query (docs/search.md); repeat for up to {views.MAX_QUERIES}."),
]
Days = Annotated[int, Query(ge=7, le=views.MAX_DAYS, description="Days to the newest list day.")]
Weeks = Annotated[int, Query(ge=4, le=views.MAX_WEEKS, description="ISO weeks to the newest.")]
Months = Annotated[
    int, Query(ge=2, le=views.MAX_MONTHS, description="Months to the newest list day's.")
]
PaperId = Annotated[str, Path(min_length=1, max_length=200)]
MONTH_CHOICES = (12, 24, 36, 60)


@router.get("/trends")
def trends_page(
    request: Request,
    state: StateDep,
    q: Queries = [],  # noqa: B006 (FastAPI copies defaults)
    months: Months = views.DEFAULT_MONTHS,
    days: Days = views.DEFAULT_DAYS,
    weeks: Weeks = views.DEFAULT_WEEKS,
) -> HTMLResponse:
    asked = [text.strip() for text in q if text.strip()]
    error: ApiError | None = None
    try:
        page = views.trends_view(state, asked, days=days, weeks=weeks, months=months)
    except ApiError as refused:  # a bad query, or no keyword index: the rest still shows
        error = refused
        page = views.trends_view(state, [], days=days, weeks=weeks, months=months)
    query = str(request.url.query)
    context = {
        "page": page,
        "daily": counts_chart(page.daily, "daily-chart", "Papers per day by primary category"),
        "weekly": counts_chart(page.weekly, "weekly-chart", "Papers per week by primary category"),
        "shares": shares_chart(page.queries, "queries-chart") if page.queries else None,
        "sparkline": topic_sparkline,
        "quoted": views.quoted,
        "asked": asked,
        "months": months,
        "month_choices": sorted({*MONTH_CHOICES, months}),
        "query_error": error.message if error else None,
        "max_queries": views.MAX_QUERIES,
        "json_url": "/api/v1/trends" + (f"?{query}" if query else ""),
        "query_string": query,
    }
    return render(request, "trends.html", context, status_code=error.status if error else 200)


@api.get("/trends", response_model=TrendsPage)
def api_trends(
    state: StateDep,
    q: Queries = [],  # noqa: B006
    months: Months = views.DEFAULT_MONTHS,
    days: Days = views.DEFAULT_DAYS,
    weeks: Weeks = views.DEFAULT_WEEKS,
) -> TrendsPage:
    """Everything /trends shows: papers per day and per week, the queries' monthly shares (null
    without `q`), the most upvoted papers and the rising topics (see docs/web.md#trends)."""
    return views.trends_view(state, q, days=days, weeks=weeks, months=months)


@api.get("/trends/daily", response_model=PaperCountsPublic)
def api_trends_daily(state: StateDep, days: Days = views.DEFAULT_DAYS) -> PaperCountsPublic:
    """Visible papers per list day, stacked by the top primary categories and other."""
    return views.counts_view(state, "day", days)


@api.get("/trends/weekly", response_model=PaperCountsPublic)
def api_trends_weekly(state: StateDep, weeks: Weeks = views.DEFAULT_WEEKS) -> PaperCountsPublic:
    """Visible papers per ISO week, stacked by the top primary categories and other."""
    return views.counts_view(state, "week", weeks)


@api.get("/trends/queries", response_model=QuerySharesPublic)
def api_trends_queries(
    state: StateDep,
    q: Queries = [],  # noqa: B006
    months: Months = views.DEFAULT_MONTHS,
) -> QuerySharesPublic:
    """Each query's share of the papers published per month."""
    queries = views.parse_queries(q)
    if not queries:
        raise ApiError(422, "give at least one query (q=...)", field="q")
    return views.query_shares_view(state, queries, months)


@api.get("/trends/top", response_model=TopPapersPublic)
def api_trends_top(state: StateDep) -> TopPapersPublic:
    """The most upvoted papers of the last four weeks of lists."""
    return views.top_view(state)


@api.get("/trends/rising", response_model=RisingPublic | None)
def api_trends_rising(state: StateDep) -> RisingPublic | None:
    """The title terms and categories whose share of papers grew most (docs/web.md#trends);
    null before the trends task first ran."""
    return views.rising_view(state)


@api.get("/trends/votes/{paper_id:path}", response_model=VoteHistoryPublic)
def api_trends_votes(state: StateDep, user: CurrentUser, paper_id: PaperId) -> VoteHistoryPublic:
    """A paper's votes on this site per day, with the running total."""
    return views.vote_history_view(state, paper_id, user)
