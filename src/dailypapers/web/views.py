"""The service calls behind each page and its JSON twin: one function per view, same data."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from dailypapers.feeds.lists import period_list, trending_list
from dailypapers.feeds.periods import Period, PeriodError, PeriodKind, parse_period
from dailypapers.harvest.http import HarvestError, client_from_settings
from dailypapers.ids import normalize_arxiv_id
from dailypapers.ingest.harvesting import harvest_arxiv_ids
from dailypapers.models import Paper, SearchMode, SearchResults, User
from dailypapers.search.query import Filters, QueryError, parse_date_bound
from dailypapers.search.service import PaperNotFound, SearchUnavailable
from dailypapers.store.accounts import get_user_by_name
from dailypapers.store.comments import (
    CommentMissing,
    NotAuthor,
    add_comment,
    comment_states,
    delete_comment,
    edit_comment,
    get_comment,
    list_comments,
    set_comment_hidden,
)
from dailypapers.store.lists import (
    NO_FILTER,
    ListFilter,
    PageSort,
    latest_list_date,
    set_paper_hidden,
)
from dailypapers.store.marks import marks_for
from dailypapers.store.papers import get_paper, get_papers
from dailypapers.store.submissions import AlreadyListed, list_submitted_papers, submit_paper
from dailypapers.store.trends import count_votes_by_day
from dailypapers.store.votes import (
    PaperMissing,
    list_voted_papers,
    record_vote,
    voted_paper_ids,
    withdraw_vote,
)
from dailypapers.web.errors import ApiError
from dailypapers.web.formats import bibtex_entry
from dailypapers.web.markdown import MAX_COMMENT_CHARS, render_markdown
from dailypapers.web.schemas import (
    CommentPublic,
    PaperDetail,
    PaperPublic,
    PapersPage,
    SearchHitPublic,
    SearchPage,
    TrendingPage,
    UserProfile,
    UserPublic,
    VotePublic,
)
from dailypapers.web.state import AppState

PAGE_SIZE = 30
MAX_PAGE = 1000
SIMILAR_COUNT = 5
PROFILE_LIST = 50


def _today() -> date:
    return datetime.now(UTC).date()


def period_or_422(kind: PeriodKind, text: str) -> Period:
    """The period a URL names; 422 naming the parameter if it is malformed."""
    try:
        return parse_period(kind, text)
    except PeriodError as error:
        raise ApiError(422, str(error), field=kind) from None


def period_view(
    state: AppState,
    kind: PeriodKind,
    text: str,
    *,
    page: int = 1,
    sort: PageSort = "score",
    only: ListFilter = NO_FILTER,
) -> PapersPage:
    """A page of one day's, week's or month's list (of the papers `only` keeps)."""
    period = period_or_422(kind, text)
    found = period_list(state.engine, period, page=page, page_size=PAGE_SIZE, sort=sort, only=only)
    return PapersPage(
        kind=kind,
        category=only.category,
        with_code=only.with_code,
        period=period.label,
        title=period.title,
        start=period.start,
        end=period.end,
        previous=period.previous().label,
        next=period.next().label,
        sort=sort,
        page=page,
        pages=found.pages,
        total=found.total,
        papers=[PaperPublic.of(p) for p in found.papers],
        nearest_before=found.nearest_before,
        nearest_after=found.nearest_after,
    )


def latest_day(state: AppState, only: ListFilter = NO_FILTER) -> date:
    """The newest day with papers (the home page's list; those `only` keeps), or today when
    there are none."""
    found = latest_list_date(state.engine, only=only)
    if found is None and only != NO_FILTER:
        found = latest_list_date(state.engine)  # the page then says none is kept there
    return found or _today()


def trending_view(state: AppState, *, page: int = 1, with_code: bool = False) -> TrendingPage:
    only = ListFilter(with_code=with_code)
    papers = trending_list(state.engine, page=page, page_size=PAGE_SIZE, only=only)
    return TrendingPage(page=page, with_code=with_code, papers=[PaperPublic.of(p) for p in papers])


