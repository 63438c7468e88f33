"""The service calls behind author pages, their JSON twins and feeds."""

from __future__ import annotations

from dailypapers.ids import author_key, author_slug
from dailypapers.store.authors import (
    AuthorSummary,
    author_summary,
    list_author_papers,
    other_spellings,
)
from dailypapers.store.lists import ListFilter
from dailypapers.web.category_views import category_url
from dailypapers.web.errors import ApiError
from dailypapers.web.schemas import (
    AuthorPage,
    CategoryCount,
    CoauthorPublic,
    OtherSpellingPublic,
    PaperPublic,
)
from dailypapers.web.state import AppState

AUTHOR_PAGE_SIZE = 30


def author_url(name: str) -> str:
    """The path of an author's page: `/authors/alice-smith` for "Alice Smith"."""
    return f"/authors/{author_slug(name)}"


def find_author(state: AppState, name: str) -> AuthorSummary:
    """The author a page names (by slug or by name as written); 404 when no paper has them."""
    key = author_key(name)
    summary = author_summary(state.engine, key=key) if key else None
    if summary is None:
        raise ApiError(404, f"no papers by an author named {name!r}", field="name")
    return summary


def author_view(
    state: AppState, name: str, *, page: int = 1, with_code: bool = False
) -> AuthorPage:
    """An author's papers (newest first), co-authors, categories and other spellings."""
    summary = find_author(state, name)
    only = ListFilter(with_code=with_code)
    offset = (page - 1) * AUTHOR_PAGE_SIZE
    papers, total = list_author_papers(
        state.engine, key=summary.key, limit=AUTHOR_PAGE_SIZE, offset=offset, only=only
    )
    return AuthorPage(
        key=summary.key,
        name=summary.name,
        url=author_url(summary.key),
        spellings=summary.spellings,
        also_appears_as=[
            OtherSpellingPublic(
                name=o.name, url=author_url(o.key), shared_coauthors=o.shared_coauthors
            )
            for o in other_spellings(state.engine, key=summary.key)
        ],
        total=total,
        page=page,
        pages=max(1, -(-total // AUTHOR_PAGE_SIZE)),
        with_code=with_code,
        papers=[PaperPublic.of(p) for p in papers],
        coauthors=[
            CoauthorPublic(name=c.name, url=author_url(c.key), papers=c.papers)
            for c in summary.coauthors
        ],
        categories=[
            CategoryCount(category=c.name, url=category_url(c.name), papers=c.papers)
            for c in summary.categories
        ],
    )
