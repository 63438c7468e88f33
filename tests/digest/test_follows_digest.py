"""The digest's "From authors you follow" section, through a real SMTP server: a followed
author's paper of the period comes first with the name, once, and never again."""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.digest.service import run_digests
from dailypapers.ids import author_key
from dailypapers.models import PaperRecord, SourceName
from dailypapers.store.accounts import create_user
from dailypapers.store.follows import follow
from dailypapers.store.papers import LocatedRecord, upsert_papers
from tests.digest.conftest import DAY, NOW, subscriber
from tests.smtp_server import SmtpServer

Store = tuple[sa.Engine, Settings]


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def test_followed_authors_new_papers_get_their_own_section_once(
    store: Store, smtp: SmtpServer
) -> None:
    engine, settings = store
    # The seed pages give no bylines: a paper of the day by an author ada follows.
    record = PaperRecord(
        SourceName.ARXIV_OAI, "Compilers for everyone", "2605.99999",
        authors=["Grace Hopper", "Alan Turing"], daily_date=DAY,
    )  # fmt: skip
    upsert_papers(engine, [LocatedRecord(record, "test", "1")], now=NOW)
    last, name = "2605.99999", "Grace Hopper"
    ada = create_user(engine, username="ada", password_hash="x", email=None, now=NOW).user_id
    follow(engine, user_id=ada, kind="author", target=author_key(name), label=name, now=NOW)
    subscriber(engine, "ada@example.org", user_id=ada)
    subscriber(engine, "bob@example.org")
    run_digests(engine, settings, day=DAY)
    by_to = {m["To"]: _text(m) for m in smtp.mailbox.messages}
    text = by_to["ada@example.org"]
    sections = re.findall(r"^== (.+?) ==\s*$", text, flags=re.M)
    assert sections == ["From authors you follow", "Trending"]
    assert f"Why: by {name}, whom you follow" in text
    assert text.count(f"/papers/{last}") == 1
    assert "From authors you follow" not in by_to["bob@example.org"]
    # The next day's window still holds the paper: it is not sent again.
    run_digests(engine, settings, day=DAY + timedelta(days=1))
    later = [_text(m) for m in smtp.mailbox.messages if m["To"] == "ada@example.org"][1]
    assert f"/papers/{last}" not in later
    assert "From authors you follow" not in later