def find_paper(state: AppState, paper_id: str, *, user: User | None = None) -> Paper:
    """A stored paper; 404 if missing or hidden (admins still see hidden papers)."""
    paper = get_paper(state.engine, paper_id=paper_id)
    if paper is None or (paper.hidden and not (user and user.is_admin)):
        raise ApiError(404, f"no paper with id {paper_id!r}", field="paper_id")
    return paper


def similar_ids(state: AppState, paper: Paper) -> list[str]:
    """The ids of the papers most like `paper` (none while the search index cannot say)."""
    try:
        return state.search.similar_ids(paper, SIMILAR_COUNT)
    except (SearchUnavailable, PaperNotFound):
        return []


def similar_papers(state: AppState, paper: Paper) -> list[Paper]:
    """The visible papers most like `paper`, as stored now, most alike first."""
    ids = similar_ids(state, paper)
    rows = get_papers(state.engine, paper_ids=ids) if ids else {}
    return [rows[i] for i in ids if i in rows and not rows[i].hidden]


def paper_page_facts(state: AppState, paper: Paper, similar: list[Paper]) -> tuple[object, ...]:
    """All an anonymous reader's page of `paper` is drawn from, in brief: its row, its comments'
    states and authors, its similar papers' rows and, where it has votes here, its votes by day
    and today's date (the votes chart ends today). See web.state.StampedPages."""
    chart: tuple[object, ...] = ()
    if paper.local_votes:
        votes = count_votes_by_day(state.engine, paper_id=paper.paper_id)
        chart = (votes, datetime.now(UTC).date())
    return (paper, comment_states(state.engine, paper_id=paper.paper_id), similar, chart)


def paper_view(
    state: AppState,
    paper_id: str,
    user: User | None,
    *,
    found: tuple[Paper, list[Paper]] | None = None,
) -> PaperDetail:
    """A paper with its similar papers, comments, BibTeX and the reader's vote.

    `found`: the paper and its similar papers when the caller has read them already.
    """
    if found is None:
        paper = find_paper(state, paper_id, user=user)
        similar = similar_papers(state, paper)
    else:
        paper, similar = found
    voted = user is not None and bool(
        voted_paper_ids(state.engine, user_id=user.user_id, paper_ids=[paper.paper_id])
    )
    admin = user is not None and user.is_admin
    comments = list_comments(state.engine, paper_id=paper.paper_id, include_hidden=admin)
    mark = marks_for(state.engine, user_id=user.user_id, paper_ids=[paper.paper_id]) if user else {}
    return PaperDetail(
        paper=PaperPublic.of(paper),
        voted=voted,
        mark=mark.get(paper.paper_id),
        similar=[PaperPublic.of(p) for p in similar],
        comments=[CommentPublic.of(c) for c in comments],
        bibtex=bibtex_entry(paper),
        hidden=paper.hidden,
    )


def voted_ids(state: AppState, user: User | None, papers: list[PaperPublic]) -> set[str]:
    """Which of the listed papers the reader upvoted (for the buttons' state)."""
    if user is None or not papers:
        return set()
    ids = [p.id for p in papers]
    return voted_paper_ids(state.engine, user_id=user.user_id, paper_ids=ids)


def search_filters(
    author: str | None,
    category: str | None,
    since: str | None,
    until: str | None,
    *,
    with_code: bool = False,
) -> Filters:
    """Filters from the search form's fields; 422 naming the field that is malformed."""
    return Filters(
        authors=(author.strip(),) if author and author.strip() else (),
        categories=(category.strip(),) if category and category.strip() else (),
        published_from=_date_bound(since, end=False, field="from"),
        published_until=_date_bound(until, end=True, field="until"),
        has_code=with_code,
    )


def _date_bound(value: str | None, *, end: bool, field: str) -> datetime | None:
    if not value:
        return None
    try:
        return parse_date_bound(value, end=end, name=field)
    except QueryError as error:
        raise ApiError(422, str(error), field=field) from None


