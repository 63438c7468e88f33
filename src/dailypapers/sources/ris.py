"""RIS, the tagged export of Zotero, EndNote, Mendeley and most publishers: one `TAG  - value`
per line, each record from `TY  - ` to `ER  - `.

Read: TI/T1/CT (title), AU/A1 (authors, "Last, First"), PY/Y1/DA (date), DO (DOI), UR/L1/L2
(links), AB/N2 (abstract), JO/JF/T2/JA (journal), N1/M1/M3/AN (notes, where an arXiv id may
hide). A line without a tag inside a record continues the previous value (some exporters wrap
abstracts). The id is the arXiv id those fields mention, else the DOI, else None (the store
matches by title). A record without a title, and text outside any record, are failures that
name their record and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from dailypapers.models import PaperRecord, RecordError, SourceName
from dailypapers.sources.citations import (
    arxiv_id_in,
    arxiv_id_of_doi,
    clean,
    doi_in,
    first_last,
    year_month,
)
from dailypapers.sources.jsonlines import checked

MAX_RIS_BYTES = 50 * 1024 * 1024
_TAG = re.compile(r"^([A-Z][A-Z0-9])\s{1,2}-(?: (.*)|)$")
_TITLE_TAGS = ("TI", "T1", "CT")
_AUTHOR_TAGS = ("AU", "A1")
_DATE_TAGS = ("DA", "PY", "Y1")  # the full date first
_URL_TAGS = ("UR", "L1", "L2")
_JOURNAL_TAGS = ("JO", "JF", "T2", "JA")
_NOTE_TAGS = ("N1", "M1", "M3", "AN")


@dataclass(slots=True)
class _Record:
    number: int
    line: int
    fields: list[tuple[str, str]] = field(default_factory=list)

    def values(self, *tags: str) -> list[str]:
        return [value for tag, value in self.fields if tag in tags and value]

    def first(self, *tags: str) -> str | None:
        for tag in tags:  # in the order given: TI before T1
            found = self.values(tag)
            if found:
                return clean(found[0])
        return None


def parse_ris(stream: BinaryIO, *, origin: str) -> Iterator[PaperRecord | RecordError]:
    """Yield one PaperRecord per RIS record, or a RecordError naming the record and line."""
    data = stream.read(MAX_RIS_BYTES + 1)
    if len(data) > MAX_RIS_BYTES:
        yield RecordError(origin, "file", "RIS file larger than 50 MB; split it first")
        return
    text = data.decode("utf-8-sig", errors="replace")
    current: _Record | None = None
    count = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if "\ufffd" in line:
            yield RecordError(origin, f"line {number}", "not valid UTF-8 (Latin-1 or similar?)")
            continue
        match = _TAG.match(line)
        if match is None:
            if current is not None and current.fields and line.strip():
                tag, value = current.fields[-1]
                current.fields[-1] = (tag, f"{value} {line.strip()}")
            elif line.strip():
                yield RecordError(
                    origin, f"line {number}", f"not RIS outside a record: {line[:60]!r}"
                )
            continue
        tag, value = match.group(1), (match.group(2) or "").strip()
        if tag == "TY":
            if current is not None:  # a record left without its ER line ends here
                yield _record(current, origin)
            count += 1
            current = _Record(count, number)
        elif tag == "ER":
            if current is None:
                yield RecordError(origin, f"line {number}", "ER without a TY line before it")
            else:
                yield _record(current, origin)
                current = None
        elif current is None:
            yield RecordError(origin, f"line {number}", f"{tag} outside a record (no TY before it)")
        else:
            current.fields.append((tag, value))
    if current is not None:
        yield _record(current, origin)


def _record(entry: _Record, origin: str) -> PaperRecord | RecordError:
    location = f"record {entry.number} (line {entry.line})"
    title = entry.first(*_TITLE_TAGS)
    if title is None:
        return RecordError(origin, location, "record has no title (TI or T1)")
    doi = doi_in(entry.first("DO"))
    urls = entry.values(*_URL_TAGS)
    mentions = [*urls, *entry.values(*_NOTE_TAGS), *entry.values(*_JOURNAL_TAGS)]
    arxiv_id = arxiv_id_of_doi(doi) or next(filter(None, map(arxiv_id_in, mentions)), None)
    if doi is None and arxiv_id is None:
        doi = next(filter(None, (doi_in(u) for u in urls if "doi" in u.lower())), None)
    record = PaperRecord(
        source=SourceName.BIBTEX,  # a bibliography entry, ranked as BibTeX's when merging
        title=title,
        paper_id=arxiv_id or doi,
        abstract=entry.first("AB", "N2"),
        authors=[name for raw in entry.values(*_AUTHOR_TAGS) if (name := clean(first_last(raw)))],
        published=year_month(entry.first(*_DATE_TAGS)),
        doi=None if doi and arxiv_id_of_doi(doi) else doi,
        journal_ref=None if arxiv_id else entry.first(*_JOURNAL_TAGS),
        abs_url=clean(urls[0]) if urls else None,
    )
    return checked(record, origin=origin, location=location)
