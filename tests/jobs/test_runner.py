"""Running tasks once per period: claims, takeover of a dead runner, outcomes, the local runner.

The tasks here are small functions written for the test (counting their runs); the runners,
the claims and the database are the real ones, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.jobs.local import LocalRunner, run_once
from dailypapers.jobs.registry import (
    TaskContext,
    TaskResult,
    TaskSpec,
    UpstreamUnavailable,
    enabled_tasks,
)
from dailypapers.jobs.runtime import ProcessResources, execute_task, previous_tick
from dailypapers.store.task_runs import claim_run, latest_runs, list_runs

PERIOD = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class Counter:
    def __init__(self, seconds: float = 0.0) -> None:
        self.calls: list[datetime] = []
        self.seconds = seconds
        self._lock = threading.Lock()

    def __call__(self, ctx: TaskContext) -> TaskResult:
        with self._lock:
            self.calls.append(ctx.scheduled_for)
        time.sleep(self.seconds)
        return TaskResult(f"ran for {ctx.scheduled_for:%H:%M:%S}", {"n": 1})


def _spec(run: object, schedule: str = "0 * * * *", name: str = "count") -> TaskSpec:
    return TaskSpec(name, run, schedule, "maintenance", "a test task")  # type: ignore[arg-type]


def _execute(engine: sa.Engine, settings: Settings, spec: TaskSpec, runner: str) -> str:
    outcome = execute_task(
        spec,
        engine=engine,
        settings=settings,
        resources=ProcessResources(engine, settings),
        scheduled_for=PERIOD,
        runner=runner,
    )
    return outcome.outcome


def test_a_period_runs_once_whatever_the_number_of_runners(
    engine: sa.Engine, settings: Settings
) -> None:
    counter = Counter(seconds=0.2)
    spec = _spec(counter)
    outcomes: list[str] = []
    threads = [
        threading.Thread(
            target=lambda n=n: outcomes.append(_execute(engine, settings, spec, f"r{n}"))
        )
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.calls == [PERIOD]
    assert sorted(outcomes).count("succeeded") == 1
    assert _execute(engine, settings, spec, "late") == "done"
    run = latest_runs(engine, tasks=["count"])["count"]
    assert (run.status, run.summary, run.detail) == ("succeeded", "ran for 12:00:00", {"n": 1})


def test_a_dead_runners_period_is_taken_over_after_its_lease(
    engine: sa.Engine, settings: Settings
) -> None:
    settings = settings.model_copy(update={"jobs_lease_s": 1.0})
    counter = Counter()
    spec = _spec(counter)
    now = datetime.now(UTC)
    # A runner claimed the period, then died: no lease renewal, no finish.
    assert claim_run(
        engine,
        task="count",
        scheduled_for=PERIOD,
        runner="dead",
        now=now,
        lease_until=now + timedelta(seconds=1),
    )
    assert _execute(engine, settings, spec, "alive") == "busy"
    assert counter.calls == []
    time.sleep(1.2)
    assert _execute(engine, settings, spec, "alive") == "succeeded"
    run = latest_runs(engine, tasks=["count"])["count"]
    assert (run.runner, run.attempts, run.status) == ("alive", 2, "succeeded")


def test_failures_are_recorded_and_an_upstream_failure_is_one_line(
    engine: sa.Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    def unreachable(_ctx: TaskContext) -> TaskResult:
        raise UpstreamUnavailable("arXiv could not be used: gave up after 6 attempts")

    def broken(_ctx: TaskContext) -> TaskResult:
        raise ValueError("a bug")

    with caplog.at_level(logging.WARNING, logger="dailypapers"):
        assert _execute(engine, settings, _spec(unreachable, name="harvest"), "r") == "failed"
    lines = [r for r in caplog.records if r.name.startswith("dailypapers")]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert "arXiv could not be used" in lines[0].getMessage()
    assert _execute(engine, settings, _spec(broken, name="buggy"), "r") == "failed"
    failed = {run.task: run.error for run in list_runs(engine, failed_only=True)}
    assert failed == {
        "harvest": "arXiv could not be used: gave up after 6 attempts",
        "buggy": "ValueError: a bug",
    }
    # A failed period is over: the next period tries again, this one does not repeat.
    assert _execute(engine, settings, _spec(broken, name="buggy"), "r") == "done"


def test_two_local_runners_run_each_period_once(engine: sa.Engine, settings: Settings) -> None:
    fast = Counter(seconds=0.05)
    slow = Counter(seconds=0.05)
    specs = [
        _spec(fast, schedule="* * * * * *", name="every-second"),
        TaskSpec("other-queue", slow, "* * * * * */2", "harvest", "another queue"),  # type: ignore[arg-type]
    ]
    runners = [LocalRunner(engine, settings, specs, role=f"test{n}") for n in range(2)]
    for runner in runners:
        runner.start()
    time.sleep(3.5)
    for runner in runners:
        runner.stop()
    assert len(fast.calls) >= 3 and len(fast.calls) == len(set(fast.calls))
    assert len(slow.calls) >= 1 and len(slow.calls) == len(set(slow.calls))
    stored = list_runs(engine, task="every-second", limit=100)
    assert sorted(run.scheduled_for for run in stored) == sorted(fast.calls)


def test_run_once_runs_each_enabled_task_for_its_current_period(
    engine: sa.Engine, settings: Settings
) -> None:
    # No upstream harvests, no mail: embedding, pruning, the trends and the notifications of
    # followed authors and collections are what is left.
    settings = settings.model_copy(update={"harvest_hf": False, "harvest_arxiv": False})
    specs = enabled_tasks(settings)
    assert [spec.name for spec in specs] == ["embed", "prune", "trends", "notifications"]
    first = run_once(engine, settings, [s for s in specs if s.name == "prune"])
    assert [(o.task, o.outcome) for o in first] == [("prune", "succeeded")]
    again = run_once(engine, settings, [s for s in specs if s.name == "prune"])
    assert [o.outcome for o in again] == ["done"]
    run = latest_runs(engine, tasks=["prune"])["prune"]
    assert run.scheduled_for == previous_tick(settings.schedule_prune, datetime.now(UTC))
