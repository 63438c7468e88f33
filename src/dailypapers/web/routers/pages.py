"""Site pages: lists, paper pages, search, profiles, submitting; each beside its JSON twin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from dailypapers.feeds.periods import PeriodKind
from dailypapers.latex import latex_to_text
from dailypapers.models import SearchMode, User
from dailypapers.search.highlight import highlight, highlight_pattern
from dailypapers.search.query import QueryError, parse_query
from dailypapers.store.lists import NO_FILTER, ListFilter
from dailypapers.web import author_views, category_views, views
from dailypapers.web.deps import AdminUser, CsrfChecked, CurrentUser, RequiredUser, StateDep
from dailypapers.web.errors import ApiError
from dailypapers.web.formats import bibtex_entry
from dailypapers.web.middleware import DATA_VERSION, cacheable, page_key
from dailypapers.web.schemas import MAX_ROW_ID, PapersPage
from dailypapers.web.state import AppState, CacheKey, StampedPages, Version
from dailypapers.web.templating import absolute_url, render

router = APIRouter(include_in_schema=False)
# The pages read most, in a router of their own that the app tries first: FastAPI matches a
# request against the routes one by one (about 2 us each), so the paper page, last of ~150
# routes, paid ~0.4 ms a request for matching alone. No other router answers these paths.
reading = APIRouter(include_in_schema=False)

Page = Annotated[int, Query(ge=1, le=views.MAX_PAGE)]
Sort = Annotated[Literal["score", "published"], Query()]
Text = Annotated[str | None, Query(max_length=200)]
CommentId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


@dataclass(frozen=True, slots=True)
class CommentError:
    """A comment form that was refused: shown again in place with the text as it was sent.
    `form` names it: "new", "reply-{id}" or "edit-{id}"."""

    form: str
    message: str
    body: str
    status: int


def local_path(target: str | None, default: str = "/") -> str:
    """A redirect target on this site only (an open redirect would help phishing)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _back(target: str | None, default: str = "/") -> RedirectResponse:
    return RedirectResponse(local_path(target, default), status_code=303)


WithCode = Annotated[bool, Query(description="Only papers that link their code.")]
Category = Annotated[str, Path(max_length=40)]
AuthorName = Annotated[str, Path(max_length=300)]
FEED_NAMES = {"date": "daily", "week": "weekly", "month": "monthly"}


def _with_code(url: str, with_code: bool) -> str:
    if not with_code:
        return url
    return f"{url}{'&' if '?' in url else '?'}code=1"


