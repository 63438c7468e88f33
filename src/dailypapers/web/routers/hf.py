"""Hugging Face papers API compatibility: existing clients work by changing the endpoint.

Serves `GET /api/daily_papers`, `GET /api/papers/search` and `GET /api/papers/{id}` with Hugging
Face's field names (camelCase, `paper` nested in daily entries, ISO times with `Z`), as
`huggingface_hub.HfApi(endpoint=...).list_daily_papers / list_papers / paper_info` read them.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from dailypapers.feeds.periods import PeriodKind
from dailypapers.models import Paper
from dailypapers.store.lists import list_latest_papers, list_period_papers, list_trending_papers
from dailypapers.web import views
from dailypapers.web.deps import StateDep
from dailypapers.web.errors import ApiError
from dailypapers.web.schemas import ErrorPublic
from dailypapers.web.state import AppState

router = APIRouter(
    prefix="/api",
    tags=["hugging-face-compatible"],
    responses={status: {"model": ErrorPublic} for status in (404, 414, 422, 503)},
)

MAX_LIMIT = 100


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


def _period_papers(
    state: AppState, kind: PeriodKind, text: str, limit: int, offset: int, sort: str, by: str | None
) -> list[Paper]:
    period = views.period_or_422(kind, text)
    found, _ = list_period_papers(
        state.engine,
        start=period.start,
        end=period.end,
        limit=limit,
        offset=offset,
        sort="score" if sort == "trending" else "listed",
        submitted_by=by,
    )
    return found


@router.get("/daily_papers")
def daily_papers(
    state: StateDep,
    date: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD")] = None,
    week: Annotated[str | None, Query(max_length=8, description="YYYY-Www")] = None,
    month: Annotated[str | None, Query(max_length=7, description="YYYY-MM")] = None,
    submitter: Annotated[str | None, Query(max_length=100)] = None,
    sort: Literal["publishedAt", "trending"] = "publishedAt",
    p: Annotated[int, Query(ge=0, le=10_000, description="Page, from 0.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> list[dict[str, Any]]:
    """Daily papers as Hugging Face's `/api/daily_papers` returns them."""
    offset = p * limit
    chosen: list[tuple[PeriodKind, str | None]] = [("date", date), ("week", week), ("month", month)]
    periods = [(kind, text) for kind, text in chosen if text]
    if len(periods) > 1:
        raise ApiError(422, "give at most one of date, week and month", field=periods[1][0])
    if periods:
        kind, text = periods[0]
        assert text is not None
        papers = _period_papers(state, kind, text, limit, offset, sort, submitter)
    elif sort == "trending":
        papers = list_trending_papers(
            state.engine, limit=limit, offset=offset, submitted_by=submitter
        )
    else:
        papers = list_latest_papers(
            state.engine, limit=limit, offset=offset, submitted_by=submitter
        )
    return [hf_daily_entry(paper) for paper in papers]


@router.get("/papers/search")
def search_papers(
    state: StateDep,
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> list[dict[str, Any]]:
    """Search, answered in the shape of Hugging Face's `/api/papers/search`."""
    results = views.run_search(state, q, page_size=limit)
    return [hf_daily_entry(hit.paper) for hit in results.hits if not hit.paper.hidden]


@router.get("/papers/{paper_id:path}")
def paper(state: StateDep, paper_id: str) -> dict[str, Any]:
    """One paper as Hugging Face's `/api/papers/{id}` returns it."""
    found = views.find_paper(state, paper_id)
    body = hf_paper(found)
    body["numComments"] = found.comment_count + found.local_comments
    return body
