"""Follows and notifications on SQLite and PostgreSQL: following once however often it is asked,
the papers a reader follows, replies notified as they are stored, the notifications task run
twice storing each notification once, read state per reader, nothing shown about a hidden
paper or reply, and notifications put in a digest once, with the digest's outbox row."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from dailypapers.models import PaperRecord, SourceName
from dailypapers.store.accounts import create_user
from dailypapers.store.collections import add_papers, create_collection, update_collection
from dailypapers.store.comments import add_comment, delete_comment, set_comment_hidden
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
from dailypapers.store.lists import set_paper_hidden
from dailypapers.store.notifications import (
    count_unread,
    create_follow_notifications,
    get_notification,
    list_notifications,
    mark_read,
    notifications_in_digest,
    notifications_to_email,
    set_notifications_in_digest,
)
from dailypapers.store.outbox import NotificationsTaken, OutboxMessage, queue_message
from dailypapers.store.papers import LocatedRecord, upsert_papers
from dailypapers.store.schema import follows, notifications, outbox

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


def _reader_with_two_notifications(engine: sa.Engine) -> tuple[int, int, int]:
    """ada, who follows Alice Smith and has a reply from bob and her new paper to see;
    (ada, the reply's id, bob)."""
    ada, bob = _user(engine, "ada"), _user(engine, "bob")
    follow(engine, user_id=ada, kind="author", target="alice smith", label="Alice Smith", now=NOW)
    later = NOW + timedelta(hours=1)
    _store(engine, _paper("2612.00001", ["Alice Smith"], NOW.date()), now=later)
    _store(engine, _paper("2611.00009", ["Carl Ng"], NOW.date()))
    mine = add_comment(
        engine, paper_id="2611.00009", user_id=ada, body="q", body_html="<p>q</p>", now=NOW
    )
    reply = add_comment(
        engine,
        paper_id="2611.00009",
        user_id=bob,
        body="a",
        body_html="<p>a</p>",
        now=NOW,
        parent_id=mine.comment_id,
    )
    since = NOW - timedelta(days=3)
    create_follow_notifications(engine, since_day=since.date(), since=since, now=later)
    assert count_unread(engine, user_id=ada) == 2
    return ada, reply.comment_id, bob


def _kinds(engine: sa.Engine, user_id: int) -> list[str]:
    found, total = list_notifications(engine, user_id=user_id, limit=10)
    assert total == len(found)
    return sorted(n.kind for n in found)


def test_nothing_is_shown_about_a_hidden_paper_or_a_hidden_or_deleted_reply(
    engine: sa.Engine,
) -> None:
    ada, reply_id, bob = _reader_with_two_notifications(engine)
    found, _ = list_notifications(engine, user_id=ada, limit=10)
    by_kind = {n.kind: n for n in found}
    paper_note = by_kind["author_paper"]
    assert paper_note.describe() == (
        "New paper by Alice Smith: “Paper 2612.00001”",
        "/papers/2612.00001",
    )
    set_paper_hidden(engine, paper_id="2612.00001", hidden=True)
    assert _kinds(engine, ada) == ["reply"]
    assert count_unread(engine, user_id=ada) == 1
    assert get_notification(engine, user_id=ada, notification_id=paper_note.notification_id) is None
    assert all(
        "2612.00001" not in n.describe()[0]
        for n in list_notifications(engine, user_id=ada, limit=10)[0]
    )
    # Hiding the paper a reply is on hides the reply's notification too.
    set_paper_hidden(engine, paper_id="2611.00009", hidden=True)
    assert _kinds(engine, ada) == []
    assert count_unread(engine, user_id=ada) == 0
    set_paper_hidden(engine, paper_id="2611.00009", hidden=False)
    set_paper_hidden(engine, paper_id="2612.00001", hidden=False)
    assert _kinds(engine, ada) == ["author_paper", "reply"]
    # A reply a moderator hid, or its writer deleted, is not news either.
    set_comment_hidden(engine, comment_id=reply_id, hidden=True)
    assert _kinds(engine, ada) == ["author_paper"]
    set_comment_hidden(engine, comment_id=reply_id, hidden=False)
    delete_comment(engine, comment_id=reply_id, user_id=bob)
    assert _kinds(engine, ada) == ["author_paper"]
    assert count_unread(engine, user_id=ada) == 1


def _digest(key: str, ids: tuple[int, ...]) -> OutboxMessage:
    return OutboxMessage(
        message_key=key,
        kind="digest",
        subscription_id=None,
        recipient="ada@example.org",
        subject="s",
        body_text="t",
        body_html="<p>t</p>",
        headers={},
        notification_ids=ids,
    )


def _outbox_keys(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(outbox.c.message_key)).scalars())


def test_notifications_go_into_one_digest_only_when_the_reader_chose_it(
    engine: sa.Engine,
) -> None:
    ada, _, _ = _reader_with_two_notifications(engine)
    assert notifications_in_digest(engine, user_id=ada) is False
    assert notifications_to_email(engine, user_id=ada, limit=10) == []
    assert set_notifications_in_digest(engine, user_id=ada, on=True) is True
    assert set_notifications_in_digest(engine, user_id=ada, on=True) is False
    assert notifications_in_digest(engine, user_id=ada) is True
    found = notifications_to_email(engine, user_id=ada, limit=10)
    assert sorted(n.kind for n in found) == ["author_paper", "reply"]
    assert [n.kind for n in notifications_to_email(engine, user_id=ada, limit=1)] == [
        "author_paper"
    ]
    ids = tuple(n.notification_id for n in found)
    # Stored with its digest, in one transaction: then no other digest gets them.
    assert queue_message(engine, message=_digest("digest:1:daily:a", ids), now=NOW) is True
    assert notifications_to_email(engine, user_id=ada, limit=10) == []
    with engine.connect() as conn:
        rows = conn.execute(sa.select(notifications.c.emailed_key)).scalars().all()
    assert rows == ["digest:1:daily:a", "digest:1:daily:a"]
    # The same digest built again stores nothing; another one that selected them at the same
    # time is refused whole (its row is not kept), to be built again without them.
    assert queue_message(engine, message=_digest("digest:1:daily:a", ids), now=NOW) is False
    with pytest.raises(NotificationsTaken):
        queue_message(engine, message=_digest("digest:1:weekly:b", ids), now=NOW)
    assert _outbox_keys(engine) == ["digest:1:daily:a"]
    # Emailing changes nothing on the site: both are still unread there.
    assert count_unread(engine, user_id=ada) == 2


def test_read_or_hidden_notifications_are_not_emailed(engine: sa.Engine) -> None:
    ada, _, _ = _reader_with_two_notifications(engine)
    set_notifications_in_digest(engine, user_id=ada, on=True)
    found, _ = list_notifications(engine, user_id=ada, limit=10)
    reply = next(n for n in found if n.kind == "reply")
    mark_read(engine, user_id=ada, now=NOW, notification_ids=[reply.notification_id])
    assert [n.kind for n in notifications_to_email(engine, user_id=ada, limit=10)] == [
        "author_paper"
    ]
    set_paper_hidden(engine, paper_id="2612.00001", hidden=True)
    assert notifications_to_email(engine, user_id=ada, limit=10) == []
    assert set_notifications_in_digest(engine, user_id=ada, on=False) is True
    set_paper_hidden(engine, paper_id="2612.00001", hidden=False)
    assert notifications_to_email(engine, user_id=ada, limit=10) == []
