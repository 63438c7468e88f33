"""arXiv API responses (Atom 1.0 with arxiv: and opensearch: extensions) -> PaperRecords.

`parse_arxiv_atom` streams a saved response of any size; `parse_atom_page` reads one page
for the harvester and also returns the opensearch paging counts. Both share `_iter_atom`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, BinaryIO

from dailypapers.ids import clean_text, split_arxiv_id
from dailypapers.limits import MAX_AUTHORS, limit_problem
from dailypapers.models import PaperRecord, PaperVersion, RecordError, SourceName
from dailypapers.sources.xmlsafe import (
    XmlStreamError,
    child_text,
    first_doi,
    iter_elements,
    parse_iso_datetime,
)

ATOM_NS = "http://www.w3.org/2005/Atom"
ARXIV_NS = "http://arxiv.org/schemas/atom"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"

_ENTRY = f"{{{ATOM_NS}}}entry"
_TOTAL_RESULTS = f"{{{OPENSEARCH_NS}}}totalResults"
_START_INDEX = f"{{{OPENSEARCH_NS}}}startIndex"
_ITEMS_PER_PAGE = f"{{{OPENSEARCH_NS}}}itemsPerPage"
_TAGS = (_ENTRY, _TOTAL_RESULTS, _START_INDEX, _ITEMS_PER_PAGE)

_ID = f"{{{ATOM_NS}}}id"
_TITLE = f"{{{ATOM_NS}}}title"
_SUMMARY = f"{{{ATOM_NS}}}summary"
_PUBLISHED = f"{{{ATOM_NS}}}published"
_UPDATED = f"{{{ATOM_NS}}}updated"
_AUTHOR_NAME = f"{{{ATOM_NS}}}author/{{{ATOM_NS}}}name"
_CATEGORY = f"{{{ATOM_NS}}}category"
_PRIMARY_CATEGORY = f"{{{ARXIV_NS}}}primary_category"
_DOI = f"{{{ARXIV_NS}}}doi"
_JOURNAL_REF = f"{{{ARXIV_NS}}}journal_ref"
_COMMENT = f"{{{ARXIV_NS}}}comment"

# The API reports a bad query as a one-entry feed whose entry id points at its error page.
_API_ERROR_IDS = ("http://arxiv.org/api/errors", "https://arxiv.org/api/errors")


@dataclass(slots=True)
class AtomPage:
    """One arXiv API response: its records and opensearch paging counts.

    `error` is the API's error message (for example an HTTP 400 "incorrect id format"
    feed) or, for a malformed or truncated response, where and why the XML broke; the
    counts are what the feed states even then, so check `error` first.
    """

    records: list[PaperRecord | RecordError] = field(default_factory=list)
    total_results: int | None = None
    start_index: int | None = None
    items_per_page: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _ApiError:
    location: str
    message: str


@dataclass(frozen=True, slots=True)
class _FeedCount:
    tag: str
    value: int | None


_Item = PaperRecord | RecordError | _ApiError | _FeedCount | XmlStreamError


def parse_arxiv_atom(stream: BinaryIO, *, origin: str) -> Iterator[PaperRecord | RecordError]:
    """Stream records out of an arXiv API Atom response; bad entries become RecordErrors."""
    for item in _iter_atom(stream, origin):
        if isinstance(item, PaperRecord | RecordError):
            yield item
        elif isinstance(item, _ApiError):
            yield RecordError(origin, item.location, f"arXiv API error: {item.message}")
        elif isinstance(item, XmlStreamError):
            yield RecordError(origin, item.location, item.reason)


def parse_atom_page(data: bytes, *, origin: str) -> AtomPage:
    """Parse one whole arXiv API response into records plus its paging counts."""
    page = AtomPage()
    for item in _iter_atom(io.BytesIO(data), origin):
        if isinstance(item, PaperRecord | RecordError):
            page.records.append(item)
        elif isinstance(item, _FeedCount):
            _set_count(page, item)
        elif isinstance(item, _ApiError):
            page.error = page.error or item.message
        else:
            page.error = f"{item.location}: {item.reason}"
    return page


def _set_count(page: AtomPage, count: _FeedCount) -> None:
    if count.tag == _TOTAL_RESULTS:
        page.total_results = count.value
    elif count.tag == _START_INDEX:
        page.start_index = count.value
    else:
        page.items_per_page = count.value


def _iter_atom(stream: BinaryIO, origin: str) -> Iterator[_Item]:
    try:
        for element in iter_elements(stream, _TAGS):
            if element.tag == _ENTRY:
                yield _convert_entry(element, origin=origin)
            else:
                yield _FeedCount(element.tag, _int_or_none(element.text))
    except XmlStreamError as exc:
        yield exc


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _convert_entry(entry: Any, *, origin: str) -> PaperRecord | RecordError | _ApiError:
    """Turn one Atom <entry> element into a record (or the reason it cannot be one)."""
    location = f"line {entry.sourceline}"
    raw_id = child_text(entry, _ID) or ""
    if raw_id.startswith(_API_ERROR_IDS):
        return _ApiError(location, child_text(entry, _SUMMARY) or raw_id)
    parsed = split_arxiv_id(raw_id)
    if parsed is None:
        return RecordError(origin, location, f"no usable arXiv id in <id> {raw_id!r}")
    paper_id, version = parsed
    title = child_text(entry, _TITLE)
    if title is None:
        return RecordError(origin, location, f"{paper_id}: entry has no title")
    record = _build_record(entry, paper_id, version, title)
    problem = limit_problem(record)
    if problem:
        return RecordError(origin, location, f"{paper_id}: {problem}")
    return record


def _build_record(entry: Any, paper_id: str, version: int | None, title: str) -> PaperRecord:
    authors = _authors(entry)
    published = parse_iso_datetime(entry.findtext(_PUBLISHED))
    updated = parse_iso_datetime(entry.findtext(_UPDATED))
    return PaperRecord(
        source=SourceName.ARXIV_API,
        title=title,
        paper_id=paper_id,
        abstract=child_text(entry, _SUMMARY),
        authors=authors,
        author_count=len(authors) or None,
        categories=_categories(entry),
        versions=_versions(version, published, updated),
        published=published,
        updated=updated,
        doi=first_doi(entry.findtext(_DOI)),
        journal_ref=child_text(entry, _JOURNAL_REF),
        comments=child_text(entry, _COMMENT),
        abs_url=f"https://arxiv.org/abs/{paper_id}",
        pdf_url=f"https://arxiv.org/pdf/{paper_id}",
    )


def _authors(entry: Any) -> list[str]:
    # One more than the limit is enough for limit_problem to refuse the record.
    names = (clean_text(element.text) for element in entry.iterfind(_AUTHOR_NAME))
    return [name for name in islice(names, MAX_AUTHORS + 1) if name]


def _categories(entry: Any) -> list[str]:
    """Primary category first, then the rest in feed order, without repeats."""
    primary = entry.find(_PRIMARY_CATEGORY)
    terms = [primary.get("term")] if primary is not None else []
    terms.extend(category.get("term") for category in entry.iterfind(_CATEGORY))
    return list(dict.fromkeys(term.strip() for term in terms if term and term.strip()))


def _versions(
    latest: int | None, published: datetime | None, updated: datetime | None
) -> list[PaperVersion]:
    # The API states only v1 (<published>) and the latest version (<id> and <updated>).
    if latest is None:
        return []
    if latest == 1:
        return [PaperVersion(1, published)]
    return [PaperVersion(1, published), PaperVersion(latest, updated)]
