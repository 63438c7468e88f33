"""Saved Hugging Face "Daily Papers" web pages, as plain text copied from a browser.

The pages carry no arXiv ids, so every record has `paper_id` None and is matched by title.
Two layouts occur:

Card layout: header lines ("new", "Get trending papers in your email inbox!", "Subscribe",
"Daily Papers", "byAK and the research community"), the page date ("May 1", no year), then per
paper: title, abstract (may be missing), "  • 11 authors", "·", and the paper's date ("Oct 28,
2025", or "Feb 19" without year) optionally followed by its upvote count ("Oct 28, 2025 1").
Blank lines between these are ignored.

List layout: "Get trending papers in your email inbox once a day!", "Get trending papers in
your email inbox!", then "Subscribe" glued to the first title ("SubscribeSubmodular
Reinforcement Learning"), then title and abstract lines alternating, with no authors or dates.
A missing abstract cannot be told apart there; a title on the last line gets abstract None.

Dates without a year take the latest year that does not put them after `reference_date` (the
day the page was saved, passed by the caller: the parser never reads the clock); without a
reference date they stay None. The pages lost LaTeX backslashes ("alphain(0,1]"): kept as is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import BinaryIO

from dailypapers.ids import clean_text
from dailypapers.models import PaperRecord, RecordError, SourceName
from dailypapers.sources.jsonlines import checked

MAX_PAGE_BYTES = 16 * 1024 * 1024

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

Line = tuple[int, str]
# One paper on the page: first and last line number, and its record or why it has none.
Entry = tuple[int, int, PaperRecord | str]


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
    if lines[start].strip() == _SUBSCRIBE:
        entries = _card_entries(lines, start, reference_date)
    else:
        entries = _list_entries(lines, start)
    for first, last, item in entries:
        if bad_lines.intersection(range(first, last + 1)):
            continue  # reported above, line by line
        if isinstance(item, str):
            yield RecordError(origin, f"line {first}", item)
        else:
            yield checked(item, origin=origin, location=f"line {first}")


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


def _card_entries(lines: list[str], start: int, reference: date | None) -> Iterator[Entry]:
    # `start` indexes the "Subscribe" line, whose line number is start + 1.
    body = [(n, t.strip()) for n, t in enumerate(lines, 1) if n > start + 1 and t.strip()]
    while body and body[0][1] in _HEADER_LINES:
        body.pop(0)
    page_date = None
    if body and (match := _DATE.fullmatch(body[0][1])):
        page_date = _resolve(match, reference)
        body.pop(0)
    pending: list[Line] = []
    for line_no, text in body:
        match = _DATE.fullmatch(text) if pending and _closes_card(pending[-1][1]) else None
        if match is None:
            pending.append((line_no, text))
            continue
        yield pending[0][0], line_no, _card_record(pending, match, page_date, reference)
        pending = []
    if pending:
        reason = "last paper on the page is cut off (no date line)"
        yield pending[0][0], pending[-1][0], reason


def _closes_card(text: str) -> bool:
    # The paper's date follows the "·" separator (or the author count when that is missing).
    return text == _SEPARATOR or _AUTHOR_COUNT.fullmatch(text) is not None


def _card_record(
    lines: list[Line], date_match: re.Match[str], page_date: date | None, reference: date | None
) -> PaperRecord | str:
    texts = [text for _, text in lines if text != _SEPARATOR]
    counts = [int(m.group(1)) for m in map(_AUTHOR_COUNT.fullmatch, texts) if m]
    prose = [text for text in texts if _AUTHOR_COUNT.fullmatch(text) is None]
    title = clean_text(prose[0]) if prose else None
    if title is None:
        return "paper without a title"
    published = _resolve(date_match, reference)
    votes = date_match["votes"]
    return PaperRecord(
        source=SourceName.SEED_PAGE,
        title=title,
        abstract=clean_text(" ".join(prose[1:])),
        author_count=counts[0] if counts else None,
        published=datetime(*published.timetuple()[:3], tzinfo=UTC) if published else None,
        upvotes=int(votes) if votes else None,
        daily_date=page_date,
    )


def _list_entries(lines: list[str], start: int) -> Iterator[Entry]:
    first_title = lines[start][len(_SUBSCRIBE) :]
    body = [(start + 1, first_title)]
    body += [(n, text) for n, text in enumerate(lines, 1) if n > start + 1 and text.strip()]
    for index in range(0, len(body), 2):
        title_no, title = body[index]
        abstract_no, abstract = body[index + 1] if index + 1 < len(body) else (title_no, None)
        clean_title = clean_text(title)
        if clean_title is None:
            yield title_no, abstract_no, "paper without a title"
            continue
        record = PaperRecord(
            source=SourceName.SEED_PAGE, title=clean_title, abstract=clean_text(abstract)
        )
        yield title_no, abstract_no, record


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
