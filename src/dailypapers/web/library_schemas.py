"""Shapes of the library API: saved papers, collections, their items and members, imports."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from dailypapers.store.collections import (
    MAX_DESCRIPTION_CHARS,
    MAX_NAME_CHARS,
    MAX_NOTE_CHARS,
    Collection,
    Role,
)
from dailypapers.web.schemas import PaperPublic

VisibilityName = Literal["private", "unlisted", "public"]
# A library pasted or uploaded through the API; larger ones go through `library import`.
MAX_IMPORT_CHARS = 50 * 1024 * 1024


class SavedPage(BaseModel):
    page: int
    pages: int
    total: int
    papers: list[PaperPublic]


class CollectionPublic(BaseModel):
    id: int
    url: str = Field(description="The collection's page (a path).")
    name: str
    description: str
    owner: str
    visibility: VisibilityName = Field(
        description="private (members only), unlisted (anyone with the secret link) or public."
    )
    papers: int
    created_at: datetime
    updated_at: datetime
    feed: str | None = Field(default=None, description="Its Atom feed (public collections only).")
    role: Literal["owner", "editor"] | None = Field(
        default=None,
        description="Your role in it: owner, editor, or null when you are not a member.",
    )
    secret_link: str | None = Field(
        default=None,
        description="The unlisted link with its key, shown to members only (it opens the"
        " collection once it is unlisted).",
    )
    has_paper: bool | None = Field(
        default=None,
        description="Whether it holds the paper named by `paper_id`, when one is given.",
    )

    @classmethod
    def of(
        cls, collection: Collection, role: Role | None, *, has_paper: bool | None = None
    ) -> CollectionPublic:
        url = f"/collections/{collection.ref}"
        public = collection.visibility == "public"
        return cls(
            id=collection.collection_id,
            url=url,
            name=collection.name,
            description=collection.description,
            owner=collection.owner,
            visibility=collection.visibility,
            papers=collection.item_count,
            created_at=collection.created_at,
            updated_at=collection.updated_at,
            feed=f"/feeds/collections/{collection.ref}.atom" if public else None,
            role=role,
            secret_link=f"{url}?key={collection.secret}" if role else None,
            has_paper=has_paper,
        )


class CollectionsPage(BaseModel):
    collections: list[CollectionPublic]


class CollectionItemPublic(BaseModel):
    paper: PaperPublic
    position: int = Field(description="Its place in the collection, from 1.")
    note: str
    added_by: str | None
    added_at: datetime


class MemberPublic(BaseModel):
    username: str
    role: Literal["owner", "editor"]
    added_at: datetime


class CollectionPage(BaseModel):
    collection: CollectionPublic
    page: int
    pages: int
    total: int
    items: list[CollectionItemPublic]
    members: list[MemberPublic] | None = Field(
        default=None, description="Who may change it (shown to its members only)."
    )


class CollectionCreate(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    visibility: VisibilityName = "private"
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)


class CollectionUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_CHARS)
    visibility: VisibilityName | None = None
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_CHARS)
    new_link: bool = Field(
        default=False, description="Draw a new secret key: the old unlisted link stops working."
    )


class ItemCreate(BaseModel):
    paper_id: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=MAX_NOTE_CHARS)


class ItemAdded(BaseModel):
    paper_id: str
    added: bool = Field(description="False when the collection held the paper already.")


class ItemUpdate(BaseModel):
    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)
    position: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Move it here (from 1)."
    )


class MemberCreate(BaseModel):
    username: str = Field(min_length=1, max_length=40)


class LibraryImportCreate(BaseModel):
    text: str = Field(
        min_length=1,
        max_length=MAX_IMPORT_CHARS,
        description="The library: BibTeX, CSL-JSON, RIS, or arXiv ids / DOIs / URLs a line.",
    )
    format: Literal["auto", "bibtex", "csl-json", "ris", "ids"] = "auto"


class EntryPublic(BaseModel):
    location: str = Field(description='Where the entry is: "entry 3", "line 7", "item 2 (key)".')
    entry: str = Field(description="Its title, or the id as given.")
    status: Literal["matched", "looked_up", "unmatched", "failed"]
    paper_id: str | None
    matched_by: Literal["arxiv", "doi", "title"] | None
    reason: str | None
    added: bool = Field(description="False when the collection held the paper already.")


class LibraryImportReport(BaseModel):
    collection: CollectionPublic
    format: Literal["bibtex", "csl-json", "ris", "ids"]
    matched: int
    looked_up: int
    unmatched: int
    failed: int
    added: int
    already_there: int
    entries: list[EntryPublic]
