"""Pruning what grows for ever: expired sessions, old login failures, delivered mail, history.

Every delete is bounded by a date, so running it twice (two nodes, a rerun) removes nothing more.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from dailypapers.store.schema import (
    login_failures,
    outbox,
    paper_removals,
    papers,
    sent_papers,
    task_runs,
    user_sessions,
)

# Messages in these states are finished: nobody needs their bodies once retention has passed.
FINISHED_MESSAGES = ("sent", "empty", "cancelled", "failed")


def prune_expired(
    engine: sa.Engine,
    *,
    now: datetime,
    failures_before: datetime,
    history_before: datetime,
    listed_before: date,
) -> dict[str, int]:
    """Delete sessions past their expiry, login failures before `failures_before`, finished
    outbox messages, task runs and paper removals (which every node's indexes have long
    applied) before `history_before`, and the record of papers sent to
    subscribers for papers listed before `listed_before` (no digest window reaches back that
    far, so nothing can be sent twice). Returns the rows deleted per table."""
    deleted: dict[str, int] = {}
    statements = {
        "user_sessions": sa.delete(user_sessions).where(user_sessions.c.expires_at <= now),
        "login_failures": sa.delete(login_failures).where(
            login_failures.c.failed_at < failures_before
        ),
        "sent_papers": sa.delete(sent_papers).where(
            sent_papers.c.paper_id.in_(
                sa.select(papers.c.paper_id).where(papers.c.list_date < listed_before)
            )
        ),
        "outbox": sa.delete(outbox).where(
            outbox.c.status.in_(FINISHED_MESSAGES), outbox.c.created_at < history_before
        ),
        "task_runs": sa.delete(task_runs).where(
            task_runs.c.status != "running", task_runs.c.started_at < history_before
        ),
        "paper_removals": sa.delete(paper_removals).where(
            paper_removals.c.removed_at < history_before
        ),
    }
    for name, statement in statements.items():
        with engine.begin() as conn:
            deleted[name] = int(conn.execute(statement).rowcount)
    return deleted