def run_search(
    state: AppState,
    q: str,
    *,
    mode: SearchMode = "hybrid",
    page: int = 1,
    page_size: int = 20,
    filters: Filters | None = None,
) -> SearchResults:
    offset = (page - 1) * page_size
    try:
        return state.search.run(
            lambda s: s.search(q, mode=mode, limit=page_size, offset=offset, filters=filters)
        )
    except QueryError as error:
        raise ApiError(422, str(error), field="q") from None
    except SearchUnavailable as error:
        raise ApiError(503, str(error)) from None


def search_view(
    state: AppState,
    q: str,
    *,
    mode: SearchMode = "hybrid",
    page: int = 1,
    page_size: int = 20,
    filters: Filters | None = None,
) -> SearchPage:
    results = run_search(state, q, mode=mode, page=page, page_size=page_size, filters=filters)
    hits = [hit for hit in results.hits if not hit.paper.hidden]
    return SearchPage(
        query=results.query,
        mode=results.mode,
        page=page,
        page_size=page_size,
        total=results.total,
        hits=[SearchHitPublic.of(hit) for hit in hits],
        notices=results.notices,
    )


def profile_view(state: AppState, username: str) -> UserProfile:
    user = get_user_by_name(state.engine, username=username)
    if user is None:
        raise ApiError(404, f"no user named {username!r}", field="username")
    upvoted = list_voted_papers(state.engine, user_id=user.user_id, limit=PROFILE_LIST)
    submitted = list_submitted_papers(state.engine, user_id=user.user_id, limit=PROFILE_LIST)
    return UserProfile(
        user=UserPublic.of(user),
        upvoted=[PaperPublic.of(p) for p in upvoted if not p.hidden],
        submitted=[PaperPublic.of(p) for p in submitted if not p.hidden],
    )


def _lookup_online(state: AppState, arxiv_id: str) -> Paper | None:
    # Someone is waiting on the page: a few seconds, not the harvester's patient schedule.
    settings = state.settings
    client = client_from_settings(
        settings, min_interval_s=settings.arxiv_request_interval_s, interactive=True
    )
    try:
        harvest_arxiv_ids(state.engine, client, settings, [arxiv_id], now=datetime.now(UTC))
    except HarvestError as error:
        # The upstream URL and its answer are for the operator, not for the page.
        logging.getLogger(__name__).warning("looking up %s on arXiv failed: %s", arxiv_id, error)
        raise ApiError(502, "arXiv could not be reached; try again later", field="paper") from None
    finally:
        client.close()
    return get_papers(state.engine, paper_ids=[arxiv_id]).get(arxiv_id)


def submit_view(state: AppState, user: User, text: str) -> PaperPublic:
    """Put a paper (by arXiv id or URL) on today's list; looked up on arXiv if not stored."""
    arxiv_id = normalize_arxiv_id(text.strip())
    if arxiv_id is None:
        message = f"{text.strip()[:100]!r} is not an arXiv id or arXiv URL"
        raise ApiError(422, message, field="paper")
    paper = get_papers(state.engine, paper_ids=[arxiv_id]).get(arxiv_id)
    if paper is None and state.settings.submit_lookup_online:
        paper = _lookup_online(state, arxiv_id)
    if paper is None:
        where = "here or on arXiv" if state.settings.submit_lookup_online else "here"
        raise ApiError(404, f"no paper {arxiv_id} was found {where}", field="paper")
    try:
        stored = submit_paper(
            state.engine,
            paper_id=paper.paper_id,
            user_id=user.user_id,
            username=user.username,
            day=_today(),
            now=datetime.now(UTC),
        )
    except AlreadyListed as error:
        raise ApiError(409, str(error), field="paper") from None
    except PaperMissing:
        raise ApiError(404, f"no paper {arxiv_id}", field="paper") from None
    return PaperPublic.of(stored)


