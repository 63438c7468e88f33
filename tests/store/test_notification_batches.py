"""The notifications task writes its notifications a batch per statement, on SQLite and a real
PostgreSQL server, and stores each one once however often it runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from dailypapers.store.follows import follow
from dailypapers.store.notifications import create_follow_notifications
from dailypapers.store.schema import notifications
from tests.store.test_follows_store import NOW, _paper, _rows, _store, _user


def test_new_papers_of_followed_authors_are_stored_in_one_insert_per_batch(
    engine: sa.Engine,
) -> None:
    readers = [_user(engine, f"reader{n}") for n in range(4)]
    for reader in readers:
        follow(engine, user_id=reader, kind="author", target="alice smith", label="A", now=NOW)
    later = NOW + timedelta(hours=1)
    papers = [_paper(f"2612.{n:05d}", ["Alice Smith"], NOW.date()) for n in range(1, 6)]
    _store(engine, *papers, now=later)
    inserts: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO NOTIFICATIONS"):
            inserts.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    since = NOW - timedelta(days=3)
    first = create_follow_notifications(engine, since_day=since.date(), since=since, now=later)
    again = create_follow_notifications(engine, since_day=since.date(), since=since, now=later)
    sa.event.remove(engine, "before_cursor_execute", seen)
    assert (first.author_papers, again.author_papers) == (20, 0)
    assert _rows(engine, notifications) == 20
    assert len(inserts) == 2  # one per run (each row its own statement before: 40)
