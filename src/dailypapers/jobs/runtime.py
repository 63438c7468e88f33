"""What both runners share: running one period of a task, and what a job process holds.

`execute_task` is the only way a task runs, whichever runner calls it: it claims the period in
`task_runs` (once per period across every runner and node), renews the claim while the task
works, and records the outcome. An upstream that cannot be reached is one log line and a failed
run; the next period tries again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from croniter import croniter

from dailypapers.config import Settings
from dailypapers.index.embeddings import Embedder, load_embedder
from dailypapers.jobs.registry import TaskContext, TaskSpec, UpstreamUnavailable
from dailypapers.search.service import Searcher
from dailypapers.store.task_runs import claim_run, finish_run, renew_lease, run_status

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
Outcome = Literal["succeeded", "failed", "done", "busy"]


def utc_now() -> datetime:
    return datetime.now(UTC)


def runner_name(role: str) -> str:
    """Who runs a task, as the status page shows it: host, process and role."""
    return f"{socket.gethostname()}:{os.getpid()}:{role}"


def previous_tick(schedule: str, now: datetime) -> datetime:
    """The start of the period `now` falls in: the latest time the schedule fired."""
    tick: datetime = croniter(schedule, now).get_prev(datetime)
    return tick.astimezone(UTC)


def next_tick(schedule: str, now: datetime) -> datetime:
    tick: datetime = croniter(schedule, now).get_next(datetime)
    return tick.astimezone(UTC)


class ProcessResources:
    """What task runs in one process share: the embedding model (loaded on first use, once)
    and a searcher for the digests' saved searches."""

    def __init__(self, engine: sa.Engine, settings: Settings) -> None:
        self._engine = engine
        self._settings = settings
        self._lock = threading.Lock()
        self._embedder: Embedder | None = None
        self._searcher: Searcher | None = None

    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = load_embedder(
                    self._settings.embedding_model, device=self._settings.embedding_device
                )
            return self._embedder

    def searcher(self) -> Searcher:
        with self._lock:
            if self._searcher is None:
                self._searcher = Searcher(self._engine, self._settings)
            return self._searcher


@dataclass(slots=True, frozen=True)
class RunOutcome:
    """How one attempt to run a period ended."""

    task: str
    scheduled_for: datetime
    outcome: Outcome  # done: the period was run already; busy: another runner holds it
    summary: str | None = None
    error: str | None = None


class _LeaseKeeper:
    """Renews a run's lease in the background while the task works."""

    def __init__(
        self,
        engine: sa.Engine,
        spec: TaskSpec,
        scheduled_for: datetime,
        runner: str,
        lease_s: float,
    ) -> None:
        self._stop = threading.Event()
        self.lost = False

        def renew() -> None:
            while not self._stop.wait(lease_s / 4):
                try:
                    until = utc_now() + timedelta(seconds=lease_s)
                    if not renew_lease(
                        engine,
                        task=spec.name,
                        scheduled_for=scheduled_for,
                        runner=runner,
                        lease_until=until,
                    ):
                        self.lost = True
                        return
                except sa.exc.SQLAlchemyError:
                    logger.warning("%s: could not renew its lease; retrying", spec.name)

        self._thread = threading.Thread(target=renew, name=f"lease-{spec.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def execute_task(
    spec: TaskSpec,
    *,
    engine: sa.Engine,
    settings: Settings,
    resources: ProcessResources,
    scheduled_for: datetime,
    runner: str,
    should_stop: Callable[[], bool] = lambda: False,
    clock: Clock = utc_now,
) -> RunOutcome:
    """Run the period of `spec` starting `scheduled_for` unless it is done or held elsewhere."""
    now = clock()
    lease_s = settings.jobs_lease_s
    attempt = claim_run(
        engine,
        task=spec.name,
        scheduled_for=scheduled_for,
        runner=runner,
        now=now,
        lease_until=now + timedelta(seconds=lease_s),
    )
    if attempt is None:
        status = run_status(engine, task=spec.name, scheduled_for=scheduled_for)
        return RunOutcome(spec.name, scheduled_for, "busy" if status == "running" else "done")
    if attempt > 1:
        logger.info(
            "%s: taking over the period of %s (attempt %d)", spec.name, scheduled_for, attempt
        )
    keeper = _LeaseKeeper(engine, spec, scheduled_for, runner, lease_s)
    context = TaskContext(engine, settings, scheduled_for, clock, should_stop, resources)
    summary: str | None = None
    error: str | None = None
    detail: dict[str, object] = {}
    try:
        result = spec.run(context)
        summary, detail = result.summary, result.detail
    except UpstreamUnavailable as problem:
        error = str(problem)
        logger.warning("%s: %s; trying again at the next period", spec.name, error)
    except Exception as problem:  # a task must never take its runner down
        error = f"{type(problem).__name__}: {problem}"
        logger.exception("%s failed", spec.name)
    finally:
        keeper.stop()
    try:
        finish_run(
            engine,
            task=spec.name,
            scheduled_for=scheduled_for,
            runner=runner,
            now=clock(),
            succeeded=error is None,
            summary=summary,
            detail=detail,
            error=error,
        )
    except sa.exc.SQLAlchemyError:
        logger.exception("%s: could not record how it ended", spec.name)
    if summary:
        logger.info("%s: %s", spec.name, summary)
    return RunOutcome(spec.name, scheduled_for, "failed" if error else "succeeded", summary, error)
