"""One error shape for the whole API, and error pages for the site.

Every API error is `{"error": {"status": 404, "code": "not_found", "message": "...",
"field": "q"}}` with the matching HTTP status; `field` names the parameter at fault, if any.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

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


def error_body(status: int, message: str, field: str | None = None) -> dict[str, Any]:
    code = _CODES.get(status, "error")
    return {"error": {"status": status, "code": code, "message": message, "field": field}}


def wants_html(request: Request) -> bool:
    """Site pages get an HTML error page; the API and feeds get the JSON shape."""
    path = request.url.path
    return not (path.startswith(("/api/", "/feeds/")) or path.endswith(".json"))


def login_url(request: Request) -> str:
    """The login page, returning afterwards to the page the reader was on."""
    if request.method == "GET":
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:  # a form post cannot be replayed: come back to the page that sent it
        referer = urlsplit(request.headers.get("referer", ""))
        same_site = referer.netloc == request.url.netloc
        back = referer.path + (f"?{referer.query}" if referer.query else "") if same_site else ""
    return "/login?" + urlencode({"next": back or "/"})


def error_response(
    request: Request,
    status: int,
    message: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if wants_html(request) and status == 401:
        return RedirectResponse(login_url(request), status_code=303)
    if wants_html(request):
        from dailypapers.web.templating import render  # a page needs the templates

        return render(
            request,
            "error.html",
            {"status": status, "message": message, "field": field},
            status_code=status,
            headers=headers,
        )
    return JSONResponse(error_body(status, message, field), status_code=status, headers=headers)


def _validation_message(error: dict[str, Any]) -> tuple[str, str | None]:
    location = [str(part) for part in error.get("loc", ()) if part not in ("query", "body", "path")]
    field = ".".join(location) or None
    message = str(error.get("msg", "invalid value"))
    return (f"{field}: {message}" if field else message), field


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        return error_response(
            request, error.status, error.message, field=error.field, headers=error.headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0] if error.errors() else {}
        message, field = _validation_message(first)
        return error_response(request, 422, message, field=field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        headers = dict(error.headers) if error.headers else None
        return error_response(request, error.status_code, str(error.detail), headers=headers)

    @app.exception_handler(BodyTooLarge)
    async def body_too_large(request: Request, error: BodyTooLarge) -> Response:
        return error_response(request, 413, str(error))

    @app.exception_handler(Exception)
    async def server_error(request: Request, _error: Exception) -> Response:
        logger.exception("error serving %s %s", request.method, request.url.path)
        return error_response(request, 500, "internal server error")
