"""Many nodes on one PostgreSQL: web nodes that only serve, workers that share the tasks through
procrastinate, workers killed in the middle of a task. Real processes, a real PostgreSQL server,
a replay server for the upstreams and a real SMTP server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from dailypapers.config import load_settings
from dailypapers.store.engine import open_store
from dailypapers.store.outbox import count_outbox
from dailypapers.store.subscriptions import Preferences, confirm_subscription, save_subscription
from tests.conftest import PROJECT_ROOT
from tests.jobs.upstreams import HF_IDS, HF_PATH, HF_TITLE, job_environment, replay_upstreams
from tests.pg_server import PostgresServer
from tests.replay_server import JSON, Delay, ReplayServer, file_reply
from tests.search.conftest import import_files
from tests.smtp_server import SmtpServer
from tests.web.conftest import LiveServer
from tests.web.hf_fixtures import HF_SAMPLE

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


class Worker:
    """`dailypapers worker` as a real process with its own HOME; its log goes to a file."""

    def __init__(self, home: Path, environment: dict[str, str], *args: str) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.log = home / "worker.log"
        command = [sys.executable, "-m", "dailypapers", "worker", *args]
        env = {**os.environ, "DAILYPAPERS_HOME": str(home), **environment}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT
            )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {timeout_s} s")
        time.sleep(0.25)


def scalar(engine: sa.Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def rows(engine: sa.Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


@pytest.fixture
def database(postgres_server: PostgresServer) -> Iterator[tuple[str, sa.Engine]]:
    url = postgres_server.create_database()
    engine = open_store(load_settings({}, database_url=url))  # migrates, once, here
    yield url, engine
    engine.dispose()


@pytest.fixture
def upstreams(shared_data: Path) -> Iterator[ReplayServer]:
    with ReplayServer() as replay:
        replay_upstreams(replay, shared_data)
        yield replay


def _search(site: httpx.Client, mode: str) -> list[tuple[str, float]] | None:
    answer = site.get("/api/v1/search", params={"q": HF_TITLE, "mode": mode, "limit": 10})
    if answer.status_code != 200:
        return None
    return [(hit["paper"]["id"], round(hit["score"], 6)) for hit in answer.json()["hits"]]


def test_two_web_nodes_and_two_workers_share_the_work(
    tmp_path: Path, database: tuple[str, sa.Engine], upstreams: ReplayServer
) -> None:
    url, engine = database
    environment = job_environment(
        upstreams.url,
        DAILYPAPERS_DATABASE_URL=url,
        DAILYPAPERS_AUTO_MIGRATE="false",
        DAILYPAPERS_SCHEDULE_HARVEST_HF="* * * * * */6",
    )
    workers = [Worker(tmp_path / f"worker{n}", environment, "--concurrency", "2") for n in (1, 2)]
    nodes: list[LiveServer] = []
    try:
        nodes = [LiveServer(tmp_path / f"node{n}", **environment) for n in (1, 2)]
        clients = [httpx.Client(base_url=node.url, timeout=30) for node in nodes]
        for client in clients:
            wait_until(lambda c=client: bool(_search(c, "keyword")), 120, "keyword search")  # type: ignore[misc]
            wait_until(lambda c=client: bool(_search(c, "semantic")), 240, "semantic search")  # type: ignore[misc]
        wait_until(
            lambda: scalar(engine, "select count(*) from task_runs where task = 'harvest-hf'") >= 3,
            60,
            "three harvest periods",
        )
        papers = scalar(engine, "select count(*) from papers")
        wait_until(
            lambda: scalar(engine, "select count(*) from paper_vectors") == papers,
            120,
            "every paper embedded",
        )
        time.sleep(2)  # both nodes copy the last vectors into their indexes
        # Both nodes answer the same, keyword and semantic.
        for mode in ("keyword", "semantic", "hybrid"):
            answers = [_search(client, mode) for client in clients]
            assert answers[0] and answers[0] == answers[1], mode
        for client in clients:
            client.close()
    finally:
        for worker in workers:
            worker.stop()
        for node in nodes:
            node.stop()
    runs = rows(
        engine,
        "select scheduled_for, status from task_runs where task = 'harvest-hf' "
        "order by scheduled_for",
    )
    periods = [period for period, _ in runs]
    assert len(periods) == len(set(periods)) >= 3
    # The upstream saw today's list asked once per period, whichever worker ran it.
    today = datetime.now(UTC).date().isoformat()
    asked_today = [r for r in upstreams.requests_to(HF_PATH) if r.params.get("date") == today]
    finished = sum(1 for _, status in runs if status != "running")
    assert finished <= len(asked_today) <= len(runs)
    # Each paper has one vector, computed once: the embedding runs' counts add up to the papers.
    embedded = rows(engine, "select detail from task_runs where task = 'embed'")
    total = sum(int(json.loads(detail).get("embedded", 0)) for (detail,) in embedded)
    assert scalar(engine, "select count(*) from paper_vectors") == papers == total
    assert set(HF_IDS) <= {pid for (pid,) in rows(engine, "select paper_id from papers")}


def test_a_worker_killed_mid_harvest_is_taken_over(
    tmp_path: Path, database: tuple[str, sa.Engine], shared_data: Path
) -> None:
    url, engine = database
    with ReplayServer() as replay:
        sample = file_reply(shared_data / HF_SAMPLE, content_type=JSON)
        replay.route(HF_PATH, Delay(30.0, then=sample), sample)  # the first answer is slow
        environment = job_environment(
            replay.url,
            DAILYPAPERS_DATABASE_URL=url,
            DAILYPAPERS_AUTO_MIGRATE="false",
            DAILYPAPERS_HARVEST_ARXIV="false",
            DAILYPAPERS_HARVEST_BACKFILL_DAYS="0",
            DAILYPAPERS_SCHEDULE_HARVEST_HF="0 0 * * *",  # one period: the one due at start
            DAILYPAPERS_HTTP_TIMEOUT_S="60",
        )
        first = Worker(tmp_path / "first", environment, "--queues", "harvest")
        second: Worker | None = None
        try:
            wait_until(lambda: len(replay.requests_to(HF_PATH)) == 1, 120, "the first request")
            first.kill()  # in the middle of the harvest: the request is still unanswered
            assert scalar(engine, "select count(*) from papers") == 0
            second = Worker(tmp_path / "second", environment, "--queues", "harvest")
            wait_until(
                lambda: (
                    scalar(engine, "select count(*) from task_runs where status = 'succeeded'") == 1
                ),
                180,
                "the harvest finished by the second worker",
            )
        finally:
            first.stop()
            if second is not None:
                second.stop()
    (runner, attempts), *more = rows(engine, "select runner, attempts from task_runs")
    assert not more and attempts == 2 and runner.endswith(":worker")
    assert sorted(p for (p,) in rows(engine, "select paper_id from papers")) == sorted(HF_IDS)


def test_a_worker_killed_mid_embedding_is_taken_over_and_nothing_is_embedded_twice(
    tmp_path: Path, database: tuple[str, sa.Engine], shared_data: Path
) -> None:
    url, engine = database
    snapshot = shared_data / "kaggle-arxiv-snapshot" / "arxiv-metadata-oai-snapshot.sample200.json"
    import_files(engine, [snapshot])
    environment = job_environment(
        "http://127.0.0.1:9",
        DAILYPAPERS_DATABASE_URL=url,
        DAILYPAPERS_AUTO_MIGRATE="false",
        DAILYPAPERS_HARVEST_HF="false",
        DAILYPAPERS_HARVEST_ARXIV="false",
        DAILYPAPERS_EMBEDDING_BATCH_PAPERS="8",
        DAILYPAPERS_EMBEDDING_LEASE_S="5",
    )
    first = Worker(tmp_path / "first", environment, "--queues", "embed")
    second: Worker | None = None
    try:
        wait_until(
            lambda: scalar(engine, "select count(*) from paper_vectors") >= 16,
            240,
            "some papers embedded",
        )
        first.kill()
        before = dict(rows(engine, "select paper_id, embedded_at from paper_vectors"))
        assert 0 < len(before) < 200
        second = Worker(tmp_path / "second", environment, "--queues", "embed")
        wait_until(
            lambda: scalar(engine, "select count(*) from paper_vectors") == 200,
            300,
            "every paper embedded",
        )
        wait_until(
            lambda: scalar(engine, "select count(*) from embedding_backlog") == 0,
            30,
            "an empty backlog",
        )
    finally:
        first.stop()
        if second is not None:
            second.stop()
    after = dict(rows(engine, "select paper_id, embedded_at from paper_vectors"))
    # What the killed worker stored was not embedded again.
    assert all(after[paper_id] == when for paper_id, when in before.items())
    assert len(after) == 200


def test_digests_through_the_workers_survive_a_kill_between_sending_and_recording(
    tmp_path: Path, database: tuple[str, sa.Engine]
) -> None:
    url, engine = database
    now = datetime.now(UTC)
    for number in range(5):
        saved, _ = save_subscription(
            engine,
            email=f"reader{number}@example.org",
            now=now,
            preferences=Preferences(send_empty=True),
        )
        confirm_subscription(engine, subscription_id=saved.subscription_id, now=now)
    smtp = SmtpServer().start()
    environment = job_environment(
        "http://127.0.0.1:9",
        DAILYPAPERS_DATABASE_URL=url,
        DAILYPAPERS_AUTO_MIGRATE="false",
        DAILYPAPERS_HARVEST_HF="false",
        DAILYPAPERS_HARVEST_ARXIV="false",
        DAILYPAPERS_SMTP_HOST="127.0.0.1",
        DAILYPAPERS_SMTP_PORT=str(smtp.port),
        DAILYPAPERS_SMTP_SECURITY="none",
        DAILYPAPERS_PUBLIC_URL="https://papers.example.org",
        DAILYPAPERS_DIGEST_HOUR_UTC="0",
        DAILYPAPERS_DIGEST_LEASE_S="2",
        DAILYPAPERS_SCHEDULE_DIGESTS="0 0 * * *",  # one period: the one due at start
    )
    first = Worker(tmp_path / "first", environment, "--queues", "digest")
    second: Worker | None = None

    def kill_at_third(_message: EmailMessage) -> None:
        # The server has the message; the worker dies before it hears "250" and records it.
        if len(smtp.mailbox.messages) == 3:
            first.kill()

    smtp.mailbox.on_message = kill_at_third
    try:
        wait_until(lambda: first.process.poll() is not None, 180, "the first worker killed")
        smtp.mailbox.on_message = None
        assert count_outbox(engine)["sent"] == 2
        second = Worker(tmp_path / "second", environment, "--queues", "digest")
        wait_until(lambda: count_outbox(engine)["sent"] == 5, 180, "every digest sent")
        time.sleep(2)
    finally:
        first.stop()
        if second is not None:
            second.stop()
        smtp.stop()
    by_reader: dict[str, set[str]] = {}
    for message in smtp.mailbox.messages:
        by_reader.setdefault(message["To"], set()).add(message["Message-ID"])
    assert sorted(by_reader) == [f"reader{n}@example.org" for n in range(5)]
    # One digest each; the one whose "sent" was never recorded went again, same Message-ID.
    assert all(len(ids) == 1 for ids in by_reader.values())
    assert len(smtp.mailbox.messages) == 6
    (attempts,) = rows(engine, "select attempts from task_runs where task = 'digests'")[0]
    assert attempts == 2
