"""One error shape for the whole site: the error types handlers raise and the JSON body.

Every API error is `{"error": {"status": 404, "code": "not_found", "message": "...",
"field": "q"}}` with the matching HTTP status; `field` names the parameter at fault, if any.
A leaf: the HTML error pages and the handlers that choose between them live in error_pages.
"""

from __future__ import annotations

from typing import Any

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
    502: "upstream_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error a handler raises on purpose: status, message, and the field at fault."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers or {}


class BodyTooLarge(Exception):
    """A request body grew past the limit while it was being read (chunked uploads)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")


def byte_size(count: int) -> str:
    """A size for people: "10 MB", "64 KB", "900 bytes" (powers of 1024)."""
    for unit, factor in (("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= factor:
            return f"{count / factor:.3g} {unit}"
    return f"{count} bytes"


def error_body(status: int, message: str, field: str | None = None) -> dict[str, Any]:
    """The one JSON error shape."""
    code = _CODES.get(status, "error")
    return {"error": {"status": status, "code": code, "message": message, "field": field}}
