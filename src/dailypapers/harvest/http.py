"""A polite HTTP client for harvesting: timeouts, a request rate limit and bounded retries.

arXiv asks for at most one request every three seconds on one connection, and answers
overload with 503 plus `Retry-After`; Hugging Face rate-limits with 429. Everything here is
synchronous and single-connection on purpose.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType

import httpx

from dailypapers import __version__
from dailypapers.config import Settings

log = logging.getLogger(__name__)

QueryParams = Mapping[str, str | int]

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# Transport failures worth another try: refused or reset connections, timeouts, a peer that
# closed mid-body (RemoteProtocolError) and bodies that fail to decompress (truncated gzip).
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.DecodingError,
)
# A connection that could not be made (no DNS answer, refused, no answer in time): the host is
# down or the network is, so a person waiting should hear so at once.
UNREACHABLE_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout)
_BODY_EXCERPT_CHARS = 300
# Someone waits for the answer (a submission, `harvest arxiv --ids`): no retry after a failed
# connection, and no retry that would start later than this after the first try.
INTERACTIVE_DEADLINE_S = 5.0
INTERACTIVE_TIMEOUT_S = 10.0


class HarvestError(Exception):
    """A request that failed for good: retries exhausted, a 4xx answer, or an upstream error.

    `unreachable` says the last try could not connect at all (name resolution, refused, or no
    answer in time), which people are told as "could not be reached".
    """

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status_code: int | None = None,
        body: bytes | None = None,
        unreachable: bool = False,
    ) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status_code = status_code
        self.body = body
        self.unreachable = unreachable


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry a failed request.

    Waits start at `backoff_s` and double per retry up to `backoff_max_s`, with jitter; a
    server's `Retry-After` replaces the backoff unless it exceeds `max_wait_s`, which ends the run.
    With `deadline_s`, no retry starts later than that after the first try; without
    `retry_unreachable`, a connection that could not be made is not tried again.
    """

    max_retries: int = 5
    backoff_s: float = 2.0
    backoff_max_s: float = 120.0
    max_wait_s: float = 300.0
    deadline_s: float | None = None
    retry_unreachable: bool = True

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must not be negative, not {self.max_retries}")

    def delay_s(self, retry: int, jitter: float) -> float:
        """Wait before retry number `retry` (1, 2, ...); `jitter` is uniform in [0, 1)."""
        ceiling = min(self.backoff_max_s, self.backoff_s * 2.0 ** (retry - 1))
        # "Equal jitter": at least half the exponential step, so waits still grow while
        # clients that failed together do not retry together.
        return ceiling / 2 + ceiling / 2 * jitter


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def request_url(url: str, params: QueryParams | None = None) -> str:
    """The full URL a GET with `params` goes to; used in errors and as records' origin."""
    return str(httpx.URL(url, params=dict(params or {})))


def user_agent(contact: str | None) -> str:
    """The User-Agent we send: names the project and, when configured, how to reach the operator."""
    base = f"dailypapers/{__version__}"
    if not contact:
        return base
    if "@" in contact and ":" not in contact:
        contact = f"mailto:{contact}"
    return f"{base} ({contact})"


