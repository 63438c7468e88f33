"""Shapes of the JSON API, named by role (PaperPublic, VoteCreate ...)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from dailypapers.models import Comment, Paper, SearchHit, SearchMode, User
from dailypapers.web.markdown import MAX_COMMENT_CHARS

# Largest row id the store can hold (PostgreSQL INTEGER); a larger one would be a server error.
MAX_ROW_ID = 2**31 - 1


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    field: str | None = None


class ErrorPublic(BaseModel):
    """The one error shape every API endpoint returns."""

    error: ErrorDetail


class PaperLinks(BaseModel):
    abs: str | None = None
    pdf: str | None = None
    code: str | None = None
    project: str | None = None
    doi: str | None = None


class PaperPublic(BaseModel):
    id: str
    url: str = Field(description="The paper's page on this site (a path).")
    title: str
    abstract: str
    authors: list[str]
    author_count: int = Field(
        description="How many authors the paper has (a source may give the count, not names)."
    )
    categories: list[str]
    published: datetime | None
    updated: datetime | None
    list_date: date | None = Field(description="The day whose list the paper is on.")
    score: int = Field(description="upvotes + votes: what lists are sorted by.")
    upvotes: int = Field(description="Upvotes imported from Hugging Face.")
    votes: int = Field(description="Upvotes on this site.")
    comments: int = Field(description="Comments on this site.")
    submitted_by: str | None
    links: PaperLinks

    @classmethod
    def of(cls, paper: Paper) -> PaperPublic:
        # Built without validation: the store's Paper is already typed, and lists build 30
        # of these per request (validation was a third of a daily page's time).
        return cls.model_construct(
            id=paper.paper_id,
            url=f"/papers/{paper.paper_id}",
            title=paper.title,
            abstract=paper.abstract,
            authors=paper.authors,
            author_count=max(paper.author_count, len(paper.authors)),
            categories=paper.categories,
            published=paper.published,
            updated=paper.updated,
            list_date=paper.list_date,
            score=paper.score,
            upvotes=paper.upvotes,
            votes=paper.local_votes,
            comments=paper.local_comments,
            submitted_by=paper.submitted_by,
            links=PaperLinks.model_construct(
                abs=paper.abs_url,
                pdf=paper.pdf_url,
                code=paper.code_url,
                project=paper.project_url,
                doi=f"https://doi.org/{paper.doi}" if paper.doi else None,
            ),
        )


class PapersPage(BaseModel):
    """A page of a day's, week's or month's list (of one category, with `category`)."""

    kind: Literal["date", "week", "month"]
    category: str | None = Field(None, description="The category listed; null for all papers.")
    with_code: bool = Field(False, description="Only papers that link their code (?code=1).")
    period: str
    title: str
    start: date
    end: date = Field(description="First day after the period.")
    previous: str
    next: str
    sort: Literal["score", "published"]
    page: int
    pages: int
    total: int
    papers: list[PaperPublic]
    nearest_before: date | None = Field(None, description="Set when the period is empty.")
    nearest_after: date | None = Field(None, description="Set when the period is empty.")


class TrendingPage(BaseModel):
    page: int
    with_code: bool = Field(False, description="Only papers that link their code (?code=1).")
    papers: list[PaperPublic]


class CategoryCount(BaseModel):
    category: str
    url: str | None = Field(
        description="The category's page on this site (a path); null for a code that is not"
        " arXiv's."
    )
    papers: int = Field(description="Visible papers on a list (any day) in this category.")


class CategoriesPage(BaseModel):
    """Every category with papers, largest first."""

    categories: list[CategoryCount]


class CoauthorPublic(BaseModel):
    name: str
    url: str = Field(description="The co-author's page on this site (a path).")
    papers: int = Field(description="Papers the two wrote together.")


class OtherSpellingPublic(BaseModel):
    name: str
    url: str
    shared_coauthors: int = Field(description="Co-authors who wrote with both names.")


class AuthorPage(BaseModel):
    """An author's papers, newest first, with co-authors and categories."""

    key: str = Field(description="The name's matching key (accents, case, punctuation folded).")
    name: str = Field(description="The spelling most of the papers use.")
    url: str = Field(description="The author's page on this site (a path).")
    spellings: list[str] = Field(description="Every spelling of the name on these papers.")
    also_appears_as: list[OtherSpellingPublic] = Field(
        description="Other names that may be this author (an initial for a given name) whom at"
        " least two of the same co-authors wrote with; never merged (see docs/web.md)."
    )
    total: int
    page: int
    pages: int
    with_code: bool
    papers: list[PaperPublic]
    coauthors: list[CoauthorPublic] = Field(description="Most frequent co-authors first.")
    categories: list[CategoryCount] = Field(
        description="The categories of the author's papers, most frequent first (`papers`"
        " counts the author's papers in each)."
    )


