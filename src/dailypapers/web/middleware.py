"""ASGI middleware: request size limits, security headers, and the anonymous page cache.

Written as plain ASGI (not BaseHTTPMiddleware) because it sits in front of every request and
the list pages must serve thousands of requests a second on two cores.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailypapers.web.errors import BodyTooLarge, error_body
from dailypapers.web.security import SESSION_COOKIE
from dailypapers.web.state import PageCache

MAX_QUERY_STRING_BYTES = 4096
CACHEABLE_TYPES = (b"text/html", b"application/json", b"application/atom+xml")
# Pages with forms or a subscriber's own settings (reached through signed links) are never
# kept: each reader gets their own.
NOT_CACHED_PREFIXES = (
    "/login",
    "/signup",
    "/logout",
    "/submit",
    "/settings",
    "/static/",
    "/subscribe",
    "/subscription",
    "/unsubscribe",
)

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


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _anonymous(scope: Scope) -> bool:
    if _header(scope, b"authorization") is not None:
        return False
    cookie = _header(scope, b"cookie") or b""
    return SESSION_COOKIE.encode() + b"=" not in cookie


async def _send_error(send: Send, status: int, message: str) -> None:
    body = orjson.dumps(error_body(status, message))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SiteMiddleware:
    """Refuse oversized requests before they are read; add security headers; cache pages."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, cache: PageCache) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > MAX_QUERY_STRING_BYTES:
            message = f"query string longer than {MAX_QUERY_STRING_BYTES} bytes"
            await _send_error(send, 414, message)
            return
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await _send_error(send, 413, f"request body larger than {self.max_body_bytes} bytes")
            return
        key = self._cache_key(scope)
        if key is not None and (hit := self.cache.get(key)) is not None:
            await self._replay(send, *hit)
            return
        await self._forward(scope, receive, send, key)

    def _cache_key(self, scope: Scope) -> str | None:
        path: str = scope["path"]
        if scope["method"] != "GET" or path.startswith(NOT_CACHED_PREFIXES):
            return None
        if not _anonymous(scope):
            return None
        query: bytes = scope.get("query_string", b"")
        return path + "?" + query.decode("latin-1")

    async def _replay(self, send: Send, body: bytes, media_type: str, status: int) -> None:
        headers = [
            (b"content-type", media_type.encode()),
            (b"content-length", str(len(body)).encode()),
            *SECURITY_HEADERS,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _forward(self, scope: Scope, receive: Receive, send: Send, key: str | None) -> None:
        received = 0
        too_large = refused = False
        start: dict[str, Any] = {}
        # Refused writes (forged, anonymous, malformed) leave the cache as it is.
        writes = scope["method"] not in ("GET", "HEAD", "OPTIONS")
        chunks: list[bytes] = []

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = True
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal refused
            if refused:
                return
            if too_large and not start:
                # FastAPI turns a failed body read into its own 400; the client gets the reason.
                refused = True
                await _send_error(send, 413, str(BodyTooLarge(self.max_body_bytes)))
                return
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
                start.update(message)
                if writes and message["status"] < 400:
                    self.cache.clear()  # a write on this node: readers see it at once
            elif key is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._store(key, start, b"".join(chunks))
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            if not start and not refused:
                await _send_error(
                    send, 413, f"request body larger than {self.max_body_bytes} bytes"
                )

    def _store(self, key: str, start: dict[str, Any], body: bytes) -> None:
        status = start.get("status")
        headers = dict(start.get("headers", []))
        media_type = headers.get(b"content-type", b"")
        if status not in (200, 404) or b"set-cookie" in headers:
            return
        if not media_type.startswith(CACHEABLE_TYPES) or b"private" in headers.get(
            b"cache-control", b""
        ):
            return
        self.cache.put(key, body, media_type.decode(), status)
