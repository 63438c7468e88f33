"""The digest scheduler inside `serve`: from the configured hour on, build and send the day's
digests; at every pass, retry what is due. Safe beside cron and on several nodes (the outbox
keys and claims make every digest built and sent once)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.digest.service import deliver_due, mail_base_url, run_digests
from dailypapers.search.service import Searcher

logger = logging.getLogger(__name__)


class DigestScheduler:
    """A background thread; `start` does nothing unless mail, an hour and the site's address
    (public_url, or the address `serve` listens on) are configured."""

    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._searcher: Searcher | None = None

    @property
    def enabled(self) -> bool:
        settings = self._settings
        mail = bool(settings.smtp_host and mail_base_url(settings))
        return mail and settings.digest_hour_utc >= 0

    def start(self) -> None:
        if self._settings.smtp_host and not mail_base_url(self._settings):
            logger.warning(
                "digests are not sent: links in them need DAILYPAPERS_PUBLIC_URL (the address "
                "people reach the site at)"
            )
        if self.enabled and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name="dailypapers-digests", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None

    def run_once(self) -> None:
        """One pass: the day's digests once the hour has come, else only due retries."""
        now = self._clock()
        if now.hour >= self._settings.digest_hour_utc:
            # Its own Searcher: building digests must not hold the web searcher's lock.
            if self._searcher is None:
                self._searcher = Searcher(self._engine, self._settings)
            report = run_digests(
                self._engine, self._settings, searcher=self._searcher, clock=self._clock
            )
            if report.build.built or (report.delivery and report.delivery.sent):
                sent = report.delivery.sent if report.delivery else 0
                logger.info("digests: %d built, %d sent", report.build.built, sent)
        else:
            deliver_due(self._engine, self._settings, clock=self._clock)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a failed pass is retried at the next one
                logger.exception("digest pass failed")
            self._stop.wait(self._settings.digest_poll_s)
