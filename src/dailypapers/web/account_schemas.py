"""Shapes of the account-care JSON: the admin's list of users, disabling one, and the data
export (its sections are plain rows, described in docs/api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class UserAdminPublic(BaseModel):
    user_id: int
    username: str
    email: str | None
    is_admin: bool
    created_at: datetime
    last_login_at: datetime | None = Field(description="Null until the first login after 0011.")
    disabled_at: datetime | None = Field(description="When an admin disabled it; null if not.")


class UsersPage(BaseModel):
    users: list[UserAdminPublic]
    page: int
    per_page: int
    total: int


class UserDisabledUpdate(BaseModel):
    disabled: bool


class AccountExport(BaseModel):
    """Everything the site keeps about you: never the password hash or a token."""

    format: str = Field(description='Always "dailypapers-account-export".')
    version: int
    account: dict[str, Any]
    votes: list[dict[str, Any]]
    marks: list[dict[str, Any]]
    collections: list[dict[str, Any]] = Field(
        description="Collections you own or edit, each with its papers in order and notes."
    )
    comments: list[dict[str, Any]]
    submissions: list[dict[str, Any]]
    follows: list[dict[str, Any]]
    subscription: dict[str, Any] | None
    api_tokens: list[dict[str, Any]] = Field(description="Names and dates only.")
