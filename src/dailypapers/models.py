"""Domain types shared by every layer. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Literal


class SourceName(StrEnum):
    """Where a record came from; stored on the paper as provenance."""

    ARXIV_SNAPSHOT = "arxiv-snapshot"
    ARXIV_API = "arxiv-api"
    ARXIV_OAI = "arxiv-oai"
    ARXIV_RSS = "arxiv-rss"
    ARXIV_LISTING = "arxiv-listing"
    HF_DAILY = "hf-daily"
    BIBTEX = "bibtex"
    GENERIC = "generic"
    SEED_PAGE = "seed-page"


@dataclass(slots=True, frozen=True)
class PaperVersion:
    """One submitted version of a paper (arXiv's v1, v2, ...)."""

    number: int
    created: datetime | None = None


@dataclass(slots=True)
class PaperRecord:
    """One paper as a source describes it, before it meets the store.

    `paper_id` is already normalised (see `dailypapers.ids`); None means the source gave no id
    and the store matches the record by normalised title. Fields left as None mean "this
    source does not know", so merging never overwrites known data with nothing.
    """

    source: SourceName
    title: str
    paper_id: str | None = None
    abstract: str | None = None
    authors: list[str] = field(default_factory=list)
    author_count: int | None = None
    categories: list[str] = field(default_factory=list)
    versions: list[PaperVersion] = field(default_factory=list)
    published: datetime | None = None
    updated: datetime | None = None
    doi: str | None = None
    journal_ref: str | None = None
    comments: str | None = None
    license: str | None = None
    abs_url: str | None = None
    pdf_url: str | None = None
    code_url: str | None = None
    project_url: str | None = None
    upvotes: int | None = None
    comment_count: int | None = None
    daily_date: date | None = None
    submitted_by: str | None = None


@dataclass(slots=True, frozen=True)
class RecordError:
    """A record (or a whole input) that could not be read, with where and why."""

    origin: str
    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}:{self.location}: {self.reason}"


@dataclass(slots=True)
class Paper:
    """A paper as stored."""

    paper_id: str
    title: str
    abstract: str
    authors: list[str]
    author_count: int
    categories: list[str]
    versions: list[PaperVersion]
    published: datetime | None
    updated: datetime | None
    doi: str | None
    journal_ref: str | None
    comments: str | None
    license: str | None
    abs_url: str | None
    pdf_url: str | None
    code_url: str | None
    project_url: str | None
    sources: list[str]
    upvotes: int
    comment_count: int
    daily_date: date | None
    submitted_by: str | None
    created_at: datetime
    modified_at: datetime
    list_date: date | None = None
    local_votes: int = 0
    local_comments: int = 0
    score: int = 0
    hidden: bool = False

    @property
    def primary_category(self) -> str | None:
        return self.categories[0] if self.categories else None

    @property
    def latest_version(self) -> int | None:
        return max((v.number for v in self.versions), default=None)


@dataclass(slots=True)
class ImportSummary:
    """Counts for one import or harvest run."""

    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: list[RecordError] = field(default_factory=list)

    def add(self, other: ImportSummary) -> None:
        self.imported += other.imported
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.failed += other.failed
        self.failures.extend(other.failures)


@dataclass(slots=True)
class SearchHit:
    """One search result: the paper and how it scored."""

    paper: Paper
    score: float
    keyword_score: float | None = None
    semantic_score: float | None = None

    @property
    def paper_id(self) -> str:
        return self.paper.paper_id


SearchMode = Literal["keyword", "semantic", "hybrid"]


@dataclass(slots=True)
class SearchResults:
    """A page of search results; `total` is known for keyword searches only. `mode` is what
    ranked them: keyword when a hybrid or semantic search fell back (`notices` say why)."""

    query: str
    mode: SearchMode
    hits: list[SearchHit]
    offset: int
    limit: int
    total: int | None = None
    notices: list[str] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class User:
    """A site account (the password hash never leaves the store layer's auth functions)."""

    user_id: int
    username: str
    email: str | None
    is_admin: bool
    created_at: datetime


@dataclass(slots=True)
class Comment:
    """A comment on a paper; `parent_id` is set on replies (one level deep)."""

    comment_id: int
    paper_id: str
    user_id: int
    username: str
    parent_id: int | None
    body: str
    body_html: str
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    hidden: bool
    replies: list[Comment] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class VoteResult:
    """A paper's counts after a vote was recorded or withdrawn."""

    paper_id: str
    score: int
    local_votes: int
    voted: bool
