"""ASGI middleware: allowed hosts, request size limits, HEAD, security headers, and the
anonymous page cache with single-flight rendering.

Written as plain ASGI (not BaseHTTPMiddleware) because it sits in front of every request and
the list pages must serve thousands of requests a second on two cores.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailypapers.web.error_pages import error_response
from dailypapers.web.errors import BodyTooLarge, byte_size
from dailypapers.web.hosts import AllowedHosts
from dailypapers.web.security import SESSION_COOKIE
from dailypapers.web.state import (
    CachedResponse,
    CacheKey,
    DataVersion,
    Headers,
    KeptPage,
    PageCache,
    StampedPages,
)

logger = logging.getLogger(__name__)

MAX_QUERY_STRING_BYTES = 4096
# Threads that run the routes (anyio's default is 40). Rendering holds the GIL, so past a few
# threads more only take turns at a switching cost, each holding a database connection and
# its cache; with fewer, waiting requests queue in arrival order. Measured under 200
# connections on 2 cores: 16 threads used 9.2 ms of CPU a request where 40 used 12.3.
RENDER_THREADS = 16
CACHEABLE_TYPES = (b"text/html", b"application/json", b"application/atom+xml")
CACHEABLE_STATUSES = (200, 404)
PRIVATE = b"private, no-store"
SESSION_PREFIX = SESSION_COOKIE.encode() + b"="
# Where a request's scope carries the DataVersion read before its route ran (request.state).
DATA_VERSION = "data_version"
# Set (to True) in request.state by a route whose answer is nothing but what the DataVersion
# covers (stored rows, the live indexes): the middleware then keeps it while that is unchanged.
KEEP_WHILE_UNCHANGED = "keep_while_unchanged"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; font-src 'self'; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
]


class _RequestFacts:
    """The request headers the middleware decides on, read in one pass."""

    __slots__ = ("host", "length", "credentials")

    def __init__(self, scope: Scope) -> None:
        self.host: bytes | None = None
        self.length: bytes | None = None
        self.credentials = False  # an API token or a session cookie: a reader of their own
        for name, value in scope.get("headers", ()):
            if name == b"host":
                self.host = value
            elif name == b"content-length":
                self.length = value
            elif name == b"authorization" or (name == b"cookie" and SESSION_PREFIX in value):
                self.credentials = True


def page_key(scope: Scope) -> CacheKey:
    """What an anonymous page depends on besides the stored data: scheme, host, path, query."""
    host = next((value for name, value in scope.get("headers", ()) if name == b"host"), b"")
    return (scope["scheme"], host, scope["path"], scope["query_string"])


def cacheable(status: int, headers: Headers) -> bool:
    """A response the anonymous page caches may keep: it did not mark itself private, sets no
    cookie, and is a page, JSON or a feed."""
    typed = False
    for name, value in headers:
        if name == b"set-cookie":
            return False
        if name == b"cache-control" and (b"private" in value or b"no-store" in value):
            return False
        if name == b"content-type":
            typed = value.startswith(CACHEABLE_TYPES)
    return typed and status in CACHEABLE_STATUSES


def _kept_page_headers(page: KeptPage) -> Headers:
    """The headers of a page StampedPages kept, as the route's response would send them."""
    length = (b"content-length", str(len(page.body)).encode())
    return [length, (b"content-type", page.media_type), *SECURITY_HEADERS]


def _content_type(headers: Headers) -> bytes | None:
    return next((value for name, value in headers if name == b"content-type"), None)


def _mark_private_if_it_sets_cookies(headers: Headers) -> None:
    names = {name for name, _ in headers}
    if b"set-cookie" in names and b"cache-control" not in names:
        headers.append((b"cache-control", PRIVATE))


async def _send_error(
    scope: Scope, receive: Receive, send: Send, status: int, message: str
) -> None:
    """Refuse a request the way every error is answered: the error page for the site, the JSON
    shape for the API and feeds (error_pages.wants_html decides), with the security headers."""
    request = Request(scope, receive)
    if not hasattr(request.state, "user"):
        request.state.user = None  # nobody is looked up for a request that is refused
    response = error_response(request, status, message)
    response.raw_headers.extend(SECURITY_HEADERS)
    await response(scope, receive, send)


