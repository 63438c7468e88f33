"""The admin's view of the jobs: each task's last and next run, failures with the upstream's or
the code's error, queue depth, backfill progress and embedding coverage (/admin/jobs and its
JSON twin /api/v1/admin/jobs)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from dailypapers.jobs.status import JobsStatus, jobs_status
from dailypapers.store.task_runs import TaskRun
from dailypapers.web.state import AppState


class TaskRunPublic(BaseModel):
    task: str
    scheduled_for: datetime = Field(description="Start of the period the run was for.")
    status: str = Field(description="running, succeeded or failed.")
    runner: str = Field(description="host:process:role of the runner.")
    attempts: int = Field(description="More than 1 when a runner died and another took over.")
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    summary: str | None
    error: str | None

    @classmethod
    def of(cls, run: TaskRun) -> TaskRunPublic:
        return cls(
            task=run.task,
            scheduled_for=run.scheduled_for,
            status=run.status,
            runner=run.runner,
            attempts=run.attempts,
            started_at=run.started_at,
            finished_at=run.finished_at,
            duration_s=None if run.duration_s is None else round(run.duration_s, 3),
            summary=run.summary,
            error=run.error,
        )


class TaskPublic(BaseModel):
    name: str
    queue: str
    schedule: str = Field(description="Cron schedule, UTC.")
    description: str
    enabled: bool
    last_run: TaskRunPublic | None
    last_failure: TaskRunPublic | None
    last_success: TaskRunPublic | None
    next_run: datetime | None
    due: bool = Field(description="The current period has not been started by any runner.")


class BackfillPublic(BaseModel):
    name: str
    days: int
    done: int
    complete: bool
    last_day: str | None


class EmbeddingPublic(BaseModel):
    model: str
    papers: int = Field(description="Papers stored.")
    embedded: int = Field(description="Papers with a vector by this model.")
    waiting: int = Field(description="Papers waiting in the embedding backlog.")
    papers_per_s: float | None = Field(description="Measured over recent embedding runs.")
    eta_s: float | None = Field(description="Time to embed what waits, at that rate.")


class JobsPublic(BaseModel):
    backend: str = Field(description="in-process (SQLite) or procrastinate (PostgreSQL).")
    now: datetime
    tasks: list[TaskPublic]
    queue_depth: dict[str, int] = Field(description="Jobs waiting per queue.")
    backfills: list[BackfillPublic]
    embedding: EmbeddingPublic
    recent_failures: list[TaskRunPublic] = Field(description="Failed runs of the last 7 days.")

    @classmethod
    def of(cls, status: JobsStatus) -> JobsPublic:
        def run(value: TaskRun | None) -> TaskRunPublic | None:
            return TaskRunPublic.of(value) if value is not None else None

        return cls(
            backend=status.backend,
            now=status.now,
            tasks=[
                TaskPublic(
                    name=t.name,
                    queue=t.queue,
                    schedule=t.schedule,
                    description=t.description,
                    enabled=t.enabled,
                    last_run=run(t.last_run),
                    last_failure=run(t.last_failure),
                    last_success=run(t.last_success),
                    next_run=t.next_run,
                    due=t.due,
                )
                for t in status.tasks
            ],
            queue_depth=status.queue_depth,
            backfills=[
                BackfillPublic(
                    name=b.name, days=b.days, done=b.done, complete=b.complete, last_day=b.last_day
                )
                for b in status.backfills
            ],
            embedding=EmbeddingPublic(
                model=status.embedding.model,
                papers=status.embedding.papers,
                embedded=status.embedding.embedded,
                waiting=status.embedding.waiting,
                papers_per_s=status.embedding.papers_per_s,
                eta_s=status.embedding.eta_s,
            ),
            recent_failures=[TaskRunPublic.of(r) for r in status.recent_failures],
        )


def jobs_view(state: AppState) -> JobsPublic:
    """What the admin's jobs page and its JSON twin show."""
    return JobsPublic.of(jobs_status(state.engine, state.settings, now=datetime.now(UTC)))
