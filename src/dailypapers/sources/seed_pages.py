"""Saved Hugging Face "Daily Papers" web pages, as plain text copied from a browser.

The pages carry no arXiv ids, so every record has `paper_id` None and is matched by title.
Two layouts occur:

Card layout: header lines ("new", "Get trending papers in your email inbox!", "Subscribe",
"Daily Papers", "byAK and the research community"), the page date ("May 1", no year), then per
paper: title, abstract (may be missing), "  • 11 authors", "·", and the paper's date ("Oct 28,
2025", or "Feb 19" without year) optionally followed by its upvote count ("Oct 28, 2025 1").

List layout: "Get trending papers in your email inbox once a day!", "Get trending papers in
your email inbox!", then "Subscribe" glued to the first title ("SubscribeSubmodular
Reinforcement Learning"), then title and abstract lines alternating, with no authors or dates.

Where one paper ends is read from the structure of the page, never from counting lines, so a
damaged paper cannot swallow its neighbour. Blank lines are ignored, and a line that repeats
the line before it word for word is read once. Every other line is one of:

- a tail line: an author count, the "·" separator or a date. They follow a paper in that order;
  a date ends the paper, and a tail line that cannot continue the tail before it starts a new
  one (author and date lines with no paper before them are a failure).
- an abstract: longer than 300 characters, or ending with a full stop. Of 75,000 arXiv titles
  none does, and only 3 in 75,000 abstracts do neither (such an abstract reads as a title).
  An abstract belongs to the title right before it; an abstract with no title right before it
  (after a tail, another abstract, or at the start) is a failure naming its line.
- a title otherwise: it starts the next paper.

A paper without its author and date lines in the card layout (title and abstract, then
straight into the next title) is kept without an author count, date or upvotes. The papers
after the last tail on a card page are failures ("cut off"): the page may end mid-card.

Dates without a year take the latest year that does not put them after `reference_date` (the
day the page was saved, passed by the caller: the parser never reads the clock); without a
reference date they stay None. The pages lost LaTeX backslashes ("alphain(0,1]"): kept as is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import BinaryIO

from dailypapers.ids import clean_text
from dailypapers.models import PaperRecord, RecordError, SourceName
from dailypapers.sources.jsonlines import checked

MAX_PAGE_BYTES = 16 * 1024 * 1024
# A longer line, or one ending with a full stop, is an abstract; see the module docstring.
LONGEST_TITLE_CHARS = 300

_HEADER_LINES = frozenset(
    {
        "new",
        "Get trending papers in your email inbox!",
        "Get trending papers in your email inbox once a day!",
        "Subscribe",
        "Daily Papers",
        "byAK and the research community",
    }
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DATE = re.compile(
    rf"(?P<month>{'|'.join(_MONTHS)}) (?P<day>\d{{1,2}})"
    r"(?:, (?P<year>\d{4}))?(?: (?P<votes>\d+))?"
)
_AUTHOR_COUNT = re.compile(r"•\s*(\d+)\s+authors?")
_SEPARATOR = "·"
_SUBSCRIBE = "Subscribe"
# The order of a paper's tail lines.
_AUTHORS_RANK, _SEPARATOR_RANK, _DATE_RANK = 0, 1, 2

Line = tuple[int, str]


@dataclass(slots=True)
class _Entry:
    """One paper's lines on the page, as the page's structure delimits them."""

    first: int
    last: int
    title: Line | None = None
    abstract: Line | None = None
    authors: re.Match[str] | None = None
    date: re.Match[str] | None = None
    tail_rank: int = -1

    def takes_abstract(self, text: str) -> bool:
        return (
            self.title is not None
            and self.abstract is None
            and self.tail_rank < 0
            and _reads_as_abstract(text)
        )


def parse_seed_page(
    stream: BinaryIO, *, origin: str, reference_date: date | None = None
) -> Iterator[PaperRecord | RecordError]:
    """Yield one PaperRecord per paper on a saved Daily Papers page, or RecordErrors."""
    data = stream.read(MAX_PAGE_BYTES + 1)
    if len(data) > MAX_PAGE_BYTES:
        yield RecordError(origin, "file", f"page larger than {MAX_PAGE_BYTES} bytes")
        return
    lines, bad_lines = _decode_lines(data)
    for line_no in sorted(bad_lines):
        yield RecordError(origin, f"line {line_no}", "not valid UTF-8 (Latin-1 or similar?)")
    start = next((i for i, text in enumerate(lines) if text.startswith(_SUBSCRIBE)), None)
    if start is None:
        yield RecordError(origin, "file", "not a saved Daily Papers page (no 'Subscribe' line)")
        return
    cards = lines[start].strip() == _SUBSCRIBE
    body, page_date = (
        _card_body(lines, start, reference_date) if cards else _list_body(lines, start)
    )
    entries = list(_split_entries(_read_once(body)))
    # A card page may be cut off mid-card: nothing after the last tail line can be trusted.
    tailed = [i for i, entry in enumerate(entries) if entry.tail_rank >= 0]
    complete = (tailed[-1] + 1 if tailed else 0) if cards else len(entries)
    for index, entry in enumerate(entries):
        if bad_lines.intersection(range(entry.first, entry.last + 1)):
            continue  # reported above, line by line
        if index >= complete:
            reason = "no author and date lines follow this before the page ends (cut off?)"
            yield RecordError(origin, f"line {entry.first}", reason)
        else:
            yield _entry_result(entry, origin, page_date, reference_date)


def _decode_lines(data: bytes) -> tuple[list[str], set[int]]:
    """Lines of the page, and the 1-based numbers of lines that are not valid UTF-8."""
    lines, bad_lines = [], set()
    for number, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").split(b"\n"), 1):
        try:
            lines.append(raw.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError:
            lines.append(raw.decode("utf-8", errors="replace"))
            bad_lines.add(number)
    return lines, bad_lines


def _card_body(
    lines: list[str], start: int, reference: date | None
) -> tuple[list[Line], date | None]:
    """The non-blank lines after the header, and the page's date."""
    # `start` indexes the "Subscribe" line, whose line number is start + 1.
    body = [(n, t.strip()) for n, t in enumerate(lines, 1) if n > start + 1 and t.strip()]
    while body and body[0][1] in _HEADER_LINES:
        body.pop(0)
    if body and (match := _DATE.fullmatch(body[0][1])):
        return body[1:], _resolve(match, reference)
    return body, None


