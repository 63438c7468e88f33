"""The Cornell/Kaggle arXiv metadata snapshot: one JSON object per line, 2.8 M lines.

Fields used: id, title, abstract, authors_parsed ([last, first, suffix, affiliation...]) with
`authors` as fallback, categories (space-separated, primary first), versions ({version: "v1",
created: RFC 2822}), doi (sometimes several, space-separated: the first is kept), journal-ref,
comments, license. `submitter` is the arXiv account that uploaded the paper, not a Daily Papers
submitter, so it is not mapped to `submitted_by`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO

from dailypapers.ids import clean_text, normalize_doi
from dailypapers.models import PaperRecord, PaperVersion, RecordError, SourceName
from dailypapers.sources.jsonlines import (
    arxiv_id_and_title,
    optional_str,
    records_from_json_lines,
)

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
# The fallback author list ("A. Smith, B. Jones and C. Li") is split on commas and "and".
_AUTHOR_SEPARATORS = re.compile(r"\s*,\s*|\s+and\s+")


def parse_arxiv_snapshot(stream: BinaryIO, *, origin: str) -> Iterator[PaperRecord | RecordError]:
    """Yield one PaperRecord per snapshot line, or a RecordError naming the bad line."""
    yield from records_from_json_lines(
        stream, origin=origin, convert=_record_from_line, describe=_describe
    )


def _record_from_line(obj: dict[str, Any]) -> PaperRecord:
    paper_id, title = arxiv_id_and_title(obj)
    authors = _authors(obj)
    versions = [_version(v) for v in obj.get("versions") or ()]
    doi_field = optional_str(obj, "doi")
    return PaperRecord(
        source=SourceName.ARXIV_SNAPSHOT,
        title=title,
        paper_id=paper_id,
        abstract=clean_text(optional_str(obj, "abstract")),
        authors=authors,
        author_count=len(authors) or None,
        categories=(optional_str(obj, "categories") or "").split(),
        versions=versions,
        published=versions[0].created if versions else None,
        updated=versions[-1].created if versions else None,
        doi=normalize_doi(doi_field.split()[0]) if doi_field else None,
        journal_ref=clean_text(optional_str(obj, "journal-ref")),
        comments=clean_text(optional_str(obj, "comments")),
        license=optional_str(obj, "license"),
    )


def _authors(obj: dict[str, Any]) -> list[str]:
    parsed = obj.get("authors_parsed")
    if parsed:
        # Entries are [last, first, suffix, affiliation...]; affiliations are not names.
        # Splitting on whitespace drops empty parts and collapses stray line breaks.
        names = (" ".join(f"{p[1]} {p[0]} {p[2] if len(p) > 2 else ''}".split()) for p in parsed)
        return [name for name in names if name]
    text = clean_text(optional_str(obj, "authors"))
    return [name for name in _AUTHOR_SEPARATORS.split(text) if name] if text else []


def _version(entry: dict[str, Any]) -> PaperVersion:
    number = int(str(entry["version"]).lstrip("v"))
    created = entry.get("created")
    return PaperVersion(number=number, created=parse_rfc2822(created) if created else None)


def parse_rfc2822(text: str) -> datetime:
    """'Mon, 2 Apr 2007 19:18:42 GMT' as an aware UTC datetime (fast path, then stdlib)."""
    parts = text.split()
    if len(parts) == 6 and parts[5] == "GMT" and len(parts[4]) == 8:
        clock = parts[4]
        month = _MONTHS.get(parts[2])
        if month is not None:
            return datetime(
                int(parts[3]),
                month,
                int(parts[1]),
                int(clock[0:2]),
                int(clock[3:5]),
                int(clock[6:8]),
                tzinfo=UTC,
            )
    moment = parsedate_to_datetime(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc) or type(exc).__name__
