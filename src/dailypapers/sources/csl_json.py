"""CSL-JSON, as Zotero, Mendeley and Better BibTeX export a library: a JSON array of items
with `title`, `author` ([{"family", "given"}] or [{"literal"}]), `issued` ({"date-parts":
[[2020, 5]]} or {"raw": "2020-05"}), `DOI`, `URL`, `abstract`, `container-title`, and for
arXiv preprints the id in `number` ("arXiv:2106.09685"), `note`, `URL` or arXiv's own DOI
(10.48550/arXiv.2106.09685).

The id is, in order: the arXiv id from those fields, else the DOI, else None (the store
matches the item by title). An item without a title is a failure naming the item.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

import orjson

from dailypapers.models import PaperRecord, RecordError, SourceName
from dailypapers.sources.citations import (
    arxiv_id_in,
    arxiv_id_of_doi,
    clean,
    doi_in,
    year_month,
)
from dailypapers.sources.jsonlines import checked

MAX_CSL_JSON_BYTES = 50 * 1024 * 1024
# Fields where Zotero and its plug-ins put an arXiv id, in the order they are trusted.
_ARXIV_FIELDS = ("number", "archive_location", "URL", "note", "publisher", "container-title")


def parse_csl_json(stream: BinaryIO, *, origin: str) -> Iterator[PaperRecord | RecordError]:
    """Yield one PaperRecord per item, or a RecordError naming the item and why."""
    data = stream.read(MAX_CSL_JSON_BYTES + 1)
    if len(data) > MAX_CSL_JSON_BYTES:
        yield RecordError(origin, "file", "CSL-JSON file larger than 50 MB; split it first")
        return
    try:
        document = orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as error:
        yield RecordError(origin, f"line {error.lineno}", f"invalid JSON: {error.msg}")
        return
    items = _items(document)
    if items is None:
        found = type(document).__name__
        yield RecordError(origin, "file", f"expected a JSON array of CSL items, found {found}")
        return
    for number, item in enumerate(items, start=1):
        location = _location(number, item)
        if not isinstance(item, dict):
            reason = f"expected a JSON object, found {type(item).__name__}"
            yield RecordError(origin, location, reason)
            continue
        yield _record(item, origin, location)


def _items(document: Any) -> list[Any] | None:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        # A single item, or a wrapper such as {"items": [...]}.
        inner = document.get("items")
        return inner if isinstance(inner, list) else [document]
    return None


def _location(number: int, item: Any) -> str:
    key = item.get("id") if isinstance(item, dict) else None
    return (
        f"item {number} ({key})" if isinstance(key, str | int) and key != "" else f"item {number}"
    )


def _record(item: dict[str, Any], origin: str, location: str) -> PaperRecord | RecordError:
    title = clean(item.get("title"))
    if title is None:
        return RecordError(origin, location, "item has no title")
    doi = doi_in(clean(item.get("DOI")))
    arxiv_id = arxiv_id_of_doi(doi) or next(
        filter(None, (arxiv_id_in(clean(item.get(name))) for name in _ARXIV_FIELDS)), None
    )
    url = clean(item.get("URL"))
    if doi is None and arxiv_id is None:
        doi = doi_in(url) if url and "doi" in url.lower() else None
    record = PaperRecord(
        source=SourceName.BIBTEX,  # a bibliography entry, ranked as BibTeX's when merging
        title=title,
        paper_id=arxiv_id or doi,
        abstract=clean(item.get("abstract")),
        authors=_authors(item.get("author")),
        published=_issued(item.get("issued")),
        doi=None if doi and arxiv_id_of_doi(doi) else doi,
        journal_ref=None if arxiv_id else clean(item.get("container-title")),
        abs_url=url,
    )
    return checked(record, origin=origin, location=location)


def _authors(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    names = []
    for person in value:
        if not isinstance(person, dict):
            continue
        literal = clean(person.get("literal"))
        parts = [clean(person.get(key)) for key in ("given", "non-dropping-particle", "family")]
        name = literal or " ".join(part for part in parts if part)
        if name:
            names.append(name)
    return names


def _issued(value: Any) -> datetime | None:
    if not isinstance(value, dict):
        return None
    parts = value.get("date-parts")
    if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
        year, *rest = parts[0]
        month = rest[0] if rest else 1
        try:
            number = int(month) if 1 <= int(month) <= 12 else 1
            return datetime(int(year), number, 1, tzinfo=UTC)
        except (TypeError, ValueError):
            return None
    return year_month(clean(value.get("raw")) or clean(value.get("literal")))