def _shorten(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters, with an ellipsis if cut."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


def _byline_first(authors: str, text: str) -> str:
    """A paper's preview: its authors, then the text, one full stop between."""
    if not authors:
        return text
    return f"{authors}{'' if authors.endswith('.') else '.'} {text}"


def _list_description(listing: PapersPage) -> str:
    """A shared link's preview text: how many papers, and the first few titles."""
    titles = "; ".join(latex_to_text(p.title) for p in listing.papers[:3])
    count = f"{listing.total} paper{'' if listing.total == 1 else 's'}"
    return f"{count}, most upvoted first: {titles}" if titles else f"{count}."


# Where an anonymous page drawn from some facts is kept: its address, their stamp, and the
# DataVersion read before they were (see SiteMiddleware).
KeptSlot = tuple[CacheKey, bytes, Version]


def _kept_page(
    request: Request, state: AppState, user: User | None, *facts: object
) -> tuple[HTMLResponse | None, KeptSlot | None]:
    """For an anonymous reader, the page kept for this address and these facts (None if there
    is none: draw it), and where to keep the drawn one (see web.state.StampedPages)."""
    kept = state.kept_pages
    if user is not None or not kept.enabled:
        return None, None
    version = getattr(request.state, DATA_VERSION, None)  # None: not confirmed by version
    slot = (page_key(request.scope), StampedPages.stamp(*facts), version)
    body = kept.get(*slot)
    return (None if body is None else HTMLResponse(body)), slot


def _keep(state: AppState, slot: KeptSlot | None, response: HTMLResponse) -> HTMLResponse:
    """`response`, kept in `slot` when it is the same for every anonymous reader (its stamp is
    all it shows, so it does not age)."""
    if slot is not None and cacheable(response.status_code, response.raw_headers):
        key, stamp, version = slot
        state.kept_pages.put(key, stamp, bytes(response.body), complete=True, version=version)
    return response


def _list_page(
    request: Request, state: StateDep, user: CurrentUser, kind: PeriodKind, text: str, page: int,
    sort: Literal["score", "published"], *, home: bool = False, only: ListFilter = NO_FILTER,
) -> HTMLResponse:  # fmt: skip
    listing = views.period_view(state, kind, text, page=page, sort=sort, only=only)
    kept, slot = _kept_page(request, state, user, listing.model_dump_json())
    if kept is not None:
        return kept
    base = f"/categories/{only.category}" if only.category else "/papers"
    feed_base = f"/feeds/categories/{only.category}" if only.category else "/feeds"
    path = f"{base}/{kind}/{listing.period}"
    feed = f"{feed_base}/{FEED_NAMES[kind]}.atom?{kind}={listing.period}"
    # The home page (or a category's) follows the newest day, and so does its feed.
    here = ("/" if not only.category else base) if home else path
    title = f"{only.category}: {listing.title}" if only.category else listing.title
    context = {
        "listing": listing,
        "list_title": title,
        "base": base,
        "voted": views.voted_ids(state, user, listing.papers),
        "json_url": _with_code(f"/api/v1{path}", only.with_code),
        "feed_url": _with_code(f"{feed_base}/daily.atom" if home else feed, only.with_code),
        "feed_title": f"{title}: papers",
        "home": home,
        "canonical": absolute_url(request, here + (f"?p={page}" if page > 1 else "")),
        "og": {"title": title, "description": _list_description(listing)},
    }
    return _keep(state, slot, render(request, "list.html", context))


@reading.get("/")
def home(
    request: Request, state: StateDep, user: CurrentUser, code: WithCode = False
) -> HTMLResponse:
    only = ListFilter(with_code=code)
    day = views.latest_day(state, only).isoformat()
    return _list_page(request, state, user, "date", day, 1, "score", home=True, only=only)


@reading.get("/papers/date/{day}")
def daily(
    request: Request,
    state: StateDep,
    user: CurrentUser,
    day: str,
    p: Page = 1,
    sort: Sort = "score",
    code: WithCode = False,
) -> HTMLResponse:
    only = ListFilter(with_code=code)
    return _list_page(request, state, user, "date", day, p, sort, only=only)


@reading.get("/papers/week/{week}")
def weekly(
    request: Request,
    state: StateDep,
    user: CurrentUser,
    week: str,
    p: Page = 1,
    sort: Sort = "score",
    code: WithCode = False,
) -> HTMLResponse:
    only = ListFilter(with_code=code)
    return _list_page(request, state, user, "week", week, p, sort, only=only)


@reading.get("/papers/month/{month}")
def monthly(
    request: Request,
    state: StateDep,
    user: CurrentUser,
    month: str,
    p: Page = 1,
    sort: Sort = "score",
    code: WithCode = False,
) -> HTMLResponse:
    only = ListFilter(with_code=code)
    return _list_page(request, state, user, "month", month, p, sort, only=only)


@router.get("/trending")
def trending(
    request: Request, state: StateDep, user: CurrentUser, p: Page = 1, code: WithCode = False
) -> HTMLResponse:
    listing = views.trending_view(state, page=p, with_code=code)
    titles = "; ".join(latex_to_text(paper.title) for paper in listing.papers[:3])
    context = {
        "listing": listing,
        "voted": views.voted_ids(state, user, listing.papers),
        "json_url": _with_code(f"/api/v1/trending?p={p}", code),
        "feed_url": _with_code("/feeds/trending.atom", code),
        "feed_title": "Trending papers",
        "canonical": absolute_url(request, "/trending" + (f"?p={p}" if p > 1 else "")),
        "og": {"title": "Trending papers", "description": f"Most upvoted lately: {titles}"},
    }
    return render(request, "trending.html", context)


@router.get("/categories")
def categories(request: Request, state: StateDep) -> HTMLResponse:
    found = category_views.categories_view(state)
    top = ", ".join(c.category for c in found.categories[:8])
    context = {
        "page": found,
        "json_url": "/api/v1/categories",
        "canonical": absolute_url(request, "/categories"),
        "og": {"title": "Categories", "description": f"Papers by arXiv category: {top}"},
    }
    return render(request, "categories.html", context)


@router.get("/categories/{category}")
def category_home(
    request: Request, state: StateDep, user: CurrentUser, category: Category, code: WithCode = False
) -> HTMLResponse:
    only = ListFilter(category=category_views.check_category(category), with_code=code)
    day = category_views.category_latest_day(state, only).isoformat()
    return _list_page(request, state, user, "date", day, 1, "score", home=True, only=only)


@router.get("/categories/{category}/{kind}/{period}")
def category_list(
    request: Request,
    state: StateDep,
    user: CurrentUser,
    category: Category,
    kind: Annotated[PeriodKind, Path()],
    period: Annotated[str, Path(max_length=10)],
    p: Page = 1,
    sort: Sort = "score",
    code: WithCode = False,
) -> HTMLResponse:
    only = ListFilter(category=category_views.check_category(category), with_code=code)
    return _list_page(request, state, user, kind, period, p, sort, only=only)


@router.get("/authors/{name}")
def author(
    request: Request,
    state: StateDep,
    user: CurrentUser,
    name: AuthorName,
    p: Page = 1,
    code: WithCode = False,
) -> HTMLResponse:
    found = author_views.author_view(state, name, page=p, with_code=code)
    count = f"{found.total} paper{'' if found.total == 1 else 's'}"
    with_ = ", ".join(c.name for c in found.coauthors[:3])
    description = f"{count} on {state.settings.site_name}" + (f", with {with_}" if with_ else "")
    context = {
        "author": found,
        "voted": views.voted_ids(state, user, found.papers),
        "json_url": _with_code(f"/api/v1{found.url}" + (f"?p={p}" if p > 1 else ""), code),
        "feed_url": f"/feeds{found.url}.atom",
        "feed_title": f"Papers by {found.name}",
        "canonical": absolute_url(request, found.url + (f"?p={p}" if p > 1 else "")),
        "og": {"title": found.name, "description": description, "type": "profile"},
    }
    return render(request, "author.html", context)


@reading.get("/search")
def search(
    request: Request,
    state: StateDep,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=1000)] = "",
    mode: SearchMode = "hybrid",
    author: Text = None,
    category: Text = None,
    since: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    p: Annotated[int, Query(ge=1, le=50)] = 1,
    code: WithCode = False,
) -> HTMLResponse:
    form: dict[str, object] = {"q": q, "mode": mode, "author": author or ""}
    form |= {"category": category or "", "from": since or "", "until": until or "", "code": code}
    context: dict[str, object] = {"form": form, "results": None, "error": None}
    if q.strip():
        try:
            filters = views.search_filters(author, category, since, until, with_code=code)
            results = views.search_view(state, q, mode=mode, page=p, filters=filters)
        except (ApiError, QueryError) as error:
            status = error.status if isinstance(error, ApiError) else 422
            message = error.message if isinstance(error, ApiError) else str(error)
            context["error"] = message
            return render(request, "search.html", context, status_code=status)
        # The search runs for every request; the drawing of the same results is kept.
        kept, slot = _kept_page(request, state, user, results.model_dump_json())
        if kept is not None:
            return kept
        pattern = highlight_pattern(parse_query(q))  # the search parsed it: no QueryError
        context["results"] = results
        context["mark"] = lambda text: highlight(text, pattern)
        context["voted"] = views.voted_ids(state, user, [h.paper for h in results.hits])
        query = str(request.url.query)
        context["json_url"] = f"/api/v1/search?{query}"
        context["feed_url"] = f"/feeds/search.atom?{query}"
        context["feed_title"] = f"Search: {q}"
        return _keep(state, slot, render(request, "search.html", context))
    return render(request, "search.html", context)


