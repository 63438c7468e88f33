"""The PostgreSQL runner: the registry's tasks as procrastinate jobs, run by `dailypapers worker`.

procrastinate (a maintained PostgreSQL job queue) defers each periodic task once per period
whatever the number of workers, gives each job to one worker, and notices workers that died
(heartbeats); a periodic job here retries the jobs of a dead worker on a live one. Every job
runs through `execute_task`, like the in-process runner, so the period is also claimed in
`task_runs`: a job retried after a crash finds the period done, or takes it over once the dead
runner's lease has ended (the job waits and retries until then).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import procrastinate
import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.jobs.registry import TaskSpec
from dailypapers.jobs.runtime import ProcessResources, execute_task, runner_name

logger = logging.getLogger(__name__)
TASK_PREFIX = "dailypapers."
STALLED_CHECK = "retry-stalled"
# Every worker listens on this queue whatever its --queues, so the jobs of a dead worker are
# retried even when the live ones serve other queues (an embedding-only GPU worker, say).
STALLED_QUEUE = "stalled-jobs"
# A periodic task whose worker was down at its time still runs when one starts within a day,
# as the in-process runner runs the latest period it missed.
PERIODIC_MAX_DELAY_S = 86_400


class TaskBusy(RuntimeError):
    """The period is held by another runner whose lease has not ended yet: retry later."""


def conninfo(database_url: str) -> str:
    """A libpq URI from the SQLAlchemy URL (postgresql+psycopg://... -> postgresql://...)."""
    url = sa.make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def stalled_after_s(settings: Settings) -> float:
    """A worker that missed three heartbeats is taken for dead."""
    return 3 * settings.worker_heartbeat_s


def create_queue_app(
    engine: sa.Engine,
    settings: Settings,
    specs: list[TaskSpec],
    *,
    role: str = "worker",
) -> procrastinate.App:
    """A procrastinate App with one periodic job per task, plus the stalled-job check."""
    connector = procrastinate.PsycopgConnector(conninfo=conninfo(settings.resolved_database_url))
    app = procrastinate.App(
        connector=connector, periodic_defaults={"max_delay": PERIODIC_MAX_DELAY_S}
    )
    resources = ProcessResources(engine, settings)
    runner = runner_name(role)
    retry = procrastinate.RetryStrategy(
        max_attempts=1000,
        wait=max(1, int(settings.jobs_lease_s / 2)),
        retry_exceptions={TaskBusy},
    )
    for spec in specs:
        _register(app, spec, engine, settings, resources, runner, retry)
    _register_stalled_check(app, settings)
    return app


def _register(
    app: procrastinate.App,
    spec: TaskSpec,
    engine: sa.Engine,
    settings: Settings,
    resources: ProcessResources,
    runner: str,
    retry: procrastinate.RetryStrategy,
) -> None:
    def run_period(context: procrastinate.JobContext, timestamp: int) -> None:
        outcome = execute_task(
            spec,
            engine=engine,
            settings=settings,
            resources=resources,
            scheduled_for=datetime.fromtimestamp(timestamp, UTC),
            runner=runner,
            should_stop=context.should_abort,
        )
        if outcome.outcome == "busy":
            raise TaskBusy(f"{spec.name}: the period is held by another runner")

    task = app.task(
        name=TASK_PREFIX + spec.name,
        queue=spec.queue,
        queueing_lock=spec.name,  # at most one waiting job per task
        retry=retry,
        pass_context=True,
    )(run_period)
    app.periodic(cron=spec.schedule, periodic_id=spec.name)(task)


def _register_stalled_check(app: procrastinate.App, settings: Settings) -> None:
    seconds = stalled_after_s(settings)

    async def retry_stalled_jobs(timestamp: int) -> None:
        del timestamp
        for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds):
            logger.warning("job %s of a worker that stopped answering: retrying it", job.id)
            await app.job_manager.retry_job(job)

    task = app.task(
        name=TASK_PREFIX + STALLED_CHECK,
        queue=STALLED_QUEUE,
        queueing_lock=STALLED_CHECK,
    )(retry_stalled_jobs)
    app.periodic(cron="* * * * * */10", periodic_id=STALLED_CHECK)(task)


def run_worker(
    app: procrastinate.App,
    settings: Settings,
    *,
    queues: list[str] | None,
    concurrency: int,
    name: str,
) -> None:
    """Run jobs until SIGTERM/SIGINT (a second signal stops at once; jobs of a worker stopped
    that way are retried elsewhere)."""
    options: dict[str, Any] = {
        "queues": [*queues, STALLED_QUEUE] if queues else None,
        "concurrency": concurrency,
        "name": name,
        "update_heartbeat_interval": settings.worker_heartbeat_s,
        "stalled_worker_timeout": stalled_after_s(settings),
        # Long tasks are asked to stop at their next safe point after this.
        "shutdown_graceful_timeout": 30.0,
        "delete_jobs": "successful",  # task_runs keeps the history
    }
    app.run_worker(**options)


def queue_depth(engine: sa.Engine) -> dict[str, int]:
    """Jobs waiting per queue (todo), as procrastinate holds them."""
    query = sa.text(
        "SELECT queue_name, count(*) FROM procrastinate_jobs WHERE status = 'todo' "
        "GROUP BY queue_name"
    )
    with engine.connect() as conn:
        return {str(name): int(count) for name, count in conn.execute(query)}
