"""The JSON API under /api/v1: the twin of every page, plus writes with token auth."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from dailypapers.models import SearchMode
from dailypapers.store.lists import ListFilter
from dailypapers.web import author_views, category_views, views
from dailypapers.web.deps import AdminUser, CsrfChecked, CurrentUser, RequiredUser, StateDep
from dailypapers.web.middleware import KEEP_WHILE_UNCHANGED
from dailypapers.web.schemas import (
    MAX_ROW_ID,
    AuthorPage,
    CategoriesPage,
    CommentCreate,
    CommentPublic,
    CommentUpdate,
    ErrorPublic,
    HiddenUpdate,
    PaperDetail,
    PaperPublic,
    PapersPage,
    SearchPage,
    SubmissionCreate,
    TrendingPage,
    UserProfile,
    VoteCreate,
    VotePublic,
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorPublic} for status in (400, 401, 403, 404, 409, 413, 414, 422, 429, 503)
}
router = APIRouter(prefix="/api/v1", tags=["api"], responses=_ERRORS)

Page = Annotated[int, Query(ge=1, le=views.MAX_PAGE, description="Page number, from 1.")]
Sort = Annotated[Literal["score", "published"], Query(description="score or published.")]
PaperId = Annotated[str, Path(min_length=1, max_length=200)]
CommentId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
Text = Annotated[str | None, Query(max_length=200)]
WithCode = Annotated[bool, Query(description="Only papers that link their code.")]


@router.get("/papers/date/{day}", response_model=PapersPage)
def api_daily(
    state: StateDep, day: str, p: Page = 1, sort: Sort = "score", code: WithCode = False
) -> PapersPage:
    """A day's list (YYYY-MM-DD), most upvoted first."""
    only = ListFilter(with_code=code)
    return views.period_view(state, "date", day, page=p, sort=sort, only=only)


@router.get("/papers/week/{week}", response_model=PapersPage)
def api_weekly(
    state: StateDep, week: str, p: Page = 1, sort: Sort = "score", code: WithCode = False
) -> PapersPage:
    """An ISO week's list (YYYY-Www)."""
    only = ListFilter(with_code=code)
    return views.period_view(state, "week", week, page=p, sort=sort, only=only)


@router.get("/papers/month/{month}", response_model=PapersPage)
def api_monthly(
    state: StateDep, month: str, p: Page = 1, sort: Sort = "score", code: WithCode = False
) -> PapersPage:
    """A month's list (YYYY-MM)."""
    only = ListFilter(with_code=code)
    return views.period_view(state, "month", month, page=p, sort=sort, only=only)


@router.get("/trending", response_model=TrendingPage)
def api_trending(state: StateDep, p: Page = 1, code: WithCode = False) -> TrendingPage:
    """Papers by votes with time decay (see docs/api.md for the formula)."""
    return views.trending_view(state, page=p, with_code=code)


@router.get("/categories", response_model=CategoriesPage)
def api_categories(state: StateDep) -> CategoriesPage:
    """Every arXiv category with listed papers, largest first."""
    return category_views.categories_view(state)


@router.get("/categories/{category}/{kind}/{period}", response_model=PapersPage)
def api_category_list(
    state: StateDep,
    category: Annotated[str, Path(max_length=40, description="An arXiv category, e.g. cs.CV.")],
    kind: Annotated[Literal["date", "week", "month"], Path()],
    period: Annotated[str, Path(max_length=10)],
    p: Page = 1,
    sort: Sort = "score",
    code: WithCode = False,
) -> PapersPage:
    """A category's list of a day, week or month, as /papers/date/... is for all papers."""
    only = ListFilter(category=category_views.check_category(category), with_code=code)
    return views.period_view(state, kind, period, page=p, sort=sort, only=only)


@router.get("/authors/{name}", response_model=AuthorPage)
def api_author(
    state: StateDep,
    name: Annotated[str, Path(max_length=300, description="A name as written, or its slug.")],
    p: Page = 1,
    code: WithCode = False,
) -> AuthorPage:
    """An author's papers, newest first, with co-authors, categories and other spellings."""
    return author_views.author_view(state, name, page=p, with_code=code)


