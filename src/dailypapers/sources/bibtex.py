"""BibTeX bibliographies, read with bibtexparser 2 and converted from LaTeX with pylatexenc.

Entry types are ignored (any entry with a title is a paper). The id is, in order: the arXiv id
from `eprint` (with archivePrefix/eprinttype arXiv, or when it looks like one), from a
`journal`/`note`/`howpublished` such as "arXiv preprint arXiv:2010.02178" or
"arxiv.org/abs/2205.11916", or from an arxiv.org `url`; else the DOI (`doi`, or a doi.org
`url`); else None, and the store matches the entry by title. `published` is the first day of
`year` (and `month`, when given as a number, name or macro such as `jan`).

An entry bibtexparser could read only by guessing is a failure, never a paper: a field value
that is not BibTeX (unbalanced braces or quotes; text after the value, as when a comma is
missing) or a '}' too many that closed the entry early (`title={Extra}} Closing}` would
otherwise be a paper titled "Extra").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from bibtexparser.entrypoint import parse_string
from bibtexparser.middlewares.parsestack import default_parse_stack
from bibtexparser.model import (
    Block,
    DuplicateBlockKeyBlock,
    Entry,
    ImplicitComment,
    ParsingFailedBlock,
)
from pylatexenc.latex2text import LatexNodes2Text

from dailypapers.ids import clean_text, normalize_arxiv_id, normalize_doi
from dailypapers.models import PaperRecord, RecordError, SourceName
from dailypapers.sources.jsonlines import checked

# bibtexparser holds the whole file in memory several times over; real .bib files are small.
MAX_BIBTEX_BYTES = 50 * 1024 * 1024

_LATEX = LatexNodes2Text()
# Only values with LaTeX markup go through pylatexenc, which costs ~0.5 ms per call.
_NEEDS_LATEX = re.compile(r"[\\{}$~%&]|--|``|''")
_ARXIV_MENTION = re.compile(
    r"arxiv(?:\.org/(?:abs|pdf)/|\s*(?:preprint)?\s*(?:arxiv)?\s*:?\s*)"
    r"(\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")  # "2023a" marks a second 2023 paper
_KEY_IN_RAW = re.compile(r"@\s*\w+\s*[{(]\s*([^,\s]+)")
# A value outside braces and quotes: a number or the name of a @string macro (`jan`).
_BARE_VALUE = re.compile(r"\d+|[^\s\d\"#%'(),={}][^\s\"#%'(),={}]*")
_BRACE = re.compile(r"(?<!\\)[{}]")
_DELIMITER = re.compile(r'(?<!\\)[{}"]')
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_NOT_AUTHORS = {"others", "et al.", "et al", "etal"}


def parse_bibtex(stream: BinaryIO, *, origin: str) -> Iterator[PaperRecord | RecordError]:
    """Yield one PaperRecord per BibTeX entry, or a RecordError naming the entry and line."""
    data = stream.read(MAX_BIBTEX_BYTES + 1)
    if len(data) > MAX_BIBTEX_BYTES:
        yield RecordError(origin, "file", "BibTeX file larger than 50 MB; split it first")
        return
    text, bad_lines = _decode(data)
    for line_no in sorted(bad_lines):
        yield RecordError(origin, f"line {line_no}", "not valid UTF-8 (Latin-1 or similar?)")
    # Parsed raw first, so each value can be checked as written before braces are removed.
    library = parse_string(text, parse_stack=[])
    malformed = _malformed_entries(library.blocks)
    for middleware in default_parse_stack():
        library = middleware.transform(library)
    for block in library.blocks:
        if isinstance(block, ParsingFailedBlock):
            yield _failed_block_error(block, origin)
        elif isinstance(block, Entry):
            first, last = _line_span(block)
            if bad_lines.intersection(range(first, last + 1)):
                continue  # reported above, line by line
            reason = malformed.get((block.start_line, block.raw))
            if reason is None:
                yield _entry_record(block, origin)
            else:
                yield RecordError(origin, _entry_location(block), f"malformed BibTeX: {reason}")


def _decode(data: bytes) -> tuple[str, set[int]]:
    """Text with undecodable bytes replaced, and the 1-based numbers of lines that had them."""
    try:
        return data.decode("utf-8-sig"), set()
    except UnicodeDecodeError:
        pass
    bad_lines = set()
    for number, line in enumerate(data.split(b"\n"), 1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad_lines.add(number)
    return data.decode("utf-8-sig", errors="replace"), bad_lines


def _line_span(block: Block) -> tuple[int, int]:
    # bibtexparser counts lines from 0.
    first = (block.start_line or 0) + 1
    return first, first + (block.raw or "").count("\n")


def _failed_block_error(block: ParsingFailedBlock, origin: str) -> RecordError:
    line = _line_span(block)[0]
    if isinstance(block, DuplicateBlockKeyBlock):
        return RecordError(origin, f"entry {block.key} (line {line})", "duplicate entry key")
    match = _KEY_IN_RAW.match((block.raw or "").lstrip())
    where = f"entry {match.group(1)} (line {line})" if match else f"line {line}"
    reason = " ".join(str(block.error).split()) or type(block.error).__name__
    return RecordError(origin, where, f"unreadable BibTeX: {reason}")


def _malformed_entries(blocks: list[Block]) -> dict[tuple[int | None, str | None], str]:
    """Why each entry the parser read only by guessing is malformed, by (start line, raw).

    bibtexparser reads `title={Extra}} Closing}` as an entry titled "Extra" followed by free
    text; the stray '}' that text holds is the sign the entry was closed too early.
    """
    problems = {}
    previous: Entry | None = None
    for block in blocks:
        if isinstance(block, Entry):
            reason = next(
                filter(None, (_value_problem(f.key, str(f.value)) for f in block.fields)), None
            )
            if reason:
                problems[block.start_line, block.raw] = reason
        elif isinstance(block, ImplicitComment) and previous is not None:
            if _closes_nothing(block.raw or ""):
                snippet = _snippet(block.raw or "")
                reason = f"a '}}' too many ends the entry early, before {snippet}"
                problems.setdefault((previous.start_line, previous.raw), reason)
        previous = block if isinstance(block, Entry) else None
    return problems


def _value_problem(key: str, value: str) -> str | None:
    """Why a raw field value is not BibTeX: parts joined by '#', each a {group}, a "string",
    a number or a @string name; None when it is."""
    index = 0
    while True:
        end = _part_end(value, index)
        if end is None:
            return f"field {key!r} has unbalanced braces or quotes: {_snippet(value)}"
        index = _skip_space(value, end)
        if index == len(value):
            return None
        if value[index] != "#":
            return f"field {key!r} goes on after its value (a comma missing?): {_snippet(value)}"
        index = _skip_space(value, index + 1)


def _part_end(value: str, start: int) -> int | None:
    if value.startswith("{", start):
        return _closing(value, start + 1, depth=1, quote=False)
    if value.startswith('"', start):
        return _closing(value, start + 1, depth=0, quote=True)
    match = _BARE_VALUE.match(value, start)
    return match.end() if match else None


def _closing(value: str, start: int, *, depth: int, quote: bool) -> int | None:
    """The index after the brace (or quote) that closes a part; braces after a backslash
    do not count, as in bibtexparser's splitter."""
    for match in _DELIMITER.finditer(value, start):
        char = match.group()
        if char == '"':
            if quote and depth == 0:
                return match.end()
            continue
        depth += 1 if char == "{" else -1
        if depth < 0:
            return None
        if depth == 0 and not quote:
            return match.end()
    return None


