"""Where the links in digests point: the public URL, else the address `serve` listens on;
`digest run` from cron without either refuses to send rather than mail dead links."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from dailypapers.cli import main
from dailypapers.store.engine import open_store
from dailypapers.store.outbox import count_outbox
from tests.digest.conftest import DAY, mail_settings, subscriber
from tests.smtp_server import SmtpServer
from tests.web.conftest import LiveServer

LINK = re.compile(r"""https?://[^\s"'<>]+""")


def _mail_env(smtp: SmtpServer) -> dict[str, str]:
    return {
        "DAILYPAPERS_SMTP_HOST": "127.0.0.1",
        "DAILYPAPERS_SMTP_PORT": str(smtp.port),
        "DAILYPAPERS_SMTP_SECURITY": "none",
    }


def test_digests_sent_by_serve_link_to_the_port_it_serves_on(
    mail_home: Path, smtp: SmtpServer
) -> None:
    engine = open_store(mail_settings(mail_home, smtp))
    subscriber(engine, "ada@example.org", send_empty=True)
    schedule = {
        "DAILYPAPERS_DIGEST_HOUR_UTC": "0",
        "DAILYPAPERS_SCHEDULE_DIGESTS": "* * * * * *",
        "DAILYPAPERS_HARVEST_HF": "false",
        "DAILYPAPERS_HARVEST_ARXIV": "false",
    }
    server = LiveServer(mail_home, jobs=True, **_mail_env(smtp), **schedule)
    try:
        deadline = time.monotonic() + 60
        while not smtp.mailbox.messages and time.monotonic() < deadline:
            time.sleep(0.3)
        [message] = smtp.mailbox.messages
        site = f"http://127.0.0.1:{server.port}/"
        unsubscribe = message["List-Unsubscribe"].strip("<>")
        assert unsubscribe.startswith(site + "unsubscribe?")
        for kind in ("plain", "html"):
            part = message.get_body((kind,))
            assert part is not None
            links = LINK.findall(part.get_content())
            assert links and all(link.startswith(site) for link in links), links
        # The link works: it opens the page that asks to confirm the unsubscription.
        page = httpx.get(unsubscribe.replace("&amp;", "&"), timeout=10)
        assert page.status_code == 200 and "ada@example.org" in page.text
    finally:
        server.stop()
        engine.dispose()


def test_cron_without_a_public_url_refuses_to_send(mail_home: Path, smtp: SmtpServer) -> None:
    engine = open_store(mail_settings(mail_home, smtp))
    subscriber(engine, "ada@example.org")
    runner = CliRunner()
    args = ["--home", str(mail_home), "digest", "run", "--date", DAY.isoformat()]
    result = runner.invoke(main, args, env=_mail_env(smtp))
    assert result.exit_code == 2
    assert "DAILYPAPERS_PUBLIC_URL" in result.stderr
    assert smtp.mailbox.messages == [] and sum(count_outbox(engine).values()) == 0
    # A dry run still shows the digest, saying where its links would point.
    result = runner.invoke(main, [*args, "--dry-run"], env=_mail_env(smtp))
    assert result.exit_code == 0, result.stderr
    assert "note: links point at http://127.0.0.1:8000 because DAILYPAPERS_PUBLIC_URL" in (
        result.stderr
    )
    assert "--- to ada@example.org" in result.stdout
    engine.dispose()