def _list_body(lines: list[str], start: int) -> tuple[list[Line], None]:
    first_title = lines[start][len(_SUBSCRIBE) :].strip()
    body = [(start + 1, first_title)]
    body += [(n, t.strip()) for n, t in enumerate(lines, 1) if n > start + 1 and t.strip()]
    return body, None


def _read_once(body: Iterable[Line]) -> Iterator[Line]:
    """The lines, with a line that repeats the one before it word for word read once."""
    previous = None
    for line_no, text in body:
        if text != previous:
            yield line_no, text
        previous = text


def _split_entries(body: Iterable[Line]) -> Iterator[_Entry]:
    """Cut the page into papers: a title starts one, its abstract and tail lines follow."""
    entry: _Entry | None = None
    for line_no, text in body:
        rank, match = _tail_line(text)
        if rank is not None:
            if entry is None or rank <= entry.tail_rank:
                if entry is not None:
                    yield entry
                entry = _Entry(first=line_no, last=line_no)
            _add_tail(entry, rank, match)
        elif entry is not None and entry.takes_abstract(text):
            entry.abstract = (line_no, text)
        else:
            if entry is not None:
                yield entry
            entry = _Entry(first=line_no, last=line_no)
            if _reads_as_abstract(text):
                entry.abstract = (line_no, text)
            else:
                entry.title = (line_no, text)
        entry.last = line_no
    if entry is not None:
        yield entry


def _tail_line(text: str) -> tuple[int | None, re.Match[str] | None]:
    """The rank of an author count, separator or date line, with its match; None otherwise."""
    if text == _SEPARATOR:
        return _SEPARATOR_RANK, None
    if match := _AUTHOR_COUNT.fullmatch(text):
        return _AUTHORS_RANK, match
    if match := _DATE.fullmatch(text):
        return _DATE_RANK, match
    return None, None


def _add_tail(entry: _Entry, rank: int, match: re.Match[str] | None) -> None:
    entry.tail_rank = rank
    if rank == _AUTHORS_RANK:
        entry.authors = match
    elif rank == _DATE_RANK:
        entry.date = match


def _reads_as_abstract(text: str) -> bool:
    return len(text) > LONGEST_TITLE_CHARS or text.endswith(".")


def _entry_result(
    entry: _Entry, origin: str, page_date: date | None, reference: date | None
) -> PaperRecord | RecordError:
    location = f"line {entry.first}"
    title = clean_text(entry.title[1]) if entry.title else None
    if title is None:
        reason = (
            f"an abstract with no title before it (a line over {LONGEST_TITLE_CHARS} "
            "characters or ending with a full stop reads as an abstract)"
            if entry.abstract
            else "author and date lines with no paper before them"
        )
        return RecordError(origin, location, reason)
    published = _resolve(entry.date, reference) if entry.date else None
    votes = entry.date["votes"] if entry.date else None
    record = PaperRecord(
        source=SourceName.SEED_PAGE,
        title=title,
        abstract=clean_text(entry.abstract[1]) if entry.abstract else None,
        author_count=int(entry.authors.group(1)) if entry.authors else None,
        published=datetime(*published.timetuple()[:3], tzinfo=UTC) if published else None,
        upvotes=int(votes) if votes else None,
        daily_date=page_date,
    )
    return checked(record, origin=origin, location=location)


def _resolve(match: re.Match[str], reference: date | None) -> date | None:
    """The date a "May 1" or "Oct 28, 2025" match names; None when it cannot be known."""
    month = _MONTHS.index(match["month"]) + 1
    day = int(match["day"])
    if match["year"]:
        return _valid_date(int(match["year"]), month, day)
    if reference is None:
        return None
    # Feb 29 needs a leap year, so look back a few years rather than just one.
    for year in range(reference.year, reference.year - 8, -1):
        candidate = _valid_date(year, month, day)
        if candidate is not None and candidate <= reference:
            return candidate
    return None


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
