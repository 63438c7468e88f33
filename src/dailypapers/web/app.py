"""The application factory: `create_app(settings)` builds everything a web process needs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from dailypapers import __version__
from dailypapers.config import Settings
from dailypapers.index.embeddings import Embedder
from dailypapers.index.layout import IndexLayout
from dailypapers.store.engine import open_store
from dailypapers.web.deps import accept_upload
from dailypapers.web.error_pages import install_error_handlers
from dailypapers.web.hosts import AllowedHosts
from dailypapers.web.middleware import BodyLimits, SiteMiddleware
from dailypapers.web.routers import (
    accounts,
    api,
    feeds,
    follows,
    hf,
    inbox,
    jobs,
    library,
    pages,
    trends,
)
from dailypapers.web.state import (
    KEPT_ANSWERS_BYTES,
    KEPT_ANSWERS_ENTRIES,
    STAMPED_MAX_AGE_S,
    AppState,
    DataVersion,
    PageCache,
    SharedSearcher,
    StampedPages,
)
from dailypapers.web.templating import STATIC, render

API_DESCRIPTION = """\
JSON twin of every page of the site, writes with token auth, and a Hugging Face compatible
papers API. Errors always have the shape `{"error": {"status", "code", "message", "field"}}`.
Writes take `Authorization: Bearer dp_...` (create a token at /settings/tokens).
"""


def create_app(settings: Settings, *, embedder: Embedder | None = None) -> FastAPI:
    """A FastAPI app over the store and indexes named by `settings`."""
    engine = open_store(settings)
    search = SharedSearcher(engine, settings, embedder)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        search.start()
        try:
            yield
        finally:
            search.stop()
            versions.close()

    app = FastAPI(
        lifespan=lifespan,
        title=f"{settings.site_name} API",
        version=__version__,
        description=API_DESCRIPTION,
        docs_url=None,  # FastAPI's docs page loads its scripts from a CDN; ours is local
        redoc_url=None,
    )
    cache = PageCache(settings.page_cache_s)
    # Turned off with the page cache, so that DAILYPAPERS_PAGE_CACHE_S=0 renders every page.
    kept_pages = StampedPages(STAMPED_MAX_AGE_S if cache.enabled else 0)
    kept_answers = StampedPages(
        STAMPED_MAX_AGE_S if cache.enabled else 0,
        max_bytes=KEPT_ANSWERS_BYTES,
        max_entries=KEPT_ANSWERS_ENTRIES,
    )
    versions = DataVersion(engine, IndexLayout.under(settings.home))
    hosts = AllowedHosts.from_settings(settings)
    app.state.dp = AppState(
        settings=settings,
        engine=engine,
        search=search,
        page_cache=cache,
        hosts=hosts,
        kept_pages=kept_pages,
        kept_answers=kept_answers,
        versions=versions,
    )
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # The most read pages are matched first (no other router answers their paths); the rest of
    # the pages come last: their /authors/{name} would swallow /authors/{name}.atom.
    routers = [pages.reading, api.router, inbox.api, jobs.api, hf.router, feeds.router]
    routers.append(accounts.router)
    routers.append(accounts.api)
    routers += [inbox.router, jobs.router]
    routers += [library.api, library.router]
    routers += [trends.api, trends.router]
    routers += [follows.api, follows.router]
    routers.append(pages.router)
    for router in routers:
        app.include_router(router)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> RedirectResponse:
        # Browsers ask for it where no page links the icon: a feed or an answer opened directly.
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @app.get("/api", include_in_schema=False)
    def api_docs(request: Request) -> HTMLResponse:
        return render(request, "api.html", {"endpoints": _endpoints(app.openapi())})

    # The routes as declared (app.routes holds FastAPI's wrappers of the included routers).
    uploads = [
        route
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
        and any(depends.dependency is accept_upload for depends in route.dependencies)
    ]
    limits = BodyLimits(
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        upload_routes=uploads,
    )
    app.add_middleware(
        SiteMiddleware,
        limits=limits,
        cache=cache,
        hosts=hosts,
        stamped=kept_pages,
        answers=kept_answers,
        versions=versions,
    )
    return app


def _endpoints(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The OpenAPI operations as rows for the docs page."""
    rows = []
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            rows.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": operation.get("parameters", []),
                    "body": "requestBody" in operation,
                }
            )
    return rows
