"""Format names -> parsers, and detection of an input's format from its first bytes and lines."""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import PurePath
from typing import BinaryIO

import orjson

from dailypapers.models import PaperRecord, RecordError
from dailypapers.sources import (
    arxiv_atom,
    arxiv_listing,
    arxiv_oai,
    arxiv_rss,
    arxiv_snapshot,
    bibtex,
    generic_jsonl,
    hf_daily,
    seed_pages,
)
from dailypapers.sources.jsonlines import MAX_LINE_BYTES

ParseResult = Iterator[PaperRecord | RecordError]
Parser = Callable[[BinaryIO, str, date], ParseResult]


@dataclass(frozen=True, slots=True)
class Format:
    """One importable format: its name on the command line, what it is, and its parser."""

    name: str
    description: str
    parse: Parser


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "arxiv-snapshot",
            "Cornell arXiv metadata snapshot (JSON lines, optionally gzipped)",
            lambda s, origin, _d: arxiv_snapshot.parse_arxiv_snapshot(s, origin=origin),
        ),
        Format(
            "arxiv-atom",
            "arXiv API Atom response",
            lambda s, origin, _d: arxiv_atom.parse_arxiv_atom(s, origin=origin),
        ),
        Format(
            "arxiv-oai",
            "arXiv OAI-PMH XML (arXivRaw, arXiv or oai_dc metadata)",
            lambda s, origin, _d: arxiv_oai.parse_oai_pmh(s, origin=origin),
        ),
        Format(
            "arxiv-rss",
            "arXiv announcement feed (RSS 2.0 or Atom from rss.arxiv.org)",
            lambda s, origin, _d: arxiv_rss.parse_arxiv_rss(s, origin=origin),
        ),
        Format(
            "arxiv-listing",
            "daily arXiv listing JSON lines (id, abs, pdf, authors, title, categories, summary)",
            lambda s, origin, _d: arxiv_listing.parse_arxiv_listing(s, origin=origin),
        ),
        Format(
            "hf-daily",
            "Hugging Face /api/daily_papers JSON",
            lambda s, origin, _d: hf_daily.parse_hf_daily(s, origin=origin),
        ),
        Format(
            "bibtex",
            "BibTeX bibliography",
            lambda s, origin, _d: bibtex.parse_bibtex(s, origin=origin),
        ),
        Format(
            "generic",
            "generic JSON lines (id, title, abstract, ...; see docs/formats.md)",
            lambda s, origin, _d: generic_jsonl.parse_generic_jsonl(s, origin=origin),
        ),
        Format(
            "seed-page",
            'saved "Daily Papers" web page as text',
            lambda s, origin, today: seed_pages.parse_seed_page(
                s, origin=origin, reference_date=today
            ),
        ),
    )
}

_BIBTEX_ENTRY = re.compile(rb"^\s*@[A-Za-z]+\s*[{(]", re.MULTILINE)
_SEED_MARKERS = (b"Get trending papers in your email inbox", b"Daily Papers", b" authors\n")
_BOM = b"\xef\xbb\xbf"
_BLANK = _BOM + b" \t\r\n"

# How much of an input detection reads: a head for the markers of each format, and for JSON
# lines the first few complete lines, however long (up to the 1 MiB line limit); longer lines
# are skipped unkept, and the scan stops after DETECT_SCAN_BYTES so memory and time stay bounded.
HEAD_BYTES = 64 * 1024
DETECT_LINES = 10
DETECT_SCAN_BYTES = 16 * 1024 * 1024
_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Undetected:
    """Why the format of an input could not be told, for the person importing it."""

    reason: str


def is_binary(head: bytes) -> bool:
    """True when the first bytes hold a NUL byte, which no text format (nor UTF-8 text) has."""
    return b"\0" in head


