"""Jinja2 templates (autoescaped HTML and Atom) and the helper that renders a page."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from dailypapers.ids import author_slug, http_url, is_arxiv_category
from dailypapers.latex import latex_to_html, latex_to_text
from dailypapers.web import cards, follow_views
from dailypapers.web.deps import resolve_user
from dailypapers.web.errors import ApiError
from dailypapers.web.security import CSRF_COOKIE, new_token
from dailypapers.web.trends_charts import paper_votes_chart

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
# Pages whose forms work without an account carry a CSRF token even for anonymous readers.
ANONYMOUS_FORM_PAGES = frozenset(
    {
        "login.html",
        "signup.html",
        "subscribe.html",
        "message.html",
        "password_forgot.html",
        "password_reset.html",
    }
)


def _short_date(value: date | datetime | None) -> str:
    return value.strftime("%d %b %Y") if value else ""


def _authors(names: list[str], limit: int = 6) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


# Characters XML 1.0 forbids (C0 controls other than tab, newline, return; lone surrogates).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(value: object) -> str:
    return _NOT_XML.sub("", str(value))


def _latex_html(value: str | None, links: bool = True) -> Markup:
    # Titles sit inside a link to the paper, where a second link is not allowed: links=False.
    return Markup(latex_to_html(value or "", links=links))  # escaped by latex_to_html


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(("html", "xml")),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # templates ship with the package; checking their mtimes cost 7 %
)
environment.filters["short_date"] = _short_date
environment.filters["authors"] = _authors
environment.filters["xml_text"] = _xml_text
environment.filters["latex_html"] = _latex_html
environment.filters["latex_text"] = latex_to_text
# Every href from data goes through this: a link that is not http(s) is not rendered.
environment.filters["http_url"] = http_url
environment.filters["author_slug"] = author_slug  # /authors/{slug}
environment.tests["arxiv_category"] = is_arxiv_category  # has a /categories/{code} page
# A card's parts, built in Python (see web/cards.py).
environment.filters["byline"] = cards.byline
environment.filters["author_link"] = cards.author_link
environment.filters["category_tags"] = cards.category_tags
environment.filters["paper_links"] = cards.paper_links
environment.filters["code_link"] = cards.code_link
environment.filters["teaser"] = cards.teaser
# A paper page draws its votes over time, read only when it has votes here.
environment.globals["paper_votes_chart"] = paper_votes_chart
# For the signed-in reader only (no query for anonymous pages): the header's unread count and
# the state of a page's follow buttons.
environment.globals["unread_notifications"] = follow_views.unread_notifications
environment.globals["followed_here"] = follow_views.followed_here


def absolute_url(request: Request, path: str) -> str:
    """`path` on this site as an absolute URL: from DAILYPAPERS_PUBLIC_URL, else the request's
    own scheme and host (one of the allowed hosts, so a forged Host never gets here)."""
    base = request.app.state.dp.settings.public_url or str(request.base_url)
    return base.rstrip("/") + path


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page with the site-wide context (user, CSRF token, site name)."""
    try:
        user = resolve_user(request)
    except ApiError:  # the error page for a bad API token still renders, as anonymous
        user = None
    csrf = request.cookies.get(CSRF_COOKIE)
    new_csrf = None
    with_csrf = user is not None or name in ANONYMOUS_FORM_PAGES
    if with_csrf and not csrf:
        csrf = new_csrf = new_token()
    state = request.app.state.dp
    page = environment.get_template(name).render(
        request=request,
        user=user,
        csrf_token=csrf if with_csrf else None,
        site_name=state.settings.site_name,
        **context,
    )
    response = HTMLResponse(page, status_code=status_code, headers=headers)
    if with_csrf:  # the page holds this reader's token (and name): no shared cache keeps it
        response.headers["cache-control"] = "private, no-store"
    if new_csrf is not None:
        secure = request.url.scheme == "https" or state.settings.cookie_secure
        response.set_cookie(
            CSRF_COOKIE, new_csrf, httponly=True, samesite="lax", secure=secure, path="/"
        )
    return response
