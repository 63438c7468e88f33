"""Digest runs: build each due subscriber's digest into the outbox, then deliver the outbox.

Building is idempotent (one outbox row per subscriber and period, by key) and delivery claims
messages under a lease, so `dailypapers digest run` from cron, the scheduler inside `serve`,
and several nodes can all run at once: each digest is built once and sent once.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import get_args

import sqlalchemy as sa

from dailypapers.config import Settings
from dailypapers.digest.periods import DigestPeriod, digest_period, is_due, message_key
from dailypapers.digest.render import Site, render_confirmation, render_digest
from dailypapers.digest.select import DigestSelector
from dailypapers.digest.smtp import DeliveryError, SmtpConnection, build_email
from dailypapers.digest.tokens import LinkSigner
from dailypapers.index.build import sync_keyword_index
from dailypapers.search.service import Searcher
from dailypapers.store.outbox import (
    ClaimedMessage,
    NotificationsTaken,
    OutboxMessage,
    claim_due_messages,
    count_waiting_messages,
    existing_keys,
    mark_cancelled,
    mark_failed,
    mark_retry,
    mark_sent,
    queue_message,
    sent_paper_ids,
    subscription_statuses,
)
from dailypapers.store.subscriptions import (
    Frequency,
    Subscription,
    iter_active_subscriptions,
    note_confirmation_sent,
)

logger = logging.getLogger(__name__)
MAX_RETRY_DELAY = timedelta(hours=6)
CONFIRM_RESEND_AFTER = timedelta(minutes=10)
NOTIFICATION_RACE_ATTEMPTS = 3
# Links in a dry run's previews when the site's address is not known (never sent).
PREVIEW_BASE_URL = "http://127.0.0.1:8000"
Clock = Callable[[], datetime]


class MailNotConfigured(RuntimeError):
    """Sending was asked for but no SMTP server is set."""


class PublicUrlMissing(MailNotConfigured):
    """Links in messages need the address people reach the site at, and none is known."""

    def __init__(self) -> None:
        super().__init__(
            "links in emails need the address people reach the site at: set "
            "DAILYPAPERS_PUBLIC_URL (e.g. https://papers.example.org)"
        )


@dataclass(slots=True)
class BuildReport:
    built: int = 0
    empty: int = 0
    already_built: int = 0
    not_due: int = 0
    previews: list[OutboxMessage] = field(default_factory=list)


@dataclass(slots=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    unreachable: bool = False  # the SMTP server could not be reached (or refused the login)
    waiting: int = 0  # messages still waiting for a retry when the run ended (any run's)
    errors: list[str] = field(default_factory=list)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def mail_base_url(settings: Settings) -> str:
    """The address links in messages built outside a request use ('' when none is known):
    the public URL, else the address `serve` listens on (which it passes to its workers)."""
    return settings.public_url or settings.listen_url


def site_for(engine: sa.Engine, settings: Settings, base_url: str | None = None) -> Site:
    """Links in messages point at the address the request came to (`base_url`), else at
    `mail_base_url`; raises PublicUrlMissing when neither is known."""
    url = base_url or mail_base_url(settings)
    if not url:
        raise PublicUrlMissing
    return Site(settings.site_name, url, LinkSigner.for_site(engine, settings))


def build_digests(
    engine: sa.Engine,
    settings: Settings,
    *,
    day: date,
    now: datetime,
    searcher: Searcher | None = None,
    only_email: str | None = None,
    dry_run: bool = False,
    base_url: str | None = None,
) -> BuildReport:
    """Build every active subscriber's digest for the period that `day` falls in, once."""
    site = site_for(engine, settings, base_url)
    searcher = searcher or Searcher(engine, settings)
    lookback = settings.digest_lookback_days
    periods = {f: digest_period(f, day, lookback_days=lookback) for f in get_args(Frequency)}
    selectors: dict[Frequency, DigestSelector] = {}
    report = BuildReport()
    batches = iter_active_subscriptions(
        engine, batch_size=max(settings.digest_batch_size, 100), email=only_email
    )
    for batch in batches:
        todo = _not_built(engine, batch, day, periods, report)
        if not todo:
            continue
        sent = sent_paper_ids(
            engine,
            subscription_ids=[s.subscription_id for s in todo],
            listed_since=min(p.first_list_day for p in periods.values()),
        )
        for subscription in todo:
            frequency = subscription.preferences.frequency
            if frequency not in selectors:
                selectors[frequency] = DigestSelector(
                    engine, settings, periods[frequency], searcher
                )
            already_sent = sent.get(subscription.subscription_id, set())
            selector = selectors[frequency]
            _build_one(engine, site, selector, subscription, already_sent, now, report, dry_run)
    return report