def _closes_nothing(text: str) -> bool:
    """True when `text` holds a '}' with no '{' open before it."""
    depth = 0
    for match in _BRACE.finditer(text):
        depth += 1 if match.group() == "{" else -1
        if depth < 0:
            return True
    return False


def _skip_space(value: str, index: int) -> int:
    while index < len(value) and value[index].isspace():
        index += 1
    return index


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= 60 else flat[:57] + "...")


def _entry_location(entry: Entry) -> str:
    return f"entry {entry.key} (line {_line_span(entry)[0]})"


def _entry_record(entry: Entry, origin: str) -> PaperRecord | RecordError:
    location = _entry_location(entry)
    fields = {field.key.lower(): str(field.value) for field in entry.fields}
    title = _text(fields.get("title"))
    if title is None:
        return RecordError(origin, location, "entry has no title")
    authors, complete = _authors(fields.get("author", ""))
    arxiv_id = _arxiv_id(fields)
    doi = _doi(fields)
    venue = _text(fields.get("journal") or fields.get("booktitle"))
    record = PaperRecord(
        source=SourceName.BIBTEX,
        title=title,
        paper_id=arxiv_id or doi,
        abstract=_text(fields.get("abstract")),
        authors=authors,
        author_count=len(authors) if complete and authors else None,
        published=_published(fields.get("year"), fields.get("month")),
        doi=doi,
        journal_ref=None if venue is None or _ARXIV_MENTION.search(venue) else venue,
        abs_url=_url(fields.get("url")),
    )
    return checked(record, origin=origin, location=location)


