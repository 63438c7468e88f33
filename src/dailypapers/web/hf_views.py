"""The service calls behind the Hugging Face compatible API (`routers/hf.py`): the same lists
and search as the site, shaped as Hugging Face's papers API returns them (camelCase, `paper`
nested in daily entries, ISO times with `Z`)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any, Literal

from dailypapers.feeds.periods import PeriodKind
from dailypapers.models import Paper
from dailypapers.store.lists import list_latest_papers, list_period_papers, list_trending_papers
from dailypapers.web import views
from dailypapers.web.state import AppState

HfSort = Literal["publishedAt", "trending"]


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def _listed_at(paper: Paper) -> str | None:
    if paper.list_date is None:
        return _iso(paper.published)
    return _iso(datetime.combine(paper.list_date, time(0), UTC))


def hf_paper(paper: Paper) -> dict[str, Any]:
    """The `paper` object of Hugging Face's API."""
    body: dict[str, Any] = {
        "id": paper.paper_id,
        "authors": [{"name": name, "hidden": False} for name in paper.authors],
        "publishedAt": _iso(paper.published),
        "title": paper.title,
        "summary": paper.abstract,
        "upvotes": paper.score,
        "discussionId": paper.paper_id,
    }
    if paper.project_url:
        body["projectPage"] = paper.project_url
    if paper.code_url:
        body["githubRepo"] = paper.code_url
    if paper.list_date is not None:
        body["submittedOnDailyAt"] = _listed_at(paper)
    return body


def hf_daily_entry(paper: Paper) -> dict[str, Any]:
    """One entry of /api/daily_papers: the paper plus its daily-list fields."""
    entry: dict[str, Any] = {
        "paper": hf_paper(paper),
        "publishedAt": _listed_at(paper),
        "title": paper.title,
        "summary": paper.abstract,
        "numComments": paper.comment_count + paper.local_comments,
        "isAuthorParticipating": False,
    }
    if paper.submitted_by:
        entry["submittedBy"] = {
            "name": paper.submitted_by,
            "fullname": paper.submitted_by,
            "type": "user",
        }
    return entry


def daily_papers_view(
    state: AppState,
    *,
    period: tuple[PeriodKind, str] | None,
    submitter: str | None,
    sort: HfSort,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """A period's list (or, without one, the newest list days first, or trending), as
    /api/daily_papers entries; 422 naming the parameter if the period is malformed."""
    if period is not None:
        kind, text = period
        found = views.period_or_422(kind, text)
        papers, _ = list_period_papers(
            state.engine,
            start=found.start,
            end=found.end,
            limit=limit,
            offset=offset,
            sort="score" if sort == "trending" else "listed",
            submitted_by=submitter,
        )
    elif sort == "trending":
        papers = list_trending_papers(
            state.engine, limit=limit, offset=offset, submitted_by=submitter
        )
    else:
        papers = list_latest_papers(
            state.engine, limit=limit, offset=offset, submitted_by=submitter
        )
    return [hf_daily_entry(paper) for paper in papers]


def search_view(state: AppState, q: str, *, limit: int) -> list[dict[str, Any]]:
    """The hybrid search's visible hits as /api/papers/search entries."""
    results = views.run_search(state, q, page_size=limit)
    return [hf_daily_entry(hit.paper) for hit in results.hits if not hit.paper.hidden]


def paper_view(state: AppState, paper_id: str) -> dict[str, Any]:
    """One paper as /api/papers/{id} returns it; 404 if missing or hidden."""
    found = views.find_paper(state, paper_id)
    body = hf_paper(found)
    body["numComments"] = found.comment_count + found.local_comments
    return body