class BodyLimits:
    """How large a request body may be: max_body_bytes, or max_upload_bytes on the routes that
    declare they take uploads (deps.UploadAccepted). The routes are asked only about a body
    past max_body_bytes, so a normal request pays nothing for them."""

    def __init__(
        self, *, max_body_bytes: int, max_upload_bytes: int, upload_routes: Sequence[BaseRoute]
    ) -> None:
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max(max_upload_bytes, max_body_bytes)
        self.upload_routes = tuple(upload_routes)

    def for_request(self, scope: Scope) -> int:
        """The limit of the route this request goes to."""
        for route in self.upload_routes:
            if route.matches(scope)[0] == Match.FULL:
                return self.max_upload_bytes
        return self.max_body_bytes

    def refusal(self, limit: int) -> str:
        """Why a body over `limit` is refused, naming the limit."""
        if limit == self.max_body_bytes:
            return str(BodyTooLarge(limit))
        return (
            f"the upload is larger than {byte_size(limit)}, the most this site takes at once "
            "(DAILYPAPERS_MAX_UPLOAD_BYTES): import a larger library with "
            "`dailypapers library import`"
        )


class _Render:
    """A page being rendered for the cache: what readers of the same page wait for."""

    __slots__ = ("done", "response")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.response: CachedResponse | None = None  # None: not shareable, render your own