def detect_format(stream: BinaryIO, filename: str) -> str | Undetected:
    """The format of an input read from its (decompressed) start, or why it cannot be told.

    Reads at most DETECT_SCAN_BYTES, holding at most one line of MAX_LINE_BYTES at a time.
    """
    head = read_head(stream)
    text = head.lstrip(_BLANK)
    if not text and len(head) < HEAD_BYTES:
        return Undetected("empty file" if not head else "empty file (only blank lines)")
    if is_binary(head):
        return Undetected("binary, not text")
    suffixes = PurePath(filename.lower()).suffixes
    found: str | Undetected | None = None
    if ".bib" in suffixes or _BIBTEX_ENTRY.search(text[:4096]):
        found = "bibtex"
    elif text.startswith(b"<"):
        found = _detect_xml(text)
    elif text.startswith(b"["):
        found = "hf-daily"
    elif text.startswith(b"{"):
        found = _detect_json_lines(_Replay(head, stream))
    elif any(marker in text for marker in _SEED_MARKERS):
        found = "seed-page"
    return found or Undetected(
        f"cannot tell the format; pass --format (one of: {', '.join(FORMATS)})"
    )


def read_head(stream: BinaryIO, size: int = HEAD_BYTES) -> bytes:
    """Up to `size` first bytes; a truncated or corrupt input yields what could be read."""
    chunks: list[bytes] = []
    remaining = size
    while remaining > 0:
        try:
            # Small reads: a read that meets the break of a truncated archive returns nothing.
            chunk = stream.read(min(remaining, 8192))
        except (OSError, EOFError, zlib.error):
            break
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _detect_xml(head: bytes) -> str | None:
    lowered = head.lower()
    if b"<oai-pmh" in lowered:
        return "arxiv-oai"
    if b"<rss" in lowered or b"rss.arxiv.org" in lowered or b"announce type" in lowered:
        return "arxiv-rss"
    if b"<feed" in lowered:
        return "arxiv-atom"
    return None


class _Replay:
    """Reads lines from the head already read, then on from the rest of the stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = io.BytesIO(head)
        self._rest = rest
        self.scanned = 0

    def readline(self, limit: int) -> bytes:
        line = self._head.readline(limit)
        if not line.endswith(b"\n") and len(line) < limit:
            try:
                line += self._rest.readline(limit - len(line))
            except (OSError, EOFError, zlib.error):
                pass  # a truncated input: detect from what could be read
        self.scanned += len(line)
        return line


def _first_lines(reader: _Replay) -> Iterator[tuple[int, bytes]]:
    """The first DETECT_LINES non-blank lines with their numbers, skipping over-long ones."""
    line_no = seen = 0
    while seen < DETECT_LINES and reader.scanned < DETECT_SCAN_BYTES:
        line = reader.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        line_no += 1
        if len(line) > MAX_LINE_BYTES:
            # The parser reports a line over the limit anyway: skip it unkept, by chunks.
            while line and not line.endswith(b"\n") and reader.scanned < DETECT_SCAN_BYTES:
                line = reader.readline(_CHUNK_BYTES)
            continue
        if line.strip():
            seen += 1
            yield line_no, line.removeprefix(_BOM) if line_no == 1 else line


def _detect_json_lines(reader: _Replay) -> str | Undetected | None:
    # A broken first line must not hide the format: the first object among the first lines.
    first_error = None
    for line_no, line in _first_lines(reader):
        try:
            item = orjson.loads(line.rstrip(b"\r\n"))
        except orjson.JSONDecodeError as exc:
            first_error = first_error or Undetected(
                f"bad JSON at line {line_no}: {exc.msg} at column {exc.colno}"
            )
            continue
        if isinstance(item, dict):
            return _json_line_format(item)
    return first_error


def _json_line_format(item: dict[str, object]) -> str | None:
    if "authors_parsed" in item or ("versions" in item and "update_date" in item):
        return "arxiv-snapshot"
    if "summary" in item and ("abs" in item or "pdf" in item):
        return "arxiv-listing"
    if "title" in item:
        return "generic"
    return None
