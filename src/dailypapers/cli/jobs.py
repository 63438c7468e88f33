"""`dailypapers worker` and `dailypapers jobs status|run-once`: the task system from the command
line (see docs/operations.md)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any, cast

import click

from dailypapers.cli.common import ExitCode, echo_json, pass_settings, store, utc_now
from dailypapers.config import Settings
from dailypapers.jobs.local import run_once
from dailypapers.jobs.registry import QUEUES, Queue, build_registry, enabled_tasks, split_list
from dailypapers.jobs.service import configure_job_logging, run_jobs
from dailypapers.jobs.status import JobsStatus, jobs_status
from dailypapers.store.task_runs import TaskRun


def register(group: click.Group) -> None:
    """Add this module's commands to the root command."""
    for command in (worker_command, jobs_group):
        group.add_command(command)


def _queues(value: str | None) -> list[Queue] | None:
    if not value:
        return None
    names = split_list(value)
    unknown = [name for name in names if name not in QUEUES]
    if unknown:
        raise click.BadParameter(
            f"unknown queue {', '.join(unknown)} (the queues are {', '.join(QUEUES)})"
        )
    return [cast(Queue, name) for name in names]


@click.command("worker")
@click.option(
    "--queues",
    help=f"Comma-separated queues to take tasks from ({', '.join(QUEUES)}); all by default.",
)
@click.option(
    "--concurrency",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Tasks run at once by this worker (PostgreSQL).",
)
@pass_settings
def worker_command(settings: Settings, queues: str | None, concurrency: int) -> None:
    """Run the periodic and slow tasks (harvests, embedding, digests, pruning) until stopped.

    On PostgreSQL any number of workers share the work, each task once per period; on SQLite
    run one (or let `serve` run them). SIGTERM stops it at the tasks' next safe point.
    """
    wanted = _queues(queues)
    with store(settings, create=True):
        pass  # migrate before the runner starts (auto_migrate)
    configure_job_logging()
    run_jobs(settings, queues=wanted, concurrency=concurrency, role="worker")


@click.group("jobs")
def jobs_group() -> None:
    """See and run the periodic tasks."""


def _run_json(run: TaskRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    data = asdict(run)
    data["duration_s"] = run.duration_s
    return data


def _status_json(status: JobsStatus) -> dict[str, Any]:
    return {
        "backend": status.backend,
        "now": status.now,
        "tasks": [
            {
                "name": t.name,
                "queue": t.queue,
                "schedule": t.schedule,
                "description": t.description,
                "enabled": t.enabled,
                "last_run": _run_json(t.last_run),
                "last_failure": _run_json(t.last_failure),
                "last_success": _run_json(t.last_success),
                "next_run": t.next_run,
                "due": t.due,
            }
            for t in status.tasks
        ],
        "queue_depth": status.queue_depth,
        "backfills": [asdict(b) for b in status.backfills],
        "embedding": asdict(status.embedding),
        "recent_failures": [_run_json(r) for r in status.recent_failures],
    }


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _print_status(status: JobsStatus) -> None:
    click.echo(f"runner: {status.backend}; now {_when(status.now)} UTC")
    for task in status.tasks:
        run = task.last_run
        if not task.enabled:
            outcome = "off"
        elif run is None:
            outcome = "never run"
        else:
            took = f" in {run.duration_s:.1f} s" if run.duration_s is not None else ""
            outcome = f"{run.status}{took} at {_when(run.started_at)}"
        click.echo(f"{task.name:<14} {task.schedule:<16} {outcome}; next {_when(task.next_run)}")
        if run is not None and (run.error or run.summary):
            click.echo(f"{'':<14} {run.error or run.summary}")
    depth = ", ".join(f"{q} {n}" for q, n in status.queue_depth.items()) or "nothing"
    click.echo(f"waiting: {depth}")
    for backfill in status.backfills:
        state = "done" if backfill.complete else f"{backfill.done} of {backfill.days} days"
        click.echo(f"backfill {backfill.name}: {state}")
    e = status.embedding
    share = 100.0 * e.embedded / e.papers if e.papers else 100.0
    rate = f", {e.papers_per_s:.1f} papers/s" if e.papers_per_s else ""
    eta = f", about {e.eta_s / 60:.0f} min left" if e.eta_s and e.waiting else ""
    click.echo(
        f"embeddings ({e.model}): {e.embedded} of {e.papers} papers ({share:.1f} %), "
        f"{e.waiting} waiting{rate}{eta}"
    )
    for failure in status.recent_failures:
        click.echo(f"failed {_when(failure.started_at)} {failure.task}: {failure.error}")


@jobs_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_settings
def jobs_status_command(settings: Settings, as_json: bool) -> None:
    """Each task's last run, outcome, duration and next run; failures; queue depth; backfill
    progress; embedding coverage and ETA."""
    with store(settings, create=False) as engine:
        status = jobs_status(engine, settings, now=utc_now())
    if as_json:
        echo_json(_status_json(status))
    else:
        _print_status(status)


@jobs_group.command("run-once")
@click.option(
    "--task",
    "tasks",
    multiple=True,
    help="Only this task (repeatable); by default every task that is on.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcomes as JSON.")
@pass_settings
def jobs_run_once(settings: Settings, tasks: tuple[str, ...], as_json: bool) -> None:
    """Run each task whose current period has not run yet, then bring this node's indexes up to
    date: the cron alternative to the runner inside `serve`. Safe beside a running server."""
    known = [spec.name for spec in build_registry(settings)]
    unknown = [name for name in tasks if name not in known]
    if unknown:
        raise click.BadParameter(
            f"unknown task {', '.join(unknown)} (the tasks are {', '.join(known)})",
            param_hint="--task",
        )
    specs = enabled_tasks(settings, names=list(tasks) or None)
    with store(settings, create=True) as engine:
        outcomes = run_once(engine, settings, specs)
    if as_json:
        echo_json([asdict(outcome) for outcome in outcomes])
    else:
        for outcome in outcomes:
            detail = outcome.error or outcome.summary or ""
            line = f"{outcome.task}: {outcome.outcome}" + (f": {detail}" if detail else "")
            click.echo(line, err=True)
    if any(outcome.outcome == "failed" for outcome in outcomes):
        raise SystemExit(ExitCode.PARTIAL)
