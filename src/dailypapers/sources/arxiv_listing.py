"""Daily arXiv listing files: one JSON object per line, as collected by daily-arXiv-ai-enhanced.

Every line holds exactly these keys: id, pdf, abs, authors (list), title, categories (list,
primary first), comment (string or null) and summary (the abstract with arXiv's hard line
wraps). Some `categories` lists also hold MSC/ACM classes ("68T05, 62R07", "I.2; H.3"): only
arXiv category codes are kept. The lines carry no dates: the id only encodes year and month,
so `published` stays None rather than inventing a day.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from dailypapers.ids import clean_text, is_arxiv_category
from dailypapers.models import PaperRecord, RecordError, SourceName
from dailypapers.sources.jsonlines import (
    arxiv_id_and_title,
    optional_str,
    records_from_json_lines,
)


def parse_arxiv_listing(stream: BinaryIO, *, origin: str) -> Iterator[PaperRecord | RecordError]:
    """Yield one PaperRecord per listing line, or a RecordError naming the bad line."""
    yield from records_from_json_lines(stream, origin=origin, convert=_record_from_line)


def _record_from_line(obj: dict[str, Any]) -> PaperRecord:
    paper_id, title = arxiv_id_and_title(obj)
    authors = _string_list(obj, "authors")
    return PaperRecord(
        source=SourceName.ARXIV_LISTING,
        title=title,
        paper_id=paper_id,
        abstract=clean_text(optional_str(obj, "summary")),
        authors=authors,
        author_count=len(authors) or None,
        # Some lines mix MSC/ACM class lists into the categories; keep the arXiv codes only.
        categories=[c for c in _string_list(obj, "categories") if is_arxiv_category(c)],
        comments=clean_text(optional_str(obj, "comment")),
        abs_url=optional_str(obj, "abs"),
        pdf_url=optional_str(obj, "pdf"),
    )


def _string_list(obj: dict[str, Any], key: str) -> list[str]:
    values = obj.get(key) or []
    if not isinstance(values, list):
        raise TypeError(f"field {key!r} must be a list of strings")
    try:
        # Inline whitespace clean-up: this runs ~10 times per line on millions of lines.
        cleaned = [" ".join(value.split()) for value in values]
    except AttributeError:
        raise TypeError(f"field {key!r} must be a list of strings") from None
    return [value for value in cleaned if value]
