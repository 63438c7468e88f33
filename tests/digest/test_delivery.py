"""Digests through a real SMTP server: what arrives, and that every digest arrives once
whatever the server does (down, slow, refusing some recipients) or the sender (killed)."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
import trustme

from dailypapers.config import Settings
from dailypapers.digest.service import build_digests, deliver_due, run_digests
from dailypapers.digest.tokens import LinkSigner
from dailypapers.models import PaperRecord, SourceName
from dailypapers.store.engine import open_store
from dailypapers.store.outbox import count_outbox, list_outbox
from dailypapers.store.papers import LocatedRecord, upsert_papers
from dailypapers.store.subscriptions import unsubscribe
from tests.conftest import PROJECT_ROOT
from tests.digest.conftest import DAY, NOW, import_seeds, mail_settings, subscriber
from tests.smtp_server import Mailbox, SmtpServer

Store = tuple[sa.Engine, Settings]
PAPER_LINK = re.compile(r'href="https://papers\.example\.org/papers/([^"]+)"')


def _body(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None, f"no text/{kind} part"
    content = part.get_content()
    assert isinstance(content, str)
    return content


def test_a_digest_arrives_with_both_parts_links_and_one_click_unsubscribe(
    store: Store, smtp: SmtpServer
) -> None:
    engine, settings = store
    sub = subscriber(engine, "ada@example.org")
    report = run_digests(engine, settings, day=DAY)
    assert report.delivery is not None and report.delivery.sent == 1
    [message] = smtp.mailbox.messages
    assert message["To"] == "ada@example.org"
    assert message["From"] == "Daily Papers <digest@papers.example.org>"
    assert message["Subject"] == "dailypapers: 10 papers for Fri 01 May 2026"
    assert message.get_content_type() == "multipart/alternative"
    assert message["Message-ID"].endswith("@papers.example.org>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_url = message["List-Unsubscribe"].strip("<>")
    parts = urlsplit(unsubscribe_url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "papers.example.org",
        "/unsubscribe",
    )
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    signer = LinkSigner.for_site(engine, settings)
    assert query["s"] == str(sub.subscription_id)
    assert signer.verify("unsubscribe", sub.subscription_id, "ada@example.org", query["t"])
    html, text = _body(message, "html"), _body(message, "plain")
    linked = PAPER_LINK.findall(html)
    assert len(linked) == 10 and len(set(linked)) == 10
    for paper_id in linked:
        assert f"https://papers.example.org/papers/{paper_id}" in text
    assert unsubscribe_url.replace("&", "&amp;") in html and unsubscribe_url in text
    assert "== Trending ==" in text and ">Trending</h2>" in html


def test_html_part_escapes_what_papers_contain(store: Store, smtp: SmtpServer) -> None:
    engine, settings = store
    hostile = "<script>alert(1)</script> & co"
    subscriber(engine, "ada@example.org", searches=(hostile,), include_trending=False,
               send_empty=True)  # fmt: skip
    run_digests(engine, settings, day=DAY)
    html = _body(smtp.mailbox.messages[0], "html")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html


def test_rerunning_sends_nothing_more_and_no_paper_is_sent_twice(
    store: Store, smtp: SmtpServer
) -> None:
    engine, settings = store
    subscriber(engine, "ada@example.org")
    for _ in range(3):
        run_digests(engine, settings, day=DAY)
    assert len(smtp.mailbox.messages) == 1
    # The next day's window overlaps this one: it brings the papers not sent yet, only.
    run_digests(engine, settings, day=DAY + timedelta(days=1))
    first, second = smtp.mailbox.messages
    first_ids = set(PAPER_LINK.findall(_body(first, "html")))
    second_ids = set(PAPER_LINK.findall(_body(second, "html")))
    assert len(second_ids) == 10 and not first_ids & second_ids
    assert first["Message-ID"] != second["Message-ID"]


def test_empty_digests_are_not_sent_unless_asked_for(store: Store, smtp: SmtpServer) -> None:
    engine, settings = store
    nothing = "zyxwvutqqq"
    subscriber(engine, "quiet@example.org", searches=(nothing,), include_trending=False)
    subscriber(engine, "eager@example.org", searches=(nothing,), include_trending=False,
               send_empty=True)  # fmt: skip
    report = run_digests(engine, settings, day=DAY)
    assert (report.build.built, report.build.empty) == (1, 1)
    [message] = smtp.mailbox.messages
    assert message["To"] == "eager@example.org"
    assert "Nothing new matched" in _body(message, "plain")
    assert run_digests(engine, settings, day=DAY).build.empty == 0  # recorded, not rebuilt


def test_sections_follow_the_preferences(store: Store, smtp: SmtpServer) -> None:
    engine, settings = store
    subscriber(engine, "ada@example.org", searches=("diffusion -video",), include_trending=False)
    run_digests(engine, settings, day=DAY)
    text = _body(smtp.mailbox.messages[0], "plain")
    assert "== Saved search: diffusion -video ==" in text and "Trending" not in text
    titles = re.findall(r"^\* (.+)$", text, flags=re.M)
    assert titles and all("video" not in t.lower() for t in titles)
    assert any("diffusion" in t.lower() for t in titles)


def test_weekends_are_skipped_when_asked(store: Store, smtp: SmtpServer) -> None:
    engine, settings = store
    subscriber(engine, "weekdays@example.org", skip_weekends=True)
    subscriber(engine, "always@example.org")
    saturday = DAY + timedelta(days=1)
    report = run_digests(engine, settings, day=saturday)
    assert report.build.not_due == 1
    assert [m["To"] for m in smtp.mailbox.messages] == ["always@example.org"]


def test_weekly_digest_is_built_once_per_iso_week(store: Store, smtp: SmtpServer) -> None:
    engine, settings = store
    subscriber(engine, "weekly@example.org", frequency="weekly")
    for offset in range(3):  # Friday to Sunday: one ISO week
        run_digests(engine, settings, day=DAY + timedelta(days=offset))
    [message] = smtp.mailbox.messages
    assert "week of 27 Apr 2026" in message["Subject"]


def test_server_down_then_back_delivers_each_digest_once(store: Store, smtp: SmtpServer) -> None:
    engine, settings = store
    for name in ("a", "b", "c"):
        subscriber(engine, f"{name}@example.org")
    smtp.stop()
    report = run_digests(engine, settings, day=DAY)
    assert report.delivery is not None
    assert (report.delivery.sent, report.delivery.retried) == (0, 3)
    assert report.delivery.unreachable
    assert "cannot connect" in list_outbox(engine, statuses=["pending"])[0].last_error
    smtp.start()
    report = run_digests(engine, settings, day=DAY)
    assert report.delivery is not None and report.delivery.sent == 3
    run_digests(engine, settings, day=DAY)
    assert sorted(m["To"] for m in smtp.mailbox.messages) == [
        "a@example.org",
        "b@example.org",
        "c@example.org",
    ]


def test_4xx_is_retried_and_5xx_is_recorded_for_the_admin(store: Store, smtp: SmtpServer) -> None:
    engine, settings = store
    for name in ("a", "later", "gone", "toobig", "z"):
        subscriber(engine, f"{name}@example.org")
    smtp.mailbox.rcpt_replies["later@example.org"] = "451 4.7.1 greylisted, try again later"
    smtp.mailbox.rcpt_replies["gone@example.org"] = "550 5.1.1 no such mailbox"
    smtp.mailbox.data_replies["toobig@example.org"] = "552 5.3.4 message too big"
    report = run_digests(engine, settings, day=DAY)
    assert report.delivery is not None
    assert (report.delivery.sent, report.delivery.retried, report.delivery.failed) == (2, 1, 2)
    failed = {e.recipient: e.last_error for e in list_outbox(engine, statuses=["failed"])}
    assert "550 5.1.1 no such mailbox" in (failed["gone@example.org"] or "")
    assert "552 5.3.4" in (failed["toobig@example.org"] or "")
    del smtp.mailbox.rcpt_replies["later@example.org"]
    del smtp.mailbox.rcpt_replies["gone@example.org"]
    report = run_digests(engine, settings, day=DAY)
    assert report.delivery is not None and report.delivery.sent == 1  # failed ones stay failed
    received = sorted(m["To"] for m in smtp.mailbox.messages)
    assert received == ["a@example.org", "later@example.org", "z@example.org"]
    assert count_outbox(engine)["failed"] == 2


def test_a_digest_refused_for_good_leaves_its_papers_for_the_next(
    store: Store, smtp: SmtpServer
) -> None:
    engine, settings = store
    subscriber(engine, "a@example.org")
    subscriber(engine, "toobig@example.org")  # the same preferences: the same papers
    smtp.mailbox.data_replies["toobig@example.org"] = "552 5.3.4 message too big"
    report = run_digests(engine, settings, day=DAY)
    assert report.delivery is not None and report.delivery.failed == 1
    (delivered,) = smtp.mailbox.messages
    never_sent = set(PAPER_LINK.findall(_body(delivered, "html")))
    assert len(never_sent) == 10
    del smtp.mailbox.data_replies["toobig@example.org"]
    # The next day's window overlaps: the papers the refused digest held were never
    # delivered, so they come now (those sent to a@ do not come to a@ again).
    run_digests(engine, settings, day=DAY + timedelta(days=1))
    later = {m["To"]: set(PAPER_LINK.findall(_body(m, "html"))) for m in smtp.mailbox.messages[1:]}
    assert later["toobig@example.org"] == never_sent
    assert not later["a@example.org"] & never_sent


def test_temporary_failures_end_as_failed_after_max_attempts(
    mail_home: Path, smtp: SmtpServer
) -> None:
    settings = mail_settings(mail_home, smtp, digest_max_attempts=2)
    engine = open_store(settings)
    subscriber(engine, "later@example.org")
    smtp.mailbox.rcpt_replies["later@example.org"] = "452 4.2.2 mailbox full"
    first = run_digests(engine, settings, day=DAY).delivery
    second = run_digests(engine, settings, day=DAY).delivery
    third = run_digests(engine, settings, day=DAY).delivery
    assert first is not None and second is not None and third is not None
    assert (first.retried, second.failed, third.sent + third.failed + third.retried) == (1, 1, 0)
    [entry] = list_outbox(engine, statuses=["failed"])
    assert entry.attempts == 2 and "gave up after 2 tries" in (entry.last_error or "")
    engine.dispose()


def test_a_slow_server_times_out_and_the_digest_is_retried(
    mail_home: Path, smtp: SmtpServer
) -> None:
    settings = mail_settings(mail_home, smtp, smtp_timeout_s=0.5)
    engine = open_store(settings)
    subscriber(engine, "ada@example.org")
    smtp.mailbox.rcpt_delay_s = 2.0
    report = run_digests(engine, settings, day=DAY).delivery
    assert report is not None and (report.sent, report.retried) == (0, 1)
    smtp.mailbox.rcpt_delay_s = 0.0
    report = run_digests(engine, settings, day=DAY).delivery
    assert report is not None and report.sent == 1
    assert len(smtp.mailbox.messages) == 1
    engine.dispose()


def test_unsubscribing_before_delivery_cancels_the_built_digest(
    store: Store, smtp: SmtpServer
) -> None:
    engine, settings = store
    sub = subscriber(engine, "ada@example.org")
    assert build_digests(engine, settings, day=DAY, now=NOW).built == 1
    unsubscribe(engine, subscription_id=sub.subscription_id, now=NOW)
    report = deliver_due(engine, settings)
    assert (report.sent, report.cancelled) == (0, 1)
    assert smtp.mailbox.messages == []


def test_two_senders_at_once_send_each_digest_once(store: Store, smtp: SmtpServer) -> None:
    engine, settings = store
    for number in range(24):
        subscriber(engine, f"reader{number}@example.org")
    assert build_digests(engine, settings, day=DAY, now=NOW).built == 24
    small_batches = settings.model_copy(update={"digest_batch_size": 3})
    threads = [threading.Thread(target=deliver_due, args=(engine, small_batches)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    received = [m["To"] for m in smtp.mailbox.messages]
    assert len(received) == 24 and len(set(received)) == 24
    assert count_outbox(engine)["sent"] == 24


def _digest_process(home: Path, smtp: SmtpServer, **environment: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DAILYPAPERS_HOME": str(home),
        "DAILYPAPERS_SMTP_HOST": "127.0.0.1",
        "DAILYPAPERS_SMTP_PORT": str(smtp.port),
        "DAILYPAPERS_SMTP_SECURITY": "none",
        "DAILYPAPERS_DIGEST_RETRY_S": "0",
        "DAILYPAPERS_PUBLIC_URL": "https://papers.example.org",
        **environment,
    }
    command = [
        sys.executable,
        "-m",
        "dailypapers",
        "-q",
        "digest",
        "run",
        "--date",
        DAY.isoformat(),
    ]
    return subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stderr=subprocess.PIPE)


def test_a_sender_killed_between_sent_and_recorded_leaves_one_digest_each(
    store: Store, smtp: SmtpServer, mail_home: Path
) -> None:
    engine, _ = store
    for number in range(5):
        subscriber(engine, f"reader{number}@example.org")
    process: list[subprocess.Popen[bytes]] = []

    def kill_at_third(_message: EmailMessage) -> None:
        # The server has the message; the sender dies before it hears "250" and records it.
        if len(smtp.mailbox.messages) == 3:
            os.kill(process[0].pid, signal.SIGKILL)
            process[0].wait()

    smtp.mailbox.on_message = kill_at_third
    process.append(_digest_process(mail_home, smtp, DAILYPAPERS_DIGEST_LEASE_S="1"))
    assert process[0].wait(timeout=120) == -signal.SIGKILL
    assert process[0].stderr is not None
    process[0].stderr.close()
    counts = count_outbox(engine)
    assert (counts["sent"], counts["sending"]) == (2, 3)
    smtp.mailbox.on_message = None
    time.sleep(1.2)  # the dead sender's lease runs out
    rerun = _digest_process(mail_home, smtp)
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err.decode()
    assert count_outbox(engine)["sent"] == 5
    by_reader: dict[str, set[str]] = {}
    for message in smtp.mailbox.messages:
        by_reader.setdefault(message["To"], set()).add(message["Message-ID"])
    # Every reader has their digest, each as one message: the copy whose "sent" was never
    # recorded went again with the same Message-ID (mail stores keep one copy of a Message-ID).
    assert sorted(by_reader) == [f"reader{n}@example.org" for n in range(5)]
    assert all(len(ids) == 1 for ids in by_reader.values())
    assert len(smtp.mailbox.messages) == 6


def _tls(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a certificate for 127.0.0.1 from a throwaway CA, and that CA."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return server_context, ca_file


def test_starttls_with_login(mail_home: Path, tmp_path: Path) -> None:
    server_context, ca_file = _tls(tmp_path)
    server = SmtpServer(
        Mailbox(), tls_context=server_context, credentials=("digest", "s3cret")
    ).start()
    try:
        settings = mail_settings(
            mail_home, server, smtp_security="starttls", smtp_ca_file=ca_file,
            smtp_username="digest", smtp_password="wrong",
        )  # fmt: skip
        engine = open_store(settings)
        subscriber(engine, "ada@example.org")
        refused = run_digests(engine, settings, day=DAY).delivery
        assert refused is not None and refused.unreachable
        assert "SMTP login refused: 535" in refused.errors[0]
        good = settings.model_copy(update={"smtp_password": "s3cret"})
        delivered = run_digests(engine, good, day=DAY).delivery
        assert delivered is not None and delivered.sent == 1
        assert server.logins == ["digest"] and len(server.mailbox.messages) == 1
        engine.dispose()
    finally:
        server.stop()


def test_implicit_tls(mail_home: Path, tmp_path: Path) -> None:
    server_context, ca_file = _tls(tmp_path)
    server = SmtpServer(Mailbox(), tls_context=server_context, implicit_tls=True).start()
    try:
        settings = mail_settings(mail_home, server, smtp_security="tls", smtp_ca_file=ca_file)
        engine = open_store(settings)
        subscriber(engine, "ada@example.org")
        report = run_digests(engine, settings, day=DAY).delivery
        assert report is not None and report.sent == 1
        engine.dispose()
    finally:
        server.stop()


def test_build_and_two_senders_on_both_databases(
    settings: Settings, seeds_dir: Path, smtp: SmtpServer
) -> None:
    configured = mail_settings(settings.home, smtp, database_url=settings.database_url,
                               digest_batch_size=4)  # fmt: skip
    engine = open_store(configured)
    import_seeds(engine, configured, seeds_dir)
    for number in range(20):
        subscriber(engine, f"reader{number}@example.org", searches=("diffusion",))
    builders = [
        threading.Thread(
            target=build_digests, args=(engine, configured), kwargs={"day": DAY, "now": NOW}
        )  # fmt: skip
        for _ in range(2)
    ]
    for thread in builders:
        thread.start()
    for thread in builders:
        thread.join()
    assert count_outbox(engine)["pending"] == 20  # built once, by whichever got there first
    senders = [threading.Thread(target=deliver_due, args=(engine, configured)) for _ in range(2)]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    received = [m["To"] for m in smtp.mailbox.messages]
    assert len(received) == 20 and len(set(received)) == 20
    assert run_digests(engine, configured, day=DAY).delivery.sent == 0  # type: ignore[union-attr]
    engine.dispose()


def test_latex_in_titles_and_abstracts_reads_as_text_in_both_parts(
    store: Store, smtp: SmtpServer
) -> None:
    engine, settings = store
    record = PaperRecord(
        source=SourceName.HF_DAILY,
        paper_id="2605.00001",
        title='Gr\\"obner Bases for \\emph{Sparse} Systems',
        abstract='We compute \\textbf{Gr\\"obner} bases in $O(n^2)$ time~\\cite{buchberger}.',
        upvotes=10_000,
        daily_date=DAY,
    )
    upsert_papers(engine, [LocatedRecord(record, "test", "1")], now=NOW)
    subscriber(engine, "ada@example.org")
    run_digests(engine, settings, day=DAY)
    [message] = smtp.mailbox.messages
    text, html = _body(message, "plain"), _body(message, "html")
    assert "* Gröbner Bases for Sparse Systems" in text.splitlines()
    assert ">Gröbner Bases for Sparse Systems</a>" in html
    # Mail has no KaTeX: math stays as typed, the rest reads as text.
    assert "We compute Gröbner bases in $O(n^2)$ time [cite]." in html
    assert "\\emph" not in text + html and "\\cite" not in html
