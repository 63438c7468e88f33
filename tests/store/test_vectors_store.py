"""Paper vectors and the embedding backlog, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from dailypapers.models import PaperRecord, SourceName
from dailypapers.store.papers import LocatedRecord, upsert_papers
from dailypapers.store.schema import embedding_backlog
from dailypapers.store.vectors import (
    claim_backlog,
    count_backlog,
    count_vectors,
    enqueue_missing,
    iter_vectors_since,
    release_claims,
    store_vectors,
    vector_hashes,
)
from dailypapers.store.votes import record_vote

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MODEL = "test-model"


def _paper(paper_id: str, title: str, *, daily: date | None = None) -> LocatedRecord:
    record = PaperRecord(
        source=SourceName.ARXIV_API,
        title=title,
        paper_id=paper_id,
        abstract=f"About {title.lower()}.",
        published=datetime(2026, 11, 1, tzinfo=UTC),
        daily_date=daily,
    )
    return LocatedRecord(record, "test", paper_id)


def _store(engine: sa.Engine, *items: LocatedRecord, now: datetime = NOW) -> None:
    summary = upsert_papers(engine, list(items), now=now)
    assert summary.failed == 0


def _vector(value: float) -> np.ndarray:
    return np.full(4, value, np.float32)


def test_new_papers_wait_for_a_vector_listed_ones_first(engine: sa.Engine) -> None:
    _store(
        engine,
        _paper("2611.00001", "Plain paper"),
        _paper("2611.00002", "Listed paper", daily=date(2026, 11, 19)),
    )
    assert count_backlog(engine) == 2
    batch = claim_backlog(
        engine, token="a", now=NOW, lease_until=NOW + timedelta(minutes=5), limit=1
    )
    assert [entry.paper_id for entry in batch] == ["2611.00002"]
    assert batch[0].title == "Listed paper"


def test_two_workers_never_claim_the_same_paper(engine: sa.Engine) -> None:
    _store(engine, *[_paper(f"2611.{n:05d}", f"Paper number {n}") for n in range(10)])
    lease = NOW + timedelta(minutes=5)
    first = claim_backlog(engine, token="a", now=NOW, lease_until=lease, limit=6)
    second = claim_backlog(engine, token="b", now=NOW, lease_until=lease, limit=6)
    assert len(first) == 6 and len(second) == 4
    assert not {e.paper_id for e in first} & {e.paper_id for e in second}
    assert claim_backlog(engine, token="c", now=NOW, lease_until=lease, limit=6) == []


def test_a_dead_workers_claim_is_taken_over_after_its_lease(engine: sa.Engine) -> None:
    _store(engine, _paper("2611.00001", "Orphaned paper"))
    claim_backlog(engine, token="dead", now=NOW, lease_until=NOW + timedelta(minutes=5), limit=9)
    later = NOW + timedelta(minutes=6)
    taken = claim_backlog(engine, token="alive", now=later, lease_until=later, limit=9)
    assert [e.paper_id for e in taken] == ["2611.00001"]
    # The dead worker's late result does not take the paper off the backlog.
    store_vectors(engine, token="dead", model=MODEL, vectors=[], done=["2611.00001"], now=later)
    assert count_backlog(engine) == 1


def test_stored_vectors_leave_the_backlog_once_and_read_back(engine: sa.Engine) -> None:
    _store(engine, _paper("2611.00001", "First"), _paper("2611.00002", "Second"))
    batch = claim_backlog(engine, token="a", now=NOW, lease_until=NOW + timedelta(hours=1), limit=9)
    ids = [e.paper_id for e in batch]
    written = store_vectors(
        engine,
        token="a",
        model=MODEL,
        vectors=[(pid, 7 + i, _vector(i + 1)) for i, pid in enumerate(ids)],
        done=ids,
        now=NOW,
    )
    assert written == 2 and count_backlog(engine) == 0
    assert count_vectors(engine, model=MODEL) == 2
    assert vector_hashes(engine, model=MODEL, paper_ids=ids) == {ids[0]: 7, ids[1]: 8}
    rows = [v for batch in iter_vectors_since(engine, model=MODEL, since=None) for v in batch]
    assert [v.paper_id for v in rows] == ids
    assert rows[1].vector.dtype == np.float16 and rows[1].vector.tolist() == [2.0] * 4
    # Storing the same paper again keeps one vector (the newer).
    store_vectors(
        engine, token="a", model=MODEL, vectors=[(ids[0], 9, _vector(5))], done=[], now=NOW
    )
    assert count_vectors(engine, model=MODEL) == 2
    assert vector_hashes(engine, model=MODEL, paper_ids=[ids[0]]) == {ids[0]: 9}


def test_text_changed_while_embedding_is_embedded_again(engine: sa.Engine) -> None:
    _store(engine, _paper("2611.00001", "Old title"))
    batch = claim_backlog(engine, token="a", now=NOW, lease_until=NOW + timedelta(hours=1), limit=9)
    later = NOW + timedelta(seconds=30)
    _store(engine, _paper("2611.00001", "New title"), now=later)
    store_vectors(
        engine,
        token="a",
        model=MODEL,
        vectors=[("2611.00001", 1, _vector(1))],
        done=[e.paper_id for e in batch],
        now=later,
    )
    assert count_backlog(engine) == 1  # the new text still waits
    again = claim_backlog(
        engine, token="b", now=later, lease_until=later + timedelta(hours=1), limit=9
    )
    assert again[0].title == "New title"


def test_unchanged_reimport_does_not_requeue(engine: sa.Engine) -> None:
    _store(engine, _paper("2611.00001", "Stable"))
    batch = claim_backlog(engine, token="a", now=NOW, lease_until=NOW + timedelta(hours=1), limit=9)
    store_vectors(engine, token="a", model=MODEL, vectors=[], done=[batch[0].paper_id], now=NOW)
    _store(engine, _paper("2611.00001", "Stable", daily=date(2026, 11, 20)))
    assert count_backlog(engine) == 0


def test_released_claims_are_claimable_at_once(engine: sa.Engine) -> None:
    _store(engine, _paper("2611.00001", "Released"))
    lease = NOW + timedelta(hours=1)
    claim_backlog(engine, token="a", now=NOW, lease_until=lease, limit=9)
    release_claims(engine, token="a")
    assert len(claim_backlog(engine, token="b", now=NOW, lease_until=lease, limit=9)) == 1


def test_a_vote_moves_a_waiting_paper_forward(engine: sa.Engine) -> None:
    from dailypapers.store.accounts import create_user

    _store(engine, _paper("2611.00001", "Older"), _paper("2611.00002", "Voted for"))
    user = create_user(engine, username="alice", password_hash="x", email=None, now=NOW)
    record_vote(engine, user_id=user.user_id, paper_id="2611.00002", now=NOW)
    batch = claim_backlog(engine, token="a", now=NOW, lease_until=NOW + timedelta(hours=1), limit=1)
    assert batch[0].paper_id == "2611.00002"


def test_a_new_model_queues_every_paper_without_its_vector(engine: sa.Engine) -> None:
    _store(engine, _paper("2611.00001", "One"), _paper("2611.00002", "Two"))
    with engine.begin() as conn:
        conn.execute(sa.delete(embedding_backlog))
    store_vectors(
        engine, token="a", model=MODEL, vectors=[("2611.00001", 1, _vector(1))], done=[], now=NOW
    )
    assert enqueue_missing(engine, model=MODEL, now=NOW) == 1
    assert enqueue_missing(engine, model=MODEL, now=NOW) == 0  # already waiting
    assert enqueue_missing(engine, model="another-model", now=NOW) == 1
