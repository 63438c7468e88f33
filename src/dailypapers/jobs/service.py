"""Starting job runners: `dailypapers worker`, and the job process `serve` starts beside its web
workers. On PostgreSQL a runner is a procrastinate worker; on SQLite it is the in-process
runner (one machine). Either way it also keeps this node's indexes following the database."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from multiprocessing.process import BaseProcess

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.index.keeper import NodeIndexKeeper
from dailypapers.jobs.local import LocalRunner
from dailypapers.jobs.registry import Queue, TaskSpec, enabled_tasks
from dailypapers.jobs.runtime import runner_name
from dailypapers.store.engine import open_store

logger = logging.getLogger(__name__)


def uses_procrastinate(settings: Settings) -> bool:
    """PostgreSQL deployments run jobs through procrastinate; SQLite ones in process."""
    return settings.resolved_database_url.startswith("postgresql")


def run_jobs(
    settings: Settings,
    *,
    queues: list[Queue] | None = None,
    concurrency: int = 1,
    role: str = "worker",
    parent_pid: int | None = None,
) -> None:
    """Run the tasks of `queues` (all when None) until SIGTERM or SIGINT."""
    engine = open_store(settings)
    specs = enabled_tasks(settings, queues=queues)
    keeper = NodeIndexKeeper(engine, settings, interval_s=settings.search_refresh_s)
    keeper.sync_once()
    keeper.start()
    names = ", ".join(spec.name for spec in specs) or "none"
    logger.info("%s running tasks: %s", runner_name(role), names)
    try:
        if uses_procrastinate(settings):
            from dailypapers.jobs.queue import create_queue_app, run_worker

            app = create_queue_app(engine, settings, specs, role=role)
            run_worker(
                app,
                settings,
                queues=list(queues) if queues else None,
                concurrency=concurrency,
                name=runner_name(role),
            )
        else:
            _run_local(engine, settings, specs, role, parent_pid)
    finally:
        keeper.stop()
        engine.dispose()


def _run_local(
    engine: sa.Engine,
    settings: Settings,
    specs: list[TaskSpec],
    role: str,
    parent_pid: int | None,
) -> None:
    runner = LocalRunner(engine, settings, specs, role=role)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    runner.start()
    while not stop.wait(1.0):
        # The server that started this process is gone (killed): stop too.
        if parent_pid is not None and os.getppid() != parent_pid:
            break
    runner.stop()


def configure_job_logging() -> None:
    """One line per event on standard error; procrastinate's own chatter only when it matters."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s jobs %(levelname)s %(message)s"))
    package = logging.getLogger("dailypapers")
    package.handlers[:] = [handler]
    package.setLevel(logging.INFO)
    logging.getLogger("procrastinate").setLevel(logging.WARNING)


def _job_process_main(settings: Settings, parent_pid: int) -> None:
    configure_job_logging()
    run_jobs(settings, role="serve-jobs", parent_pid=parent_pid)


def start_job_process(settings: Settings) -> BaseProcess:
    """The process that runs every job for a `serve` (one for all of its web workers)."""
    context = multiprocessing.get_context("spawn")
    process = context.Process(
        target=_job_process_main,
        args=(settings, os.getpid()),
        name="dailypapers-jobs",
        daemon=False,
    )
    process.start()
    return process


def stop_job_process(process: BaseProcess, timeout_s: float = 60.0) -> None:
    """SIGTERM, then wait for tasks to stop at a safe point; SIGKILL if they do not."""
    if process.pid is not None and process.is_alive():
        os.kill(process.pid, signal.SIGTERM)
        process.join(timeout_s)
        if process.is_alive():
            process.kill()
            process.join(5)