def _text(value: str | None) -> str | None:
    """LaTeX field value as plain Unicode: accents resolved, protective braces gone."""
    if value is None:
        return None
    if _NEEDS_LATEX.search(value):
        value = _LATEX.latex_to_text(value)
    return clean_text(value)


def _authors(value: str) -> tuple[list[str], bool]:
    """Names as "First Last" and whether the list is complete (no "and others")."""
    names = []
    complete = True
    for part in _split_top_level(value, " and "):
        name = _text(_first_last(part))
        if name is None:
            continue
        if name.casefold() in _NOT_AUTHORS:
            complete = False
        else:
            names.append(name)
    return names, complete


def _first_last(name: str) -> str:
    # "Last, First" and "Last, Jr, First" become "First Last" and "First Last Jr".
    parts = [p.strip() for p in _split_top_level(name, ",")]
    if len(parts) == 2:
        return f"{parts[1]} {parts[0]}"
    if len(parts) >= 3:
        return f"{parts[2]} {parts[0]} {parts[1]}"
    return name


def _split_top_level(value: str, separator: str) -> list[str]:
    """Split on a separator outside braces ({Barnes and Noble} stays whole), ignoring case."""
    value = " ".join(value.split())
    parts, depth, start, index = [], 0, 0, 0
    lowered, width = value.lower(), len(separator)
    while index < len(value):
        char = value[index]
        depth += (char == "{") - (char == "}")
        if depth == 0 and lowered.startswith(separator, index):
            parts.append(value[start:index])
            start = index = index + width
            continue
        index += 1
    parts.append(value[start:])
    return [part for part in parts if part.strip()]


def _arxiv_id(fields: dict[str, str]) -> str | None:
    eprint = fields.get("eprint")
    archive = (fields.get("archiveprefix") or fields.get("eprinttype") or "arxiv").lower()
    if eprint and "arxiv" in archive:
        arxiv_id = normalize_arxiv_id(eprint.strip("{} "))
        if arxiv_id:
            return arxiv_id
    for key in ("journal", "note", "howpublished", "url"):
        match = _ARXIV_MENTION.search((fields.get(key) or "").replace("{", "").replace("}", ""))
        if match:
            return normalize_arxiv_id(match.group(1))
    return None


def _doi(fields: dict[str, str]) -> str | None:
    for key in ("doi", "url"):
        value = fields.get(key)
        doi = normalize_doi(value.strip("{} ")) if value else None
        if doi:
            return doi
    return None


def _url(value: str | None) -> str | None:
    # URLs are verbatim in BibTeX; \url{...} wrappers and braces are the only markup.
    if value is None:
        return None
    text = value.strip().removeprefix("\\url").strip("{} ")
    return text or None


def _published(year: str | None, month: str | None) -> datetime | None:
    match = _YEAR.search(year or "")
    if match is None:
        return None
    number = _month_number(month)
    return datetime(int(match.group(1)), number or 1, 1, tzinfo=UTC)


def _month_number(month: str | None) -> int | None:
    text = (month or "").strip("{} .").lower()
    if text.isdigit() and 1 <= int(text) <= 12:
        return int(text)
    return _MONTHS.get(text[:3])