@router.get("/search", response_model=SearchPage)
async def api_search(
    request: Request,
    state: StateDep,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="Search query.")],
    mode: Annotated[SearchMode, Query()] = "hybrid",
    author: Text = None,
    category: Text = None,
    since: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    p: Annotated[int, Query(ge=1, le=50)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    code: WithCode = False,
) -> SearchPage:
    """Keyword, semantic or hybrid search with the query language of docs/search.md."""
    # A coroutine that searches on a worker thread: FastAPI would also run the answer's
    # validation for a plain function on a thread (a second hand-off for every search).
    filters = views.search_filters(author, category, since, until, with_code=code)
    found = await state.search.in_turn(
        partial(views.search_view, state, q, mode=mode, page=p, page_size=limit, filters=filters)
    )
    # The answer is the stored papers as the live indexes rank them, the same for every
    # reader: kept (for anonymous readers) until anything is committed anywhere.
    setattr(request.state, KEEP_WHILE_UNCHANGED, True)
    return found


@router.get("/users/{username}", response_model=UserProfile)
def api_user(state: StateDep, username: str) -> UserProfile:
    """A user's upvotes and submissions."""
    return views.profile_view(state, username)


@router.post("/votes", response_model=VotePublic, dependencies=[CsrfChecked])
def api_vote(state: StateDep, user: RequiredUser, vote: VoteCreate) -> VotePublic:
    """Upvote a paper (voting twice counts once)."""
    return views.vote_view(state, user, vote.paper_id, up=True)


@router.delete("/votes/{paper_id:path}", response_model=VotePublic, dependencies=[CsrfChecked])
def api_unvote(state: StateDep, user: RequiredUser, paper_id: PaperId) -> VotePublic:
    """Withdraw an upvote."""
    return views.vote_view(state, user, paper_id, up=False)


@router.post("/comments", response_model=CommentPublic, status_code=201, dependencies=[CsrfChecked])
def api_comment(state: StateDep, user: RequiredUser, comment: CommentCreate) -> CommentPublic:
    """Comment on a paper (Markdown), or reply to a comment with parent_id."""
    return views.comment_view(state, user, comment.paper_id, comment.body, comment.parent_id)


@router.patch("/comments/{comment_id}", response_model=CommentPublic, dependencies=[CsrfChecked])
def api_edit_comment(
    state: StateDep, user: RequiredUser, comment_id: CommentId, update: CommentUpdate
) -> CommentPublic:
    """Edit one's own comment."""
    return views.edit_comment_view(state, user, comment_id, update.body)


@router.delete("/comments/{comment_id}", status_code=204, dependencies=[CsrfChecked])
def api_delete_comment(state: StateDep, user: RequiredUser, comment_id: CommentId) -> None:
    """Delete one's own comment."""
    views.delete_comment_view(state, user, comment_id)


@router.post(
    "/submissions",
    response_model=PaperPublic,
    status_code=201,
    dependencies=[CsrfChecked],
    responses={502: {"model": ErrorPublic, "description": "arXiv could not be reached."}},
)
def api_submit(state: StateDep, user: RequiredUser, submission: SubmissionCreate) -> PaperPublic:
    """Put a paper on today's list by arXiv id or URL."""
    return views.submit_view(state, user, submission.paper)


@router.put("/admin/papers/{paper_id:path}/hidden", status_code=204, dependencies=[CsrfChecked])
def api_hide_paper(
    state: StateDep, _admin: AdminUser, paper_id: PaperId, body: HiddenUpdate
) -> None:
    """Hide a paper from lists, search and feeds (admins only)."""
    views.hide_paper_view(state, paper_id, hidden=body.hidden)


@router.put("/admin/comments/{comment_id}/hidden", status_code=204, dependencies=[CsrfChecked])
def api_hide_comment(
    state: StateDep, _admin: AdminUser, comment_id: CommentId, body: HiddenUpdate
) -> None:
    """Hide a comment (admins only)."""
    views.hide_comment_view(state, comment_id, hidden=body.hidden)


@router.get("/papers/{paper_id:path}", response_model=PaperDetail)
def api_paper(state: StateDep, user: CurrentUser, paper_id: PaperId) -> PaperDetail:
    """A paper with similar papers, comments and BibTeX."""
    return views.paper_view(state, paper_id, user)
