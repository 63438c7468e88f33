"""`dailypapers digest run|status`: dry runs, exit codes for cron, the admin's status."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from dailypapers.cli import main
from dailypapers.store.engine import open_store
from dailypapers.store.outbox import count_outbox, list_outbox
from dailypapers.store.schema import outbox
from tests.digest.conftest import DAY, mail_settings, subscriber
from tests.smtp_server import SmtpServer


def run(home: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def _env(smtp: SmtpServer, retry_s: float = 0) -> dict[str, str]:
    return {
        "DAILYPAPERS_SMTP_HOST": "127.0.0.1",
        "DAILYPAPERS_SMTP_PORT": str(smtp.port),
        "DAILYPAPERS_SMTP_SECURITY": "none",
        "DAILYPAPERS_DIGEST_RETRY_S": str(retry_s),
        "DAILYPAPERS_PUBLIC_URL": "https://papers.example.org",
    }


def test_dry_run_shows_digests_and_stores_or_sends_nothing(
    mail_home: Path, smtp: SmtpServer
) -> None:
    engine = open_store(mail_settings(mail_home, smtp))
    subscriber(engine, "ada@example.org")
    code, out, err = run(mail_home, {}, "digest", "run", "--dry-run", "--date", DAY.isoformat())
    assert code == 0, err
    assert "--- to ada@example.org: dailypapers: 10 papers for Fri 01 May 2026" in out
    assert "1 previewed" in err
    assert sum(count_outbox(engine).values()) == 0 and smtp.mailbox.messages == []
    engine.dispose()


def test_exit_codes_for_cron(mail_home: Path, smtp: SmtpServer) -> None:
    engine = open_store(mail_settings(mail_home, smtp))
    subscriber(engine, "ada@example.org")
    subscriber(engine, "gone@example.org")
    code, _, err = run(mail_home, {}, "digest", "run")
    assert code == 2 and "no SMTP server is set" in err
    smtp.stop()
    code, out, err = run(
        mail_home, _env(smtp), "digest", "run", "--date", DAY.isoformat(), "--json"
    )
    assert code == 4, err
    assert orjson.loads(out)["delivery"]["retried"] == 2
    smtp.start()
    smtp.mailbox.rcpt_replies["gone@example.org"] = "550 5.1.1 no such mailbox"
    code, _, err = run(mail_home, _env(smtp), "digest", "run", "--date", DAY.isoformat())
    assert code == 1 and "550 5.1.1 no such mailbox" in err and "1 sent" in err
    code, _, _ = run(mail_home, _env(smtp), "digest", "run", "--date", DAY.isoformat())
    assert code == 0
    code, out, _ = run(mail_home, {}, "digest", "status")
    assert code == 0 and "sent 1" in out and "failed 1" in out
    assert "gone@example.org" in out and "550 5.1.1" in out
    code, out, _ = run(mail_home, {}, "digest", "status", "--json")
    assert orjson.loads(out)["counts"]["failed"] == 1
    engine.dispose()


def test_a_message_waiting_for_its_retry_is_exit_code_1_until_it_is_sent(
    mail_home: Path, smtp: SmtpServer
) -> None:
    engine = open_store(mail_settings(mail_home, smtp))
    subscriber(engine, "ada@example.org")
    subscriber(engine, "later@example.org")
    smtp.mailbox.rcpt_replies["later@example.org"] = "451 4.7.1 greylisted, try again later"
    args = ("digest", "run", "--date", DAY.isoformat())
    code, _, err = run(mail_home, _env(smtp, retry_s=3600), *args)
    assert code == 1 and "1 sent, 1 to retry" in err
    # The next cron run comes before the retry is due: nothing to send, but one still waits.
    code, out, err = run(mail_home, _env(smtp, retry_s=3600), *args, "--json")
    assert code == 1, err
    delivery = orjson.loads(out)["delivery"]
    assert (delivery["sent"], delivery["retried"], delivery["waiting"]) == (0, 0, 1)
    code, _, err = run(mail_home, _env(smtp, retry_s=3600), *args)
    assert code == 1 and "1 waiting for a retry" in err
    # Once it is sent, the greylisting reply of its first try is no longer its error.
    del smtp.mailbox.rcpt_replies["later@example.org"]
    code, _, err = run(mail_home, _env(smtp), *args, "--to", "later@example.org")
    assert code == 1 and "1 waiting" in err  # not due yet (retry_s was 3600 when it failed)
    with engine.begin() as conn:  # an hour later: the retry is due
        conn.execute(outbox.update().values(next_attempt_at=outbox.c.created_at))
    code, _, err = run(mail_home, _env(smtp), *args)
    assert code == 0, err
    [sent] = [e for e in list_outbox(engine, statuses=["sent"]) if e.recipient.startswith("l")]
    assert sent.attempts == 2 and sent.last_error is None
    engine.dispose()


def test_to_builds_and_sends_one_subscriber_only(mail_home: Path, smtp: SmtpServer) -> None:
    engine = open_store(mail_settings(mail_home, smtp))
    subscriber(engine, "ada@example.org")
    subscriber(engine, "bob@example.org")
    args = ("digest", "run", "--date", DAY.isoformat(), "--to", "Bob@example.org")
    code, _, err = run(mail_home, _env(smtp), *args)
    assert code == 0, err
    assert [m["To"] for m in smtp.mailbox.messages] == ["bob@example.org"]
    engine.dispose()
