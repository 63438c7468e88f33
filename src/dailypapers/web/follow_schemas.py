"""Shapes of the follows and notifications API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from dailypapers.web.schemas import MAX_ROW_ID, PaperPublic

FollowKindName = Literal["author", "category", "collection"]


class FollowCreate(BaseModel):
    kind: FollowKindName
    target: str = Field(
        min_length=1,
        max_length=300,
        description="An author's name (or page slug), an arXiv category code, a collection id.",
    )


class FollowPublic(BaseModel):
    kind: FollowKindName
    target: str = Field(description="The author key, the category code or the collection id.")
    name: str
    url: str = Field(description="Its page (a path).")
    followed_at: datetime


class FollowResult(BaseModel):
    follow: FollowPublic | None = Field(description="The follow, or null once unfollowed.")
    changed: bool = Field(description="False when it was followed (or unfollowed) already.")


class FollowingPage(BaseModel):
    follows: list[FollowPublic]
    page: int
    pages: int
    total: int = Field(description="Papers by the authors and in the categories followed.")
    papers: list[PaperPublic] = Field(description="Those papers, newest published first.")


class NotificationPublic(BaseModel):
    id: int
    kind: Literal["reply", "author_paper", "collection_paper"]
    text: str = Field(description="What happened, in a sentence.")
    url: str = Field(description="Where to see it (a path).")
    paper_id: str | None
    created_at: datetime
    read: bool


class NotificationsPage(BaseModel):
    unread: int
    in_digest: bool = Field(
        description="Whether your unread notifications go into your digest (each once)."
    )
    page: int
    pages: int
    total: int
    notifications: list[NotificationPublic]


class NotificationsRead(BaseModel):
    ids: list[int] | None = Field(
        None,
        max_length=1000,
        description="The notifications to mark read; all of yours when left out.",
    )

    def checked_ids(self) -> list[int] | None:
        if self.ids is not None and any(not 1 <= i <= MAX_ROW_ID for i in self.ids):
            raise ValueError("ids: each must be a notification id")
        return self.ids


class NotificationsByEmail(BaseModel):
    in_digest: bool = Field(
        description="Put your unread notifications in your digest, each once (off at first)."
    )


class NotificationsMarked(BaseModel):
    marked: int = Field(description="How many notifications were unread and are now read.")
    unread: int