class SiteMiddleware:
    """Refuse unknown hosts and oversized requests before they are read; answer HEAD as GET
    without the body; add security headers; cache anonymous responses that allow it; run
    at most RENDER_THREADS routes at once.

    Concurrent anonymous requests for a page that is not in the cache are rendered once: the
    first renders it, the others wait and are answered with its response if the cache may
    keep it (a private one, an error page, a failure: each then renders its own).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: BodyLimits,
        cache: PageCache,
        hosts: AllowedHosts,
        stamped: StampedPages | None = None,
        answers: StampedPages | None = None,
        versions: DataVersion | None = None,
    ) -> None:
        self.app = app
        self.limits = limits
        self.cache = cache
        self.stamped = stamped
        self.answers = answers  # kept answers of the API (KEEP_WHILE_UNCHANGED)
        self.versions = versions
        self.hosts = hosts
        # One event loop per process, so this is only touched from one thread.
        self._rendering: dict[CacheKey, _Render] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":  # the limiter belongs to the server's event loop
                anyio.to_thread.current_default_thread_limiter().total_tokens = RENDER_THREADS
            await self.app(scope, receive, send)
            return
        facts = _RequestFacts(scope)
        # Without a Host header the address is the server's own, which is trusted.
        if facts.host is not None and not self.hosts.allows(facts.host):
            await self._refuse_host(scope, receive, send, facts.host)
            return
        if len(scope.get("query_string", b"")) > MAX_QUERY_STRING_BYTES:
            message = f"query string longer than {MAX_QUERY_STRING_BYTES} bytes"
            await _send_error(scope, receive, send, 414, message)
            return
        length = facts.length
        if length is not None and (
            not length.isdigit() or int(length) > self.limits.max_body_bytes
        ):
            limit = self.limits.for_request(scope)
            if not length.isdigit() or int(length) > limit:
                await _send_error(scope, receive, send, 413, self.limits.refusal(limit))
                return
        head = scope["method"] == "HEAD"
        if head:  # the routes answer GET; the server below still knows it was HEAD
            scope = {**scope, "method": "GET"}
        key = None
        if scope["method"] == "GET" and not facts.credentials:
            key = page_key(scope)
        if key is None or not self.cache.enabled:
            await self._forward(scope, receive, send, None, head)
            return
        if (hit := self.cache.get(key)) is not None:
            await self._replay(send, hit, head)
            return
        if self.stamped is not None and self.versions is not None:
            # A page kept by the routes, confirmed since the last write anywhere: no route runs.
            version = self.versions.current()
            page = self.stamped.unchanged(key, version)
            if page is None and self.answers is not None:
                page = self.answers.unchanged(key, version)
            if page is not None:
                hit = CachedResponse(200, _kept_page_headers(page), page.body)
                self.cache.put(key, hit)
                await self._replay(send, hit, head)
                return
            scope.setdefault("state", {})[DATA_VERSION] = version  # for the routes to confirm at
        if (pending := self._rendering.get(key)) is not None:
            await pending.done.wait()
            if pending.response is not None:
                await self._replay(send, pending.response, head)
                return
            await self._forward(scope, receive, send, key, head)
            return
        render = self._rendering[key] = _Render()
        try:
            render.response = await self._forward(scope, receive, send, key, head)
            self._keep_while_unchanged(scope, key, render.response)
        finally:
            del self._rendering[key]
            render.done.set()

    def _keep_while_unchanged(
        self, scope: Scope, key: CacheKey, response: CachedResponse | None
    ) -> None:
        """Keep an answer its route marked as nothing but stored facts (KEEP_WHILE_UNCHANGED),
        confirmed at the DataVersion read before the route ran; its stamp is its own digest."""
        state = scope.get("state", {})
        if not state.get(KEEP_WHILE_UNCHANGED) or response is None or response.status != 200:
            return
        version = state.get(DATA_VERSION)  # set only where there is a StampedPages
        media_type = _content_type(response.headers)
        if version is not None and self.answers is not None and media_type is not None:
            stamp = StampedPages.stamp(response.body)
            self.answers.put(
                key, stamp, response.body, complete=True, version=version, media_type=media_type
            )

    async def _replay(self, send: Send, hit: CachedResponse, head: bool) -> None:
        await send({"type": "http.response.start", "status": hit.status, "headers": hit.headers})
        await send({"type": "http.response.body", "body": b"" if head else hit.body})

    async def _refuse_host(self, scope: Scope, receive: Receive, send: Send, host: bytes) -> None:
        shown = host.decode("latin-1")
        logger.warning("refused a request for host %r (not in DAILYPAPERS_ALLOWED_HOSTS)", shown)
        message = f"this site does not answer to the host {shown!r} (see DAILYPAPERS_ALLOWED_HOSTS)"
        await _send_error(scope, receive, send, 400, message)

    async def _forward(
        self, scope: Scope, receive: Receive, send: Send, key: CacheKey | None, head: bool
    ) -> CachedResponse | None:
        """Answer through the app; the response if the cache may keep it (then kept)."""
        received = 0
        limit = self.limits.max_body_bytes
        limit_known = too_large = refused = False
        start: dict[str, Any] = {}
        # Refused writes (forged, anonymous, malformed) leave the cache as it is.
        writes = scope["method"] not in ("GET", "OPTIONS")
        chunks: list[bytes] | None = None
        kept: CachedResponse | None = None

        async def limited_receive() -> Message:
            nonlocal received, too_large, limit, limit_known
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not limit_known:
                    limit, limit_known = self.limits.for_request(scope), True
                if received > limit:
                    too_large = True
                    raise BodyTooLarge(limit)
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal refused, chunks, kept
            if refused:
                return
            if too_large and not start:
                # FastAPI turns a failed body read into its own 400; the client gets the reason.
                refused = True
                await _send_error(scope, receive, send, 413, self.limits.refusal(limit))
                return
            if message["type"] == "http.response.start":
                headers: Headers = [*message.get("headers", []), *SECURITY_HEADERS]
                _mark_private_if_it_sets_cookies(headers)
                message["headers"] = headers
                start.update(message)
                if writes and message["status"] < 400:
                    # A write on this node: readers see it at once. (Kept pages stay: their
                    # stamps see every write, wherever it was made; see StampedPages.)
                    self.cache.clear()
                if key is not None and cacheable(message["status"], headers):
                    chunks = []
            elif message["type"] == "http.response.body":
                if chunks is not None:
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body", False) and key is not None:
                        body = b"".join(chunks)
                        kept = CachedResponse(start["status"], start["headers"], body)
                        self.cache.put(key, kept)
                if head:
                    message = {**message, "body": b""}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            if not start and not refused:
                await _send_error(scope, receive, send, 413, self.limits.refusal(limit))
        return kept