def _build_one(
    engine: sa.Engine,
    site: Site,
    selector: DigestSelector,
    subscription: Subscription,
    already_sent: set[str],
    now: datetime,
    report: BuildReport,
    dry_run: bool,
) -> None:
    """Select, render and store one subscriber's digest. Selected again when another digest
    took one of its notifications in the meantime (two periods built at once), so none is
    emailed twice."""
    sections = selector.sections(subscription, already_sent)
    for attempt in range(1, NOTIFICATION_RACE_ATTEMPTS + 1):
        notices = selector.notices(subscription, sections, already_sent)
        message = render_digest(site, subscription, selector.period, sections, notices)
        if dry_run:
            report.previews.append(message)
            return
        empty = not (message.paper_ids or message.notification_ids)
        empty = empty and not subscription.preferences.send_empty
        try:
            queued = queue_message(engine, message=message, now=now, empty=empty)
        except NotificationsTaken:
            if attempt == NOTIFICATION_RACE_ATTEMPTS:
                raise
            continue
        if not queued:
            report.already_built += 1  # another builder got there first
        elif empty:
            report.empty += 1
        else:
            report.built += 1
        return


def _not_built(
    engine: sa.Engine,
    batch: list[Subscription],
    day: date,
    periods: dict[Frequency, DigestPeriod],
    report: BuildReport,
) -> list[Subscription]:
    """The subscribers of `batch` due on `day` whose digest for the period is not built yet."""
    due = [s for s in batch if is_due(s.preferences, day)]
    report.not_due += len(batch) - len(due)
    keys = [message_key(s.subscription_id, periods[s.preferences.frequency]) for s in due]
    built = existing_keys(engine, keys=keys)
    report.already_built += len(built)
    return [s for s, key in zip(due, keys, strict=True) if key not in built]


def queue_confirmation(
    engine: sa.Engine,
    settings: Settings,
    subscription: Subscription,
    *,
    now: datetime,
    base_url: str | None = None,
) -> bool:
    """Queue the double opt-in message; at most one per address every 10 minutes."""
    if not note_confirmation_sent(
        engine,
        subscription_id=subscription.subscription_id,
        now=now,
        not_since=now - CONFIRM_RESEND_AFTER,
    ):
        return False
    serial = now.strftime("%Y%m%dT%H%M%S%f")  # throttled above: never two at once
    message = render_confirmation(site_for(engine, settings, base_url), subscription, serial)
    return queue_message(engine, message=message, now=now)


def _retry_at(settings: Settings, attempts: int, now: datetime) -> datetime:
    delay = timedelta(seconds=settings.digest_retry_s * 2 ** max(0, attempts - 1))
    return now + min(delay, MAX_RETRY_DELAY)


def deliver_due(
    engine: sa.Engine,
    settings: Settings,
    *,
    recipient: str | None = None,
    clock: Clock = _utc_now,
) -> DeliveryReport:
    """Send every message due when the call starts, a batch per SMTP connection.

    Each outcome is recorded the moment the server answers: accepted (sent), refused for good
    (failed, visible to the admin), or refused for now or unreachable (retried later with
    doubling delays until `digest_max_attempts`). Messages retried during this call wait for
    a later one, so a call always ends.
    """
    if not settings.smtp_host:
        raise MailNotConfigured("no SMTP server is set (DAILYPAPERS_SMTP_HOST)")
    sender = _Sender(engine, settings, clock)
    started = clock()
    while True:
        claimed = claim_due_messages(
            engine,
            token=sender.token,
            now=started,
            lease_until=clock() + timedelta(seconds=settings.digest_lease_s),
            limit=settings.digest_batch_size,
            recipient=recipient,
        )
        if not claimed:
            report = sender.report
            report.waiting = count_waiting_messages(engine, now=clock(), recipient=recipient)
            return report
        sender.send_batch(claimed)


