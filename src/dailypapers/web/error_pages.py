"""Error responses: an HTML page for the site, the one JSON shape for the API and feeds, and
the handlers that turn every exception into one of them (a database outage into 503)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from dailypapers.web.errors import ApiError, BodyTooLarge, error_body
from dailypapers.web.templating import render

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait while the database cannot be reached.
DATABASE_RETRY_AFTER_S = 10


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
    """The error page or JSON body for `status`; a site page that needs a login redirects."""
    if wants_html(request) and status == 401:
        return RedirectResponse(login_url(request), status_code=303)
    if wants_html(request):
        context = {"status": status, "message": message, "field": field}
        return render(request, "error.html", context, status_code=status, headers=headers)
    return JSONResponse(error_body(status, message, field), status_code=status, headers=headers)


def is_database_outage(error: BaseException) -> bool:
    """A database that cannot be reached or is overloaded (worth retrying), not a bad query."""
    if isinstance(error, sa.exc.TimeoutError):  # no pooled connection came free in time
        return True
    return isinstance(error, sa.exc.OperationalError) or (
        isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated
    )


def database_unavailable(request: Request, error: sa.exc.SQLAlchemyError) -> Response:
    """503 with Retry-After for a database outage, logged in one line (no traceback)."""
    cause = getattr(error, "orig", None) or error
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    logger.warning(
        "database unavailable: %s %s answered 503 (%s)", request.method, request.url.path, reason
    )
    if not hasattr(request.state, "user"):
        request.state.user = None  # the page renders as anonymous rather than ask the database
    retry = {"Retry-After": str(DATABASE_RETRY_AFTER_S)}
    message = "the database is unavailable for a moment: try again in a few seconds"
    return error_response(request, 503, message, headers=retry)


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

    @app.exception_handler(sa.exc.SQLAlchemyError)
    async def database_error(request: Request, error: sa.exc.SQLAlchemyError) -> Response:
        if not is_database_outage(error):
            raise error  # a bug: the 500 handler below logs it with its traceback
        return database_unavailable(request, error)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception) -> Response:
        return server_error(request, error)


def server_error(request: Request, error: Exception) -> Response:
    """500 for a bug: logged with its traceback."""
    logger.error("error serving %s %s", request.method, request.url.path, exc_info=error)
    return error_response(request, 500, "internal server error")
