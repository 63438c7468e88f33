"""Hugging Face papers API compatibility: existing clients work by changing the endpoint.

Serves `GET /api/daily_papers`, `GET /api/papers/search` and `GET /api/papers/{id}` with Hugging
Face's field names (camelCase, `paper` nested in daily entries, ISO times with `Z`), as
`huggingface_hub.HfApi(endpoint=...).list_daily_papers / list_papers / paper_info` read them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from dailypapers.feeds.periods import PeriodKind
from dailypapers.web import hf_views
from dailypapers.web.deps import StateDep
from dailypapers.web.errors import ApiError
from dailypapers.web.hf_views import HfSort
from dailypapers.web.schemas import ErrorPublic

router = APIRouter(
    prefix="/api",
    tags=["hugging-face-compatible"],
    responses={status: {"model": ErrorPublic} for status in (404, 414, 422, 503)},
)

MAX_LIMIT = 100


@router.get("/daily_papers")
def daily_papers(
    state: StateDep,
    date: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD")] = None,
    week: Annotated[str | None, Query(max_length=8, description="YYYY-Www")] = None,
    month: Annotated[str | None, Query(max_length=7, description="YYYY-MM")] = None,
    submitter: Annotated[str | None, Query(max_length=100)] = None,
    sort: HfSort = "publishedAt",
    p: Annotated[int, Query(ge=0, le=10_000, description="Page, from 0.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> list[dict[str, Any]]:
    """Daily papers as Hugging Face's `/api/daily_papers` returns them."""
    chosen: list[tuple[PeriodKind, str | None]] = [("date", date), ("week", week), ("month", month)]
    periods: list[tuple[PeriodKind, str]] = [(kind, text) for kind, text in chosen if text]
    if len(periods) > 1:
        raise ApiError(422, "give at most one of date, week and month", field=periods[1][0])
    return hf_views.daily_papers_view(
        state,
        period=periods[0] if periods else None,
        submitter=submitter,
        sort=sort,
        limit=limit,
        offset=p * limit,
    )


@router.get("/papers/search")
def search_papers(
    state: StateDep,
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> list[dict[str, Any]]:
    """Search, answered in the shape of Hugging Face's `/api/papers/search`."""
    return hf_views.search_view(state, q, limit=limit)


@router.get("/papers/{paper_id:path}")
def paper(state: StateDep, paper_id: str) -> dict[str, Any]:
    """One paper as Hugging Face's `/api/papers/{id}` returns it."""
    return hf_views.paper_view(state, paper_id)
