"""Follows and notifications on SQLite and PostgreSQL: following once however often it is asked,
the papers a reader follows, replies notified as they are stored, the notifications task run
twice storing each notification once, read state per reader."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from dailypapers.models import PaperRecord, SourceName
from dailypapers.store.accounts import create_user
from dailypapers.store.collections import add_papers, create_collection, update_collection
from dailypapers.store.comments import add_comment, delete_comment
from dailypapers.store.follows import (
    FollowError,
    count_followers,
    follow,
    followed,
    following_targets,
    list_followed_papers,
    list_follows,
    papers_by_authors,
    unfollow,
)
from dailypapers.store.notifications import (
    count_unread,
    create_follow_notifications,
    list_notifications,
    mark_read,
)
from dailypapers.store.papers import LocatedRecord, upsert_papers
from dailypapers.store.schema import follows, notifications

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _user(engine: sa.Engine, name: str) -> int:
    return create_user(engine, username=name, password_hash="x", email=None, now=NOW).user_id


def _paper(
    paper_id: str, authors: list[str], day: date, categories: tuple[str, ...] = ("cs.LG",)
) -> PaperRecord:
    return PaperRecord(
        SourceName.ARXIV_OAI,
        f"Paper {paper_id}",
        paper_id,
        authors=authors,
        categories=list(categories),
        published=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
    )


def _store(engine: sa.Engine, *records: PaperRecord, now: datetime = NOW) -> None:
    items = [LocatedRecord(r, "test", str(n)) for n, r in enumerate(records)]
    summary = upsert_papers(engine, items, now=now)
    assert not summary.failures, summary.failures


def _rows(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_following_twice_stores_one_row_and_unfollowing_twice_is_harmless(
    engine: sa.Engine,
) -> None:
    ada = _user(engine, "ada")
    first = follow(
        engine, user_id=ada, kind="author", target="alice smith", label="Alice Smith", now=NOW
    )
    again = follow(
        engine, user_id=ada, kind="author", target="alice smith", label="Alice Smith", now=NOW
    )
    assert (first, again) == (True, False)
    assert _rows(engine, follows) == 1
    assert following_targets(
        engine, user_id=ada, kind="author", targets=["alice smith", "bob jones"]
    ) == {"alice smith"}
    assert count_followers(engine, kind="author", target="alice smith") == 1
    assert unfollow(engine, user_id=ada, kind="author", target="alice smith") is True
    assert unfollow(engine, user_id=ada, kind="author", target="alice smith") is False
    assert _rows(engine, follows) == 0


def test_only_a_public_collection_can_be_followed_and_its_follow_goes_with_it(
    engine: sa.Engine,
) -> None:
    ada, bob = _user(engine, "ada"), _user(engine, "bob")
    shelf = create_collection(engine, owner_id=bob, name="Shelf", now=NOW)
    target = str(shelf.collection_id)
    with pytest.raises(FollowError, match="not public"):
        follow(engine, user_id=ada, kind="collection", target=target, label="Shelf", now=NOW)
    update_collection(engine, collection_id=shelf.collection_id, visibility="public", now=NOW)
    follow(engine, user_id=ada, kind="collection", target=target, label="Shelf", now=NOW)
    assert [(f.kind, f.target) for f in list_follows(engine, user_id=ada)] == [
        ("collection", target)
    ]
    # Made private again: no longer listed to its follower.
    update_collection(engine, collection_id=shelf.collection_id, visibility="private", now=NOW)
    assert list_follows(engine, user_id=ada) == []
    assert followed(engine, user_id=ada).collections == {shelf.collection_id}


def test_the_followed_papers_are_by_followed_authors_or_in_followed_categories(
    engine: sa.Engine,
) -> None:
    ada = _user(engine, "ada")
    day = date(2026, 11, 30)
    _store(
        engine,
        _paper("2611.00001", ["Alice Smith", "Carl Ng"], day - timedelta(days=2)),
        _paper("2611.00002", ["Dora Lee"], day, ("cs.CV",)),
        _paper("2611.00003", ["Eve Park"], day - timedelta(days=1)),
        _paper("2611.00004", ["José García"], day - timedelta(days=3), ("math.CO",)),
    )
    assert list_followed_papers(engine, user_id=ada, limit=10) == ([], 0)
    follow(engine, user_id=ada, kind="author", target="alice smith", label="Alice Smith", now=NOW)
    follow(engine, user_id=ada, kind="author", target="jose garcia", label="José García", now=NOW)
    follow(engine, user_id=ada, kind="category", target="cs.CV", label="cs.CV", now=NOW)
    found, total = list_followed_papers(engine, user_id=ada, limit=10)
    assert total == 3
    assert [p.paper_id for p in found] == ["2611.00002", "2611.00001", "2611.00004"]
    page_two, _ = list_followed_papers(engine, user_id=ada, limit=2, offset=2)
    assert [p.paper_id for p in page_two] == ["2611.00004"]
    by = papers_by_authors(
        engine,
        author_keys=["alice smith", "jose garcia"],
        first_day=day - timedelta(days=2),
        last_day=day,
    )
    assert by == {"2611.00001": ["alice smith"]}


def test_a_reply_notifies_the_comment_author_once_and_not_the_replier(engine: sa.Engine) -> None:
    ada, bob = _user(engine, "ada"), _user(engine, "bob")
    _store(engine, _paper("2611.00001", ["Alice Smith"], date(2026, 11, 30)))
    mine = add_comment(
        engine, paper_id="2611.00001", user_id=ada, body="q", body_html="<p>q</p>", now=NOW
    )
    own_reply = add_comment(
        engine,
        paper_id="2611.00001",
        user_id=ada,
        body="me",
        body_html="<p>me</p>",
        now=NOW,
        parent_id=mine.comment_id,
    )
    assert own_reply.parent_id == mine.comment_id
    assert count_unread(engine, user_id=ada) == 0
    reply = add_comment(
        engine,
        paper_id="2611.00001",
        user_id=bob,
        body="a",
        body_html="<p>a</p>",
        now=NOW + timedelta(minutes=1),
        parent_id=mine.comment_id,
    )
    assert count_unread(engine, user_id=ada) == 1
    assert count_unread(engine, user_id=bob) == 0
    found, total = list_notifications(engine, user_id=ada, limit=10)
    assert total == 1
    assert (found[0].kind, found[0].actor, found[0].comment_id) == (
        "reply",
        "bob",
        reply.comment_id,
    )
    assert found[0].paper_title == "Paper 2611.00001"
    # A reply to bob's reply (it joins ada's thread) notifies bob, not ada again.
    add_comment(
        engine,
        paper_id="2611.00001",
        user_id=ada,
        body="thanks",
        body_html="<p>thanks</p>",
        now=NOW + timedelta(minutes=2),
        parent_id=reply.comment_id,
    )
    assert (count_unread(engine, user_id=ada), count_unread(engine, user_id=bob)) == (1, 1)
    # A reply to a deleted comment notifies nobody.
    delete_comment(engine, comment_id=mine.comment_id, user_id=ada)
    add_comment(
        engine,
        paper_id="2611.00001",
        user_id=bob,
        body="late",
        body_html="<p>late</p>",
        now=NOW,
        parent_id=mine.comment_id,
    )
    assert count_unread(engine, user_id=ada) == 1


def test_the_task_notifies_new_papers_of_followed_authors_and_collections_once(
    engine: sa.Engine,
) -> None:
    ada, bob = _user(engine, "ada"), _user(engine, "bob")
    today = NOW.date()
    # Stored before the follow: not news to ada.
    _store(engine, _paper("2611.00001", ["Alice Smith"], today), now=NOW - timedelta(days=1))
    follow(engine, user_id=ada, kind="author", target="alice smith", label="Alice Smith", now=NOW)
    shelf = create_collection(engine, owner_id=bob, name="Shelf", now=NOW)
    update_collection(engine, collection_id=shelf.collection_id, visibility="public", now=NOW)
    follow(
        engine,
        user_id=ada,
        kind="collection",
        target=str(shelf.collection_id),
        label="Shelf",
        now=NOW,
    )
    later = NOW + timedelta(hours=1)
    _store(
        engine,
        # New, two followed names on one paper: one notification.
        _paper("2612.00002", ["Alice Smith", "Bo Wu"], today),
        # New to the store, but listed long ago (an old dump imported today): no news.
        _paper("2001.00003", ["Alice Smith"], date(2020, 1, 3)),
        _paper("2612.00004", ["Carl Ng"], today),
        now=later,
    )
    follow(engine, user_id=ada, kind="author", target="bo wu", label="Bo Wu", now=NOW)
    add_papers(
        engine,
        collection_id=shelf.collection_id,
        paper_ids=["2612.00004"],
        added_by=bob,
        now=later,
    )
    since_day, since = today - timedelta(days=3), NOW - timedelta(days=3)
    first = create_follow_notifications(engine, since_day=since_day, since=since, now=later)
    again = create_follow_notifications(engine, since_day=since_day, since=since, now=later)
    assert (first.author_papers, first.collection_papers) == (1, 1)
    assert (again.author_papers, again.collection_papers) == (0, 0)
    assert _rows(engine, notifications) == 2
    found, _ = list_notifications(engine, user_id=ada, limit=10)
    kinds = {n.kind: n for n in found}
    assert kinds["author_paper"].paper_id == "2612.00002"
    assert kinds["author_paper"].author_name == "Alice Smith"
    assert kinds["collection_paper"].collection_name == "Shelf"
    assert kinds["collection_paper"].paper_id == "2612.00004"
    assert count_unread(engine, user_id=bob) == 0


def test_read_state_is_per_reader_one_or_all(engine: sa.Engine) -> None:
    ada, bob = _user(engine, "ada"), _user(engine, "bob")
    _store(engine, _paper("2611.00001", ["Alice Smith"], date(2026, 11, 30)))
    mine = add_comment(
        engine, paper_id="2611.00001", user_id=ada, body="q", body_html="<p>q</p>", now=NOW
    )
    for n in range(3):
        add_comment(
            engine,
            paper_id="2611.00001",
            user_id=bob,
            body=f"r{n}",
            body_html=f"<p>r{n}</p>",
            now=NOW + timedelta(minutes=n),
            parent_id=mine.comment_id,
        )
    found, total = list_notifications(engine, user_id=ada, limit=10)
    assert total == 3
    assert [n.created_at for n in found] == sorted((n.created_at for n in found), reverse=True)
    assert mark_read(engine, user_id=bob, now=NOW, notification_ids=[found[0].notification_id]) == 0
    assert mark_read(engine, user_id=ada, now=NOW, notification_ids=[found[0].notification_id]) == 1
    assert count_unread(engine, user_id=ada) == 2
    unread, _ = list_notifications(engine, user_id=ada, limit=10, unread_only=True)
    assert found[0].notification_id not in {n.notification_id for n in unread}
    assert mark_read(engine, user_id=ada, now=NOW) == 2
    assert mark_read(engine, user_id=ada, now=NOW) == 0
    assert count_unread(engine, user_id=ada) == 0
