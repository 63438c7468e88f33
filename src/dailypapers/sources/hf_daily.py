"""Hugging Face Daily Papers: the /api/daily_papers response, a JSON array of list items.

Each item wraps the paper (`paper`: id = arXiv id, title, summary, authors[{name}],
publishedAt = arXiv date, upvotes, and in newer responses githubRepo, projectPage,
submittedOnDailyBy) with the list data (`publishedAt` = when it was put on the daily list,
numComments, submittedBy{name, fullname}). `parse_hf_paper` reads one item, or a bare paper
object as /api/papers/{id} returns it, for the harvester.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from dailypapers.dates import parse_iso_datetime
from dailypapers.ids import clean_text
from dailypapers.models import PaperRecord, RecordError, SourceName
from dailypapers.sources.jsonlines import (
    arxiv_id_and_title,
    checked,
    optional_int,
    optional_str,
)

# A daily response is a few hundred kilobytes; anything near this is not one.
MAX_RESPONSE_BYTES = 64 << 20


def parse_hf_daily(stream: BinaryIO, *, origin: str) -> Iterator[PaperRecord | RecordError]:
    """Yield one PaperRecord per item of a daily_papers JSON array, or a RecordError per bad item.

    The response is one JSON document, so a truncated or malformed file yields a single error.
    """
    data = stream.read(MAX_RESPONSE_BYTES + 1)
    if len(data) > MAX_RESPONSE_BYTES:
        yield RecordError(origin, "file", f"larger than {MAX_RESPONSE_BYTES} bytes")
        return
    try:
        items = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        yield RecordError(origin, f"line {exc.lineno}", f"invalid JSON: {exc.msg}")
        return
    if not isinstance(items, list):
        yield RecordError(origin, "file", "expected a JSON array of daily-list items")
        return
    for index, obj in enumerate(items, 1):
        location = f"item {index}"
        if isinstance(obj, dict):
            yield parse_hf_paper(obj, origin=origin, location=location)
        else:
            yield RecordError(origin, location, "expected a JSON object")


def parse_hf_paper(obj: dict[str, Any], *, origin: str, location: str) -> PaperRecord | RecordError:
    """Turn one daily-list item, or a bare paper object, into a PaperRecord or a RecordError."""
    try:
        record = _record_from_item(obj)
    except (TypeError, ValueError, AttributeError) as exc:
        return RecordError(origin, location, str(exc))
    return checked(record, origin=origin, location=location)


def _record_from_item(obj: dict[str, Any]) -> PaperRecord:
    # An item has the paper under "paper"; /api/papers/{id} returns the paper alone.
    paper = obj["paper"] if isinstance(obj.get("paper"), dict) else obj
    listed = obj if paper is not obj else {}
    paper_id, title = arxiv_id_and_title(
        paper,
        field_prefix="paper." if listed else "",
        fallback_title=optional_str(listed, "title"),
    )
    authors = _author_names(paper.get("authors"))
    published = optional_str(paper, "publishedAt")
    listed_at = optional_str(listed, "publishedAt")
    return PaperRecord(
        source=SourceName.HF_DAILY,
        title=title,
        paper_id=paper_id,
        abstract=clean_text(optional_str(paper, "summary")),
        authors=authors,
        author_count=len(authors) or None,
        published=parse_iso_datetime(published) if published else None,
        code_url=optional_str(paper, "githubRepo") or optional_str(listed, "githubRepo"),
        project_url=optional_str(paper, "projectPage") or optional_str(listed, "projectPage"),
        upvotes=optional_int(paper.get("upvotes")),
        comment_count=optional_int(listed.get("numComments")),
        daily_date=parse_iso_datetime(listed_at).date() if listed_at else None,
        submitted_by=_submitter(listed, paper),
    )


def _author_names(authors: Any) -> list[str]:
    if authors is None:
        return []
    if not isinstance(authors, list):
        raise TypeError("field 'authors' must be a list")
    names = (clean_text(a.get("name")) if isinstance(a, dict) else None for a in authors)
    return [name for name in names if name]


def _submitter(listed: dict[str, Any], paper: dict[str, Any]) -> str | None:
    # Older responses put the user on the item (submittedBy), newer ones on the paper.
    candidates = (
        listed.get("submittedBy"),
        paper.get("submittedOnDailyBy"),
        listed.get("submittedOnDailyBy"),
    )
    for user in candidates:
        if isinstance(user, dict):
            name = user.get("name") or user.get("user")
            if isinstance(name, str) and name.strip():
                return name.strip()
    return None
