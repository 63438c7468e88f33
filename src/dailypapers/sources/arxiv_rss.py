"""arXiv announcement feeds from rss.arxiv.org (RSS 2.0 `<item>` or Atom `<entry>`).

Each entry's description starts with "arXiv:2508.13168v1 Announce Type: new Abstract: ...";
that prefix is removed from the abstract. Announce types are new, cross, replace and
replace-cross: all become records. For new and cross, `published` is the announcement date
(pubDate); for replacements the paper is older than that date, so it goes to `updated` and
`published` is left unknown (None) rather than overwriting the first-version date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from dailypapers.ids import split_arxiv_id
from dailypapers.limits import limit_problem
from dailypapers.models import PaperRecord, PaperVersion, RecordError, SourceName
from dailypapers.sources.arxiv_oai import split_arxiv_authors
from dailypapers.sources.xmlsafe import (
    XmlStreamError,
    child_text,
    iter_elements,
    parse_email_datetime,
    parse_iso_datetime,
)

ATOM_NS = "http://www.w3.org/2005/Atom"
ARXIV_NS = "http://arxiv.org/schemas/atom"
DC_NS = "http://purl.org/dc/elements/1.1/"

_ITEM = "item"
_ENTRY = f"{{{ATOM_NS}}}entry"
_ATOM = f"{{{ATOM_NS}}}"
_ANNOUNCE_TYPE = f"{{{ARXIV_NS}}}announce_type"
_CREATOR = f"{{{DC_NS}}}creator"
_RIGHTS = f"{{{DC_NS}}}rights"

_ANNOUNCE_PREFIX = re.compile(
    r"^arXiv:\S+\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?", re.IGNORECASE
)


@dataclass(slots=True)
class _Entry:
    """The fields of one feed entry, whichever of the two feed formats it came from."""

    raw_id: str
    title: str | None
    description: str | None
    date: datetime | None
    announce_type: str | None
    categories: list[str] = field(default_factory=list)
    creators: str | None = None
    rights: str | None = None


def parse_arxiv_rss(stream: BinaryIO, *, origin: str) -> Iterator[PaperRecord | RecordError]:
    """Stream records out of an arXiv announcement feed; bad entries become RecordErrors."""
    try:
        for element in iter_elements(stream, (_ITEM, _ENTRY)):
            entry = _atom_entry(element) if element.tag == _ENTRY else _rss_item(element)
            yield _to_record(entry, f"line {element.sourceline}", origin)
    except XmlStreamError as exc:
        yield RecordError(origin, exc.location, exc.reason)


def _rss_item(item: Any) -> _Entry:
    return _Entry(
        raw_id=child_text(item, "guid") or child_text(item, "link") or "",
        title=child_text(item, "title"),
        description=child_text(item, "description"),
        date=parse_email_datetime(item.findtext("pubDate")),
        announce_type=child_text(item, _ANNOUNCE_TYPE),
        categories=[text for e in item.iterfind("category") if (text := (e.text or "").strip())],
        creators=child_text(item, _CREATOR),
        rights=child_text(item, _RIGHTS),
    )


def _atom_entry(entry: Any) -> _Entry:
    link = entry.find(f"{_ATOM}link")
    return _Entry(
        raw_id=child_text(entry, f"{_ATOM}id")
        or (link.get("href", "") if link is not None else ""),
        title=child_text(entry, f"{_ATOM}title"),
        description=child_text(entry, f"{_ATOM}summary"),
        date=parse_iso_datetime(entry.findtext(f"{_ATOM}published")),
        announce_type=child_text(entry, _ANNOUNCE_TYPE),
        categories=[term for e in entry.iterfind(f"{_ATOM}category") if (term := e.get("term"))],
        creators=child_text(entry, _CREATOR),
        rights=child_text(entry, _RIGHTS),
    )


def _to_record(entry: _Entry, location: str, origin: str) -> PaperRecord | RecordError:
    parsed = split_arxiv_id(entry.raw_id)
    if parsed is None:
        return RecordError(origin, location, f"no usable arXiv id ({entry.raw_id!r})")
    paper_id, version = parsed
    if entry.title is None:
        return RecordError(origin, location, f"{paper_id}: entry has no title")
    abstract, announce_type = _split_description(entry.description)
    kind = (entry.announce_type or announce_type or "").lower()
    is_replacement = kind.startswith("replace")
    authors = split_arxiv_authors(entry.creators)
    record = PaperRecord(
        source=SourceName.ARXIV_RSS,
        title=entry.title,
        paper_id=paper_id,
        abstract=abstract,
        authors=authors,
        author_count=len(authors) or None,
        categories=list(dict.fromkeys(entry.categories)),
        versions=[PaperVersion(version)] if version else [],
        published=None if is_replacement else entry.date,
        updated=entry.date if is_replacement else None,
        license=entry.rights,
        abs_url=f"https://arxiv.org/abs/{paper_id}",
        pdf_url=f"https://arxiv.org/pdf/{paper_id}",
    )
    problem = limit_problem(record)
    return RecordError(origin, location, f"{paper_id}: {problem}") if problem else record


def _split_description(description: str | None) -> tuple[str | None, str | None]:
    """(abstract without the "arXiv:... Announce Type: ... Abstract:" prefix, announce type)."""
    if description is None:
        return None, None
    match = _ANNOUNCE_PREFIX.match(description)
    if match is None:
        return description, None
    return description[match.end() :] or None, match["type"].lower()
