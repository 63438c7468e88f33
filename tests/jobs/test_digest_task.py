"""The digests task of a real `dailypapers serve` (its job process beside two web workers) and a
cron `digest run` at once still send each subscriber one digest."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from dailypapers.store.engine import open_store
from dailypapers.store.outbox import count_outbox
from dailypapers.store.subscriptions import Preferences, confirm_subscription, save_subscription
from tests.conftest import PROJECT_ROOT
from tests.smtp_server import SmtpServer
from tests.web.conftest import LiveServer, site_settings


def test_two_workers_and_cron_send_one_digest_each(site_home: Path) -> None:
    smtp = SmtpServer().start()
    settings = site_settings(site_home)
    engine = open_store(settings)
    now = datetime.now(UTC)
    for number in range(6):
        saved, _ = save_subscription(
            engine, email=f"reader{number}@example.org", now=now,
            preferences=Preferences(send_empty=True),
        )  # fmt: skip
        confirm_subscription(engine, subscription_id=saved.subscription_id, now=now)
    mail = {
        "DAILYPAPERS_SMTP_HOST": "127.0.0.1",
        "DAILYPAPERS_SMTP_PORT": str(smtp.port),
        "DAILYPAPERS_SMTP_SECURITY": "none",
        "DAILYPAPERS_DIGEST_HOUR_UTC": "0",
        "DAILYPAPERS_SCHEDULE_DIGESTS": "* * * * * *",
        "DAILYPAPERS_HARVEST_HF": "false",
        "DAILYPAPERS_HARVEST_ARXIV": "false",
        "DAILYPAPERS_PUBLIC_URL": "https://papers.example.org",  # cron needs it for links
    }
    server = LiveServer(site_home, workers=2, jobs=True, **mail)
    try:
        cron = subprocess.run(
            [sys.executable, "-m", "dailypapers", "-q", "digest", "run"],
            env={"DAILYPAPERS_HOME": str(site_home), **mail, "PATH": "/usr/bin:/bin"},
            cwd=PROJECT_ROOT, capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        assert cron.returncode in (0, 1), cron.stderr.decode()
        deadline = time.monotonic() + 60
        while count_outbox(engine)["sent"] < 6 and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(2)  # a few more periods of the task: nothing more may go out
    finally:
        server.stop()
        smtp.stop()
    received = sorted(m["To"] for m in smtp.mailbox.messages)
    assert received == sorted(f"reader{n}@example.org" for n in range(6))
    assert count_outbox(engine)["sent"] == 6
    engine.dispose()
