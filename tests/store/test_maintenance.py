"""The prune task's deletes: what has expired or passed retention goes, the rest stays, and a
second run removes nothing more."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from dailypapers.models import PaperRecord, SourceName
from dailypapers.store.maintenance import prune_expired
from dailypapers.store.papers import upsert_papers
from dailypapers.store.schema import (
    outbox,
    paper_removals,
    sent_papers,
    task_runs,
)
from dailypapers.store.subscriptions import Preferences, save_subscription
from tests.store.test_papers import located

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=120)
RECENT = NOW - timedelta(days=10)


def _message(
    key: str, subscription_id: int, status: str, created_at: datetime
) -> dict[str, object]:
    return {
        "message_key": key,
        "kind": "digest",
        "subscription_id": subscription_id,
        "recipient": "reader@example.org",
        "subject": "Papers",
        "body_text": "...",
        "body_html": "...",
        "status": status,
        "next_attempt_at": created_at,
        "created_at": created_at,
    }


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_retention_prunes_history_and_keeps_what_is_recent_or_unfinished(
    engine: sa.Engine,
) -> None:
    records = [
        PaperRecord(
            source=SourceName.HF_DAILY, paper_id=paper_id, title=f"Paper {paper_id}", daily_date=day
        )
        for paper_id, day in [("2601.00001", date(2026, 1, 5)), ("2605.00001", date(2026, 5, 25))]
    ]
    upsert_papers(engine, located(*records), now=NOW)
    subscription, _ = save_subscription(
        engine, email="reader@example.org", preferences=Preferences(), now=OLD
    )
    sid = subscription.subscription_id
    with engine.begin() as conn:
        conn.execute(
            sa.insert(outbox),
            [
                _message("old-sent", sid, "sent", OLD),
                _message("old-waiting", sid, "pending", OLD),  # a retry still due: kept
                _message("recent-sent", sid, "sent", RECENT),
            ],
        )
        conn.execute(
            sa.insert(sent_papers),
            [
                {"subscription_id": sid, "paper_id": "2601.00001", "message_key": "old-sent"},
                {"subscription_id": sid, "paper_id": "2605.00001", "message_key": "recent-sent"},
            ],
        )
        conn.execute(
            sa.insert(task_runs),
            [
                {
                    "task": "prune",
                    "scheduled_for": OLD,
                    "status": "succeeded",
                    "runner": "a",
                    "started_at": OLD,
                },
                {
                    "task": "embed",
                    "scheduled_for": OLD,
                    "status": "running",
                    "runner": "a",
                    "started_at": OLD,
                },
                {
                    "task": "prune",
                    "scheduled_for": RECENT,
                    "status": "failed",
                    "runner": "a",
                    "started_at": RECENT,
                },
            ],
        )
        conn.execute(
            sa.insert(paper_removals),
            [
                {"paper_id": "title:old", "removed_at": OLD},
                {"paper_id": "title:new", "removed_at": RECENT},
            ],
        )

    keep = timedelta(days=90)
    arguments = {
        "now": NOW,
        "failures_before": NOW - timedelta(minutes=15),
        "history_before": NOW - keep,
        "listed_before": (NOW - keep).date(),
    }
    deleted = prune_expired(engine, **arguments)  # type: ignore[arg-type]

    assert deleted["outbox"] == 1 and deleted["sent_papers"] == 1
    assert deleted["task_runs"] == 1 and deleted["paper_removals"] == 1
    with engine.connect() as conn:
        messages = set(conn.execute(sa.select(outbox.c.message_key)).scalars())
        sent = set(conn.execute(sa.select(sent_papers.c.paper_id)).scalars())
        runs = {
            (row.task, row.status)
            for row in conn.execute(sa.select(task_runs.c.task, task_runs.c.status))
        }
        removals = set(conn.execute(sa.select(paper_removals.c.paper_id)).scalars())
    assert messages == {"old-waiting", "recent-sent"}
    assert sent == {"2605.00001"}  # a paper listed in January can no longer be in a digest
    assert runs == {("embed", "running"), ("prune", "failed")}
    assert removals == {"title:new"}

    again = prune_expired(engine, **arguments)  # type: ignore[arg-type]
    assert sum(again.values()) == 0
    assert _count(engine, outbox) == 2
