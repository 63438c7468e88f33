"""Inbox store functions on SQLite and PostgreSQL: subscriptions, the outbox's keys and claims,
marks, signing secrets."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from dailypapers.models import PaperRecord, SourceName
from dailypapers.store.accounts import create_user
from dailypapers.store.lists import window_start_for
from dailypapers.store.marks import get_feedback, set_mark
from dailypapers.store.outbox import (
    OutboxMessage,
    claim_due_messages,
    count_outbox,
    list_problem_messages,
    mark_retry,
    mark_sent,
    queue_message,
    sent_paper_ids,
)
from dailypapers.store.papers import LocatedRecord, upsert_papers
from dailypapers.store.secrets import get_or_create_secret
from dailypapers.store.subscriptions import (
    EmailTaken,
    Preferences,
    confirm_subscription,
    get_subscription_by_email,
    save_subscription,
    unsubscribe,
)
from dailypapers.store.votes import PaperMissing, record_vote

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def _papers(engine: sa.Engine, count: int) -> list[str]:
    ids = [f"2605.{n:05d}" for n in range(1, count + 1)]
    records = [
        LocatedRecord(
            PaperRecord(
                SourceName.GENERIC,
                title=f"Paper {pid}",
                paper_id=pid,
                published=NOW - timedelta(days=1),
            ),  # fmt: skip
            "test",
            str(n),
        )
        for n, pid in enumerate(ids)
    ]
    upsert_papers(engine, records, now=NOW)
    return ids


def _message(subscription_id: int, key: str, paper_ids: tuple[str, ...] = ()) -> OutboxMessage:
    return OutboxMessage(
        message_key=key, kind="digest", subscription_id=subscription_id, recipient="a@example.org",
        subject="s", body_text="t", body_html="<p>h</p>", headers={}, paper_ids=paper_ids,
    )  # fmt: skip


def test_subscription_lifecycle(engine: sa.Engine) -> None:
    saved, confirm = save_subscription(engine, email="Ada@Example.org", preferences=Preferences(),
                                       now=NOW)  # fmt: skip
    assert confirm and saved.status == "pending"
    again, confirm = save_subscription(
        engine, email="ada@example.org", preferences=Preferences(frequency="weekly"), now=NOW
    )
    assert again.subscription_id == saved.subscription_id and confirm  # still unconfirmed
    assert confirm_subscription(engine, subscription_id=saved.subscription_id, now=NOW)
    assert not confirm_subscription(engine, subscription_id=saved.subscription_id, now=NOW)
    active, confirm = save_subscription(engine, email="ada@example.org",
                                        preferences=Preferences(), now=NOW)  # fmt: skip
    assert active.status == "active" and not confirm
    assert unsubscribe(engine, subscription_id=saved.subscription_id, now=NOW)
    back, confirm = save_subscription(engine, email="ada@example.org",
                                      preferences=Preferences(), now=NOW)  # fmt: skip
    assert back.status == "pending" and confirm  # renewing needs a new confirmation


def test_an_address_belongs_to_one_account(engine: sa.Engine) -> None:
    alice = create_user(engine, username="alice", password_hash="x", email=None, now=NOW)
    bob = create_user(engine, username="bob", password_hash="x", email=None, now=NOW)
    save_subscription(engine, email="a@example.org", preferences=Preferences(), now=NOW,
                      user_id=alice.user_id)  # fmt: skip
    with pytest.raises(EmailTaken):
        save_subscription(engine, email="a@example.org", preferences=Preferences(), now=NOW,
                          user_id=bob.user_id)  # fmt: skip
    with pytest.raises(EmailTaken):
        save_subscription(engine, email="a@example.org", preferences=Preferences(), now=NOW)
    found = get_subscription_by_email(engine, email="A@example.org")
    assert found is not None and found.user_id == alice.user_id


def test_a_message_key_is_queued_once_with_its_papers(engine: sa.Engine) -> None:
    ids = _papers(engine, 3)
    sub, _ = save_subscription(engine, email="a@example.org", preferences=Preferences(), now=NOW)
    message = _message(sub.subscription_id, "digest:1:daily:2026-05-01", tuple(ids[:2]))
    assert queue_message(engine, message=message, now=NOW)
    assert not queue_message(engine, message=message, now=NOW)
    sent = sent_paper_ids(engine, subscription_ids=[sub.subscription_id],
                          listed_since=(NOW - timedelta(days=5)).date())  # fmt: skip
    assert sent == {sub.subscription_id: set(ids[:2])}
    assert count_outbox(engine)["pending"] == 1


def test_claims_never_overlap_and_expired_leases_are_taken_over(engine: sa.Engine) -> None:
    sub, _ = save_subscription(engine, email="a@example.org", preferences=Preferences(), now=NOW)
    for n in range(40):
        queue_message(engine, message=_message(sub.subscription_id, f"k{n:02d}"), now=NOW)
    claimed: dict[str, list[str]] = {"one": [], "two": []}

    lease = NOW + timedelta(minutes=5)

    def claim(token: str) -> None:
        while batch := claim_due_messages(engine, token=token, now=NOW, lease_until=lease, limit=3):
            claimed[token] += [c.message.message_key for c in batch]

    threads = [threading.Thread(target=claim, args=(t,)) for t in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed["one"]) + len(claimed["two"]) == 40
    assert not set(claimed["one"]) & set(claimed["two"])
    key = claimed["one"][0] if claimed["one"] else claimed["two"][0]
    owner = "one" if claimed["one"] else "two"
    assert not mark_sent(engine, key=key, token="someone-else", now=NOW)
    later = NOW + timedelta(minutes=6)
    taken = claim_due_messages(engine, token="three", now=later, lease_until=later, limit=100)
    assert len(taken) == 40 and all(c.attempts == 2 for c in taken)
    assert not mark_sent(engine, key=key, token=owner, now=later)  # the old claim is void
    assert mark_retry(engine, key=key, token="three", error="451", next_attempt_at=later)
    assert mark_sent(engine, key=taken[1].message.message_key, token="three", now=later)


def test_marks_and_feedback(engine: sa.Engine) -> None:
    ids = _papers(engine, 3)
    user = create_user(engine, username="reader", password_hash="x", email=None, now=NOW)
    record_vote(engine, user_id=user.user_id, paper_id=ids[0], now=NOW)
    set_mark(engine, user_id=user.user_id, paper_id=ids[1], mark="saved", now=NOW)
    before = get_feedback(engine, user_id=user.user_id)
    assert set(before.liked) == {ids[0], ids[1]} and before.disliked == []
    set_mark(engine, user_id=user.user_id, paper_id=ids[0], mark="not_interested",
             now=NOW + timedelta(seconds=1))  # fmt: skip
    after = get_feedback(engine, user_id=user.user_id)
    assert after.liked == [ids[1]] and after.disliked == [ids[0]]
    assert after.stamp != before.stamp
    set_mark(engine, user_id=user.user_id, paper_id=ids[0], mark=None, now=NOW)
    assert get_feedback(engine, user_id=user.user_id).disliked == []
    with pytest.raises(PaperMissing):
        set_mark(engine, user_id=user.user_id, paper_id="9999.99999", mark="saved", now=NOW)


def test_a_secret_is_made_once(engine: sa.Engine) -> None:
    first = get_or_create_secret(engine, name="links", now=NOW)
    assert get_or_create_secret(engine, name="links", now=NOW) == first and len(first) > 40
    assert get_or_create_secret(engine, name="other", now=NOW) != first


def test_problems_are_failed_or_retrying_messages_only(engine: sa.Engine) -> None:
    sub, _ = save_subscription(engine, email="a@example.org", preferences=Preferences(), now=NOW)
    for key in ("fresh", "retrying"):
        queue_message(engine, message=_message(sub.subscription_id, key), now=NOW)
    claimed = claim_due_messages(engine, token="t", now=NOW, lease_until=NOW, limit=10)
    assert len(claimed) == 2
    mark_retry(engine, key="retrying", token="t", error="451 later", next_attempt_at=NOW)
    mark_sent(engine, key="fresh", token="t", now=NOW)
    queue_message(engine, message=_message(sub.subscription_id, "new"), now=NOW)
    assert [e.message_key for e in list_problem_messages(engine)] == ["retrying"]


def test_the_for_you_window_reaches_back_to_enough_unseen_papers(engine: sa.Engine) -> None:
    # Ten papers a day over five days; `days[0]` is the newest.
    days = [NOW.date() - timedelta(days=n) for n in range(5)]
    ids = {d: [f"{d:%y%m}.{d.day:02d}{n:03d}" for n in range(10)] for d in days}
    records = [
        LocatedRecord(
            PaperRecord(SourceName.GENERIC, title=f"Paper {pid}", paper_id=pid,
                        published=datetime.combine(d, datetime.min.time(), UTC)),
            "test", pid,
        )
        for d in days
        for pid in ids[d]
    ]  # fmt: skip
    upsert_papers(engine, records, now=NOW)
    last = days[0]
    assert window_start_for(engine, last_day=last, min_papers=10) == days[0]
    assert window_start_for(engine, last_day=last, min_papers=11) == days[1]
    assert window_start_for(engine, last_day=last, min_papers=25) == days[2]
    # Fewer than asked for: every list day up to `last_day`.
    assert window_start_for(engine, last_day=last, min_papers=500) == days[4]
    assert window_start_for(engine, last_day=days[4] - timedelta(days=1), min_papers=5) is None
    # Papers the reader upvoted or marked do not count: the window reaches further back.
    user = create_user(engine, username="window", password_hash="x", email=None, now=NOW)
    for paper_id in ids[last][:5]:
        record_vote(engine, user_id=user.user_id, paper_id=paper_id, now=NOW)
    set_mark(engine, user_id=user.user_id, paper_id=ids[last][5], mark="not_interested", now=NOW)
    assert window_start_for(engine, last_day=last, min_papers=4, unseen_by=user.user_id) == last
    assert window_start_for(engine, last_day=last, min_papers=5, unseen_by=user.user_id) == days[1]
