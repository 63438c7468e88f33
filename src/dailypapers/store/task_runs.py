"""Repository functions for task runs: one row per (task, period), claimed under a lease.

Whichever runner inserts the row for a period runs the task for it, so a periodic task runs
once per period however many runners (serve's runner, a cron `jobs run-once`, procrastinate
workers) reach it. A runner renews its lease while it works; a row still `running` after its
lease ended belongs to a runner that died and is taken over by the next one (at least once).
The rows are also the history `jobs status` and /admin/jobs show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
import sqlalchemy as sa

from dailypapers.dates import as_utc
from dailypapers.store.dialects import conflict_insert
from dailypapers.store.schema import task_runs

RunStatus = Literal["running", "succeeded", "failed"]


@dataclass(slots=True, frozen=True)
class TaskRun:
    """One run of a task, as stored."""

    task: str
    scheduled_for: datetime
    status: RunStatus
    runner: str
    attempts: int
    started_at: datetime
    finished_at: datetime | None
    lease_until: datetime | None
    summary: str | None
    detail: dict[str, Any]
    error: str | None

    @property
    def duration_s(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def _run(row: sa.RowMapping) -> TaskRun:
    def utc(value: datetime | None) -> datetime | None:
        return as_utc(value) if value is not None else None

    return TaskRun(
        task=row["task"],
        scheduled_for=as_utc(row["scheduled_for"]),
        status=row["status"],
        runner=row["runner"],
        attempts=int(row["attempts"]),
        started_at=as_utc(row["started_at"]),
        finished_at=utc(row["finished_at"]),
        lease_until=utc(row["lease_until"]),
        summary=row["summary"],
        detail=orjson.loads(row["detail"] or "{}"),
        error=row["error"],
    )


def claim_run(
    engine: sa.Engine,
    *,
    task: str,
    scheduled_for: datetime,
    runner: str,
    now: datetime,
    lease_until: datetime,
) -> int | None:
    """Claim the run of `task` for the period starting `scheduled_for`.

    Returns the attempt number when this runner should run it: a new row, or a `running` row
    whose lease has ended (its runner died). None when the period is done or another runner
    holds it.
    """
    key = (task_runs.c.task == task) & (task_runs.c.scheduled_for == scheduled_for)
    with engine.begin() as conn:
        insert = (
            conflict_insert(conn, task_runs)
            .values(
                task=task,
                scheduled_for=scheduled_for,
                status="running",
                runner=runner,
                attempts=1,
                lease_until=lease_until,
                started_at=now,
            )
            .on_conflict_do_nothing()
            .returning(task_runs.c.attempts)
        )
        if conn.execute(insert).first() is not None:
            return 1
        takeover = (
            sa.update(task_runs)
            .where(key, task_runs.c.status == "running", task_runs.c.lease_until < now)
            .values(
                runner=runner,
                lease_until=lease_until,
                attempts=task_runs.c.attempts + 1,
                started_at=now,
            )
            .returning(task_runs.c.attempts)
        )
        row = conn.execute(takeover).first()
    return int(row[0]) if row is not None else None


def renew_lease(
    engine: sa.Engine, *, task: str, scheduled_for: datetime, runner: str, lease_until: datetime
) -> bool:
    """Extend the lease of a run this runner holds; False if it lost the run."""
    statement = (
        sa.update(task_runs)
        .where(
            task_runs.c.task == task,
            task_runs.c.scheduled_for == scheduled_for,
            task_runs.c.runner == runner,
            task_runs.c.status == "running",
        )
        .values(lease_until=lease_until)
    )
    with engine.begin() as conn:
        return conn.execute(statement).rowcount == 1


def finish_run(
    engine: sa.Engine,
    *,
    task: str,
    scheduled_for: datetime,
    runner: str,
    now: datetime,
    succeeded: bool,
    summary: str | None,
    detail: dict[str, Any],
    error: str | None,
) -> bool:
    """Record how a run ended; False if another runner took the run over meanwhile."""
    statement = (
        sa.update(task_runs)
        .where(
            task_runs.c.task == task,
            task_runs.c.scheduled_for == scheduled_for,
            task_runs.c.runner == runner,
        )
        .values(
            status="succeeded" if succeeded else "failed",
            finished_at=now,
            lease_until=None,
            summary=summary,
            detail=orjson.dumps(detail).decode(),
            error=error,
        )
    )
    with engine.begin() as conn:
        return conn.execute(statement).rowcount == 1


def latest_runs(engine: sa.Engine, *, tasks: list[str]) -> dict[str, TaskRun]:
    """The newest run of each task (by start), for those that have run."""
    found: dict[str, TaskRun] = {}
    with engine.connect() as conn:
        for task in tasks:
            query = (
                sa.select(task_runs)
                .where(task_runs.c.task == task)
                .order_by(task_runs.c.started_at.desc())
                .limit(1)
            )
            row = conn.execute(query).mappings().first()
            if row is not None:
                found[task] = _run(row)
    return found


def latest_finished(
    engine: sa.Engine, *, task: str, status: RunStatus | None = None
) -> TaskRun | None:
    """The newest finished run of `task` (of one status, if given)."""
    query = sa.select(task_runs).where(
        task_runs.c.task == task, task_runs.c.finished_at.is_not(None)
    )
    if status is not None:
        query = query.where(task_runs.c.status == status)
    query = query.order_by(task_runs.c.finished_at.desc()).limit(1)
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return _run(row) if row is not None else None


def list_runs(
    engine: sa.Engine, *, task: str | None = None, limit: int = 50, failed_only: bool = False
) -> list[TaskRun]:
    """Recent runs, newest first."""
    query = sa.select(task_runs)
    if task is not None:
        query = query.where(task_runs.c.task == task)
    if failed_only:
        query = query.where(task_runs.c.status == "failed")
    query = query.order_by(task_runs.c.started_at.desc()).limit(limit)
    with engine.connect() as conn:
        return [_run(row) for row in conn.execute(query).mappings()]


def run_status(engine: sa.Engine, *, task: str, scheduled_for: datetime) -> RunStatus | None:
    """The state of one period's run, or None if it was never claimed."""
    query = sa.select(task_runs.c.status).where(
        task_runs.c.task == task, task_runs.c.scheduled_for == scheduled_for
    )
    with engine.connect() as conn:
        status: RunStatus | None = conn.execute(query).scalar_one_or_none()
    return status


def has_run(engine: sa.Engine, *, task: str) -> bool:
    """True once `task` has been claimed at least once (in any state)."""
    query = sa.select(task_runs.c.task).where(task_runs.c.task == task).limit(1)
    with engine.connect() as conn:
        return conn.execute(query).first() is not None


def delete_runs_before(engine: sa.Engine, *, before: datetime) -> int:
    """Forget finished runs that started before `before`; returns how many."""
    statement = sa.delete(task_runs).where(
        task_runs.c.started_at < before, task_runs.c.status != "running"
    )
    with engine.begin() as conn:
        return int(conn.execute(statement).rowcount)