def _paper_page(
    request: Request,
    state: StateDep,
    user: User | None,
    paper_id: str,
    *,
    comment_error: CommentError | None = None,
) -> HTMLResponse:
    found = slot = None
    if user is None and comment_error is None and state.kept_pages.enabled:
        # An anonymous reader: the page kept for this paper, if nothing it shows has changed.
        stored = views.find_paper(state, paper_id)
        found = (stored, views.similar_papers(state, stored))
        facts = views.paper_page_facts(state, *found)
        kept, slot = _kept_page(request, state, user, *facts)
        if kept is not None:
            return kept
    detail = views.paper_view(state, paper_id, user, found=found)
    paper = detail.paper
    authors = ", ".join(paper.authors[:3]) + (" et al." if len(paper.authors) > 3 else "")
    summary = latex_to_text(paper.abstract)
    context = {
        "detail": detail,
        "json_url": f"/api/v1/papers/{paper.id}",
        "comment_error": comment_error,
        "canonical": absolute_url(request, paper.url),
        "og": {
            "title": latex_to_text(paper.title),
            "description": _byline_first(authors, _shorten(summary, 280)),
            "type": "article",
        },
    }
    status = comment_error.status if comment_error else 200
    response = render(request, "paper.html", context, status_code=status)
    return _keep(state, slot, response)


@reading.get("/papers/{paper_id:path}")
def paper_page(request: Request, state: StateDep, user: CurrentUser, paper_id: str) -> HTMLResponse:
    return _paper_page(request, state, user, paper_id)


