"""Format names -> parsers, and detection of a file's format from its first bytes."""

from __future__ import annotations

import re
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


def _detect_xml(head: bytes) -> str | None:
    lowered = head.lower()
    if b"<oai-pmh" in lowered:
        return "arxiv-oai"
    if b"<rss" in lowered or b"rss.arxiv.org" in lowered or b"announce type" in lowered:
        return "arxiv-rss"
    if b"<feed" in lowered:
        return "arxiv-atom"
    return None


def _first_json_object(head: bytes) -> dict[str, object] | None:
    # A broken first line must not hide the format: look at the first few complete lines.
    for line in head.split(b"\n")[:-1][:10]:
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(item, dict):
            return item
    return None


def _detect_json_line(head: bytes) -> str | None:
    item = _first_json_object(head + b"\n")
    if item is None:
        return None
    if "authors_parsed" in item or ("versions" in item and "update_date" in item):
        return "arxiv-snapshot"
    if "summary" in item and ("abs" in item or "pdf" in item):
        return "arxiv-listing"
    if "title" in item:
        return "generic"
    return None


def detect_format(head: bytes, filename: str) -> str | None:
    """The format name for a file whose (decompressed) first bytes are `head`, or None."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    suffixes = PurePath(filename.lower()).suffixes
    if ".bib" in suffixes or _BIBTEX_ENTRY.search(text[:4096]):
        return "bibtex"
    if text.startswith(b"<"):
        return _detect_xml(text)
    if text.startswith(b"["):
        return "hf-daily"
    if text.startswith(b"{"):
        return _detect_json_line(text)
    if any(marker in text for marker in _SEED_MARKERS):
        return "seed-page"
    return None
