"""The in-process runner: runs the registry's tasks on their schedules without a job server.

`serve` on SQLite starts one for all of its web workers (in a process of its own), and
`dailypapers jobs run-once` runs one pass of it from cron. Each queue has its own thread, so a
long embedding run never delays a harvest or a digest; within a queue, tasks take turns. A
period is claimed in the database before it runs, so this runner, a cron `run-once` and a
restarted server never run the same period twice (except after a runner died: at least once).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.index.keeper import NodeIndexKeeper
from dailypapers.jobs.registry import Queue, TaskSpec
from dailypapers.jobs.runtime import (
    Clock,
    ProcessResources,
    RunOutcome,
    execute_task,
    next_tick,
    previous_tick,
    runner_name,
    utc_now,
)

logger = logging.getLogger(__name__)
# How soon a queue looks again at a period another runner holds (it may have died).
BUSY_RECHECK_S = 5.0


class LocalRunner:
    """Runs `specs` on their schedules until stopped; one thread per queue."""

    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        specs: list[TaskSpec],
        *,
        role: str = "runner",
        clock: Clock = utc_now,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.specs = specs
        self.runner = runner_name(role)
        self.clock = clock
        self.resources = ProcessResources(engine, settings)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # Periods this runner knows are finished, so it does not ask the database every pass.
        self._settled: set[tuple[str, datetime]] = set()

    def start(self) -> None:
        by_queue: dict[Queue, list[TaskSpec]] = defaultdict(list)
        for spec in self.specs:
            by_queue[spec.queue].append(spec)
        for queue, specs in by_queue.items():
            thread = threading.Thread(
                target=self._serve_queue, args=(specs,), name=f"jobs-{queue}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 60.0) -> None:
        """Ask every task to stop at its next safe point and wait for the threads."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout_s)
        self._threads.clear()

    def _serve_queue(self, specs: list[TaskSpec]) -> None:
        while not self._stop.is_set():
            busy = False
            for spec in specs:
                if self._stop.is_set():
                    return
                busy |= self._run_due(spec).outcome == "busy"
            now = self.clock()
            wake = min(next_tick(spec.schedule, now) for spec in specs)
            wait_s = (wake - now).total_seconds()
            if busy:
                wait_s = min(wait_s, BUSY_RECHECK_S)
            self._stop.wait(max(0.05, wait_s))

    def _run_due(self, spec: TaskSpec) -> RunOutcome:
        due = previous_tick(spec.schedule, self.clock())
        if (spec.name, due) in self._settled:
            return RunOutcome(spec.name, due, "done")
        try:
            outcome = execute_task(
                spec,
                engine=self.engine,
                settings=self.settings,
                resources=self.resources,
                scheduled_for=due,
                runner=self.runner,
                should_stop=self._stop.is_set,
                clock=self.clock,
            )
        except sa.exc.SQLAlchemyError as error:  # the database is away: try again soon
            logger.warning("%s: database unavailable (%s); trying again", spec.name, error)
            return RunOutcome(spec.name, due, "busy")
        if outcome.outcome != "busy":
            self._settled.add((spec.name, due))
        return outcome


def run_once(
    engine: sa.Engine,
    settings: Settings,
    specs: list[TaskSpec],
    *,
    clock: Clock = utc_now,
) -> list[RunOutcome]:
    """One pass for cron: run each task whose current period has not run yet, in turn, then
    bring this node's indexes up to date."""
    resources = ProcessResources(engine, settings)
    runner = runner_name("run-once")
    outcomes = [
        execute_task(
            spec,
            engine=engine,
            settings=settings,
            resources=resources,
            scheduled_for=previous_tick(spec.schedule, clock()),
            runner=runner,
            clock=clock,
        )
        for spec in specs
    ]
    NodeIndexKeeper(engine, settings, interval_s=0).sync_once()
    return outcomes
