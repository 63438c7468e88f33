"""The lists people browse (a day, week or month; trending), ready for a page or its JSON twin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from dailypapers.feeds.periods import Period
from dailypapers.models import Paper
from dailypapers.store.lists import (
    NO_FILTER,
    ListFilter,
    ListSort,
    list_period_papers,
    list_trending_papers,
    nearest_list_dates,
)

MAX_PAGE_SIZE = 100


@dataclass(slots=True)
class PeriodList:
    """One page of a period's list, with what a reader needs to move on from it."""

    period: Period
    papers: list[Paper]
    total: int
    page: int
    page_size: int
    sort: ListSort
    # Set only when the period is empty: the nearest list days before and after it.
    nearest_before: date | None = None
    nearest_after: date | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def period_list(
    engine: sa.Engine,
    period: Period,
    *,
    page: int = 1,
    page_size: int = 30,
    sort: ListSort = "score",
    submitted_by: str | None = None,
    only: ListFilter = NO_FILTER,
) -> PeriodList:
    """A page of the papers listed in `period` (those `only` keeps), most upvoted first (or
    newest first)."""
    found, total = list_period_papers(
        engine,
        start=period.start,
        end=period.end,
        limit=page_size,
        offset=(page - 1) * page_size,
        sort=sort,
        submitted_by=submitted_by,
        only=only,
    )
    result = PeriodList(period, found, total, page, page_size, sort)
    if total == 0:
        # The period is empty, so any later list day is past its end.
        result.nearest_before, result.nearest_after = nearest_list_dates(
            engine, day=period.start, only=only
        )
    return result


def trending_list(
    engine: sa.Engine,
    *,
    page: int = 1,
    page_size: int = 30,
    submitted_by: str | None = None,
    only: ListFilter = NO_FILTER,
) -> list[Paper]:
    """A page of the trending list: votes with time decay (see ranking.hotness)."""
    offset = (page - 1) * page_size
    return list_trending_papers(
        engine, limit=page_size, offset=offset, submitted_by=submitted_by, only=only
    )
