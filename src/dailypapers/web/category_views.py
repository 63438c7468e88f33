"""The service calls behind category pages (their lists are `views.period_view` with a
category) and the page of all categories."""

from __future__ import annotations

from datetime import date

from dailypapers.ids import is_arxiv_category
from dailypapers.store.lists import ListFilter, count_categories, latest_list_date
from dailypapers.web.errors import ApiError
from dailypapers.web.schemas import CategoriesPage, CategoryCount
from dailypapers.web.state import AppState


def category_url(code: str) -> str | None:
    """The path of a category's page, or None for a code that is not arXiv's (it has none)."""
    return f"/categories/{code}" if is_arxiv_category(code) else None


def categories_view(state: AppState) -> CategoriesPage:
    """Every arXiv category with listed papers and how many, largest first."""
    return CategoriesPage(
        categories=[
            CategoryCount(category=code, url=url, papers=papers)
            for code, papers in count_categories(state.engine)
            if (url := category_url(code)) is not None
        ]
    )


def check_category(code: str) -> str:
    """The code if it is an arXiv category code; 422 naming the parameter otherwise."""
    if not is_arxiv_category(code):
        message = f"{code!r} is not an arXiv category code (e.g. cs.CV)"
        raise ApiError(422, message, field="category")
    return code


def category_latest_day(state: AppState, only: ListFilter) -> date:
    """The newest list day with papers of `only.category` (kept by `only`, else any: the page
    then says none has code); 404 when the category has no listed paper at all."""
    day = latest_list_date(state.engine, only=only)
    if day is None and only.with_code:
        day = latest_list_date(state.engine, only=ListFilter(category=only.category))
    if day is None:
        raise ApiError(404, f"no papers in category {only.category!r}", field="category")
    return day
