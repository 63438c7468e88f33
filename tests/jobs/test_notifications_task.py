"""The `notifications` task: registered with its schedule, run by the real runner, it notifies a
follower once of a followed author's new paper, however many periods look at it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.jobs.local import run_once
from dailypapers.jobs.registry import enabled_tasks
from dailypapers.store.accounts import create_user
from dailypapers.store.follows import follow
from dailypapers.store.notifications import count_unread, list_notifications
from dailypapers.store.papers import upsert_papers
from dailypapers.store.task_runs import latest_runs
from tests.store.test_papers import arxiv_record, located

DAY = date(2026, 7, 1)
BEFORE = datetime(2026, 6, 1, tzinfo=UTC)


def test_the_task_notifies_a_followed_authors_new_paper_once(
    engine: sa.Engine, settings: Settings
) -> None:
    spec = next(s for s in enabled_tasks(settings) if s.name == "notifications")
    assert (spec.schedule, spec.queue) == ("*/15 * * * *", "maintenance")
    ada = create_user(engine, username="ada", password_hash="x", email=None, now=BEFORE).user_id
    follow(
        engine, user_id=ada, kind="author", target="grace hopper", label="Grace Hopper", now=BEFORE
    )
    paper = arxiv_record(
        paper_id="2607.00001", authors=["Grace Hopper", "Alan Turing"], daily_date=DAY
    )
    other = arxiv_record(paper_id="2607.00002", authors=["Alan Turing"], daily_date=DAY)
    upsert_papers(engine, located(paper, other), now=datetime.now(UTC))
    at = datetime(2026, 7, 1, 12, 7, tzinfo=UTC)
    first = run_once(engine, settings, [spec], clock=lambda: at)
    assert [(o.task, o.outcome) for o in first] == [("notifications", "succeeded")]
    run = latest_runs(engine, tasks=["notifications"])["notifications"]
    assert run.summary == (
        "notifications: 1 new papers by followed authors, 0 added to followed collections"
    )
    later = run_once(engine, settings, [spec], clock=lambda: at + timedelta(minutes=15))
    assert [o.outcome for o in later] == ["succeeded"]
    assert count_unread(engine, user_id=ada) == 1
    found, _ = list_notifications(engine, user_id=ada, limit=5)
    assert [(n.kind, n.paper_id, n.author_name) for n in found] == [
        ("author_paper", "2607.00001", "Grace Hopper")
    ]
