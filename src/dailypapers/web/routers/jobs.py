"""The admin's jobs page (/admin/jobs) and its JSON twin (/api/v1/admin/jobs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from dailypapers.web import jobs_views
from dailypapers.web.deps import AdminUser, StateDep
from dailypapers.web.jobs_views import JobsPublic
from dailypapers.web.schemas import ErrorPublic
from dailypapers.web.templating import render

router = APIRouter(include_in_schema=False)
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorPublic} for status in (401, 403, 503)
}
api = APIRouter(prefix="/api/v1", tags=["api"], responses=_ERRORS)


@router.get("/admin/jobs")
def jobs_page(request: Request, state: StateDep, _admin: AdminUser) -> HTMLResponse:
    jobs = jobs_views.jobs_view(state)
    return render(request, "jobs.html", {"jobs": jobs, "json_url": "/api/v1/admin/jobs"})


@api.get("/admin/jobs", response_model=JobsPublic)
def api_jobs(state: StateDep, _admin: AdminUser) -> JobsPublic:
    """Each periodic task's last run, outcome, duration and next run; failures; queue depth;
    backfill progress; embedding coverage and ETA (admins only)."""
    return jobs_views.jobs_view(state)
