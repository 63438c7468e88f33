"""The task registry: every periodic or slow job, its schedule, its queue and what it runs.

Both runners read this one list, so they cannot drift apart: the in-process runner that
`serve` starts on SQLite (jobs/local.py, also behind `dailypapers jobs run-once`) and the
procrastinate workers on PostgreSQL (jobs/queue.py). A task function takes a TaskContext and
returns a TaskResult; it must be idempotent, because a period can run twice when a runner
dies part-way (at least once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from dailypapers.config import Settings

Queue = Literal["harvest", "embed", "digest", "maintenance"]
QUEUES: tuple[Queue, ...] = ("harvest", "embed", "digest", "maintenance")


class UpstreamUnavailable(RuntimeError):
    """An upstream (arXiv, Hugging Face, the SMTP server) could not be used this period; the
    task is retried at the next one. The message is one line for the log and the admin."""


@dataclass(slots=True)
class TaskResult:
    """What a run did: a line for people and counts for the status page."""

    summary: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TaskContext:
    """What a task function may use. `resources` is the runner's process-wide cache (the
    embedding model, a searcher), so a model is loaded once per process, not once per run."""

    engine: sa.Engine
    settings: Settings
    scheduled_for: datetime
    now: Callable[[], datetime]
    should_stop: Callable[[], bool]
    resources: Any


TaskFunction = Callable[[TaskContext], TaskResult]


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """One registered task."""

    name: str
    run: TaskFunction
    schedule: str  # cron, UTC
    queue: Queue
    description: str
    enabled: bool = True


def split_list(value: str) -> list[str]:
    """A comma-separated setting as a list (blanks dropped)."""
    return [part.strip() for part in value.split(",") if part.strip()]


def build_registry(settings: Settings) -> list[TaskSpec]:
    """Every task with its schedule and whether it is on, from the settings."""
    from dailypapers.digest.service import mail_base_url
    from dailypapers.jobs import tasks

    categories = bool(split_list(settings.harvest_categories))
    return [
        TaskSpec(
            "harvest-hf",
            tasks.harvest_hf,
            settings.schedule_harvest_hf,
            "harvest",
            "Hugging Face's daily papers for today and yesterday (and the backfill)",
            enabled=settings.harvest_hf,
        ),
        TaskSpec(
            "harvest-arxiv",
            tasks.harvest_arxiv_announcements,
            settings.schedule_harvest_arxiv,
            "harvest",
            "arXiv's announcements in the harvest categories",
            enabled=settings.harvest_arxiv and categories,
        ),
        TaskSpec(
            "harvest-oai",
            tasks.harvest_arxiv_changes,
            settings.schedule_harvest_oai,
            "harvest",
            "arXiv's OAI-PMH records created or changed since the last run (and the backfill)",
            enabled=settings.harvest_arxiv and categories,
        ),
        TaskSpec(
            "embed",
            tasks.embed_papers,
            settings.schedule_embed,
            "embed",
            "embed papers waiting for a vector (listed and upvoted ones first)",
        ),
        TaskSpec(
            "digests",
            tasks.send_digests,
            settings.schedule_digests,
            "digest",
            "build the day's digests from digest_hour_utc on, send what is due",
            # Mail needs a server, an hour, and an address for its links.
            enabled=bool(settings.smtp_host and mail_base_url(settings))
            and settings.digest_hour_utc >= 0,
        ),
        TaskSpec(
            "prune",
            tasks.prune,
            settings.schedule_prune,
            "maintenance",
            "delete expired sessions and login failures, and what passed retention_days",
        ),
        TaskSpec(
            "trends",
            tasks.refresh_trends,
            settings.schedule_trends,
            "maintenance",
            "count papers per list day and category, find the rising topics (/trends)",
        ),
        TaskSpec(
            "notifications",
            tasks.notify_followers,
            settings.schedule_notifications,
            "maintenance",
            "notify readers of new papers by followed authors and in followed collections",
        ),
    ]


def enabled_tasks(
    settings: Settings, *, queues: list[Queue] | None = None, names: list[str] | None = None
) -> list[TaskSpec]:
    """The tasks that are on, optionally only those of some queues or names."""
    return [
        spec
        for spec in build_registry(settings)
        if spec.enabled
        and (queues is None or spec.queue in queues)
        and (names is None or spec.name in names)
    ]