class SearchHitPublic(BaseModel):
    paper: PaperPublic
    score: float
    keyword_score: float | None
    semantic_score: float | None

    @classmethod
    def of(cls, hit: SearchHit) -> SearchHitPublic:
        # Typed already, as PaperPublic.of's paper is: not validated again (20 a search).
        return cls.model_construct(
            paper=PaperPublic.of(hit.paper),
            score=hit.score,
            keyword_score=hit.keyword_score,
            semantic_score=hit.semantic_score,
        )


class SearchPage(BaseModel):
    query: str
    mode: SearchMode = Field(
        description="What ranked the results: keyword when a hybrid or semantic search had "
        "nothing to compare by meaning or no semantic index yet (a notice says which)."
    )
    page: int
    page_size: int
    total: int | None = Field(description="Known for keyword searches only.")
    hits: list[SearchHitPublic]
    notices: list[str]


class CommentPublic(BaseModel):
    id: int
    paper_id: str
    author: str
    parent_id: int | None
    body: str = Field(description="Markdown as written.")
    html: str = Field(description="Sanitised HTML rendering of the body.")
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    hidden: bool
    replies: list[CommentPublic] = []

    @classmethod
    def of(cls, comment: Comment) -> CommentPublic:
        return cls(
            id=comment.comment_id,
            paper_id=comment.paper_id,
            author=comment.username,
            parent_id=comment.parent_id,
            body=comment.body,
            html=comment.body_html,
            created_at=comment.created_at,
            edited_at=comment.edited_at,
            deleted=comment.deleted,
            hidden=comment.hidden,
            replies=[cls.of(reply) for reply in comment.replies],
        )


class PaperDetail(BaseModel):
    paper: PaperPublic
    voted: bool = Field(description="Whether the requesting user upvoted it.")
    mark: Literal["saved", "not_interested"] | None = Field(
        default=None, description="The requesting user's mark: saved or not_interested."
    )
    similar: list[PaperPublic]
    comments: list[CommentPublic]
    bibtex: str
    hidden: bool = Field(
        default=False, description="Hidden from lists by an admin (only admins see it then)."
    )


class UserPublic(BaseModel):
    username: str
    joined: datetime
    is_admin: bool

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls(username=user.username, joined=user.created_at, is_admin=user.is_admin)


class UserProfile(BaseModel):
    user: UserPublic
    upvoted: list[PaperPublic]
    submitted: list[PaperPublic]


class VoteCreate(BaseModel):
    paper_id: str = Field(min_length=1, max_length=200)


class VotePublic(BaseModel):
    paper_id: str
    voted: bool
    score: int
    votes: int


class CommentCreate(BaseModel):
    paper_id: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=MAX_COMMENT_CHARS)
    parent_id: int | None = Field(None, ge=1, le=MAX_ROW_ID)


class CommentUpdate(BaseModel):
    body: str = Field(min_length=1, max_length=MAX_COMMENT_CHARS)


class SubmissionCreate(BaseModel):
    paper: str = Field(
        min_length=1, max_length=300, description="An arXiv id or an arXiv abs/pdf URL."
    )


class HiddenUpdate(BaseModel):
    hidden: bool


class ForYouItem(BaseModel):
    paper: PaperPublic
    reason: str = Field(description="Why this paper: the nearest liked one, a saved search ...")
    mark: Literal["saved", "not_interested"] | None = None


class ForYouPage(BaseModel):
    mode: Literal["personal", "categories", "popular"] = Field(
        description="personal (learned from your upvotes and saves), categories or popular."
    )
    first_day: date = Field(
        description="The first list day picked from: DAILYPAPERS_FOR_YOU_DAYS back from"
        " last_day, or earlier when those days hold too few papers new to you."
    )
    last_day: date = Field(description="The newest list day picked from.")
    items: list[ForYouItem]
    notices: list[str]


class MarkCreate(BaseModel):
    paper_id: str = Field(min_length=1, max_length=200)
    mark: Literal["saved", "not_interested"] | None = Field(
        description="saved, not_interested, or null to clear the mark."
    )


class MarkPublic(BaseModel):
    paper_id: str
    mark: Literal["saved", "not_interested"] | None


class SubscriptionUpdate(BaseModel):
    """The subscribe and manage form as submitted (text fields as typed; checked when saved)."""

    email: str = Field(max_length=400)
    frequency: str = Field(default="daily", max_length=10)
    skip_weekends: bool = False
    include_trending: bool = False
    include_for_you: bool = False
    send_empty: bool = False
    categories: str = Field(default="", max_length=2000)
    searches: str = Field(default="", max_length=20_000)


class SubscriptionPublic(BaseModel):
    email: str
    status: Literal["pending", "active", "unsubscribed"]
    frequency: Literal["daily", "weekly"]
    skip_weekends: bool
    include_trending: bool
    include_for_you: bool
    send_empty: bool
    categories: list[str]
    searches: list[str]


class OutboxEntryPublic(BaseModel):
    message_key: str
    kind: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class OutboxPublic(BaseModel):
    counts: dict[str, int]
    problems: list[OutboxEntryPublic] = Field(
        description="Failed messages and those waiting for a retry, newest first."
    )