class _Retry(Exception):
    """Internal: one failed attempt that may be retried."""

    def __init__(
        self,
        reason: str,
        *,
        wait_s: float | None = None,
        status_code: int | None = None,
        unreachable: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait_s = wait_s
        self.status_code = status_code
        self.unreachable = unreachable


class PoliteClient:
    """GET with a minimum interval between requests, timeouts and bounded retries.

    `sleep`, `clock` (monotonic seconds) and `jitter` (uniform in [0, 1)) are injected so tests
    can record waits instead of sleeping them.
    """

    def __init__(
        self,
        *,
        contact: str | None = None,
        min_interval_s: float = 3.0,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.min_interval_s = min_interval_s
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._last_request_at: float | None = None
        timeout = httpx.Timeout(
            connect=connect_timeout_s,
            read=read_timeout_s,
            write=read_timeout_s,
            pool=connect_timeout_s,
        )
        self._http = httpx.Client(
            timeout=timeout,
            headers={"User-Agent": user_agent(contact)},
            follow_redirects=True,
        )

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._http.close()

    def get(self, url: str, params: QueryParams | None = None) -> bytes:
        """The body of a successful GET; raises `HarvestError` once retries run out or on 4xx."""
        full_url = request_url(url, params)
        failures = 0
        started = self._clock()
        while True:
            try:
                return self._attempt(full_url)
            except _Retry as problem:
                failures += 1
                wait_s = self._wait_before_retry(full_url, problem, failures)
                self._check_deadline(full_url, problem, failures, self._clock() - started + wait_s)
                log.warning(
                    "%s: %s; retry %d in %.1f s", full_url, problem.reason, failures, wait_s
                )
                self._sleep(wait_s)

    def _check_deadline(self, url: str, problem: _Retry, failures: int, retry_at_s: float) -> None:
        deadline_s = self.retry.deadline_s
        if deadline_s is not None and retry_at_s > deadline_s:
            raise HarvestError(
                url,
                f"gave up after {failures} attempt{'s' if failures > 1 else ''} "
                f"(a retry would start after the {deadline_s:.0f} s limit): {problem.reason}",
                status_code=problem.status_code,
                unreachable=problem.unreachable,
            )

    def _wait_before_retry(self, url: str, problem: _Retry, failures: int) -> float:
        if failures > self.retry.max_retries:
            raise HarvestError(
                url,
                f"gave up after {failures} attempt{'s' if failures > 1 else ''}: {problem.reason}",
                status_code=problem.status_code,
                unreachable=problem.unreachable,
            )
        if problem.wait_s is None:
            return self.retry.delay_s(failures, self._jitter())
        if problem.wait_s > self.retry.max_wait_s:
            raise HarvestError(
                url,
                f"{problem.reason}; server asked to wait {problem.wait_s:.0f} s (Retry-After), "
                f"more than the {self.retry.max_wait_s:.0f} s limit",
                status_code=problem.status_code,
            )
        return problem.wait_s

    def _attempt(self, url: str) -> bytes:
        self._respect_interval()
        try:
            response = self._http.get(url)
        except UNREACHABLE_ERRORS as exc:
            reason = f"{type(exc).__name__}: {exc or 'no detail'}"
            if not self.retry.retry_unreachable:
                raise HarvestError(url, reason, unreachable=True) from exc
            raise _Retry(reason, unreachable=True) from exc
        except RETRYABLE_ERRORS as exc:
            raise _Retry(f"{type(exc).__name__}: {exc or 'no detail'}") from exc
        except httpx.HTTPError as exc:
            raise HarvestError(url, f"{type(exc).__name__}: {exc}") from exc
        return self._check(url, response)

    def _check(self, url: str, response: httpx.Response) -> bytes:
        status = response.status_code
        if status < 400:
            return response.content
        reason = f"HTTP {status} {response.reason_phrase}".rstrip()
        if status in RETRYABLE_STATUS:
            header = response.headers.get("Retry-After")
            wait_s = parse_retry_after(header, now=datetime.now(UTC))
            raise _Retry(reason, wait_s=wait_s, status_code=status)
        excerpt = " ".join(response.text[:_BODY_EXCERPT_CHARS].split())
        detail = f"{reason}: {excerpt}" if excerpt else reason
        raise HarvestError(url, detail, status_code=status, body=response.content)

    def _respect_interval(self) -> None:
        now = self._clock()
        if self._last_request_at is not None:
            remaining = self._last_request_at + self.min_interval_s - now
            if remaining > 0:
                self._sleep(remaining)
                now = self._clock()
        self._last_request_at = now


def client_from_settings(
    settings: Settings, *, min_interval_s: float, interactive: bool = False
) -> PoliteClient:
    """A client configured from Settings; pass the upstream's interval (arXiv or Hugging Face).

    `interactive` is for a person waiting on the answer: INTERACTIVE_DEADLINE_S to connect and
    INTERACTIVE_TIMEOUT_S to read at most, one retry at most, none after a failed connection,
    and none that would start after INTERACTIVE_DEADLINE_S.
    """
    connect_s = read_s = settings.http_timeout_s
    retry = RetryPolicy(
        max_retries=settings.http_max_retries,
        backoff_s=settings.http_backoff_s,
        max_wait_s=settings.http_max_wait_s,
    )
    if interactive:
        connect_s = min(connect_s, INTERACTIVE_DEADLINE_S)
        read_s = min(read_s, INTERACTIVE_TIMEOUT_S)
        retry = RetryPolicy(
            max_retries=min(settings.http_max_retries, 1),
            backoff_s=min(settings.http_backoff_s, 1.0),
            max_wait_s=INTERACTIVE_DEADLINE_S,
            deadline_s=INTERACTIVE_DEADLINE_S,
            retry_unreachable=False,
        )
    return PoliteClient(
        contact=settings.contact_email or None,
        min_interval_s=min_interval_s,
        connect_timeout_s=connect_s,
        read_timeout_s=read_s,
        retry=retry,
    )