class _Sender:
    """One delivery run: its claim token, its report, and how each outcome is recorded."""

    def __init__(self, engine: sa.Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.token = secrets.token_hex(16)
        self.report = DeliveryReport()

    def send_batch(self, claimed: list[ClaimedMessage]) -> None:
        ids = sorted({sid for c in claimed if (sid := c.message.subscription_id) is not None})
        statuses = subscription_statuses(self.engine, subscription_ids=ids)
        unreachable: DeliveryError | None = None
        with SmtpConnection(self.settings) as smtp:
            for item in claimed:
                message = item.message
                wanted = "pending" if message.kind == "confirm" else "active"
                if message.subscription_id is not None and (
                    statuses.get(message.subscription_id) != wanted
                ):
                    self._cancelled(message.message_key)
                    continue
                # Once the server cannot be reached, the rest of the batch would fail the same way.
                error = unreachable or self._attempt(smtp, message)
                if error is None:
                    mark_sent(
                        self.engine, key=message.message_key, token=self.token, now=self.clock()
                    )
                    self.report.sent += 1
                    continue
                if error.unreachable:
                    self.report.unreachable = True
                    unreachable = error
                self._failed(message.message_key, item.attempts, error)

    def _attempt(self, smtp: SmtpConnection, message: OutboxMessage) -> DeliveryError | None:
        email = build_email(message, mail_from=self.settings.mail_from, now=self.clock())
        try:
            smtp.send(email, message.recipient)
        except DeliveryError as refused:
            return refused
        return None

    def _cancelled(self, key: str) -> None:
        mark_cancelled(self.engine, key=key, token=self.token, reason="no longer subscribed")
        self.report.cancelled += 1

    def _failed(self, key: str, attempts: int, error: DeliveryError) -> None:
        if error.permanent or attempts >= self.settings.digest_max_attempts:
            reason = error.reason if error.permanent else f"gave up after {attempts} tries: {error}"
            mark_failed(self.engine, key=key, token=self.token, error=reason)
            self.report.failed += 1
            logger.warning("%s: failed for good: %s", key, reason)
        else:
            retry_at = _retry_at(self.settings, attempts, self.clock())
            mark_retry(
                self.engine, key=key, token=self.token, error=error.reason, next_attempt_at=retry_at
            )
            self.report.retried += 1
        if error.reason not in self.report.errors:
            self.report.errors.append(error.reason)


@dataclass(slots=True)
class RunReport:
    build: BuildReport
    delivery: DeliveryReport | None
    notes: list[str] = field(default_factory=list)


def run_digests(
    engine: sa.Engine,
    settings: Settings,
    *,
    day: date | None = None,
    only_email: str | None = None,
    dry_run: bool = False,
    searcher: Searcher | None = None,
    clock: Clock = _utc_now,
) -> RunReport:
    """What cron and the scheduler run: index new papers, build the period's digests, send.

    Raises MailNotConfigured (no SMTP server) or PublicUrlMissing (no address for the links)
    unless `dry_run`; a dry run without an address shows links to PREVIEW_BASE_URL, noted.
    """
    now = clock()
    notes: list[str] = []
    base_url = None
    if not dry_run and not settings.smtp_host:
        raise MailNotConfigured("no SMTP server is set (DAILYPAPERS_SMTP_HOST)")
    if not mail_base_url(settings):
        if not dry_run:
            raise PublicUrlMissing
        base_url = PREVIEW_BASE_URL
        notes.append(
            f"links point at {PREVIEW_BASE_URL} because DAILYPAPERS_PUBLIC_URL is empty; "
            "a run that sends refuses until it is set"
        )
    sync_keyword_index(engine, settings)
    build = build_digests(
        engine,
        settings,
        day=day or now.date(),
        now=now,
        searcher=searcher,
        only_email=only_email,
        dry_run=dry_run,
        base_url=base_url,
    )
    if dry_run:
        return RunReport(build, None, notes)
    delivery = deliver_due(engine, settings, recipient=only_email, clock=clock)
    return RunReport(build, delivery, notes)
