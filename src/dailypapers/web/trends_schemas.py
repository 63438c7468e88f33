"""The JSON shapes of /trends and its twins (/api/v1/trends/...) and of a paper's votes over
time; web/trends_views.py builds them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from dailypapers.web.schemas import PaperPublic


class CategoryCountsPublic(BaseModel):
    category: str = Field(description='A primary arXiv category, or "other" for the rest.')
    papers: list[int] = Field(description="Papers per period, in the order of `periods`.")


class PaperCountsPublic(BaseModel):
    by: Literal["day", "week"]
    periods: list[str] = Field(description="Days (YYYY-MM-DD) or ISO weeks (YYYY-Www).")
    urls: list[str] = Field(description="Each period's list page on this site (a path).")
    totals: list[int] = Field(description="Visible listed papers per period.")
    series: list[CategoryCountsPublic] = Field(
        description="The top categories of the span, largest first, then other; they sum to"
        " `totals`."
    )
    summary: str
    computed_at: datetime | None = Field(description="When the trends task last counted.")


class QueryShareLine(BaseModel):
    query: str
    url: str = Field(description="The query's search page (a path).")
    papers: list[int] = Field(description="Matching papers published in each month.")
    share: list[float | None] = Field(
        description="papers / all papers published that month (null for an empty month)."
    )


class QuerySharesPublic(BaseModel):
    months: list[str] = Field(description="YYYY-MM, oldest first.")
    last_partial: bool = Field(
        description="The last month goes on past the newest list day (its share is early)."
    )
    papers: list[int] = Field(description="All indexed papers published in each month.")
    queries: list[QueryShareLine]
    summary: str


class TopPapersPublic(BaseModel):
    start: date
    last: date = Field(description="The period's last list day (inclusive).")
    total: int = Field(description="Visible papers listed in the period.")
    papers: list[PaperPublic]


class RisingTopicPublic(BaseModel):
    topic: str
    kind: Literal["term", "category"]
    url: str = Field(description="Its search (a term) or category page (a path).")
    compare_url: str = Field(description="/trends with its monthly share drawn.")
    recent: int = Field(description="Papers of the recent window with it.")
    before: int = Field(description="Papers of the window before with it.")
    recent_share: float
    before_share: float
    growth: float = Field(description="recent_share / before share (before count + 1).")
    growth_low: float = Field(
        description="growth less two standard errors (log scale): what topics are ranked by."
    )
    weekly_share: list[float] = Field(description="Its share of each week's papers, oldest first.")


class RisingPublic(BaseModel):
    last_day: date
    recent_start: date
    before_start: date
    recent_papers: int
    before_papers: int
    min_papers: int = Field(description="Fewest recent papers a topic needs.")
    terms: list[RisingTopicPublic]
    categories: list[RisingTopicPublic]
    computed_at: datetime


class TrendsPage(BaseModel):
    daily: PaperCountsPublic
    weekly: PaperCountsPublic
    queries: QuerySharesPublic | None = Field(description="Null when no query is asked.")
    top: TopPapersPublic
    rising: RisingPublic | None = Field(description="Null before the trends task first ran.")


class VoteHistoryPublic(BaseModel):
    paper_id: str
    votes: int = Field(description="Upvotes given on this site (they have dates).")
    upvotes: int = Field(description="Upvotes imported from Hugging Face (no dates).")
    days: list[date] = Field(description="Days on which the paper got votes here, oldest first.")
    cumulative: list[int] = Field(description="Votes here by the end of each of `days`.")
