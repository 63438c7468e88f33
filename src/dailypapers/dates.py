"""Timestamps: every datetime the project stores is timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    """`value` in UTC; a timestamp without an offset is taken as UTC (arXiv and HF state UTC)."""
    if value.tzinfo is UTC:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_iso_datetime(value: str) -> datetime:
    """An ISO 8601 date or datetime in UTC (a bare date is midnight); ValueError if malformed."""
    return as_utc(datetime.fromisoformat(value.strip()))
