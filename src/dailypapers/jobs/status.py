"""What `dailypapers jobs status` and /admin/jobs show: each task's last and next run, failures,
queue depth, backfill progress and embedding coverage with an ETA."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.index.embeddings import load_embedder
from dailypapers.jobs.registry import build_registry
from dailypapers.jobs.runtime import next_tick, previous_tick
from dailypapers.jobs.tasks import ARXIV_BACKFILL, HF_BACKFILL, backfill_state
from dailypapers.store.papers import count_papers
from dailypapers.store.task_runs import TaskRun, latest_finished, latest_runs, list_runs
from dailypapers.store.vectors import count_backlog, count_vectors

# Embedding speed is measured over this many recent runs that embedded something.
RATE_RUNS = 20


@dataclass(slots=True)
class TaskStatus:
    name: str
    queue: str
    schedule: str
    description: str
    enabled: bool
    last_run: TaskRun | None
    last_failure: TaskRun | None
    last_success: TaskRun | None
    next_run: datetime | None
    # True when the current period has not been claimed yet by any runner.
    due: bool


@dataclass(slots=True)
class BackfillStatus:
    name: str
    days: int
    done: int
    complete: bool
    last_day: str | None


@dataclass(slots=True)
class EmbeddingStatus:
    model: str
    papers: int
    embedded: int
    waiting: int
    papers_per_s: float | None
    eta_s: float | None


@dataclass(slots=True)
class JobsStatus:
    backend: str  # "in-process" (SQLite) or "procrastinate" (PostgreSQL)
    now: datetime
    tasks: list[TaskStatus]
    queue_depth: dict[str, int]
    backfills: list[BackfillStatus]
    embedding: EmbeddingStatus
    recent_failures: list[TaskRun] = field(default_factory=list)


def _embedding_rate(engine: sa.Engine) -> float | None:
    """Papers per second of model time, over the recent runs that embedded something."""
    embedded = 0
    seconds = 0.0
    for run in list_runs(engine, task="embed", limit=RATE_RUNS * 5):
        if run.detail.get("embedded"):
            embedded += int(run.detail["embedded"])
            seconds += float(run.detail.get("model_seconds", 0.0))
    return embedded / seconds if seconds > 0 else None


def _backfill(engine: sa.Engine, name: str, key: str, days: int) -> BackfillStatus:
    state = backfill_state(engine, key) or {}
    return BackfillStatus(
        name=name,
        days=int(str(state.get("days", days))),
        done=int(str(state.get("done", 0))),
        complete=bool(state.get("complete", days == 0)),
        last_day=str(state["last"]) if state.get("last") else None,
    )


def jobs_status(engine: sa.Engine, settings: Settings, *, now: datetime) -> JobsStatus:
    """Everything the status page shows, read from the database (any node may ask)."""
    specs = build_registry(settings)
    last = latest_runs(engine, tasks=[spec.name for spec in specs])
    tasks = []
    for spec in specs:
        run = last.get(spec.name)
        period = previous_tick(spec.schedule, now)
        tasks.append(
            TaskStatus(
                name=spec.name,
                queue=spec.queue,
                schedule=spec.schedule,
                description=spec.description,
                enabled=spec.enabled,
                last_run=run,
                last_failure=latest_finished(engine, task=spec.name, status="failed"),
                last_success=latest_finished(engine, task=spec.name, status="succeeded"),
                next_run=next_tick(spec.schedule, now) if spec.enabled else None,
                due=spec.enabled and (run is None or run.scheduled_for < period),
            )
        )
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        from dailypapers.jobs.queue import queue_depth

        depth = queue_depth(engine)
    else:
        depth = {}
        for task in tasks:
            if task.due:
                depth[task.queue] = depth.get(task.queue, 0) + 1
    model = load_embedder(settings.embedding_model).name
    papers = count_papers(engine)
    waiting = count_backlog(engine)
    rate = _embedding_rate(engine)
    embedding = EmbeddingStatus(
        model=model,
        papers=papers,
        embedded=count_vectors(engine, model=model),
        waiting=waiting,
        papers_per_s=rate,
        eta_s=waiting / rate if rate and waiting else (0.0 if not waiting else None),
    )
    days = settings.harvest_backfill_days
    backfills = [
        _backfill(engine, "Hugging Face", HF_BACKFILL, days),
        _backfill(engine, "arXiv", ARXIV_BACKFILL, days),
    ]
    failures = [
        run
        for run in list_runs(engine, failed_only=True, limit=10)
        if run.started_at > now - timedelta(days=7)
    ]
    return JobsStatus(
        backend="procrastinate" if postgres else "in-process",
        now=now,
        tasks=tasks,
        queue_depth=depth,
        backfills=backfills,
        embedding=embedding,
        recent_failures=failures,
    )