def vote_view(state: AppState, user: User, paper_id: str, *, up: bool) -> VotePublic:
    """Upvote (or withdraw the upvote of) a paper; idempotent per user."""
    paper = find_paper(state, paper_id, user=user)
    try:
        if up:
            result = record_vote(
                state.engine, user_id=user.user_id, paper_id=paper.paper_id, now=datetime.now(UTC)
            )
        else:
            result = withdraw_vote(state.engine, user_id=user.user_id, paper_id=paper.paper_id)
    except PaperMissing:
        raise ApiError(404, f"no paper with id {paper_id!r}", field="paper_id") from None
    return VotePublic(
        paper_id=result.paper_id, voted=result.voted, score=result.score, votes=result.local_votes
    )


def _check_comment(body: str) -> str:
    text = body.strip()
    if not text:
        raise ApiError(422, "the comment is empty", field="body")
    if len(text) > MAX_COMMENT_CHARS:
        message = f"the comment is {len(text):,} characters (limit {MAX_COMMENT_CHARS:,})"
        raise ApiError(422, message, field="body")
    return text


def comment_view(
    state: AppState, user: User, paper_id: str, body: str, parent_id: int | None
) -> CommentPublic:
    paper = find_paper(state, paper_id, user=user)
    text = _check_comment(body)
    try:
        comment = add_comment(
            state.engine,
            paper_id=paper.paper_id,
            user_id=user.user_id,
            body=text,
            body_html=render_markdown(text),
            now=datetime.now(UTC),
            parent_id=parent_id,
        )
    except CommentMissing as error:
        raise ApiError(422, str(error), field="parent_id") from None
    except PaperMissing:
        raise ApiError(404, f"no paper with id {paper_id!r}", field="paper_id") from None
    return CommentPublic.of(comment)


def edit_comment_view(state: AppState, user: User, comment_id: int, body: str) -> CommentPublic:
    text = _check_comment(body)
    try:
        comment = edit_comment(
            state.engine,
            comment_id=comment_id,
            user_id=user.user_id,
            body=text,
            body_html=render_markdown(text),
            now=datetime.now(UTC),
        )
    except CommentMissing as error:
        raise ApiError(404, str(error), field="comment_id") from None
    except NotAuthor as error:
        raise ApiError(403, str(error)) from None
    return CommentPublic.of(comment)


def own_comment_view(state: AppState, user: User, comment_id: int) -> CommentPublic:
    """One of the reader's own comments (to confirm deleting it); 404 or 403 otherwise."""
    comment = get_comment(state.engine, comment_id=comment_id)
    if comment is None or comment.deleted:
        raise ApiError(404, f"no comment {comment_id}", field="comment_id")
    if comment.user_id != user.user_id:
        raise ApiError(403, f"comment {comment_id} belongs to another user")
    return CommentPublic.of(comment)


def delete_comment_view(state: AppState, user: User, comment_id: int) -> str:
    """Delete one's own comment; returns the paper id (to go back to its page)."""
    comment = get_comment(state.engine, comment_id=comment_id)
    try:
        delete_comment(state.engine, comment_id=comment_id, user_id=user.user_id)
    except CommentMissing as error:
        raise ApiError(404, str(error), field="comment_id") from None
    except NotAuthor as error:
        raise ApiError(403, str(error)) from None
    assert comment is not None
    return comment.paper_id


def hide_comment_view(state: AppState, comment_id: int, *, hidden: bool) -> str:
    comment = get_comment(state.engine, comment_id=comment_id)
    if comment is None or not set_comment_hidden(
        state.engine, comment_id=comment_id, hidden=hidden
    ):
        raise ApiError(404, f"no comment {comment_id}", field="comment_id")
    return comment.paper_id


def hide_paper_view(state: AppState, paper_id: str, *, hidden: bool) -> None:
    paper = get_paper(state.engine, paper_id=paper_id)
    if paper is None or not set_paper_hidden(state.engine, paper_id=paper.paper_id, hidden=hidden):
        raise ApiError(404, f"no paper with id {paper_id!r}", field="paper_id")
