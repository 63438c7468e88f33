"""One machine: a fresh `dailypapers serve` on SQLite keeps itself current with no other command.

Real processes throughout: the server with its job process, a local replay server standing in
for Hugging Face and arXiv (recorded responses), and the real embedding model.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.jobs.upstreams import HF_IDS, HF_PATH, HF_TITLE, job_environment, replay_upstreams
from tests.replay_server import Delay, ReplayServer, status_reply
from tests.web.conftest import LiveServer

pytestmark = pytest.mark.slow


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {timeout_s} s")
        time.sleep(0.25)


def jobs_status(home: Path, environment: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "dailypapers", "jobs", "status", "--json"],
        env={"DAILYPAPERS_HOME": str(home), "PATH": "/usr/bin:/bin", **environment},
        capture_output=True,
        timeout=120,
        check=True,
    )
    status: dict[str, object] = json.loads(done.stdout)
    return status


def task(status: dict[str, object], name: str) -> dict[str, object]:
    tasks = status["tasks"]
    assert isinstance(tasks, list)
    found: dict[str, object] = next(t for t in tasks if t["name"] == name)
    return found


@pytest.fixture
def upstreams(shared_data: Path) -> Iterator[ReplayServer]:
    with ReplayServer() as replay:
        replay_upstreams(replay, shared_data)
        yield replay


def test_a_fresh_site_harvests_embeds_and_searches_by_itself(
    tmp_path: Path, upstreams: ReplayServer
) -> None:
    home = tmp_path / "home"
    environment = job_environment(upstreams.url)
    server = LiveServer(home, jobs=True, **environment)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as site:

            def found(mode: str) -> bool:
                params = {"q": HF_TITLE, "mode": mode, "limit": 5}
                answer = site.get("/api/v1/search", params=params)
                if answer.status_code == 503:  # nothing embedded yet
                    return False
                hits = answer.json()["hits"]
                return bool(hits) and hits[0]["paper"]["id"] == "2410.17243"

            wait_until(lambda: found("keyword"), 90, "keyword-searchable")
            wait_until(lambda: found("semantic"), 180, "semantically searchable")
            assert site.get("/").status_code == 200
        status = jobs_status(home, environment)
    finally:
        server.stop()
    harvest = task(status, "harvest-hf")
    # The harvest runs every 5 s here, so its latest run may still be going: ask for a success.
    success = harvest["last_success"]
    assert isinstance(success, dict) and success["status"] == "succeeded"
    assert success["finished_at"] is not None
    embedding = status["embedding"]
    assert isinstance(embedding, dict)
    assert embedding["embedded"] == embedding["papers"] >= len(HF_IDS)
    backfills = {b["name"]: b for b in status["backfills"]}  # type: ignore[union-attr]
    assert backfills["Hugging Face"]["complete"] and backfills["Hugging Face"]["done"] == 2
    # Backfill: today, yesterday, then the two days before them, newest first, once.
    asked = [r.params["date"] for r in upstreams.requests_to(HF_PATH)]
    assert len(asked[:4]) == len(set(asked[:4])) == 4
    assert asked[:4] == sorted(asked[:4], reverse=True)


def test_an_unreachable_upstream_is_retried_each_period_while_pages_are_served(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with ReplayServer() as replay:
        replay.route(HF_PATH, status_reply(503, retry_after="1"))
        replay.route("/rss/cs.AI", Delay(10.0))  # slower than the client's timeout
        environment = job_environment(
            replay.url,
            DAILYPAPERS_HTTP_TIMEOUT_S="1",
            DAILYPAPERS_HARVEST_BACKFILL_DAYS="0",
            DAILYPAPERS_SCHEDULE_HARVEST_HF="* * * * * */3",
            DAILYPAPERS_SCHEDULE_HARVEST_ARXIV="* * * * * */3",
        )
        server = LiveServer(home, jobs=True, **environment)
        try:
            with httpx.Client(base_url=server.url, timeout=30) as site:
                for name in ("harvest-hf", "harvest-arxiv"):
                    wait_until(
                        lambda name=name: _failed_runs(home, environment, name) >= 2,  # type: ignore[misc]
                        90,
                        f"two failed periods of {name}",
                    )
                for path in ("/", "/trending", "/api/v1/trending"):
                    assert site.get(path).status_code == 200
            status = jobs_status(home, environment)
        finally:
            server.stop()
    failure = task(status, "harvest-hf")["last_failure"]
    assert isinstance(failure, dict)
    assert "Hugging Face could not be used" in str(failure["error"])
    assert "503" in str(failure["error"])
    slow = task(status, "harvest-arxiv")["last_failure"]
    assert isinstance(slow, dict) and "arXiv could not be used" in str(slow["error"])


def _failed_runs(home: Path, environment: dict[str, str], name: str) -> int:
    status = jobs_status(home, environment)
    failures = status["recent_failures"]
    assert isinstance(failures, list)
    return sum(1 for run in failures if run["task"] == name)