@router.get("/bibtex/{paper_id:path}")
def bibtex(state: StateDep, paper_id: str) -> Response:
    paper = views.find_paper(state, paper_id)
    text = bibtex_entry(paper)
    return PlainTextResponse(text, media_type="application/x-bibtex; charset=utf-8")


@router.get("/users/{username}")
def profile(request: Request, state: StateDep, username: str) -> HTMLResponse:
    found = views.profile_view(state, username)
    context = {"profile": found, "json_url": f"/api/v1/users/{found.user.username}"}
    return render(request, "profile.html", context)


# -- forms (each answers with a redirect back, so they work without JavaScript) --------------


@router.post("/vote", dependencies=[CsrfChecked])
def vote(
    state: StateDep,
    user: RequiredUser,
    paper_id: Annotated[str, Form(max_length=200)],
    action: Annotated[Literal["up", "down"], Form()] = "up",
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> RedirectResponse:
    views.vote_view(state, user, paper_id, up=action == "up")
    return _back(next, f"/papers/{paper_id}")


@router.post("/comments", dependencies=[CsrfChecked])
def comment(
    request: Request,
    state: StateDep,
    user: RequiredUser,
    paper_id: Annotated[str, Form(max_length=200)],
    # No length limit here: an over-long comment is refused in place, text kept (the body
    # size limit still holds).
    body: Annotated[str, Form()],
    parent_id: Annotated[int | None, Form(ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    try:
        created = views.comment_view(state, user, paper_id, body, parent_id)
    except ApiError as error:
        if error.status != 422:
            raise
        # A reply to a comment that is gone is shown at the new-comment form.
        form = f"reply-{parent_id}" if parent_id and error.field == "body" else "new"
        refused = CommentError(form, error.message, body, error.status)
        return _paper_page(request, state, user, paper_id, comment_error=refused)
    return _back(f"/papers/{created.paper_id}#comment-{created.id}")


@router.post("/comments/{comment_id}/edit", dependencies=[CsrfChecked])
def edit_comment(
    request: Request,
    state: StateDep,
    user: RequiredUser,
    comment_id: CommentId,
    body: Annotated[str, Form()],
) -> Response:
    try:
        edited = views.edit_comment_view(state, user, comment_id, body)
    except ApiError as error:
        if error.status != 422:
            raise
        own = views.own_comment_view(state, user, comment_id)
        refused = CommentError(f"edit-{comment_id}", error.message, body, error.status)
        return _paper_page(request, state, user, own.paper_id, comment_error=refused)
    return _back(f"/papers/{edited.paper_id}#comment-{edited.id}")


@router.get("/comments/{comment_id}/delete")
def delete_comment_page(
    request: Request, state: StateDep, user: RequiredUser, comment_id: CommentId
) -> HTMLResponse:
    """Asks before deleting (the Delete link lands here without JavaScript)."""
    own = views.own_comment_view(state, user, comment_id)
    context = {"comment": own, "back": f"/papers/{own.paper_id}#comment-{own.id}"}
    return render(request, "delete_comment.html", context)


@router.post("/comments/{comment_id}/delete", dependencies=[CsrfChecked])
def delete_comment(state: StateDep, user: RequiredUser, comment_id: CommentId) -> RedirectResponse:
    paper_id = views.delete_comment_view(state, user, comment_id)
    return _back(f"/papers/{paper_id}#comments")


@router.post("/comments/{comment_id}/hide", dependencies=[CsrfChecked])
def hide_comment(
    state: StateDep,
    _admin: AdminUser,
    comment_id: CommentId,
    hidden: Annotated[bool, Form()] = True,
) -> RedirectResponse:
    paper_id = views.hide_comment_view(state, comment_id, hidden=hidden)
    return _back(f"/papers/{paper_id}#comments")


@router.post("/admin/hide-paper", dependencies=[CsrfChecked])
def hide_paper(
    state: StateDep,
    _admin: AdminUser,
    paper_id: Annotated[str, Form(max_length=200)],
    hidden: Annotated[bool, Form()] = True,
) -> RedirectResponse:
    views.hide_paper_view(state, paper_id, hidden=hidden)
    return _back(f"/papers/{paper_id}")


@router.get("/submit")
def submit_form(request: Request, _user: RequiredUser) -> HTMLResponse:
    return render(request, "submit.html", {"error": None, "value": ""})


@router.post("/submit", dependencies=[CsrfChecked])
def submit(
    request: Request,
    state: StateDep,
    user: RequiredUser,
    paper: Annotated[str, Form(max_length=300)],
) -> Response:
    try:
        submitted = views.submit_view(state, user, paper)
    except ApiError as error:
        context = {"error": error.message, "value": paper}
        return render(request, "submit.html", context, status_code=error.status)
    return _back(submitted.url)
