"""Notifications in the digest, through a real SMTP server: only for a reader who chose it, in
both parts, each notification in one digest only (also when the first delivery failed and was
retried), a paper the digest has told of not told again, and a digest of notifications alone
sent although no paper matched."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.digest.service import run_digests
from dailypapers.models import PaperRecord, SourceName
from dailypapers.store.accounts import create_user
from dailypapers.store.comments import add_comment
from dailypapers.store.follows import follow
from dailypapers.store.notifications import (
    create_follow_notifications,
    notifications_to_email,
    set_notifications_in_digest,
)
from dailypapers.store.outbox import count_outbox
from dailypapers.store.papers import LocatedRecord, upsert_papers
from dailypapers.store.schema import notifications
from tests.digest.conftest import DAY, NOW, subscriber
from tests.smtp_server import SmtpServer

Store = tuple[sa.Engine, Settings]
PAPER, TITLE = "2605.99999", "Compilers for everyone"
SITE = "https://papers.example.org"


def _part(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")  # SMTP carries CRLF line ends


def _mails(smtp: SmtpServer, to: str) -> list[EmailMessage]:
    return [m for m in smtp.mailbox.messages if m["To"] == to]


def _reader_with_news(engine: sa.Engine, *, opted_in: bool, **preferences: object) -> int:
    """ada follows Grace Hopper, whose paper is listed on DAY, and comments on it; bob replies.
    The notifications task has run: ada has two unread notifications. Her id."""
    record = PaperRecord(
        SourceName.ARXIV_OAI, TITLE, PAPER, authors=["Grace Hopper"], daily_date=DAY
    )
    ada = create_user(engine, username="ada", password_hash="x", email=None, now=NOW).user_id
    bob = create_user(engine, username="bob", password_hash="x", email=None, now=NOW).user_id
    follow(engine, user_id=ada, kind="author", target="grace hopper", label="Grace Hopper", now=NOW)
    upsert_papers(engine, [LocatedRecord(record, "test", "1")], now=NOW)
    mine = add_comment(
        engine, paper_id=PAPER, user_id=ada, body="Why?", body_html="<p>Why?</p>", now=NOW
    )
    add_comment(
        engine,
        paper_id=PAPER,
        user_id=bob,
        body="Because.",
        body_html="<p>Because.</p>",
        now=NOW,
        parent_id=mine.comment_id,
    )
    since = NOW - timedelta(days=3)
    done = create_follow_notifications(engine, since_day=since.date(), since=since, now=NOW)
    assert done.author_papers == 1
    set_notifications_in_digest(engine, user_id=ada, on=opted_in)
    subscriber(engine, "ada@example.org", user_id=ada, **preferences)
    return ada


def _sections(text: str) -> list[str]:
    return re.findall(r"^== (.+?) ==\s*$", text, flags=re.M)


def _emailed(engine: sa.Engine) -> list[str | None]:
    with engine.connect() as conn:
        query = sa.select(notifications.c.emailed_key).order_by(notifications.c.notification_id)
        return list(conn.execute(query).scalars())


def test_notifications_go_into_the_digest_once_from_the_day_it_is_chosen(
    store: Store, smtp: SmtpServer
) -> None:
    engine, settings = store
    ada = _reader_with_news(engine, opted_in=False)
    run_digests(engine, settings, day=DAY)
    first = _part(_mails(smtp, "ada@example.org")[0], "plain")
    assert _sections(first) == ["From authors you follow", "Trending"]
    assert _emailed(engine) == [None, None]

    set_notifications_in_digest(engine, user_id=ada, on=True)
    run_digests(engine, settings, day=DAY + timedelta(days=1))
    second = _mails(smtp, "ada@example.org")[1]
    text, html = _part(second, "plain"), _part(second, "html")
    assert re.fullmatch(r".+: \d+ papers and 1 notification for .+", second["Subject"])
    assert _sections(text)[0] == "Your notifications"
    reply = re.search(
        rf"^\* bob replied to your comment on “{TITLE}”\n  {SITE}/papers/{PAPER}#comment-(\d+)$",
        text,
        flags=re.M,
    )
    assert reply, text
    assert f'href="{SITE}/papers/{PAPER}#comment-{reply.group(1)}"' in html
    assert f"bob replied to your comment on “{TITLE}”" in html
    # Yesterday's digest told of the paper already: its notification is not told again.
    assert "New paper by Grace Hopper" not in text
    assert all(key is not None and key.endswith(":daily:2026-05-02") for key in _emailed(engine))
    assert notifications_to_email(engine, user_id=ada, limit=10) == []

    run_digests(engine, settings, day=DAY + timedelta(days=2))
    third = _mails(smtp, "ada@example.org")[2]
    assert "Your notifications" not in _part(third, "plain")
    assert "notification" not in third["Subject"]


def test_a_failed_then_retried_digest_tells_each_notification_once(
    store: Store, smtp: SmtpServer
) -> None:
    engine, settings = store
    _reader_with_news(engine, opted_in=True, include_trending=False)
    smtp.stop()
    down = run_digests(engine, settings, day=DAY)
    assert down.delivery is not None and down.delivery.retried == 1
    smtp.start()
    for day in (DAY, DAY, DAY + timedelta(days=1)):
        run_digests(engine, settings, day=day)
    mails = _mails(smtp, "ada@example.org")
    assert len(mails) == 1  # the next day has no paper and no notification: not sent
    text = _part(mails[0], "plain")
    assert text.count("bob replied to your comment") == 1
    # The paper is in "From authors you follow": its notification is accounted for, not told.
    assert _sections(text) == ["Your notifications", "From authors you follow"]
    assert text.count(f"/papers/{PAPER}\n") == 1
    assert count_outbox(engine)["sent"] == 1
    assert count_outbox(engine)["empty"] == 1


def test_a_digest_of_notifications_alone_is_sent(store: Store, smtp: SmtpServer) -> None:
    engine, settings = store
    # Nothing in the digest's sections matches: no trending, no categories, no followed paper
    # in the window (the notifications are two days older than the digest's period).
    _reader_with_news(engine, opted_in=True, include_trending=False)
    report = run_digests(engine, settings, day=DAY + timedelta(days=30))
    assert report.build.built == 1
    (mail,) = _mails(smtp, "ada@example.org")
    assert ": 0 papers and 2 notifications for " in mail["Subject"]
    text = _part(mail, "plain")
    assert _sections(text) == ["Your notifications"]
    assert f"New paper by Grace Hopper: “{TITLE}”\n  {SITE}/papers/{PAPER}\n" in text
    assert "Nothing new matched your subscription this time." in text


def test_a_digest_refused_for_good_leaves_its_notifications_for_the_next(
    store: Store, smtp: SmtpServer
) -> None:
    engine, settings = store
    ada = _reader_with_news(engine, opted_in=True, include_trending=False)
    smtp.mailbox.rcpt_replies["ada@example.org"] = "550 5.1.1 no such mailbox"
    refused = run_digests(engine, settings, day=DAY)
    assert refused.delivery is not None and refused.delivery.failed == 1
    assert count_outbox(engine)["failed"] == 1
    # Not told: the notifications wait for the next digest (and stay unread on the site).
    assert _emailed(engine) == [None, None]
    assert len(notifications_to_email(engine, user_id=ada, limit=10)) == 2

    del smtp.mailbox.rcpt_replies["ada@example.org"]
    run_digests(engine, settings, day=DAY + timedelta(days=1))
    (mail,) = _mails(smtp, "ada@example.org")
    text = _part(mail, "plain")
    assert _sections(text)[0] == "Your notifications"
    assert text.count("bob replied to your comment") == 1
    assert all(key is not None and key.endswith(":daily:2026-05-02") for key in _emailed(engine))
